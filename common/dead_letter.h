/* The dead-letter table: messages that failed validation or conflicted, kept for people to read. */
#ifndef SHOP_DEAD_LETTER_H
#define SHOP_DEAD_LETTER_H

#include <stddef.h>

#include "db.h"

#define DEAD_LETTER_STMT_SLOT (DB_MAX_STMTS - 2)
#define DEAD_LETTER_LIST_MAX 500 /* rows the daemons' /dead-letters show */

int dead_letter_create_schema(struct db *db);
/* Inside the caller's transaction. The payload is kept as a blob, bytes as they came. */
int dead_letter_add(struct db *db, const char *topic, const char *payload, size_t len,
		    const char *reason);
/* {"dead_letters":[{id, at_ms, topic, reason, payload}]}, newest first, at
 * most limit rows; a payload that is not UTF-8 comes as "payload_base16"
 * instead. The caller holds the connection's lock and cJSON_Deletes the
 * result; NULL on error. */
struct cJSON;
struct cJSON *dead_letter_list_json(struct db *db, int limit);
/* Rows in the table, for /metrics; -1 on error. */
long dead_letter_count(struct db *db);

#endif
