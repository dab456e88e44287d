/* The inventory's SQLite store: products, reservations and their lines. */
#include "inventory_store.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer.h"
#include "log.h"
#include "outbox.h"

enum {
	ST_FIND, ST_PRODUCT, ST_TAKE, ST_LINE, ST_INSERT, ST_SET_ITEMS, ST_GIVE_BACK,
	ST_DROP_LINES, ST_SET_STATUS, ST_CATALOG, ST_STOCK, ST_LIST, ST_ONE,
	/* the admin's events */
	ST_RESTOCK_FIND, ST_RESTOCK_INSERT, ST_RESTOCK_ADD, ST_PRODUCT_INSERT, ST_PRODUCT_UPDATE,
	ST_PARKED_ADD, ST_PARKED_MARK, ST_RESTOCK_LIST, ST_DEAD_LETTERS,
	ST_SLOTS
};
_Static_assert(ST_SLOTS <= CONSUMER_STORE_SLOTS,
	       "the inventory store's statements would take the consumer's slots");

static const char *const status_names[] = { "reserved", "rejected", "released", "tombstone" };

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS products("
	" sku TEXT PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL,"
	" currency TEXT NOT NULL, initial INTEGER NOT NULL, restocked INTEGER NOT NULL DEFAULT 0,"
	" available INTEGER NOT NULL CHECK (available >= 0));"
	"CREATE TABLE IF NOT EXISTS reservations("
	" order_id TEXT PRIMARY KEY, status INTEGER NOT NULL, items TEXT,"
	" outcome_topic TEXT, outcome_payload TEXT);"
	"CREATE TABLE IF NOT EXISTS reservation_lines("
	" order_id TEXT NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL,"
	" PRIMARY KEY (order_id, sku)) WITHOUT ROWID;"
	/* Each restock once (docs/protocol.md §Topics): applied_at is NULL while
	 * its SKU is unknown, and set when the product appears. */
	"CREATE TABLE IF NOT EXISTS restocks("
	" restock_id TEXT PRIMARY KEY, sku TEXT NOT NULL, qty INTEGER NOT NULL,"
	" applied_at INTEGER);"
	"CREATE INDEX IF NOT EXISTS restocks_parked ON restocks(sku) WHERE applied_at IS NULL;";

/* A database from before the admin's events has no products.version: add it
 * (0, older than any product event, for the rows the catalog loaded). */
static int add_version_column(struct db *db)
{
	sqlite3_stmt *st;
	int has = 0;

	if (sqlite3_prepare_v2(db->handle,
			       "SELECT count(*) FROM pragma_table_info('products') WHERE name = 'version'",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		has = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return has ? 0 : db_exec(db, "ALTER TABLE products ADD COLUMN version INTEGER NOT NULL DEFAULT 0");
}

const char *inventory_reservation_status_name(enum reservation_status status)
{
	return (status >= 0 && status <= RESERVATION_TOMBSTONE) ? status_names[status] : "?";
}

int inventory_store_open(struct inventory_store *s, const char *path, const char *sync)
{
	if (consumer_db_open(&s->db, &s->lock, path, sync, schema) != 0)
		return -1;
	if (add_version_column(&s->db) != 0) {
		log_warn("inventory: cannot add products.version to %s", path);
		consumer_db_close(&s->db, &s->lock);
		return -1;
	}
	return 0;
}

void inventory_store_close(struct inventory_store *s)
{
	consumer_db_close(&s->db, &s->lock);
}

static char *column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	return text ? strdup((const char *)text) : NULL;
}

enum db_lookup inventory_store_find(struct inventory_store *s, const char *order_id,
				    struct reservation *out)
{
	sqlite3_stmt *st;
	enum db_lookup got;

	memset(out, 0, sizeof *out);
	got = db_lookup_row(&s->db, ST_FIND,
			    "SELECT status, items, outcome_topic, outcome_payload"
			    " FROM reservations WHERE order_id = ?", order_id, &st);
	if (got != DB_FOUND)
		return got;
	out->status = (enum reservation_status)sqlite3_column_int(st, 0);
	out->items = column_strdup(st, 1);
	out->outcome_topic = column_strdup(st, 2);
	out->outcome_payload = column_strdup(st, 3);
	sqlite3_reset(st);
	return DB_FOUND;
}

void inventory_reservation_free(struct reservation *r)
{
	free(r->items);
	free(r->outcome_topic);
	free(r->outcome_payload);
	memset(r, 0, sizeof *r);
}

/* Fills price and available of a SKU (DB_MISSING: an unknown SKU). */
static enum db_lookup product_lookup(struct inventory_store *s, const char *sku,
				     long long *price, long long *available)
{
	sqlite3_stmt *st;
	enum db_lookup got = db_lookup_row(&s->db, ST_PRODUCT,
					   "SELECT price_cents, available FROM products WHERE sku = ?",
					   sku, &st);

	if (got == DB_FOUND) {
		*price = sqlite3_column_int64(st, 0);
		*available = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
	}
	return got;
}

static void reject(struct event *outcome, const struct event *send, const char *reason,
		   const char *sku)
{
	outcome->kind = EVENT_OUT_OF_STOCK;
	snprintf(outcome->reason, sizeof outcome->reason, "%s", reason);
	snprintf(outcome->sku, sizeof outcome->sku, "%s", sku);
	outcome->n_items = send->n_items;
	memcpy(outcome->items, send->items, sizeof send->items[0] * (size_t)send->n_items);
}

int inventory_store_reserve(struct inventory_store *s, const struct event *send,
			    struct event *outcome)
{
	memset(outcome, 0, sizeof *outcome);
	memcpy(outcome->order_id, send->order_id, sizeof outcome->order_id);
	/* the answer says which version it decided on: its items and its time */
	memcpy(outcome->created_at, send->created_at, sizeof outcome->created_at);
	/* First decide on every line, then take: nothing is taken for a
	 * rejected order, so no rollback is needed for the all-or-nothing. */
	for (int i = 0; i < send->n_items; i++) {
		long long price = 0, available = 0;
		enum db_lookup got = product_lookup(s, send->items[i].sku, &price, &available);
		if (got == DB_LOOKUP_ERROR)
			return -1;
		if (got == DB_MISSING) {
			reject(outcome, send, "unknown_sku", send->items[i].sku);
			return 0;
		}
		if (available < send->items[i].qty) {
			reject(outcome, send, "insufficient_stock", send->items[i].sku);
			return 0;
		}
		outcome->items[i] = send->items[i];
		outcome->items[i].unit_price_cents = price;
		outcome->total_cents += price * send->items[i].qty;
	}
	outcome->kind = EVENT_IN_STOCK;
	outcome->n_items = send->n_items;
	for (int i = 0; i < send->n_items; i++) {
		sqlite3_stmt *take = db_stmt(&s->db, ST_TAKE,
			"UPDATE products SET available = available - ?1 WHERE sku = ?2");
		sqlite3_stmt *line;
		if (take == NULL)
			return -1;
		sqlite3_bind_int(take, 1, send->items[i].qty);
		sqlite3_bind_text(take, 2, send->items[i].sku, -1, SQLITE_STATIC);
		if (db_step_done(&s->db, take) != 0)
			return -1;
		line = db_stmt(&s->db, ST_LINE,
			       "INSERT INTO reservation_lines(order_id, sku, qty) VALUES(?, ?, ?)");
		if (line == NULL)
			return -1;
		sqlite3_bind_text(line, 1, send->order_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(line, 2, send->items[i].sku, -1, SQLITE_STATIC);
		sqlite3_bind_int(line, 3, send->items[i].qty);
		if (db_step_done(&s->db, line) != 0)
			return -1;
	}
	return 0;
}

int inventory_store_insert(struct inventory_store *s, const char *order_id,
			   enum reservation_status status, const char *items,
			   const char *outcome_topic, const char *outcome_payload)
{
	sqlite3_stmt *st = db_stmt(&s->db, ST_INSERT,
				   "INSERT INTO reservations(order_id, status, items, outcome_topic,"
				   " outcome_payload) VALUES(?, ?, ?, ?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)status);
	sqlite3_bind_text(st, 3, items, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, outcome_topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, outcome_payload, -1, SQLITE_STATIC);
	return db_step_done(&s->db, st);
}

int inventory_store_set_items(struct inventory_store *s, const char *order_id, const char *items)
{
	sqlite3_stmt *st = db_stmt(&s->db, ST_SET_ITEMS,
				   "UPDATE reservations SET items = ? WHERE order_id = ?");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, items, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, order_id, -1, SQLITE_STATIC);
	return db_step_done(&s->db, st);
}

/* Runs the statement of slot with order_id as its one parameter; 0 or -1. */
static int step_for_order(struct inventory_store *s, int slot, const char *sql,
			  const char *order_id)
{
	sqlite3_stmt *st = db_stmt(&s->db, slot, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	return db_step_done(&s->db, st);
}

int inventory_store_release(struct inventory_store *s, const char *order_id)
{
	sqlite3_stmt *mark;

	if (step_for_order(s, ST_GIVE_BACK,
			   "UPDATE products SET available = available + l.qty"
			   " FROM reservation_lines AS l WHERE l.order_id = ? AND products.sku = l.sku",
			   order_id) != 0 ||
	    step_for_order(s, ST_DROP_LINES, "DELETE FROM reservation_lines WHERE order_id = ?",
			   order_id) != 0)
		return -1;
	mark = db_stmt(&s->db, ST_SET_STATUS, "UPDATE reservations SET status = ? WHERE order_id = ?");
	if (mark == NULL)
		return -1;
	sqlite3_bind_int(mark, 1, RESERVATION_RELEASED);
	sqlite3_bind_text(mark, 2, order_id, -1, SQLITE_STATIC);
	return db_step_done(&s->db, mark);
}

/* Catalog loading ------------------------------------------------------- */

#define CATALOG_MAX_STOCK 1000000000LL

static int whole_in(const cJSON *item, long long min, long long max)
{
	return cJSON_IsNumber(item) && item->valuedouble == floor(item->valuedouble) &&
	       item->valuedouble >= (double)min && item->valuedouble <= (double)max;
}

struct catalog_load {
	struct inventory_store *s;
	const cJSON *products;
	int loaded;
};

static int catalog_insert(struct db *db, void *arg)
{
	struct catalog_load *c = arg;
	const cJSON *p;
	sqlite3_stmt *count;
	sqlite3_stmt *ins;
	int existing;

	if (sqlite3_prepare_v2(db->handle, "SELECT count(*) FROM products", -1, &count, NULL) !=
	    SQLITE_OK)
		return -1;
	existing = sqlite3_step(count) == SQLITE_ROW ? sqlite3_column_int(count, 0) : -1;
	sqlite3_finalize(count);
	if (existing != 0)
		return existing < 0 ? -1 : 0;
	if (sqlite3_prepare_v2(db->handle,
			       "INSERT INTO products(sku, name, price_cents, currency, initial, available)"
			       " VALUES(?, ?, ?, ?, ?, ?)", -1, &ins, NULL) != SQLITE_OK)
		return -1;
	cJSON_ArrayForEach(p, c->products) {
		const cJSON *sku = cJSON_GetObjectItemCaseSensitive(p, "sku");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
		const cJSON *price = cJSON_GetObjectItemCaseSensitive(p, "price_cents");
		const cJSON *currency = cJSON_GetObjectItemCaseSensitive(p, "currency");
		const cJSON *stock = cJSON_GetObjectItemCaseSensitive(p, "stock");
		/* Prices travel in events that are checked against the same bounds:
		 * a price the codec refuses would leave its orders pending for ever. */
		if (!cJSON_IsString(sku) || !event_sku_valid(sku->valuestring) ||
		    !cJSON_IsString(name) || !whole_in(price, 0, EVENT_MAX_PRICE_CENTS) ||
		    !whole_in(stock, 0, CATALOG_MAX_STOCK) ||
		    (currency != NULL && !cJSON_IsString(currency))) {
			log_warn("inventory: catalog product %d is invalid (needs sku, name, price_cents from 0 to %lld, stock from 0 to %lld)",
				 c->loaded, EVENT_MAX_PRICE_CENTS, CATALOG_MAX_STOCK);
			sqlite3_finalize(ins);
			return -1;
		}
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, sku->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, name->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, (sqlite3_int64)price->valuedouble);
		sqlite3_bind_text(ins, 4, cJSON_IsString(currency) ? currency->valuestring : "EUR", -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, (sqlite3_int64)stock->valuedouble);
		sqlite3_bind_int64(ins, 6, (sqlite3_int64)stock->valuedouble);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			log_warn("inventory: cannot insert catalog product '%s': %s", sku->valuestring,
				 sqlite3_errmsg(db->handle));
			sqlite3_finalize(ins);
			return -1;
		}
		c->loaded++;
	}
	sqlite3_finalize(ins);
	return 0;
}

int inventory_store_load_catalog(struct inventory_store *s, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long size;
	cJSON *root = NULL;
	struct catalog_load load = { s, NULL, 0 };
	int rc = -1;

	if (f == NULL) {
		log_warn("inventory: cannot open catalog '%s'", path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > 16 * 1024 * 1024 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	text = malloc((size_t)size + 1);
	if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size)
		goto out;
	text[size] = '\0';
	root = cJSON_Parse(text);
	load.products = cJSON_GetObjectItemCaseSensitive(root, "products");
	if (!cJSON_IsArray(load.products)) {
		log_warn("inventory: catalog '%s' has no \"products\" array", path);
		goto out;
	}
	rc = db_transaction(&s->db, catalog_insert, &load);
	if (rc == 0 && load.loaded > 0)
		log_info("inventory: loaded %d products from %s", load.loaded, path);
out:
	if (rc != 0)
		log_warn("inventory: cannot load catalog '%s'", path);
	cJSON_Delete(root);
	free(text);
	fclose(f);
	return rc;
}

/* Reads for HTTP ------------------------------------------------------- */

/* {"products": rows of the query}, read under the store's lock. */
static cJSON *products_json(struct inventory_store *s, int slot, const char *sql)
{
	cJSON *root, *rows;

	pthread_mutex_lock(&s->lock);
	rows = db_rows_json(&s->db, slot, sql);
	pthread_mutex_unlock(&s->lock);
	if (rows == NULL || (root = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(rows);
		return NULL;
	}
	cJSON_AddItemToObject(root, "products", rows);
	return root;
}

struct cJSON *inventory_store_catalog_json(struct inventory_store *s)
{
	return products_json(s, ST_CATALOG,
			     "SELECT sku, name, price_cents, currency, available FROM products ORDER BY sku");
}

struct cJSON *inventory_store_stock_json(struct inventory_store *s)
{
	return products_json(s, ST_STOCK,
			     "SELECT p.sku AS sku, p.name AS name, p.price_cents AS price_cents,"
			     " p.currency AS currency, p.version AS version, p.initial AS initial,"
			     " (SELECT coalesce(sum(qty), 0) FROM restocks r"
			     "  WHERE r.sku = p.sku AND r.applied_at IS NOT NULL) AS restocked,"
			     " p.available AS available,"
			     " (SELECT coalesce(sum(qty), 0) FROM reservation_lines l WHERE l.sku = p.sku)"
			     " AS reserved FROM products p ORDER BY p.sku");
}

static cJSON *reservation_row_json(sqlite3_stmt *st)
{
	cJSON *r = cJSON_CreateObject();
	const char *items = (const char *)sqlite3_column_text(st, 2);
	cJSON *parsed = items ? cJSON_Parse(items) : NULL;

	cJSON_AddStringToObject(r, "order_id", (const char *)sqlite3_column_text(st, 0));
	cJSON_AddStringToObject(r, "status",
		inventory_reservation_status_name((enum reservation_status)sqlite3_column_int(st, 1)));
	cJSON_AddItemToObject(r, "items", parsed ? parsed : cJSON_CreateArray());
	return r;
}

struct cJSON *inventory_store_reservations_json(struct inventory_store *s, const char *order_id)
{
	cJSON *result = NULL;
	sqlite3_stmt *st;

	pthread_mutex_lock(&s->lock);
	if (order_id != NULL) {
		st = db_stmt(&s->db, ST_ONE,
			     "SELECT order_id, status, items FROM reservations WHERE order_id = ?");
		if (st != NULL) {
			sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				result = reservation_row_json(st);
			sqlite3_reset(st);
		}
	} else {
		cJSON *list;
		result = cJSON_CreateObject();
		list = cJSON_AddArrayToObject(result, "reservations");
		st = db_stmt(&s->db, ST_LIST,
			     "SELECT order_id, status, items FROM reservations ORDER BY order_id");
		while (st != NULL && sqlite3_step(st) == SQLITE_ROW)
			cJSON_AddItemToArray(list, reservation_row_json(st));
		if (st != NULL)
			sqlite3_reset(st);
	}
	pthread_mutex_unlock(&s->lock);
	return result;
}

/* The admin's events: restocks and product changes ---------------------- */

enum inventory_restock_result inventory_store_restock(struct inventory_store *s,
						      const struct event *ev, int64_t now_ms)
{
	sqlite3_stmt *st;
	enum db_lookup got;
	long long price, available;

	got = db_lookup_row(&s->db, ST_RESTOCK_FIND,
			    "SELECT sku, qty FROM restocks WHERE restock_id = ?", ev->restock_id, &st);
	if (got == DB_LOOKUP_ERROR)
		return INVENTORY_RESTOCK_ERROR;
	if (got == DB_FOUND) {
		int same = strcmp((const char *)sqlite3_column_text(st, 0), ev->sku) == 0 &&
			   sqlite3_column_int64(st, 1) == ev->restock_qty;
		sqlite3_reset(st);
		return same ? INVENTORY_RESTOCK_DUPLICATE : INVENTORY_RESTOCK_CONFLICT;
	}
	got = product_lookup(s, ev->sku, &price, &available);
	if (got == DB_LOOKUP_ERROR)
		return INVENTORY_RESTOCK_ERROR;
	st = db_stmt(&s->db, ST_RESTOCK_INSERT,
		     "INSERT INTO restocks(restock_id, sku, qty, applied_at) VALUES(?, ?, ?, ?)");
	if (st == NULL)
		return INVENTORY_RESTOCK_ERROR;
	sqlite3_bind_text(st, 1, ev->restock_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->sku, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, ev->restock_qty);
	if (got == DB_FOUND)
		sqlite3_bind_int64(st, 4, now_ms);
	else
		sqlite3_bind_null(st, 4);
	if (db_step_done(&s->db, st) != 0)
		return INVENTORY_RESTOCK_ERROR;
	if (got == DB_MISSING)
		return INVENTORY_RESTOCK_PARKED;
	st = db_stmt(&s->db, ST_RESTOCK_ADD,
		     "UPDATE products SET available = available + ?1, restocked = restocked + ?1"
		     " WHERE sku = ?2");
	if (st == NULL)
		return INVENTORY_RESTOCK_ERROR;
	sqlite3_bind_int(st, 1, ev->restock_qty);
	sqlite3_bind_text(st, 2, ev->sku, -1, SQLITE_STATIC);
	return db_step_done(&s->db, st) == 0 ? INVENTORY_RESTOCK_APPLIED : INVENTORY_RESTOCK_ERROR;
}

/* Applies the restocks that waited for this SKU to exist. */
static int apply_parked_restocks(struct inventory_store *s, const char *sku, int64_t now_ms)
{
	sqlite3_stmt *st = db_stmt(&s->db, ST_PARKED_ADD,
		"UPDATE products SET"
		" available = available + (SELECT coalesce(sum(qty), 0) FROM restocks"
		"  WHERE sku = ?1 AND applied_at IS NULL),"
		" restocked = restocked + (SELECT coalesce(sum(qty), 0) FROM restocks"
		"  WHERE sku = ?1 AND applied_at IS NULL)"
		" WHERE sku = ?1");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, sku, -1, SQLITE_STATIC);
	if (db_step_done(&s->db, st) != 0)
		return -1;
	st = db_stmt(&s->db, ST_PARKED_MARK,
		     "UPDATE restocks SET applied_at = ?2 WHERE sku = ?1 AND applied_at IS NULL");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, sku, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	return db_step_done(&s->db, st);
}

static void bind_product(sqlite3_stmt *st, const struct event *ev)
{
	sqlite3_bind_text(st, 1, ev->sku, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ev->price_cents);
	sqlite3_bind_text(st, 4, ev->currency, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, ev->version);
}

enum inventory_product_result inventory_store_product(struct inventory_store *s,
						      const struct event *ev, int64_t now_ms)
{
	long long price, available;
	enum db_lookup got = product_lookup(s, ev->sku, &price, &available);
	sqlite3_stmt *st;

	if (got == DB_LOOKUP_ERROR)
		return INVENTORY_PRODUCT_ERROR;
	if (got == DB_MISSING) {
		st = db_stmt(&s->db, ST_PRODUCT_INSERT,
			     "INSERT INTO products(sku, name, price_cents, currency, version, initial,"
			     " restocked, available) VALUES(?1, ?2, ?3, ?4, ?5, 0, 0, 0)");
		if (st == NULL)
			return INVENTORY_PRODUCT_ERROR;
		bind_product(st, ev);
		if (db_step_done(&s->db, st) != 0 || apply_parked_restocks(s, ev->sku, now_ms) != 0)
			return INVENTORY_PRODUCT_ERROR;
		return INVENTORY_PRODUCT_CREATED;
	}
	/* The newest version wins; two changes of the same version are ordered
	 * by their content, so that any order of arrival ends the same. */
	st = db_stmt(&s->db, ST_PRODUCT_UPDATE,
		     "UPDATE products SET name = ?2, price_cents = ?3, currency = ?4, version = ?5"
		     " WHERE sku = ?1 AND (version < ?5 OR (version = ?5 AND"
		     " (name, price_cents, currency) < (?2, ?3, ?4)))");
	if (st == NULL)
		return INVENTORY_PRODUCT_ERROR;
	bind_product(st, ev);
	if (db_step_done(&s->db, st) != 0)
		return INVENTORY_PRODUCT_ERROR;
	return sqlite3_changes(s->db.handle) > 0 ? INVENTORY_PRODUCT_UPDATED : INVENTORY_PRODUCT_STALE;
}

struct cJSON *inventory_store_restocks_json(struct inventory_store *s)
{
	cJSON *root, *rows;

	pthread_mutex_lock(&s->lock);
	rows = db_rows_json(&s->db, ST_RESTOCK_LIST,
			    "SELECT restock_id, sku, qty, applied_at FROM restocks"
			    " ORDER BY applied_at IS NULL DESC, applied_at, restock_id");
	pthread_mutex_unlock(&s->lock);
	if (rows == NULL || (root = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(rows);
		return NULL;
	}
	cJSON_AddItemToObject(root, "restocks", rows);
	return root;
}
