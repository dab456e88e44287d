/* The order daemon's SQLite store: one row per order, loaded and saved whole. */
#include <stdio.h>
#include "order_store.h"

#include <stdlib.h>
#include <string.h>

#include "consumer.h"

enum { ST_LOAD, ST_SAVE, ST_DUE, ST_ALL, ST_ONE, ST_PENDING_AGE, ST_SLOTS };
_Static_assert(ST_SLOTS <= CONSUMER_STORE_SLOTS,
	       "the order store's statements would take the consumer's slots");

#define ORDER_COLUMNS \
	"order_id, status, items, priced, total_cents, reason, reason_sku, created_at," \
	" released, next_redrive_ms, redrives, final_ms"

static const char *const status_names[] = { "pending", "confirmed", "rejected", "canceled" };

/* The partial index holds only the orders the re-drive still owes an event,
 * so the sweep stays cheap however many final orders there are. */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS orders("
	" order_id TEXT PRIMARY KEY, status INTEGER NOT NULL, items TEXT, priced TEXT,"
	" total_cents INTEGER NOT NULL DEFAULT -1, reason TEXT NOT NULL DEFAULT '',"
	" reason_sku TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT '',"
	" released INTEGER NOT NULL DEFAULT 0, next_redrive_ms INTEGER NOT NULL DEFAULT 0,"
	" redrives INTEGER NOT NULL DEFAULT 0, final_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS orders_owed ON orders(next_redrive_ms)"
	" WHERE status = 0 OR (status = 3 AND released = 0);"
	/* the pending orders by age, for order_store_pending_age */
	"CREATE INDEX IF NOT EXISTS orders_pending ON orders(created_at) WHERE status = 0;";

const char *order_status_name(enum order_status status)
{
	return (status >= 0 && status <= ORDER_CANCELED) ? status_names[status] : "?";
}

/* Databases made before final_ms existed get the column (0: not known). */
static int add_final_ms(struct db *db)
{
	sqlite3_stmt *probe = NULL;

	if (sqlite3_prepare_v2(db->handle, "SELECT final_ms FROM orders LIMIT 0", -1, &probe,
			       NULL) == SQLITE_OK) {
		sqlite3_finalize(probe);
		return 0;
	}
	return db_exec(db, "ALTER TABLE orders ADD COLUMN final_ms INTEGER NOT NULL DEFAULT 0");
}

int order_store_open(struct order_store *s, const char *path, const char *sync)
{
	if (consumer_db_open(&s->db, &s->lock, path, sync, schema) != 0)
		return -1;
	if (add_final_ms(&s->db) != 0) {
		consumer_db_close(&s->db, &s->lock);
		return -1;
	}
	return 0;
}

void order_store_close(struct order_store *s)
{
	consumer_db_close(&s->db, &s->lock);
}

int order_record_set(char **field, const char *text)
{
	char *copy = text ? strdup(text) : NULL;

	if (text != NULL && copy == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

void order_record_free(struct order_record *rec)
{
	free(rec->items);
	free(rec->priced);
	rec->items = NULL;
	rec->priced = NULL;
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", text ? (const char *)text : "");
}

static int read_row(sqlite3_stmt *st, struct order_record *rec)
{
	const unsigned char *items = sqlite3_column_text(st, 2);
	const unsigned char *priced = sqlite3_column_text(st, 3);

	memset(rec, 0, sizeof *rec);
	copy_text(rec->order_id, sizeof rec->order_id, st, 0);
	rec->status = (enum order_status)sqlite3_column_int(st, 1);
	if (order_record_set(&rec->items, (const char *)items) != 0 ||
	    order_record_set(&rec->priced, (const char *)priced) != 0) {
		order_record_free(rec);
		return -1;
	}
	rec->total_cents = sqlite3_column_int64(st, 4);
	copy_text(rec->reason, sizeof rec->reason, st, 5);
	copy_text(rec->reason_sku, sizeof rec->reason_sku, st, 6);
	copy_text(rec->created_at, sizeof rec->created_at, st, 7);
	rec->released = sqlite3_column_int(st, 8);
	rec->next_redrive_ms = sqlite3_column_int64(st, 9);
	rec->redrives = sqlite3_column_int(st, 10);
	rec->final_ms = sqlite3_column_int64(st, 11);
	return 0;
}

enum db_lookup order_store_load(struct order_store *s, const char *order_id,
				struct order_record *rec)
{
	sqlite3_stmt *st;
	enum db_lookup got;

	memset(rec, 0, sizeof *rec);
	snprintf(rec->order_id, sizeof rec->order_id, "%s", order_id);
	rec->total_cents = -1;
	got = db_lookup_row(&s->db, ST_LOAD, "SELECT " ORDER_COLUMNS " FROM orders WHERE order_id = ?",
			    order_id, &st);
	if (got == DB_FOUND) {
		if (read_row(st, rec) != 0)
			got = DB_LOOKUP_ERROR;
		sqlite3_reset(st);
	}
	return got;
}

int order_store_save(struct order_store *s, const struct order_record *r)
{
	sqlite3_stmt *st = db_stmt(&s->db, ST_SAVE,
				   "INSERT INTO orders(" ORDER_COLUMNS ")"
				   " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
				   /* an upsert changes the row in place: REPLACE would
				    * delete it and insert it again, with its index entries */
				   " ON CONFLICT(order_id) DO UPDATE SET status = excluded.status,"
				   " items = excluded.items, priced = excluded.priced,"
				   " total_cents = excluded.total_cents, reason = excluded.reason,"
				   " reason_sku = excluded.reason_sku, created_at = excluded.created_at,"
				   " released = excluded.released, next_redrive_ms = excluded.next_redrive_ms,"
				   " redrives = excluded.redrives, final_ms = excluded.final_ms");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, r->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)r->status);
	sqlite3_bind_text(st, 3, r->items, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->priced, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, r->total_cents);
	sqlite3_bind_text(st, 6, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->reason_sku, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->created_at, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, r->released);
	sqlite3_bind_int64(st, 10, r->next_redrive_ms);
	sqlite3_bind_int(st, 11, r->redrives);
	sqlite3_bind_int64(st, 12, r->final_ms);
	return db_step_done(&s->db, st);
}

int order_store_due(struct order_store *s, int64_t now_ms, struct order_record *out, int max)
{
	sqlite3_stmt *st = db_stmt(&s->db, ST_DUE,
				   "SELECT " ORDER_COLUMNS " FROM orders"
				   " WHERE (status = 0 OR (status = 3 AND released = 0))"
				   " AND next_redrive_ms <= ? ORDER BY next_redrive_ms LIMIT ?");
	int n = 0, rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		if (read_row(st, &out[n]) != 0)
			break;
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			order_record_free(&out[i]);
		return -1;
	}
	return n;
}

int64_t order_store_pending_age(struct order_store *s, int nth, int64_t now_ms)
{
	sqlite3_stmt *st;
	int64_t age = 0, created_ms;

	pthread_mutex_lock(&s->lock);
	st = db_stmt(&s->db, ST_PENDING_AGE,
		     /* an order without a time yet (created by an answer) is
		      * never pending, but one would sort first and hide the nth */
		     "SELECT created_at FROM orders WHERE status = 0 AND created_at != ''"
		     " ORDER BY created_at LIMIT 1 OFFSET ?");
	if (st != NULL) {
		sqlite3_bind_int(st, 1, nth - 1);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    event_time_ms((const char *)sqlite3_column_text(st, 0), &created_ms) == 0 &&
		    now_ms > created_ms)
			age = now_ms - created_ms;
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&s->lock);
	return age;
}

int order_store_each(struct order_store *s, const char *order_id,
		     void (*fn)(void *ctx, const struct order_record *rec), void *ctx)
{
	sqlite3_stmt *st;
	int n = 0, rc = SQLITE_DONE;

	pthread_mutex_lock(&s->lock);
	if (order_id != NULL) {
		st = db_stmt(&s->db, ST_ONE, "SELECT " ORDER_COLUMNS " FROM orders WHERE order_id = ?");
		if (st != NULL)
			sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	} else {
		st = db_stmt(&s->db, ST_ALL, "SELECT " ORDER_COLUMNS " FROM orders ORDER BY order_id");
	}
	while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct order_record rec;
		if (read_row(st, &rec) != 0)
			break;
		fn(ctx, &rec);
		order_record_free(&rec);
		n++;
	}
	if (st != NULL)
		sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return (st == NULL || (rc != SQLITE_DONE && rc != SQLITE_ROW)) ? -1 : n;
}
