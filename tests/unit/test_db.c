/* Unit tests of the SQLite helpers: a relaxed commit skips the fsync of that
 * one transaction only, and only on a connection opened with full; what a
 * commit that syncs covers, and the outbox rows a transaction keeps. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "log.h"
#include "outbox.h"

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
	db_remove_files(path);
}

struct add_rows {
	int n;
	int fail; /* roll back after adding them */
};

static int add_outbox_rows(struct db *db, void *arg)
{
	struct add_rows *a = arg;
	char payload[32];

	for (int i = 0; i < a->n; i++) {
		snprintf(payload, sizeof payload, "{\"row\":%d}", i);
		if (outbox_add(db, "webshop/test", payload) != 0)
			return -1;
	}
	return a->fail ? -1 : 0;
}

/* docs/protocol.md §Durable before visible: a commit that syncs covers the
 * outbox rows and the relaxed commits before it; a relaxed one covers
 * nothing; a rolled-back one keeps nothing and counts nothing. */
static void test_durable_marks(void)
{
	char path[] = "/tmp/test_db_marks.XXXXXX";
	int fd = mkstemp(path);
	struct db db;
	struct db_kept_rows kept = { .n = 0 };
	atomic_ulong retries = 0;

	if (!CHECK_TRUE(fd >= 0))
		return;
	close(fd);
	if (!CHECK_EQ_INT(db_open(&db, path, "full"), 0))
		goto out;
	CHECK_EQ_INT(outbox_create_schema(&db), 0);

	/* relaxed, two rows: kept, nothing durable yet */
	CHECK_EQ_INT(db_transaction_retry(&db, NULL, 1, add_outbox_rows, &(struct add_rows){ 2, 0 },
					  "relaxed", &retries), 0);
	CHECK_EQ_INT((int)atomic_load(&db.relaxed_commits), 1);
	CHECK_EQ_INT((int)atomic_load(&db.durable_row), 0);
	CHECK_EQ_INT((int)atomic_load(&db.durable_relaxed), 0);
	db_kept_rows_take(&db, &kept);
	CHECK_EQ_INT(kept.n, 2);
	CHECK_EQ_INT(kept.partial, 0);
	CHECK_EQ_INT((int)kept.row[0].id, 1);
	CHECK_EQ_INT((int)kept.row[1].id, 2);
	CHECK_TRUE(strcmp(kept.row[1].payload, "{\"row\":1}") == 0);
	CHECK_TRUE(strcmp(kept.row[1].topic, "webshop/test") == 0);

	/* rolled back: no row kept, the marks unchanged */
	CHECK_EQ_INT(db_transaction(&db, add_outbox_rows, &(struct add_rows){ 1, 1 }), -1);
	CHECK_EQ_INT(db.kept.n, 0);
	CHECK_EQ_INT((int)db.committed_newest_row, 2);

	/* synced, one row: covers it, the relaxed commit and its rows before */
	CHECK_EQ_INT(db_transaction_retry(&db, NULL, 0, add_outbox_rows, &(struct add_rows){ 1, 0 },
					  "full", &retries), 0);
	CHECK_TRUE(atomic_load(&db.durable_row) >= 3);
	CHECK_EQ_INT((int)atomic_load(&db.durable_row), (int)db.committed_newest_row);
	CHECK_EQ_INT((int)atomic_load(&db.durable_relaxed), 1);

	/* more rows than are kept: the set is partial (the thread publishes) */
	CHECK_EQ_INT(db_transaction_retry(&db, NULL, 1, add_outbox_rows,
					  &(struct add_rows){ DB_KEPT_ROWS + 1, 0 }, "many", &retries),
		     0);
	CHECK_EQ_INT(db.kept.partial, 1);
	CHECK_EQ_INT((int)atomic_load(&db.durable_relaxed), 1); /* relaxed: no cover */
	CHECK_EQ_INT(retries, 0);
	db_close(&db);
out:
	db_kept_rows_clear(&kept);
	db_remove_files(path);
}

int main(void)
{
	log_init("test_db", LOG_LEVEL_WARN);
	test_relaxed_commit("full", 2, 0, 2);
	test_relaxed_commit("full", 2, 1, 1);
	test_relaxed_commit("normal", 1, 1, 1);
	test_relaxed_commit("normal", 1, 0, 1);
	test_durable_marks();
	return check_summary("test_db");
}
