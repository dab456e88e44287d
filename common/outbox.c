/* Transactional outbox: events recorded with the state change, published by
 * one thread at QoS 1, deleted only after the broker's PUBACK. */
#include "outbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "log.h"
#include "service.h"

#define OUTBOX_WINDOW 512      /* messages in flight at once (< MQTT_MAX_BUFFERED) */
#define OUTBOX_MAX_ACKED 4096  /* acks deleted in one transaction */
#define OUTBOX_DELETE_MS 100   /* acks wait this long to be deleted together */

/* The outbox thread's own connection: all its slots are ours. */
enum { STMT_SELECT, STMT_DELETE, STMT_BACKLOG, STMT_NEWEST, STMT_SEQ, STMT_SYNC, STMT_SLOTS };
_Static_assert(STMT_SLOTS <= DB_MAX_STMTS, "the outbox's statements need more slots");

struct outbox {
	struct db db;
	/* db is the outbox thread's and, for outbox_sync_for_reader, the HTTP
	 * threads': SQLite's NOMUTEX connections want one user at a time. */
	pthread_mutex_t db_lock;
	struct mqtt *mqtt;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t wake_cond;
	int wake;
	int stopping;
	int resend;
	int inflight;
	int64_t *acked;     /* ids acknowledged, not yet deleted */
	int n_acked;
	int64_t next_id;    /* rows below it were handed to Paho */
	int64_t deleted_ms; /* when acknowledged rows were last deleted */
	atomic_ulong published;
	atomic_ulong acks;
	atomic_ulong resends; /* times every row not yet deleted went out again */
	atomic_long backlog;
	int64_t backlog_counted_ms;
	pthread_mutex_t *writer_lock; /* the daemon's, around every write of ours */
	/* durable before visible (outbox_sync_before_publish), under db_lock */
	int sync_first;
	struct db *writer;           /* the daemon's connection, whose relaxed commits count */
	int64_t synced_id;           /* rows up to it are covered by an fsync */
	atomic_ulong synced_commits; /* and the writer's relaxed commits up to this many */
	atomic_ulong syncs;
	atomic_ulong reader_syncs;   /* of them, taken for outbox_sync_for_reader */
	atomic_ulong unsynced_sent;  /* rows handed to Paho above synced_id: 0 with sync_first */
	atomic_ulong unsynced_shown; /* readers not waited for: 0 with sync_first */
};

struct outbox_msg {
	struct outbox *o;
	int64_t id;
};

int outbox_create_schema(struct db *db)
{
	/* AUTOINCREMENT: ids never come back, so "id > next_id" never skips a row. */
	return db_exec(db, "CREATE TABLE IF NOT EXISTS outbox("
			   " id INTEGER PRIMARY KEY AUTOINCREMENT,"
			   " topic TEXT NOT NULL, payload TEXT NOT NULL)");
}

int outbox_add(struct db *db, const char *topic, const char *payload)
{
	sqlite3_stmt *st = db_stmt(db, OUTBOX_STMT_SLOT,
				   "INSERT INTO outbox(topic, payload) VALUES(?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, payload, -1, SQLITE_STATIC);
	return db_step_done(db, st);
}

int outbox_add_event(struct db *db, const char *prefix, const struct event *ev)
{
	char topic[256];
	char *payload = event_encode(ev);
	int rc = -1;

	if (payload != NULL && event_topic(topic, sizeof topic, prefix, ev->kind) == 0)
		rc = outbox_add(db, topic, payload);
	free(payload);
	return rc;
}

int outbox_create(const char *path, pthread_mutex_t *writer_lock, struct outbox **out)
{
	struct outbox *o;

	if (writer_lock == NULL)
		return -1;
	o = calloc(1, sizeof *o);
	if (o == NULL)
		return -1;
	o->writer_lock = writer_lock;
	o->acked = calloc(OUTBOX_MAX_ACKED, sizeof *o->acked);
	/* synchronous=normal whatever the daemon's setting: a delete lost to a
	 * power cut only sends an event again, which handlers take as a
	 * duplicate, and the next full commit of the daemon syncs it anyway. */
	if (o->acked == NULL || db_open(&o->db, path, "normal") != 0) {
		free(o->acked);
		free(o);
		return -1;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->db_lock, NULL);
	pthread_cond_init(&o->wake_cond, NULL);
	*out = o;
	return 0;
}

void outbox_wake(struct outbox *o)
{
	pthread_mutex_lock(&o->lock);
	o->wake = 1;
	pthread_cond_signal(&o->wake_cond);
	pthread_mutex_unlock(&o->lock);
}

void outbox_resend(struct outbox *o)
{
	pthread_mutex_lock(&o->lock);
	o->resend = 1;
	o->wake = 1;
	pthread_cond_signal(&o->wake_cond);
	pthread_mutex_unlock(&o->lock);
}

/* Paho's thread: never publishes or touches the database here. */
static void on_acked(void *ctx, int ok)
{
	struct outbox_msg *msg = ctx;
	struct outbox *o = msg->o;
	int window_was_full;

	pthread_mutex_lock(&o->lock);
	window_was_full = o->inflight >= OUTBOX_WINDOW;
	o->inflight--;
	if (ok && o->n_acked < OUTBOX_MAX_ACKED) {
		o->acked[o->n_acked++] = msg->id;
		atomic_fetch_add(&o->acks, 1);
	} else {
		/* Failed, or too many waiting: the row stays and goes out again. */
		log_debug("outbox: row %lld %s; sending what is left again", (long long)msg->id,
			  ok ? "acknowledged with too many deletes waiting" : "not acknowledged");
		o->resend = 1;
	}
	/* The thread is woken only when an ack gives it work now: the first
	 * of a batch (it sets the delete timer), half the batch buffer, a row
	 * to send again, or room in a window that was full. The other acks
	 * wait for the timer: a wake-up per PUBACK was a futex and a context
	 * switch per message, and a pass (a read transaction) for nothing. */
	if (o->resend || window_was_full || o->n_acked == 1 ||
	    o->n_acked >= OUTBOX_MAX_ACKED / 2) {
		o->wake = 1;
		pthread_cond_signal(&o->wake_cond);
	}
	pthread_mutex_unlock(&o->lock);
	free(msg);
}

struct delete_batch {
	const int64_t *ids;
	int n;
};

static int delete_rows(struct db *db, void *arg)
{
	struct delete_batch *b = arg;

	for (int i = 0; i < b->n; i++) {
		sqlite3_stmt *st = db_stmt(db, STMT_DELETE, "DELETE FROM outbox WHERE id = ?");
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, b->ids[i]);
		if (db_step_done(db, st) != 0)
			return -1;
	}
	return 0;
}

static int publish_row(struct outbox *o, int64_t id, const char *topic, const char *payload)
{
	struct outbox_msg *msg = malloc(sizeof *msg);

	if (msg == NULL)
		return -1;
	if (id > o->synced_id) /* every row, when sync_first is off */
		atomic_fetch_add(&o->unsynced_sent, 1);
	msg->o = o;
	msg->id = id;
	pthread_mutex_lock(&o->lock);
	o->inflight++;
	pthread_mutex_unlock(&o->lock);
	if (mqtt_publish(o->mqtt, topic, payload, strlen(payload), 0, on_acked, msg) != 0) {
		pthread_mutex_lock(&o->lock);
		o->inflight--;
		pthread_mutex_unlock(&o->lock);
		free(msg);
		return -1;
	}
	atomic_fetch_add(&o->published, 1);
	return 0;
}

static int64_t newest_row(struct outbox *o)
{
	sqlite3_stmt *st = db_stmt(&o->db, STMT_NEWEST, "SELECT coalesce(max(id), 0) FROM outbox");
	int64_t id = -1;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	if (st != NULL)
		sqlite3_reset(st);
	return id;
}

/* Every write transaction of the outbox's connection: under the daemon's
 * writer lock, so that the daemon's own writer waits on that mutex rather
 * than in SQLite's busy handler, which sleeps between tries (outbox_create);
 * db_lock held. 0 or -1, as db_transaction. */
static int outbox_write(struct outbox *o, db_txn_fn fn, void *arg)
{
	int rc;

	pthread_mutex_lock(o->writer_lock);
	rc = db_transaction(&o->db, fn, arg);
	pthread_mutex_unlock(o->writer_lock);
	return rc;
}

/* What one sync covers, read inside its write transaction: whatever was
 * committed before it took SQLite's write lock. */
struct sync_mark {
	struct outbox *o;
	int64_t row;            /* every outbox row up to this id */
	unsigned long commits;  /* the writer's relaxed commits up to this many */
};

static int write_sync_mark(struct db *db, void *arg)
{
	struct sync_mark *m = arg;
	sqlite3_stmt *st;

	/* counted after their COMMIT: those counted are committed, hence covered */
	m->commits = m->o->writer != NULL ? atomic_load(&m->o->writer->relaxed_commits) : 0;
	/* the highest id ever given (AUTOINCREMENT), where max(id) would drop
	 * once rows are deleted */
	st = db_stmt(db, STMT_SEQ, "SELECT coalesce(max(seq), 0) FROM sqlite_sequence"
				   " WHERE name = 'outbox'");
	if (st == NULL || sqlite3_step(st) != SQLITE_ROW) {
		if (st != NULL)
			sqlite3_reset(st);
		return -1;
	}
	m->row = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = db_stmt(db, STMT_SYNC,
		     "UPDATE outbox_sync SET syncs = syncs + 1, synced_id = ? WHERE id = 1");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, m->row);
	return db_step_done(db, st);
}

/* Durable before visible (docs/protocol.md §Durable before visible): the
 * daemon's handlers commit without an fsync, so before a row is published,
 * or a state shown over HTTP, an fsync must cover the commit that wrote it.
 * The caller read that row or state before calling, so its commit is done;
 * unless an earlier sync covers it (row, commits), this one commits on the
 * outbox's own connection, which runs with synchronous=FULL, under which
 * SQLite syncs the WAL file at every commit of a write transaction in WAL
 * mode (sqlite.org/pragma.html#pragma_synchronous); an fsync of the file
 * covers every frame written to it before, whichever connection wrote
 * them. An empty transaction writes no frame and syncs nothing, so it
 * changes one row. PRAGMA wal_checkpoint would sync the WAL only when it
 * can copy frames back (not while a reader holds an older snapshot) and
 * writes and syncs the database file too: dearer and not always a sync.
 * One sync covers every commit before it: group durability. The one sync
 * of both paths; db_lock held. */
static int sync_unless_covered(struct outbox *o, int64_t row, unsigned long commits)
{
	struct sync_mark mark = { .o = o };

	if (row <= o->synced_id && commits <= atomic_load(&o->synced_commits))
		return 0;
	if (outbox_write(o, write_sync_mark, &mark) != 0) {
		log_warn("outbox: cannot sync the log to cover row %lld and %lu relaxed commits",
			 (long long)row, commits);
		return -1;
	}
	if (mark.row > o->synced_id)
		o->synced_id = mark.row;
	if (mark.commits > atomic_load(&o->synced_commits))
		atomic_store(&o->synced_commits, mark.commits);
	atomic_fetch_add(&o->syncs, 1);
	return 0;
}

/* Hands rows after next_id to Paho, up to the free part of the window; with
 * sync_first only rows an fsync covers. */
static void publish_pending(struct outbox *o, int room)
{
	int64_t last = INT64_MAX;
	sqlite3_stmt *st;

	if (o->sync_first) {
		int64_t newest = newest_row(o);
		if (newest <= o->next_id || sync_unless_covered(o, newest, 0) != 0)
			return;
		last = o->synced_id;
	}
	st = db_stmt(&o->db, STMT_SELECT,
		     "SELECT id, topic, payload FROM outbox WHERE id > ? AND id <= ? ORDER BY id LIMIT ?");
	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, o->next_id);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int(st, 3, room);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (publish_row(o, id, (const char *)sqlite3_column_text(st, 1),
				(const char *)sqlite3_column_text(st, 2)) != 0) {
			/* Not handed over (disconnected, or Paho's queue is full):
			 * it and the rows after it go out on a later pass. The rows
			 * before it are in flight; sending them again would only
			 * make duplicates (a reconnect resends what needs it). */
			log_debug("outbox: row %lld refused by the MQTT client; later", (long long)id);
			break;
		}
		o->next_id = id;
	}
	sqlite3_reset(st);
}

/* count(*) reads the whole table: at most once a second, never per PUBACK. */
static void update_backlog(struct outbox *o)
{
	int64_t now = service_now_ms();
	sqlite3_stmt *st;

	if (now - o->backlog_counted_ms < 1000)
		return;
	o->backlog_counted_ms = now;
	st = db_stmt(&o->db, STMT_BACKLOG, "SELECT count(*) FROM outbox");

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		atomic_store(&o->backlog, (long)sqlite3_column_int64(st, 0));
	if (st != NULL)
		sqlite3_reset(st);
}

static void *outbox_main(void *arg)
{
	struct outbox *o = arg;
	int64_t *batch = calloc(OUTBOX_MAX_ACKED, sizeof *batch);

	if (batch == NULL) {
		log_warn("outbox: out of memory, publisher not running");
		return NULL;
	}
	for (;;) {
		struct delete_batch del = { batch, 0 };
		struct timespec deadline;
		int64_t now;
		int room, stopping;

		pthread_mutex_lock(&o->lock);
		service_deadline_after(&deadline, o->n_acked > 0 ? OUTBOX_DELETE_MS : 1000);
		while (!o->stopping && !o->wake) {
			if (pthread_cond_timedwait(&o->wake_cond, &o->lock, &deadline) == ETIMEDOUT)
				break;
		}
		stopping = o->stopping;
		o->wake = 0;
		/* Deletes gather for a while: each is a write transaction that the
		 * consumer's commits would otherwise queue behind. */
		now = service_now_ms();
		if (stopping || o->n_acked >= OUTBOX_MAX_ACKED / 2 ||
		    (o->n_acked > 0 && now - o->deleted_ms >= OUTBOX_DELETE_MS)) {
			del.n = o->n_acked;
			memcpy(batch, o->acked, (size_t)del.n * sizeof *batch);
			o->n_acked = 0;
			o->deleted_ms = now;
		}
		if (o->resend) {
			/* Everything not yet deleted goes out again: duplicates are
			 * harmless (idempotent handlers), a lost event is not. */
			atomic_fetch_add(&o->resends, 1);
			o->next_id = 0;
			o->resend = 0;
		}
		room = OUTBOX_WINDOW - o->inflight;
		pthread_mutex_unlock(&o->lock);

		pthread_mutex_lock(&o->db_lock);
		if (del.n > 0 && outbox_write(o, delete_rows, &del) != 0)
			log_warn("outbox: cannot delete %d acknowledged rows; they will be sent again",
				 del.n);
		if (!stopping && room > 0 && mqtt_is_ready(o->mqtt))
			publish_pending(o, room);
		if (!stopping)
			update_backlog(o);
		pthread_mutex_unlock(&o->db_lock);
		if (stopping)
			break;
	}
	free(batch);
	return NULL;
}

int outbox_sync_before_publish(struct outbox *o, struct db *writer)
{
	int rc;

	if (db_exec(&o->db, "PRAGMA synchronous=full") != 0)
		return -1;
	o->db.full = 1;
	if (db_exec(&o->db, "CREATE TABLE IF NOT EXISTS outbox_sync("
			    " id INTEGER PRIMARY KEY CHECK (id = 1),"
			    " syncs INTEGER NOT NULL, synced_id INTEGER NOT NULL)") != 0 ||
	    db_exec(&o->db, "INSERT OR IGNORE INTO outbox_sync VALUES(1, 0, 0)") != 0)
		return -1;
	o->writer = writer;
	o->sync_first = 1;
	/* What a life before this one committed without an fsync is on disk
	 * only once this syncs it; the counts of this life start at 0. */
	pthread_mutex_lock(&o->db_lock);
	o->synced_id = -1; /* nothing covered yet, not even "no row" */
	rc = sync_unless_covered(o, 0, 0);
	pthread_mutex_unlock(&o->db_lock);
	return rc;
}

int outbox_sync_for_reader(struct outbox *o)
{
	unsigned long syncs, commits;
	int rc;

	if (!o->sync_first) {
		atomic_fetch_add(&o->unsynced_shown, 1);
		return 0;
	}
	/* read after the caller's read of the state: a count that includes the
	 * commit which decided it (struct db's relaxed_commits) */
	commits = atomic_load(&o->writer->relaxed_commits);
	/* covered already (by the sync before publishing, usually): no wait for
	 * the outbox thread's pass */
	if (commits <= atomic_load(&o->synced_commits))
		return 0;
	pthread_mutex_lock(&o->db_lock);
	syncs = atomic_load(&o->syncs);
	rc = sync_unless_covered(o, 0, commits);
	if (rc == 0 && atomic_load(&o->syncs) != syncs)
		atomic_fetch_add(&o->reader_syncs, 1);
	pthread_mutex_unlock(&o->db_lock);
	return rc;
}

int outbox_start(struct outbox *o, struct mqtt *mqtt)
{
	o->mqtt = mqtt;
	if (pthread_create(&o->thread, NULL, outbox_main, o) != 0) {
		log_warn("outbox: cannot start the publisher thread");
		return -1;
	}
	o->started = 1;
	return 0;
}

void outbox_stop(struct outbox *o)
{
	if (o == NULL || !o->started)
		return;
	pthread_mutex_lock(&o->lock);
	o->stopping = 1;
	pthread_cond_signal(&o->wake_cond);
	pthread_mutex_unlock(&o->lock);
	pthread_join(o->thread, NULL);
	o->started = 0;
}

void outbox_free(struct outbox *o)
{
	if (o == NULL)
		return;
	outbox_stop(o);
	db_close(&o->db);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->db_lock);
	pthread_cond_destroy(&o->wake_cond);
	free(o->acked);
	free(o);
}

unsigned long outbox_published(struct outbox *o)
{
	return atomic_load(&o->published);
}

unsigned long outbox_acked(struct outbox *o)
{
	return atomic_load(&o->acks);
}

unsigned long outbox_resends(struct outbox *o)
{
	return atomic_load(&o->resends);
}

unsigned long outbox_syncs(struct outbox *o)
{
	return atomic_load(&o->syncs);
}

unsigned long outbox_unsynced_sent(struct outbox *o)
{
	return atomic_load(&o->unsynced_sent);
}

unsigned long outbox_reader_syncs(struct outbox *o)
{
	return atomic_load(&o->reader_syncs);
}

unsigned long outbox_unsynced_shown(struct outbox *o)
{
	return atomic_load(&o->unsynced_shown);
}

long outbox_backlog(struct outbox *o)
{
	return atomic_load(&o->backlog);
}
