/* The dead-letter table: messages that failed validation or conflicted, kept for people to read. */
#ifndef SHOP_DEAD_LETTER_H
#define SHOP_DEAD_LETTER_H

#include <stddef.h>

#include "db.h"

#define DEAD_LETTER_STMT_SLOT (DB_MAX_STMTS - 2)

int dead_letter_create_schema(struct db *db);
/* Inside the caller's transaction. The payload is kept as a blob, bytes as they came. */
int dead_letter_add(struct db *db, const char *topic, const char *payload, size_t len,
		    const char *reason);
/* Rows in the table, for /metrics; -1 on error. */
long dead_letter_count(struct db *db);

#endif
