/* The dead-letter table: messages that failed validation or conflicted, kept for people to read. */
#include "dead_letter.h"

#include "service.h"

int dead_letter_create_schema(struct db *db)
{
	return db_exec(db, "CREATE TABLE IF NOT EXISTS dead_letters("
			   " id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,"
			   " topic TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB)");
}

int dead_letter_add(struct db *db, const char *topic, const char *payload, size_t len,
		    const char *reason)
{
	sqlite3_stmt *st = db_stmt(db, DEAD_LETTER_STMT_SLOT,
				   "INSERT INTO dead_letters(at_ms, topic, reason, payload)"
				   " VALUES(?, ?, ?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, service_now_ms());
	sqlite3_bind_text(st, 2, topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 4, payload, len, SQLITE_STATIC);
	return db_step_done(db, st);
}

long dead_letter_count(struct db *db)
{
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_prepare_v2(db->handle, "SELECT count(*) FROM dead_letters", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}
