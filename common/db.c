/* SQLite helpers: opening with the shop's pragmas, cached statements, transactions. */
#include "db.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "service.h"

int db_open(struct db *db, const char *path, const char *sync)
{
	char pragma[64];

	memset(db, 0, sizeof *db);
	if (strcmp(sync, "normal") != 0 && strcmp(sync, "full") != 0) {
		log_warn("db: synchronous must be normal or full, not '%s'", sync);
		return -1;
	}
	if (sqlite3_open_v2(path, &db->handle,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_warn("db: cannot open '%s': %s", path,
			 db->handle ? sqlite3_errmsg(db->handle) : "out of memory");
		db_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db->handle, 5000);
	db->full = strcmp(sync, "full") == 0;
	snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
	if (db_exec(db, "PRAGMA journal_mode=WAL") != 0 || db_exec(db, pragma) != 0 ||
	    db_exec(db, "PRAGMA foreign_keys=ON") != 0) {
		log_warn("db: cannot set up '%s'", path);
		db_close(db);
		return -1;
	}
	return 0;
}

void db_remove_files(const char *path)
{
	char side[4200];

	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

void db_kept_rows_clear(struct db_kept_rows *rows)
{
	for (int i = 0; i < rows->n; i++) {
		free(rows->row[i].topic);
		free(rows->row[i].payload);
	}
	rows->n = 0;
	rows->partial = 0;
}

void db_kept_rows_take(struct db *db, struct db_kept_rows *to)
{
	db_kept_rows_clear(to);
	*to = db->kept;
	db->kept.n = 0;
	db->kept.partial = 0;
}

void db_close(struct db *db)
{
	db_kept_rows_clear(&db->kept);
	for (int i = 0; i < DB_MAX_STMTS; i++) {
		sqlite3_finalize(db->stmts[i]);
		db->stmts[i] = NULL;
	}
	for (int i = 0; i < DB_CONTROLS; i++) {
		sqlite3_finalize(db->controls[i]);
		db->controls[i] = NULL;
	}
	if (db->handle != NULL)
		sqlite3_close(db->handle);
	db->handle = NULL;
}

int db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->handle, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warn("db: '%.60s' failed: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *db_stmt(struct db *db, int slot, const char *sql)
{
	sqlite3_stmt *stmt;

	if (slot < 0 || slot >= DB_MAX_STMTS) {
		log_warn("db: statement slot %d out of range", slot);
		return NULL;
	}
	stmt = db->stmts[slot];
	if (stmt == NULL) {
		if (sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
				       NULL) != SQLITE_OK) {
			log_warn("db: cannot prepare '%.60s': %s", sql, sqlite3_errmsg(db->handle));
			return NULL;
		}
		db->stmts[slot] = stmt;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return stmt;
}

int db_step_done(struct db *db, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warn("db: '%.60s' failed: %s", sqlite3_sql(stmt), sqlite3_errmsg(db->handle));
		sqlite3_reset(stmt);
		return -1;
	}
	sqlite3_reset(stmt);
	return 0;
}

enum db_lookup db_lookup_row(struct db *db, int slot, const char *sql, const char *key,
			     sqlite3_stmt **row)
{
	sqlite3_stmt *st = db_stmt(db, slot, sql);
	int rc;

	*row = NULL;
	if (st == NULL)
		return DB_LOOKUP_ERROR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*row = st;
		return DB_FOUND;
	}
	if (rc != SQLITE_DONE)
		log_warn("db: '%.60s' for '%s' failed: %s", sql, key, sqlite3_errmsg(db->handle));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? DB_MISSING : DB_LOOKUP_ERROR;
}

struct cJSON *db_rows_json(struct db *db, int slot, const char *sql)
{
	sqlite3_stmt *st = db_stmt(db, slot, sql);
	cJSON *rows;
	int rc;

	if (st == NULL)
		return NULL;
	rows = cJSON_CreateArray();
	while (rows != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject();
		for (int i = 0; row != NULL && i < sqlite3_column_count(st); i++) {
			const char *name = sqlite3_column_name(st, i);
			if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
				cJSON_AddNumberToObject(row, name, (double)sqlite3_column_int64(st, i));
			else
				cJSON_AddStringToObject(row, name, (const char *)sqlite3_column_text(st, i));
		}
		cJSON_AddItemToArray(rows, row);
	}
	if (rows != NULL && rc != SQLITE_DONE) {
		log_warn("db: '%.60s' failed: %s", sql, sqlite3_errmsg(db->handle));
		cJSON_Delete(rows);
		rows = NULL;
	}
	sqlite3_reset(st);
	return rows;
}

/* Runs one of the statements of every transaction, prepared at its first
 * use and kept: sqlite3_exec would parse it again each time. Not for a
 * PRAGMA that sets something: SQLite applies those while it prepares
 * them, so a kept one would do nothing when stepped again. 0 or -1
 * (logged, like db_exec). */
static int db_control(struct db *db, enum db_control which)
{
	static const char *const sql[DB_CONTROLS] = {
		[DB_BEGIN] = "BEGIN IMMEDIATE", [DB_COMMIT] = "COMMIT", [DB_ROLLBACK] = "ROLLBACK",
	};
	sqlite3_stmt *st = db->controls[which];
	int rc;

	if (st == NULL) {
		if (sqlite3_prepare_v3(db->handle, sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st,
				       NULL) != SQLITE_OK) {
			log_warn("db: cannot prepare '%s': %s", sql[which], sqlite3_errmsg(db->handle));
			return -1;
		}
		db->controls[which] = st;
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warn("db: '%s' failed: %s", sql[which], sqlite3_errmsg(db->handle));
		return -1;
	}
	return 0;
}


/* db_test_snapshots: one copy at a time, so the last renamed is the newest read. */
static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *snapshot_dir;

int db_test_snapshots(const char *dir)
{
	struct stat st;

	if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	snapshot_dir = dir;
	return 0;
}

/* The online backup API reads one consistent snapshot of the source while
 * its writers go on (sqlite.org/backup.html); the copy is neither journaled
 * nor synced: it stands for what the disk holds, not for a second disk. */
static void snapshot_write(struct db *db)
{
	const char *src = sqlite3_db_filename(db->handle, "main");
	const char *name = src != NULL ? strrchr(src, '/') : NULL;
	char tmp[4096], dst[4096];
	sqlite3 *copy = NULL;
	sqlite3_backup *backup;
	int rc;

	if (src == NULL || src[0] == '\0') /* in memory */
		return;
	name = name != NULL ? name + 1 : src;
	if ((size_t)snprintf(dst, sizeof dst, "%s/%s", snapshot_dir, name) >= sizeof dst ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s.copying", dst) >= sizeof tmp) {
		log_warn("db: snapshot path for '%s' in '%s' is too long", name, snapshot_dir);
		return;
	}
	pthread_mutex_lock(&snapshot_lock);
	unlink(tmp);
	rc = sqlite3_open_v2(tmp, &copy, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(copy, "PRAGMA journal_mode=off; PRAGMA synchronous=off", NULL,
				  NULL, NULL);
	if (rc == SQLITE_OK) {
		backup = sqlite3_backup_init(copy, "main", db->handle, "main");
		rc = backup != NULL ? sqlite3_backup_step(backup, -1) : sqlite3_errcode(copy);
		if (backup != NULL && sqlite3_backup_finish(backup) != SQLITE_OK && rc == SQLITE_DONE)
			rc = sqlite3_errcode(copy);
	}
	if (rc != SQLITE_DONE)
		log_warn("db: cannot copy '%s' to '%s': %s", src, tmp,
			 copy != NULL ? sqlite3_errmsg(copy) : sqlite3_errstr(rc));
	sqlite3_close(copy);
	if (rc == SQLITE_DONE && rename(tmp, dst) != 0)
		log_warn("db: cannot rename '%s' to '%s'", tmp, dst);
	pthread_mutex_unlock(&snapshot_lock);
}

void db_test_snapshot(struct db *db)
{
	if (snapshot_dir != NULL)
		snapshot_write(db);
}

int db_transaction(struct db *db, db_txn_fn fn, void *arg)
{
	if (db_control(db, DB_BEGIN) != 0)
		return -1;
	db->txn_newest_row = 0;
	db_kept_rows_clear(&db->kept);
	if (fn(db, arg) != 0)
		goto fail;
	if (db_control(db, DB_COMMIT) != 0)
		goto fail;
	if (db->txn_newest_row > db->committed_newest_row)
		db->committed_newest_row = db->txn_newest_row;
	if (db->full && !db->relaxing) {
		/* relaxed commits are counted after theirs, and one at a time
		 * under the store's lock, as this one is: all before it */
		atomic_store(&db->durable_relaxed, atomic_load(&db->relaxed_commits));
		atomic_store(&db->durable_row, db->committed_newest_row);
		if (snapshot_dir != NULL)
			snapshot_write(db);
	}
	return 0;
fail:
	/* A failed COMMIT may have rolled back already; ROLLBACK then errs harmlessly. */
	if (!sqlite3_get_autocommit(db->handle))
		db_control(db, DB_ROLLBACK);
	db_kept_rows_clear(&db->kept); /* rows that never were */
	return -1;
}

int db_transaction_retry(struct db *db, pthread_mutex_t *lock, int relaxed, db_txn_fn fn,
			 void *arg, const char *what, atomic_ulong *retries)
{
	int backoff_ms = 10;

	/* SQLite refuses to change the setting inside a transaction: around it. */
	relaxed = relaxed && db->full;

	for (;;) {
		char error[160];
		int rc;

		if (lock != NULL)
			pthread_mutex_lock(lock);
		if (relaxed) {
			db_exec(db, "PRAGMA synchronous=normal");
			db->relaxing = 1;
		}
		rc = db_transaction(db, fn, arg);
		snprintf(error, sizeof error, "%s", sqlite3_errmsg(db->handle));
		if (relaxed) {
			db->relaxing = 0;
			db_exec(db, "PRAGMA synchronous=full");
			if (rc == 0)
				atomic_fetch_add(&db->relaxed_commits, 1);
		}
		if (lock != NULL)
			pthread_mutex_unlock(lock);
		if (rc == 0)
			return 0;
		if (retries != NULL)
			atomic_fetch_add(retries, 1);
		log_warn("db: %s failed (%s), retrying in %d ms", what, error, backoff_ms);
		if (service_stopping)
			return -1;
		service_sleep_ms(backoff_ms);
		backoff_ms = backoff_ms * 2 < 2000 ? backoff_ms * 2 : 2000;
	}
}
