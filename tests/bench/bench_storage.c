/* shop-bench-storage: SQLite write transactions/s with the shop's pragmas.
 *
 * Opens a database file with common/db.c (WAL, synchronous normal|full,
 * busy timeout: exactly what the daemons use) and commits, for a fixed time,
 * transactions of one small insert and one update, as a daemon handling one
 * event does. Prints one line of name=value pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "db.h"
#include "log.h"

struct storage_opts {
	const char *dir, *sync;
	long seconds;
};

static void parse(int argc, char **argv, struct storage_opts *o)
{
	o->dir = ".";
	o->sync = getenv("SHOP_SQLITE_SYNC") ? getenv("SHOP_SQLITE_SYNC") : "full";
	o->seconds = 5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0)
			o->dir = bench_arg_str(argc, argv, &i);
		else if (strcmp(argv[i], "--sync") == 0)
			o->sync = bench_arg_str(argc, argv, &i);
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = bench_arg_long(argc, argv, &i, 1, 3600);
		else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: %s [--dir DIR] [--sync normal|full] [--seconds N]\n", argv[0]);
			exit(0);
		} else
			bench_usage_error(argv[0], "unknown flag '%s'", argv[i]);
	}
}

static int setup(struct db *db)
{
	return db_exec(db, "CREATE TABLE IF NOT EXISTS bench_event(id INTEGER PRIMARY KEY "
			   "AUTOINCREMENT, key TEXT NOT NULL, payload TEXT NOT NULL);"
			   "CREATE TABLE IF NOT EXISTS bench_counter(k INTEGER PRIMARY KEY, "
			   "n INTEGER NOT NULL);"
			   "INSERT OR IGNORE INTO bench_counter VALUES(1,0),(2,0),(3,0),(4,0);");
}

/* One transaction: a small insert and an update, like one event of a daemon. */
static int one_txn(struct db *db, void *arg)
{
	long seq = *(long *)arg;
	char key[40];
	sqlite3_stmt *ins = db_stmt(db, 0, "INSERT INTO bench_event(key, payload) VALUES(?, ?)");
	sqlite3_stmt *upd = db_stmt(db, 1, "UPDATE bench_counter SET n = n + 1 WHERE k = ?");

	if (ins == NULL || upd == NULL)
		return -1;
	snprintf(key, sizeof key, "order-%ld", seq);
	sqlite3_bind_text(ins, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 2, "{\"sku\":\"BENCH-1\",\"qty\":1}", -1, SQLITE_STATIC);
	if (db_step_done(db, ins) != 0)
		return -1;
	sqlite3_bind_int(upd, 1, (int)(seq % 4) + 1);
	return db_step_done(db, upd);
}

int main(int argc, char **argv)
{
	struct storage_opts o;
	struct bench_samples lat = { 0 };
	struct db db;
	char path[4096];
	uint64_t start, end, t;
	long seq = 0, failed = 0;

	parse(argc, argv, &o);
	log_init("shop-bench-storage", LOG_LEVEL_WARN);
	snprintf(path, sizeof path, "%s/bench-storage.db", o.dir);
	db_remove_files(path);
	if (db_open(&db, path, o.sync) != 0 || setup(&db) != 0) {
		fprintf(stderr, "shop-bench-storage: cannot set up %s\n", path);
		return 1;
	}
	start = bench_now_ns();
	end = start + (uint64_t)o.seconds * 1000000000u;
	for (t = start; t < end; seq++) {
		if (db_transaction(&db, one_txn, &seq) != 0)
			failed++;
		uint64_t now = bench_now_ns();
		bench_samples_add(&lat, now - t);
		t = now;
	}
	db_close(&db);
	printf("storage sync=%s txns=%ld failed=%ld tx_per_s=%.0f p50_ms=%.3f p99_ms=%.3f\n",
	       o.sync, seq - failed, failed,
	       (double)(seq - failed) / ((double)(t - start) / 1e9), bench_quantile_ms(&lat, 0.50),
	       bench_quantile_ms(&lat, 0.99));
	bench_samples_free(&lat);
	db_remove_files(path);
	return failed ? 1 : 0;
}
