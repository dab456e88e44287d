/* The dead-letter table: messages that failed validation or conflicted, kept for people to read. */
#define _GNU_SOURCE /* strndup */
#include "dead_letter.h"

#include <string.h>
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "event.h"
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

/* Bytes as lower-case hex, for a payload that JSON text cannot hold. */
static cJSON *base16(const unsigned char *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *text = malloc(len * 2 + 1);
	cJSON *item;

	if (text == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		text[2 * i] = digits[bytes[i] >> 4];
		text[2 * i + 1] = digits[bytes[i] & 15];
	}
	text[len * 2] = '\0';
	item = cJSON_CreateString(text);
	free(text);
	return item;
}

static cJSON *dead_letter_row(sqlite3_stmt *st)
{
	cJSON *row = cJSON_CreateObject();
	const char *payload = sqlite3_column_blob(st, 4);
	size_t len = (size_t)sqlite3_column_bytes(st, 4);
	char *text;

	if (row == NULL)
		return NULL;
	cJSON_AddNumberToObject(row, "id", (double)sqlite3_column_int64(st, 0));
	cJSON_AddNumberToObject(row, "at_ms", (double)sqlite3_column_int64(st, 1));
	cJSON_AddStringToObject(row, "topic", (const char *)sqlite3_column_text(st, 2));
	cJSON_AddStringToObject(row, "reason", (const char *)sqlite3_column_text(st, 3));
	if (payload != NULL && event_utf8_valid(payload, len) && memchr(payload, 0, len) == NULL &&
	    (text = strndup(payload, len)) != NULL) {
		cJSON_AddStringToObject(row, "payload", text);
		free(text);
	} else {
		cJSON_AddItemToObject(row, "payload_base16",
				      base16((const unsigned char *)payload, payload ? len : 0));
	}
	return row;
}

cJSON *dead_letter_list_json(struct db *db, int limit)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *list = root ? cJSON_AddArrayToObject(root, "dead_letters") : NULL;
	sqlite3_stmt *st;
	int rc;

	if (list == NULL ||
	    sqlite3_prepare_v2(db->handle,
			       "SELECT id, at_ms, topic, reason, payload FROM dead_letters"
			       " ORDER BY id DESC LIMIT ?", -1, &st, NULL) != SQLITE_OK) {
		cJSON_Delete(root);
		return NULL;
	}
	sqlite3_bind_int(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cJSON_AddItemToArray(list, dead_letter_row(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}
