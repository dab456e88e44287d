/* Unit tests of the SQLite helpers: a relaxed commit skips the fsync of that
 * one transaction only, and only on a connection opened with full. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "log.h"

static int synchronous(struct db *db)
{
	sqlite3_stmt *st = NULL;
	int level = -1;

	if (sqlite3_prepare_v2(db->handle, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		level = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return level;
}

static int seen_inside;

static int insert_row(struct db *db, void *arg)
{
	(void)arg;
	seen_inside = synchronous(db);
	return db_exec(db, "INSERT INTO t(x) VALUES(1)");
}

static void test_relaxed_commit(const char *sync, int level, int relaxed, int level_inside)
{
	char path[] = "/tmp/test_db.XXXXXX";
	int fd = mkstemp(path);
	struct db db;
	atomic_ulong retries = 0;

	if (!CHECK_TRUE(fd >= 0))
		return;
	close(fd);
	if (CHECK_EQ_INT(db_open(&db, path, sync), 0)) {
		CHECK_EQ_INT(db_exec(&db, "CREATE TABLE t(x)"), 0);
		CHECK_EQ_INT(synchronous(&db), level);
		seen_inside = -1;
		CHECK_EQ_INT(db_transaction_retry(&db, NULL, relaxed, insert_row, NULL, "test",
						  &retries), 0);
		/* PRAGMA synchronous inside a transaction reads the level the
		 * commit will use */
		CHECK_EQ_INT(seen_inside, level_inside);
		CHECK_EQ_INT(synchronous(&db), level); /* back to the setting */
		CHECK_EQ_INT(retries, 0);
		db_close(&db);
	}
	unlink(path);
	for (const char *suffix = "-wal"; suffix; suffix = suffix[1] == 'w' ? "-shm" : NULL) {
		char side[64];
		snprintf(side, sizeof side, "%s%s", path, suffix);
		unlink(side);
	}
}

int main(void)
{
	log_init("test_db", LOG_LEVEL_WARN);
	test_relaxed_commit("full", 2, 0, 2);
	test_relaxed_commit("full", 2, 1, 1);
	test_relaxed_commit("normal", 1, 1, 1);
	test_relaxed_commit("normal", 1, 0, 1);
	return check_summary("test_db");
}
