/* Transactional outbox: events recorded with the state change, published by
 * one thread at QoS 1, deleted only after the broker's PUBACK. */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "service.h"

#define OUTBOX_WINDOW 512      /* messages in flight at once (< MQTT_MAX_BUFFERED) */
#define OUTBOX_MAX_ACKED 4096  /* acks deleted in one transaction */
#define OUTBOX_DELETE_MS 100   /* acks wait this long to be deleted together */

/* The outbox thread's own connection: all its slots are ours. */
enum { STMT_SELECT, STMT_DELETE, STMT_BACKLOG, STMT_NEWEST, STMT_SLOTS };
_Static_assert(STMT_SLOTS <= DB_MAX_STMTS, "the outbox's statements need more slots");

struct outbox {
	struct db db;
	/* db is the outbox thread's and, for outbox_sync_for_reader, the HTTP
	 * threads': SQLite's NOMUTEX connections want one user at a time. */
	pthread_mutex_t db_lock;
	struct mqtt *mqtt;  /* set under db_lock (outbox_start) */
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
	int64_t next_id;    /* rows up to it were handed to Paho; under db_lock */
	int64_t deleted_ms; /* when acknowledged rows were last deleted */
	atomic_ulong published;
	atomic_ulong direct;  /* of them, by outbox_publish_committed */
	atomic_ulong acks;
	atomic_ulong resends; /* times every row not yet deleted went out again */
	atomic_long backlog;
	int64_t backlog_counted_ms;
	pthread_mutex_t *writer_lock; /* the daemon's, around every write of ours */
	/* durable before visible (outbox_sync_before_publish), under db_lock */
	int sync_first;
	struct db *writer;           /* the daemon's connection, whose relaxed commits count */
	int wal_fd;                  /* the database's write-ahead log, read-only: fdatasync only */
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

/* Keeps a copy of a row for outbox_publish_committed; one that does not
 * fit makes the whole set partial (the thread publishes them then). */
static void keep_row(struct db_kept_rows *kept, int64_t id, const char *topic,
		     const char *payload)
{
	struct db_kept_row *r;

	if (kept->partial || kept->n >= DB_KEPT_ROWS) {
		kept->partial = 1;
		return;
	}
	r = &kept->row[kept->n];
	r->id = id;
	r->topic = strdup(topic);
	r->payload = strdup(payload);
	kept->n++;
	if (r->topic == NULL || r->payload == NULL)
		kept->partial = 1;
}

int outbox_add(struct db *db, const char *topic, const char *payload)
{
	sqlite3_stmt *st = db_stmt(db, OUTBOX_STMT_SLOT,
				   "INSERT INTO outbox(topic, payload) VALUES(?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, payload, -1, SQLITE_STATIC);
	if (db_step_done(db, st) != 0)
		return -1;
	db->txn_newest_row = sqlite3_last_insert_rowid(db->handle);
	keep_row(&db->kept, db->txn_newest_row, topic, payload);
	return 0;
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
	o->wal_fd = -1;
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
	/* The thread is woken only when an ack gives it work now: half the
	 * batch buffer, a row to send again, or room in a window that was
	 * full. The other acks wait for its delete timer, which runs while
	 * rows are in flight: a wake-up per PUBACK was a futex and a context
	 * switch per message, and a pass (a read transaction) for nothing. */
	if (o->resend || window_was_full || o->n_acked >= OUTBOX_MAX_ACKED / 2) {
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

/* Whether an fsync covers every outbox row up to row and the first commits
 * relaxed commits of the writer: one of ours, or the newest commit of the
 * writer that synced (struct db's durable_row, durable_relaxed: under
 * full, a daemon's commits of the messages no re-drive repeats sync, e.g.
 * the order daemon's order/send, and cover its relaxed ones before them).
 * Folds the writer's into ours; db_lock held. */
static int is_covered(struct outbox *o, int64_t row, unsigned long commits)
{
	if (o->writer != NULL) {
		int64_t durable_row = atomic_load(&o->writer->durable_row);
		unsigned long durable_relaxed = atomic_load(&o->writer->durable_relaxed);

		if (durable_row > o->synced_id)
			o->synced_id = durable_row;
		if (durable_relaxed > atomic_load(&o->synced_commits))
			atomic_store(&o->synced_commits, durable_relaxed);
	}
	return row <= o->synced_id && commits <= atomic_load(&o->synced_commits);
}

/* Durable before visible (docs/protocol.md §Durable before visible): the
 * daemon's handlers commit without an fsync, so before a row is published,
 * or a state shown over HTTP, an fsync must cover the commit that wrote it.
 * The caller read that row or state before calling, so its commit is done:
 * its frames are in the write-ahead log file, written by SQLite before the
 * commit became visible. An fdatasync of that file then makes them durable,
 * whichever descriptor or connection wrote them (fsync works on the file,
 * not the descriptor), and frames a checkpoint already copied back are
 * durable in the database file, which SQLite syncs before it may reuse the
 * log (synchronous=NORMAL or FULL, sqlite.org/wal.html). So the sync takes
 * no SQLite lock and not the daemon's writer lock: the daemon's handlers go
 * on committing while it waits for the disk. The writer's relaxed commits
 * are counted after their COMMIT, so those counted before the fdatasync are
 * covered by it. One sync covers every commit before it: group durability.
 * The one sync of both paths; db_lock held. */
static int sync_unless_covered(struct outbox *o, int64_t row, unsigned long commits)
{
	unsigned long covered;

	if (is_covered(o, row, commits))
		return 0;
	covered = o->writer != NULL ? atomic_load(&o->writer->relaxed_commits) : 0;
	if (fdatasync(o->wal_fd) != 0) {
		log_warn("outbox: cannot sync the log to cover row %lld and %lu relaxed commits: %s",
			 (long long)row, commits, strerror(errno));
		return -1;
	}
	if (row > o->synced_id)
		o->synced_id = row;
	if (covered > atomic_load(&o->synced_commits))
		atomic_store(&o->synced_commits, covered);
	atomic_fetch_add(&o->syncs, 1);
	db_test_snapshot(&o->db);
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
		int room, stopping, resend;

		pthread_mutex_lock(&o->lock);
		/* rows in flight or acknowledged: back in OUTBOX_DELETE_MS to
		 * delete them, which their acks then need not wake us for */
		service_deadline_after(&deadline, o->n_acked > 0 || o->inflight > 0
							  ? OUTBOX_DELETE_MS : 1000);
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
		resend = o->resend;
		o->resend = 0;
		room = OUTBOX_WINDOW - o->inflight;
		pthread_mutex_unlock(&o->lock);

		pthread_mutex_lock(&o->db_lock);
		if (resend) {
			/* Everything not yet deleted goes out again: duplicates are
			 * harmless (idempotent handlers), a lost event is not.
			 * next_id changes only under db_lock (outbox_publish_committed). */
			atomic_fetch_add(&o->resends, 1);
			o->next_id = 0;
		}
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

/* Before anything is published or shown: one write transaction with an
 * fsync (synchronous=FULL on this connection), which creates the log file
 * if need be and syncs what a life before this one committed without one;
 * then the log is opened for the fdatasyncs of sync_unless_covered. */
static int sync_at_start(struct outbox *o)
{
	const char *path = sqlite3_db_filename(o->db.handle, "main");
	char wal[4096];

	if (db_exec(&o->db, "PRAGMA synchronous=full") != 0 ||
	    db_exec(&o->db, "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS outbox_sync("
			    " id INTEGER PRIMARY KEY CHECK (id = 1), syncs INTEGER NOT NULL,"
			    " synced_id INTEGER NOT NULL);"
			    " INSERT OR IGNORE INTO outbox_sync VALUES(1, 0, 0);"
			    " UPDATE outbox_sync SET syncs = syncs + 1 WHERE id = 1; COMMIT") != 0) {
		db_exec(&o->db, "ROLLBACK");
		return -1;
	}
	if (path == NULL || (size_t)snprintf(wal, sizeof wal, "%s-wal", path) >= sizeof wal) {
		log_warn("outbox: no path for the database's log");
		return -1;
	}
	o->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (o->wal_fd < 0) {
		log_warn("outbox: cannot open the database's log '%s': %s", wal, strerror(errno));
		return -1;
	}
	return 0;
}

int outbox_sync_before_publish(struct outbox *o, struct db *writer)
{
	int rc;

	pthread_mutex_lock(&o->db_lock);
	o->synced_id = newest_row(o); /* nothing writes yet: the sync covers it */
	rc = o->synced_id >= 0 ? sync_at_start(o) : -1;
	/* its own commits (deletes) need no fsync: a lost delete only sends
	 * an event again (outbox_create) */
	if (rc == 0)
		rc = db_exec(&o->db, "PRAGMA synchronous=normal");
	if (rc == 0) {
		o->writer = writer;
		o->sync_first = 1;
		atomic_fetch_add(&o->syncs, 1);
		db_test_snapshot(&o->db);
	}
	pthread_mutex_unlock(&o->db_lock);
	return rc;
}

/* The rows can go out now, from the caller's thread: nothing before them
 * waits (next_id), nothing is to be sent again, the window has room, and
 * an fsync covers them when one must. o->lock and db_lock held. */
static int can_publish_now(struct outbox *o, const struct db_kept_rows *rows)
{
	return !o->resend && !o->stopping && o->next_id == rows->row[0].id - 1 &&
	       OUTBOX_WINDOW - o->inflight >= rows->n &&
	       (!o->sync_first || is_covered(o, rows->row[rows->n - 1].id, 0));
}

void outbox_publish_committed(struct outbox *o, struct db_kept_rows *rows)
{
	int sent = 0, ready;

	if (rows->n == 0 && !rows->partial)
		return; /* the commit wrote no row: nothing to wake for */
	/* trylock: the outbox thread holds db_lock through its pass, and this
	 * runs in Paho's callbacks, which must not wait on a lock held around
	 * a publish (docs/protocol.md §Crash safety); busy, the thread does it */
	if (!rows->partial && pthread_mutex_trylock(&o->db_lock) == 0) {
		pthread_mutex_lock(&o->lock);
		ready = can_publish_now(o, rows);
		pthread_mutex_unlock(&o->lock);
		for (; ready && sent < rows->n && mqtt_is_ready(o->mqtt); sent++) {
			const struct db_kept_row *r = &rows->row[sent];
			if (publish_row(o, r->id, r->topic, r->payload) != 0)
				break;
			o->next_id = r->id;
		}
		pthread_mutex_unlock(&o->db_lock);
		if (sent > 0)
			atomic_fetch_add(&o->direct, (unsigned long)sent);
	}
	if (sent < rows->n || rows->partial)
		outbox_wake(o);
	db_kept_rows_clear(rows);
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
	if (commits <= atomic_load(&o->synced_commits) ||
	    commits <= atomic_load(&o->writer->durable_relaxed))
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
	/* under db_lock: outbox_publish_committed may already run (a commit on
	 * Paho's thread) and reads it under that lock */
	pthread_mutex_lock(&o->db_lock);
	o->mqtt = mqtt;
	pthread_mutex_unlock(&o->db_lock);
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
	if (o->wal_fd >= 0)
		close(o->wal_fd);
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

unsigned long outbox_published_direct(struct outbox *o)
{
	return atomic_load(&o->direct);
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
