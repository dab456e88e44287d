/* SQLite helpers: opening with the shop's pragmas, cached statements, transactions. */
#ifndef SHOP_DB_H
#define SHOP_DB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sqlite3.h>

#define DB_MAX_STMTS 48

/* Outbox rows the open transaction wrote, kept in memory so that whoever
 * committed it may hand them to the broker at once (outbox_add keeps them,
 * db_transaction drops them at BEGIN, outbox_publish_committed publishes
 * them). partial: not all could be kept; then none is used. */
#define DB_KEPT_ROWS 4
struct db_kept_row {
	int64_t id;
	char *topic;   /* heap, freed by db_kept_rows_clear */
	char *payload; /* heap, freed by db_kept_rows_clear */
};
struct db_kept_rows {
	struct db_kept_row row[DB_KEPT_ROWS];
	int n;
	int partial;
};
void db_kept_rows_clear(struct db_kept_rows *rows);

/* The statements every transaction runs, prepared once (db_transaction). */
enum db_control { DB_BEGIN, DB_COMMIT, DB_ROLLBACK, DB_CONTROLS };

struct db {
	sqlite3 *handle;
	sqlite3_stmt *stmts[DB_MAX_STMTS];
	sqlite3_stmt *controls[DB_CONTROLS];
	int full;     /* synchronous=full: each commit is synced */
	int relaxing; /* inside a relaxed commit of db_transaction_retry */
	/* Relaxed commits done so far, counted after each COMMIT and before its
	 * lock is released: whoever then reads what one wrote reads a count that
	 * includes it (outbox_sync_for_reader). */
	atomic_ulong relaxed_commits;
	/* What this connection's commits that sync cover, for the outbox
	 * (docs/protocol.md §Durable before visible): the newest outbox row
	 * of the open transaction (outbox_add sets it) and of all committed
	 * ones; as of the newest commit that synced (full, not relaxed), every
	 * outbox row up to durable_row and the first durable_relaxed relaxed
	 * commits are on disk: its fsync covers every frame of the log before. */
	int64_t txn_newest_row;
	int64_t committed_newest_row;
	_Atomic int64_t durable_row;
	atomic_ulong durable_relaxed;
	struct db_kept_rows kept; /* of the open transaction */
};

/* Moves what the open transaction kept to *to (cleared first), inside it. */
void db_kept_rows_take(struct db *db, struct db_kept_rows *to);

/* Opens (creating) the database in WAL mode with a busy timeout and the given
 * synchronous setting ("normal" or "full"); ":memory:" for tests. 0 or -1. */
int db_open(struct db *db, const char *path, const char *sync);
void db_close(struct db *db);
/* Deletes a closed database's file with its -wal and -shm files (tests,
 * the bench); what is missing is no error. */
void db_remove_files(const char *path);

int db_exec(struct db *db, const char *sql);

/* What looking up one row found: the finders of the stores return it. */
enum db_lookup {
	DB_FOUND = 0,
	DB_MISSING = 1,
	DB_LOOKUP_ERROR = -1, /* logged */
};

/* The prepared statement in slot (0 to DB_MAX_STMTS - 1), prepared on first
 * use, reset and with its bindings cleared. Owned by db; NULL on error
 * (logged). A connection's users share its slots: each numbers its own in an
 * enum and asserts at compile time that they stay in their range (see
 * CONSUMER_STORE_SLOTS). */
sqlite3_stmt *db_stmt(struct db *db, int slot, const char *sql);

/* Steps a statement that returns no rows; 0 or -1 (logged). */
int db_step_done(struct db *db, sqlite3_stmt *stmt);

/* Looks one row up: the statement in slot with key bound to its parameter,
 * stepped once. DB_FOUND leaves *row on the row: read its columns, then
 * sqlite3_reset it. DB_MISSING and DB_LOOKUP_ERROR have reset it. */
enum db_lookup db_lookup_row(struct db *db, int slot, const char *sql, const char *key,
			     sqlite3_stmt **row);

/* Every row of a query as a JSON object keyed by column name (integers as
 * numbers, the rest as strings), in an array; NULL on error. cJSON_Delete it. */
struct cJSON;
struct cJSON *db_rows_json(struct db *db, int slot, const char *sql);

typedef int (*db_txn_fn)(struct db *db, void *arg);

/* BEGIN IMMEDIATE, fn, COMMIT; rolls back when fn or the commit fails. 0 or -1.
 * A commit that syncs (full, not relaxed) is followed by the test-only
 * snapshot when db_test_snapshots set one up. */
int db_transaction(struct db *db, db_txn_fn fn, void *arg);

/* db_transaction until it succeeds, with backoff (busy, disk full, I/O
 * errors); each failure is logged with what and counted in *retries at once
 * (so /metrics shows an outage while it lasts). lock
 * (may be NULL) is held around each attempt, not during the backoff, so
 * readers are served meanwhile. relaxed: commit with synchronous=normal even
 * on a full connection (no fsync; survives a crash of the process, not a
 * power cut), for changes something else repairs if they are lost. Returns
 * -1 only when the service is stopping. */
int db_transaction_retry(struct db *db, pthread_mutex_t *lock, int relaxed, db_txn_fn fn,
			 void *arg, const char *what, atomic_ulong *retries);

/* Test only (SHOP_TEST_SNAPSHOT_DIR, docs/protocol.md §Durable before
 * visible): from now on, right after every commit that syncs, a consistent
 * copy of the database is written to <dir>/<its file name> (copied under a
 * temporary name, then renamed: a kill never leaves half a copy), so the
 * newest copy holds what the last fsync covered, as a disk would after a
 * power cut. dir must exist and outlive the process. 0, or -1 when it is
 * not a directory (the caller says so). */
int db_test_snapshots(const char *dir);
/* A copy now, when db_test_snapshots set a folder up (else nothing): for a
 * sync taken outside db_transaction (the outbox's fdatasync of the log). */
void db_test_snapshot(struct db *db);

#endif
