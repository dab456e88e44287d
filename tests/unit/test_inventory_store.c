/* Unit tests of the inventory daemon's store and topic handlers
 * (inventory/inventory_store.c, on_order_send.c, on_order_canceled.c),
 * on an in-memory database, without a broker. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_helpers.h"
#include "inventory.h"
#include "log.h"

#define T_IN_STOCK "webshop/inventory/in-stock"
#define T_OUT_OF_STOCK "webshop/inventory/out-of-stock"
#define T_RELEASED "webshop/inventory/released"

enum { RES_RESERVED = 0, RES_REJECTED = 1, RES_RELEASED = 2, RES_TOMBSTONE = 3 };

/* A: 250 cents, 10 in stock; B: 1000 cents, 5; C: 99 cents, none. */
static const char catalog_text[] =
	"{\"products\":["
	"{\"sku\":\"A\",\"name\":\"Apple mug\",\"price_cents\":250,\"currency\":\"EUR\",\"stock\":10},"
	"{\"sku\":\"B\",\"name\":\"Blue tee\",\"price_cents\":1000,\"currency\":\"EUR\",\"stock\":5},"
	"{\"sku\":\"C\",\"name\":\"Caf\xc3\xa9 pen\",\"price_cents\":99,\"currency\":\"USD\",\"stock\":0}"
	"]}";

static struct inventory inv;

/* --- helpers ------------------------------------------------------------ */

/* Writes text to a fresh temporary file; the caller unlinks and frees the path. */
static char *temp_file(const char *text)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	size_t cap = strlen(dir) + 40;
	char *path = malloc(cap);
	int fd;
	size_t len = strlen(text);

	if (path == NULL)
		return NULL;
	snprintf(path, cap, "%s/test_inventory_XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* An inventory on an in-memory store, its consumer set up as main does
 * (without an outbox thread); close_store undoes it. */
static int open_store(struct inventory *i)
{
	memset(i, 0, sizeof *i);
	i->svc.prefix = "webshop/";
	i->sync = "normal";
	if (inventory_store_open(&i->store, ":memory:", i->sync) != 0)
		return -1;
	inventory_consumer_init(i);
	return 0;
}

static void close_store(struct inventory *i)
{
	inventory_store_close(&i->store);
	consumer_destroy(&i->consumer);
}

/* One integer from a query with up to one text parameter; -999 on error. */
static long long q_int(const char *sql, const char *param)
{
	sqlite3_stmt *st;
	long long v = -999;

	if (sqlite3_prepare_v2(inv.store.db.handle, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot prepare %s: %s\n", sql, sqlite3_errmsg(inv.store.db.handle));
		return v;
	}
	if (param != NULL)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One text from a query with up to two text parameters; NULL for none (free it). */
static char *q_text2(const char *sql, const char *p1, const char *p2)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (sqlite3_prepare_v2(inv.store.db.handle, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot prepare %s: %s\n", sql, sqlite3_errmsg(inv.store.db.handle));
		return NULL;
	}
	if (p1 != NULL)
		sqlite3_bind_text(st, 1, p1, -1, SQLITE_TRANSIENT);
	if (p2 != NULL)
		sqlite3_bind_text(st, 2, p2, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static long long available(const char *sku)
{
	return q_int("SELECT available FROM products WHERE sku = ?", sku);
}

static long long status_of(const char *order_id)
{
	return q_int("SELECT status FROM reservations WHERE order_id = ?", order_id);
}

static long long outbox_rows(void)
{
	return q_int("SELECT count(*) FROM outbox", NULL);
}

/* Rows in the outbox on topic whose payload names order_id. */
static long long outbox_rows_for(const char *topic, const char *order_id)
{
	sqlite3_stmt *st;
	long long n = -999;

	if (sqlite3_prepare_v2(inv.store.db.handle,
			       "SELECT count(*) FROM outbox WHERE topic = ?"
			       " AND json_extract(payload, '$.order_id') = ?", -1, &st, NULL) != SQLITE_OK)
		return n;
	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, order_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The payload of the last outbox row (free it), its topic into topic. */
static char *last_outbox(char *topic, size_t cap)
{
	char *t = q_text2("SELECT topic FROM outbox ORDER BY id DESC LIMIT 1", NULL, NULL);

	snprintf(topic, cap, "%s", t ? t : "");
	free(t);
	return q_text2("SELECT payload FROM outbox ORDER BY id DESC LIMIT 1", NULL, NULL);
}

/* Decodes the last row of the outbox into out, checking that it is an event
 * of kind on kind's topic; 1 when it is. Its payload text goes to *payload
 * (the caller frees it) when payload is not NULL. */
static int last_answer_at(const char *file, int line, enum event_kind kind, struct event *out,
			  char **payload)
{
	char topic[128], want[128];
	char *text = last_outbox(topic, sizeof topic);
	int ok;

	event_topic(want, sizeof want, inv.svc.prefix, kind);
	ok = CHECK_EQ_STR_AT(file, line, topic, want) && CHECK_TRUE_AT(file, line, text != NULL) &&
	     test_decode_at(file, line, kind, text, out);
	if (payload != NULL)
		*payload = text;
	else
		free(text);
	return ok;
}
#define LAST_ANSWER(kind, out, payload) last_answer_at(__FILE__, __LINE__, kind, out, payload)

/* The "products" array of a listing (catalog, stock) when it holds n
 * products, else NULL and a failed check. */
static const cJSON *products_of_at(const char *file, int line, const cJSON *listing, int n)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(listing, "products");

	if (!CHECK_TRUE_AT(file, line, cJSON_IsArray(list)) ||
	    !CHECK_EQ_INT_AT(file, line, cJSON_GetArraySize(list), n))
		return NULL;
	return list;
}
#define PRODUCTS_OF(listing, n) products_of_at(__FILE__, __LINE__, listing, n)

/* Invariant 2 of docs/protocol.md for every product: initial + restocked =
 * available + what reservations hold; and available >= 0. */
static void check_invariants_at(const char *file, int line)
{
	CHECK_EQ_INT_AT(file, line,
		q_int("SELECT count(*) FROM products p WHERE p.initial + p.restocked !="
		      " p.available + (SELECT coalesce(sum(l.qty), 0) FROM reservation_lines l"
		      " WHERE l.sku = p.sku)", NULL), 0);
	/* restocked is the sum of the restocks applied, each once */
	CHECK_EQ_INT_AT(file, line,
		q_int("SELECT count(*) FROM products p WHERE p.restocked != (SELECT"
		      " coalesce(sum(r.qty), 0) FROM restocks r WHERE r.sku = p.sku"
		      " AND r.applied_at IS NOT NULL)", NULL), 0);
	CHECK_EQ_INT_AT(file, line, q_int("SELECT count(*) FROM products WHERE available < 0", NULL), 0);
	/* Only reservations in state reserved hold lines. */
	CHECK_EQ_INT_AT(file, line,
		q_int("SELECT count(*) FROM reservation_lines l JOIN reservations r USING (order_id)"
		      " WHERE r.status != 0", NULL), 0);
	CHECK_EQ_INT_AT(file, line,
		q_int("SELECT count(*) FROM reservation_lines l WHERE NOT EXISTS"
		      " (SELECT 1 FROM reservations r WHERE r.order_id = l.order_id)", NULL), 0);
}
#define CHECK_INVARIANTS() check_invariants_at(__FILE__, __LINE__)

/* Sends order/send for id with items (a JSON array text). */
static enum consumer_result send_at(const char *file, int line, const char *id, const char *items)
{
	char json[1024];
	struct event *ev = malloc(sizeof *ev);
	enum consumer_result r = CONSUMER_DB_ERROR;

	snprintf(json, sizeof json,
		 "{\"v\":1,\"order_id\":\"%s\",\"items\":%s,\"created_at\":\"2024-05-01T12:00:00Z\"}",
		 id, items);
	if (ev != NULL && test_decode_at(file, line, EVENT_ORDER_SEND, json, ev))
		r = consumer_apply(&inv.consumer, ev, json, strlen(json));
	free(ev);
	return r;
}
#define SEND(id, items) send_at(__FILE__, __LINE__, id, items)

static enum consumer_result canceled_at(const char *file, int line, const char *id)
{
	char json[256];
	struct event ev;
	enum consumer_result r = CONSUMER_DB_ERROR;

	snprintf(json, sizeof json, "{\"v\":1,\"order_id\":\"%s\"}", id);
	if (test_decode_at(file, line, EVENT_ORDER_CANCELED, json, &ev))
		r = consumer_apply(&inv.consumer, &ev, json, strlen(json));
	return r;
}
#define CANCELED(id) canceled_at(__FILE__, __LINE__, id)

/* --- tests ------------------------------------------------------------- */

static void test_catalog(const char *catalog_path)
{
	cJSON *cat, *stock, *p;
	const cJSON *list;

	CHECK_EQ_INT(q_int("SELECT count(*) FROM products", NULL), 3);
	CHECK_EQ_INT(available("A"), 10);
	CHECK_EQ_INT(available("B"), 5);
	CHECK_EQ_INT(available("C"), 0);
	CHECK_EQ_INT(q_int("SELECT initial FROM products WHERE sku = 'B'", NULL), 5);
	CHECK_EQ_INT(q_int("SELECT restocked FROM products WHERE sku = 'B'", NULL), 0);
	CHECK_EQ_INT(q_int("SELECT price_cents FROM products WHERE sku = 'A'", NULL), 250);
	/* Loading again while the table has products is skipped, not doubled. */
	CHECK_EQ_INT(inventory_store_load_catalog(&inv.store, catalog_path), 0);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM products", NULL), 3);
	CHECK_EQ_INT(available("A"), 10);

	cat = inventory_store_catalog_json(&inv.store);
	if ((list = PRODUCTS_OF(cat, 3)) != NULL) {
		p = cJSON_GetArrayItem(list, 0);
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "sku")), "A");
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), "Apple mug");
		CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "price_cents")), 250);
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "currency")), "EUR");
		CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "available")), 10);
		p = cJSON_GetArrayItem(list, 2);
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "sku")), "C");
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), "Caf\xc3\xa9 pen");
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "currency")), "USD");
		CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "available")), 0);
	}
	cJSON_Delete(cat);

	stock = inventory_store_stock_json(&inv.store);
	if ((list = PRODUCTS_OF(stock, 3)) != NULL) {
		p = cJSON_GetArrayItem(list, 1);
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "sku")), "B");
		CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "initial")), 5);
		CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "restocked")), 0);
		CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "available")), 5);
		CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "reserved")), 0);
	}
	cJSON_Delete(stock);
}

static void test_bad_catalogs(void)
{
	static const char *const bad[] = {
		"not json",
		"{\"items\":[]}",
		"{\"products\":{}}",
		"{\"products\":[{\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"stock\":1},"
		"{\"sku\":\"bad sku\",\"name\":\"y\",\"price_cents\":1,\"stock\":1}]}",
		"{\"products\":[{\"sku\":\"A\",\"name\":\"x\",\"price_cents\":-1,\"stock\":1}]}",
		"{\"products\":[{\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"stock\":-1}]}",
		"{\"products\":[{\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1}]}",
		"{\"products\":[{\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"stock\":1},"
		"{\"sku\":\"A\",\"name\":\"again\",\"price_cents\":2,\"stock\":2}]}",
	};
	struct inventory *other = malloc(sizeof *other);

	if (!CHECK_TRUE(other != NULL))
		return;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *path = temp_file(bad[i]);
		if (!CHECK_TRUE(path != NULL))
			continue;
		if (CHECK_EQ_INT(open_store(other), 0)) {
			if (!CHECK_EQ_INT(inventory_store_load_catalog(&other->store, path), -1))
				fprintf(stderr, "  (catalog %s)\n", bad[i]);
			/* All or nothing: a bad product leaves the table empty. */
			cJSON *cat = inventory_store_catalog_json(&other->store);
			if (CHECK_TRUE(cat != NULL))
				CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(cat, "products")), 0);
			cJSON_Delete(cat);
			close_store(other);
		}
		unlink(path);
		free(path);
	}
	if (CHECK_EQ_INT(open_store(other), 0)) {
		CHECK_EQ_INT(inventory_store_load_catalog(&other->store, "/nonexistent/catalog.json"), -1);
		close_store(other);
	}
	free(other);
}

/* Whatever the catalog holds, every in-stock the inventory publishes must be
 * one the order daemon accepts (event_decode); else the order is
 * dead-lettered there and stays pending for ever. A catalog price above
 * EVENT_MAX_PRICE_CENTS must be refused at load, or never published. */
static void test_catalog_price_limit(void)
{
	char text[512];
	char *path;
	struct inventory *other = malloc(sizeof *other);

	if (!CHECK_TRUE(other != NULL))
		return;
	snprintf(text, sizeof text,
		 "{\"products\":[{\"sku\":\"GOLD\",\"name\":\"Gold\",\"price_cents\":%lld,"
		 "\"currency\":\"EUR\",\"stock\":3}]}", EVENT_MAX_PRICE_CENTS + 1);
	path = temp_file(text);
	if (CHECK_TRUE(path != NULL) && CHECK_EQ_INT(open_store(other), 0)) {
		if (inventory_store_load_catalog(&other->store, path) == 0) {
			struct event *send = malloc(sizeof *send);
			struct event *out = malloc(sizeof *out);
			const char *json = "{\"v\":1,\"order_id\":\"" ID1 "\",\"items\":"
					   "[{\"sku\":\"GOLD\",\"qty\":1}],\"created_at\":\"x\"}";
			char err[256] = "";
			if (CHECK_TRUE(send != NULL && out != NULL) &&
			    TEST_DECODE(EVENT_ORDER_SEND, json, send)) {
				sqlite3_stmt *st;
				CHECK_EQ_INT(consumer_apply(&other->consumer, send, json, strlen(json)),
					     CONSUMER_APPLIED);
				if (CHECK_EQ_INT(sqlite3_prepare_v2(other->store.db.handle,
						"SELECT topic, payload FROM outbox", -1, &st, NULL), SQLITE_OK)) {
					if (CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW)) {
						const char *topic = (const char *)sqlite3_column_text(st, 0);
						const char *payload = (const char *)sqlite3_column_text(st, 1);
						enum event_kind kind = EVENT_KIND_COUNT;
						CHECK_EQ_INT(event_kind_from_topic("webshop/", topic, &kind), 0);
						if (!CHECK_EQ_INT(event_decode(kind, payload, strlen(payload), out,
									       err, sizeof err), 0))
							fprintf(stderr, "  (a catalog price of %lld cents was loaded and"
								" published as %s %s, which event_decode rejects: %s)\n",
								EVENT_MAX_PRICE_CENTS + 1, topic, payload, err);
					}
					sqlite3_finalize(st);
				}
			}
			free(send);
			free(out);
		}
		close_store(other);
	}
	if (path != NULL)
		unlink(path);
	free(path);
	free(other);
}

static void test_reserve(void)
{
	char *payload = NULL;
	struct event out;

	CHECK_EQ_INT(SEND(ID1, "[{\"sku\":\"A\",\"qty\":3},{\"sku\":\"B\",\"qty\":2}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), 7);
	CHECK_EQ_INT(available("B"), 3);
	CHECK_EQ_INT(status_of(ID1), RES_RESERVED);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM reservation_lines WHERE order_id = ?", ID1), 2);
	CHECK_EQ_INT(q_int("SELECT qty FROM reservation_lines WHERE order_id = ? AND sku = 'A'", ID1), 3);
	CHECK_EQ_INT(outbox_rows(), 1);
	if (LAST_ANSWER(EVENT_IN_STOCK, &out, &payload)) {
		CHECK_EQ_STR(out.order_id, ID1);
		if (CHECK_EQ_INT(out.n_items, 2)) {
			CHECK_EQ_STR(out.items[0].sku, "A");
			CHECK_EQ_INT(out.items[0].qty, 3);
			CHECK_EQ_INT(out.items[0].unit_price_cents, 250);
			CHECK_EQ_STR(out.items[1].sku, "B");
			CHECK_EQ_INT(out.items[1].qty, 2);
			CHECK_EQ_INT(out.items[1].unit_price_cents, 1000);
		}
		CHECK_EQ_INT(out.total_cents, 3 * 250 + 2 * 1000);
	}
	/* The outcome is kept with the reservation. */
	{
		char *kept = q_text2("SELECT outcome_payload FROM reservations WHERE order_id = ?", ID1, NULL);
		char *kept_topic = q_text2("SELECT outcome_topic FROM reservations WHERE order_id = ?", ID1, NULL);
		CHECK_EQ_STR(kept, payload);
		CHECK_EQ_STR(kept_topic, T_IN_STOCK);
		free(kept);
		free(kept_topic);
	}
	free(payload);
	{
		cJSON *stock = inventory_store_stock_json(&inv.store);
		cJSON *b = stock ? cJSON_GetArrayItem(cJSON_GetObjectItem(stock, "products"), 1) : NULL;
		if (CHECK_TRUE(b != NULL))
			CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(b, "reserved")), 2);
		cJSON_Delete(stock);
	}
	CHECK_INVARIANTS();

	/* The whole stock of a product can be taken. */
	CHECK_EQ_INT(SEND(ID6, "[{\"sku\":\"B\",\"qty\":3}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(status_of(ID6), RES_RESERVED);
	CHECK_EQ_INT(available("B"), 0);
	CHECK_EQ_INT(CANCELED(ID6), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("B"), 3);
	CHECK_INVARIANTS();
}

static void test_insufficient(void)
{
	struct event out;
	long long rows = outbox_rows();

	/* The first line could be served, the second cannot: nothing is taken. */
	CHECK_EQ_INT(SEND(ID2, "[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"B\",\"qty\":4}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), 7);
	CHECK_EQ_INT(available("B"), 3);
	CHECK_EQ_INT(status_of(ID2), RES_REJECTED);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM reservation_lines WHERE order_id = ?", ID2), 0);
	CHECK_EQ_INT(outbox_rows(), rows + 1);
	if (LAST_ANSWER(EVENT_OUT_OF_STOCK, &out, NULL)) {
		CHECK_EQ_STR(out.order_id, ID2);
		CHECK_EQ_STR(out.reason, "insufficient_stock");
		CHECK_EQ_STR(out.sku, "B");
		/* The items travel along, so the order daemon can create the order. */
		CHECK_EQ_INT(out.n_items, 2);
	}
	CHECK_INVARIANTS();

	/* A product with no stock at all. */
	CHECK_EQ_INT(SEND(ID5, "[{\"sku\":\"C\",\"qty\":1}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(status_of(ID5), RES_REJECTED);
	CHECK_EQ_INT(available("C"), 0);
	if (LAST_ANSWER(EVENT_OUT_OF_STOCK, &out, NULL))
		CHECK_EQ_STR(out.sku, "C");
	CHECK_INVARIANTS();
}

static void test_unknown_sku(void)
{
	struct event out;

	CHECK_EQ_INT(SEND(ID3, "[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"NOPE\",\"qty\":1}]"),
		     CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), 7);
	CHECK_EQ_INT(status_of(ID3), RES_REJECTED);
	if (LAST_ANSWER(EVENT_OUT_OF_STOCK, &out, NULL)) {
		CHECK_EQ_STR(out.order_id, ID3);
		CHECK_EQ_STR(out.reason, "unknown_sku");
		CHECK_EQ_STR(out.sku, "NOPE");
	}
	CHECK_INVARIANTS();
}

static void test_duplicate_send(void)
{
	long long rows = outbox_rows();
	char *p1, *p2;

	CHECK_EQ_INT(SEND(ID1, "[{\"sku\":\"A\",\"qty\":3},{\"sku\":\"B\",\"qty\":2}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), 7);
	CHECK_EQ_INT(available("B"), 3);
	CHECK_EQ_INT(status_of(ID1), RES_RESERVED);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM reservation_lines WHERE order_id = ?", ID1), 2);
	CHECK_EQ_INT(outbox_rows(), rows + 1);
	CHECK_EQ_INT(outbox_rows_for(T_IN_STOCK, ID1), 2);
	CHECK_EQ_INT(q_int("SELECT count(DISTINCT payload) FROM outbox WHERE topic = '" T_IN_STOCK "'"
			   " AND json_extract(payload, '$.order_id') = ?", ID1), 1);
	p1 = q_text2("SELECT payload FROM outbox WHERE json_extract(payload, '$.order_id') = ?"
		     " ORDER BY id ASC LIMIT 1", ID1, NULL);
	p2 = q_text2("SELECT payload FROM outbox WHERE json_extract(payload, '$.order_id') = ?"
		     " ORDER BY id DESC LIMIT 1", ID1, NULL);
	CHECK_TRUE(p1 != NULL);
	CHECK_EQ_STR(p2, p1);
	free(p1);
	free(p2);

	/* A duplicate of a rejected order repeats the rejection. */
	CHECK_EQ_INT(SEND(ID2, "[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"B\",\"qty\":4}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(outbox_rows_for(T_OUT_OF_STOCK, ID2), 2);
	CHECK_EQ_INT(outbox_rows_for(T_IN_STOCK, ID2), 0);
	CHECK_EQ_INT(status_of(ID2), RES_REJECTED);
	/* Even after stock came back (it has: B 3 left, A 7): the decision stands. */
	CHECK_EQ_INT(available("A"), 7);
	CHECK_EQ_INT(available("B"), 3);
	CHECK_INVARIANTS();
}

static void test_conflicting_send(void)
{
	long long rows = outbox_rows();
	char *items_before = q_text2("SELECT items FROM reservations WHERE order_id = ?", ID1, NULL);
	char *items_after;

	CHECK_EQ_INT(SEND(ID1, "[{\"sku\":\"A\",\"qty\":4},{\"sku\":\"B\",\"qty\":2}]"), CONSUMER_CONFLICT);
	CHECK_EQ_INT(SEND(ID1, "[{\"sku\":\"A\",\"qty\":3}]"), CONSUMER_CONFLICT);
	CHECK_EQ_INT(available("A"), 7);
	CHECK_EQ_INT(available("B"), 3);
	CHECK_EQ_INT(status_of(ID1), RES_RESERVED);
	/* each repeats the recorded outcome, nothing else (test_conflict_repeats_outcome) */
	CHECK_EQ_INT(outbox_rows(), rows + 2);
	CHECK_EQ_INT(q_int("SELECT count(DISTINCT payload) FROM outbox WHERE topic = '" T_IN_STOCK "'"
			   " AND json_extract(payload, '$.order_id') = ?", ID1), 1);
	items_after = q_text2("SELECT items FROM reservations WHERE order_id = ?", ID1, NULL);
	CHECK_TRUE(items_before != NULL);
	CHECK_EQ_STR(items_after, items_before);
	free(items_before);
	free(items_after);
	/* A rejected order conflicts the same way. */
	rows = outbox_rows_for(T_OUT_OF_STOCK, ID3);
	CHECK_EQ_INT(SEND(ID3, "[{\"sku\":\"A\",\"qty\":1}]"), CONSUMER_CONFLICT);
	CHECK_EQ_INT(status_of(ID3), RES_REJECTED);
	CHECK_EQ_INT(available("A"), 7);
	CHECK_EQ_INT(outbox_rows_for(T_OUT_OF_STOCK, ID3), rows + 1);
	CHECK_EQ_INT(outbox_rows_for(T_IN_STOCK, ID3), 0);
	CHECK_INVARIANTS();
}

/* The outcome of the inventory's version (A) was lost; the order daemon, which
 * saw B first, re-drives B. The inventory dead-letters B (a conflict) and
 * still answers with its recorded outcome, which carries A's items, so the
 * order daemon can converge on A instead of waiting for ever. */
static void test_conflict_repeats_outcome(void)
{
	const char *a = "[{\"sku\":\"A\",\"qty\":1}]";
	const char *b = "[{\"sku\":\"A\",\"qty\":2}]";
	char topic[128];
	char *first, *again;
	struct event *out = malloc(sizeof *out);
	long long avail;

	if (!CHECK_TRUE(out != NULL))
		return;
	/* reserved */
	CHECK_EQ_INT(SEND(ID7, a), CONSUMER_APPLIED);
	first = last_outbox(topic, sizeof topic);
	CHECK_EQ_STR(topic, T_IN_STOCK);
	avail = available("A");
	CHECK_EQ_INT(SEND(ID7, b), CONSUMER_CONFLICT);
	CHECK_EQ_INT(outbox_rows_for(T_IN_STOCK, ID7), 2);
	again = last_outbox(topic, sizeof topic);
	CHECK_EQ_STR(topic, T_IN_STOCK);
	CHECK_TRUE(first != NULL);
	CHECK_EQ_STR(again, first);
	if (again != NULL && TEST_DECODE(EVENT_IN_STOCK, again, out)) {
		CHECK_EQ_STR(out->order_id, ID7);
		CHECK_EQ_INT(out->n_items, 1);
		CHECK_EQ_INT(out->items[0].qty, 1);
		CHECK_EQ_STR(out->created_at, "2024-05-01T12:00:00Z"); /* the decided send's */
	}
	CHECK_EQ_INT(available("A"), avail);
	CHECK_EQ_INT(status_of(ID7), RES_RESERVED);
	free(first);
	free(again);

	/* rejected: B has 5, 6 are too many; the other version asks for 1 */
	CHECK_EQ_INT(SEND(ID8, "[{\"sku\":\"B\",\"qty\":6}]"), CONSUMER_APPLIED);
	first = last_outbox(topic, sizeof topic);
	CHECK_EQ_STR(topic, T_OUT_OF_STOCK);
	avail = available("B");
	CHECK_EQ_INT(SEND(ID8, "[{\"sku\":\"B\",\"qty\":1}]"), CONSUMER_CONFLICT);
	CHECK_EQ_INT(outbox_rows_for(T_OUT_OF_STOCK, ID8), 2);
	again = last_outbox(topic, sizeof topic);
	CHECK_EQ_STR(topic, T_OUT_OF_STOCK);
	CHECK_EQ_STR(again, first);
	if (again != NULL && TEST_DECODE(EVENT_OUT_OF_STOCK, again, out)) {
		CHECK_EQ_STR(out->reason, "insufficient_stock");
		CHECK_EQ_INT(out->n_items, 1);
		CHECK_EQ_INT(out->items[0].qty, 6);
	}
	CHECK_EQ_INT(available("B"), avail);
	CHECK_EQ_INT(status_of(ID8), RES_REJECTED);
	free(first);
	free(again);

	/* released: the decided outcome still stands and is repeated */
	CHECK_EQ_INT(CANCELED(ID7), CONSUMER_APPLIED);
	avail = available("A");
	CHECK_EQ_INT(SEND(ID7, b), CONSUMER_CONFLICT);
	CHECK_EQ_INT(outbox_rows_for(T_IN_STOCK, ID7), 3);
	again = last_outbox(topic, sizeof topic);
	CHECK_EQ_STR(topic, T_IN_STOCK);
	CHECK_EQ_INT(available("A"), avail);
	CHECK_EQ_INT(status_of(ID7), RES_RELEASED);
	free(again);
	free(out);
	CHECK_INVARIANTS();
}

static void test_cancel_after_reserve(void)
{
	long long rows = outbox_rows();
	struct event out;

	CHECK_EQ_INT(CANCELED(ID1), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), 10);
	CHECK_EQ_INT(available("B"), 5);
	CHECK_EQ_INT(status_of(ID1), RES_RELEASED);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM reservation_lines WHERE order_id = ?", ID1), 0);
	CHECK_EQ_INT(outbox_rows(), rows + 1);
	if (LAST_ANSWER(EVENT_RELEASED, &out, NULL))
		CHECK_EQ_STR(out.order_id, ID1);
	CHECK_INVARIANTS();

	/* Second cancel: no more stock, but released again. */
	CHECK_EQ_INT(CANCELED(ID1), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), 10);
	CHECK_EQ_INT(available("B"), 5);
	CHECK_EQ_INT(status_of(ID1), RES_RELEASED);
	CHECK_EQ_INT(outbox_rows_for(T_RELEASED, ID1), 2);
	CHECK_INVARIANTS();

	/* A late duplicate send of the released order takes nothing again. */
	CHECK_EQ_INT(SEND(ID1, "[{\"sku\":\"A\",\"qty\":3},{\"sku\":\"B\",\"qty\":2}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), 10);
	CHECK_EQ_INT(available("B"), 5);
	CHECK_EQ_INT(status_of(ID1), RES_RELEASED);
	CHECK_INVARIANTS();

	/* Canceling a rejected order gives nothing back but answers released. */
	CHECK_EQ_INT(CANCELED(ID2), CONSUMER_APPLIED);
	CHECK_EQ_INT(status_of(ID2), RES_REJECTED);
	CHECK_EQ_INT(available("A"), 10);
	CHECK_EQ_INT(available("B"), 5);
	CHECK_EQ_INT(outbox_rows_for(T_RELEASED, ID2), 1);
	CHECK_INVARIANTS();
}

static void test_cancel_before_send(void)
{
	long long rows;

	CHECK_EQ_INT(CANCELED(ID4), CONSUMER_APPLIED);
	CHECK_EQ_INT(status_of(ID4), RES_TOMBSTONE);
	CHECK_EQ_INT(outbox_rows_for(T_RELEASED, ID4), 1);
	rows = outbox_rows();

	CHECK_EQ_INT(SEND(ID4, "[{\"sku\":\"A\",\"qty\":2}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), 10);
	CHECK_EQ_INT(status_of(ID4), RES_TOMBSTONE);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM reservation_lines WHERE order_id = ?", ID4), 0);
	CHECK_EQ_INT(outbox_rows(), rows);
	CHECK_EQ_INT(outbox_rows_for(T_IN_STOCK, ID4) + outbox_rows_for(T_OUT_OF_STOCK, ID4), 0);
	/* The items are filled in, for the listing. */
	{
		char *items = q_text2("SELECT items FROM reservations WHERE order_id = ?", ID4, NULL);
		CHECK_EQ_STR(items, "[{\"sku\":\"A\",\"qty\":2}]");
		free(items);
	}
	/* A duplicate send still reserves nothing; a conflicting one conflicts. */
	CHECK_EQ_INT(SEND(ID4, "[{\"sku\":\"A\",\"qty\":2}]"), CONSUMER_APPLIED);
	CHECK_EQ_INT(SEND(ID4, "[{\"sku\":\"A\",\"qty\":1}]"), CONSUMER_CONFLICT);
	CHECK_EQ_INT(available("A"), 10);
	CHECK_EQ_INT(outbox_rows(), rows);
	/* Cancel again: still a tombstone, released again. */
	CHECK_EQ_INT(CANCELED(ID4), CONSUMER_APPLIED);
	CHECK_EQ_INT(status_of(ID4), RES_TOMBSTONE);
	CHECK_EQ_INT(available("A"), 10);
	CHECK_EQ_INT(outbox_rows_for(T_RELEASED, ID4), 2);
	CHECK_INVARIANTS();
}

static void test_reservations_json(void)
{
	cJSON *all = inventory_store_reservations_json(&inv.store, NULL);
	cJSON *one = inventory_store_reservations_json(&inv.store, ID4);
	cJSON *none = inventory_store_reservations_json(&inv.store, ID5 "x");

	if (CHECK_TRUE(all != NULL)) {
		cJSON *list = cJSON_GetObjectItem(all, "reservations");
		/* ID1..ID6 */
		if (CHECK_TRUE(cJSON_IsArray(list)) && CHECK_EQ_INT(cJSON_GetArraySize(list), 6)) {
			cJSON *r = cJSON_GetArrayItem(list, 0);
			CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r, "order_id")), ID1);
			CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "released");
			CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "items")), 2);
			r = cJSON_GetArrayItem(list, 1);
			CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "rejected");
		}
	}
	if (CHECK_TRUE(one != NULL)) {
		cJSON *items = cJSON_GetObjectItem(one, "items");
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(one, "order_id")), ID4);
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(one, "status")), "tombstone");
		if (CHECK_TRUE(cJSON_IsArray(items)) && CHECK_EQ_INT(cJSON_GetArraySize(items), 1)) {
			cJSON *line = cJSON_GetArrayItem(items, 0);
			CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(line, "sku")), "A");
			CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(line, "qty")), 2);
		}
	}
	CHECK_TRUE(none == NULL);
	cJSON_Delete(all);
	cJSON_Delete(one);
	cJSON_Delete(none);

	CHECK_EQ_STR(inventory_reservation_status_name(RESERVATION_RESERVED), "reserved");
	CHECK_EQ_STR(inventory_reservation_status_name(RESERVATION_REJECTED), "rejected");
	CHECK_EQ_STR(inventory_reservation_status_name(RESERVATION_RELEASED), "released");
	CHECK_EQ_STR(inventory_reservation_status_name(RESERVATION_TOMBSTONE), "tombstone");
	CHECK_EQ_INT(RESERVATION_RESERVED, RES_RESERVED);
	CHECK_EQ_INT(RESERVATION_TOMBSTONE, RES_TOMBSTONE);
}

static void test_store_find(void)
{
	struct reservation r;

	if (CHECK_EQ_INT(inventory_store_find(&inv.store, ID1, &r), DB_FOUND)) {
		CHECK_EQ_INT(r.status, RESERVATION_RELEASED);
		CHECK_EQ_STR(r.outcome_topic, T_IN_STOCK);
		CHECK_TRUE(r.items != NULL && r.outcome_payload != NULL);
	}
	inventory_reservation_free(&r);
	CHECK_EQ_INT(inventory_store_find(&inv.store, "99999999-9999-4999-8999-999999999999", &r),
		     DB_MISSING);
	CHECK_TRUE(r.items == NULL && r.outcome_topic == NULL && r.outcome_payload == NULL);
	inventory_reservation_free(&r);
}

/* Many small orders against one product: never oversold, all or nothing. */
static void test_drain_product(void)
{
	char id[64];
	int reserved = 0, rejected = 0;

	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof id, "aaaaaaaa-0000-4000-8000-%012d", i);
		CHECK_EQ_INT(SEND(id, "[{\"sku\":\"B\",\"qty\":2}]"), CONSUMER_APPLIED);
		if (status_of(id) == RES_RESERVED)
			reserved++;
		else if (status_of(id) == RES_REJECTED)
			rejected++;
	}
	CHECK_EQ_INT(reserved, 2); /* B has 5: two orders of 2 */
	CHECK_EQ_INT(rejected, 6);
	CHECK_EQ_INT(available("B"), 1);
	CHECK_INVARIANTS();
}

/* --- the admin's events: restocks and product changes ------------------ */

static enum consumer_result restock_at(const char *file, int line, const char *id,
				       const char *sku, int qty)
{
	char json[256];
	struct event *ev = malloc(sizeof *ev);
	enum consumer_result r = CONSUMER_DB_ERROR;

	snprintf(json, sizeof json, "{\"v\":1,\"restock_id\":\"%s\",\"sku\":\"%s\",\"qty\":%d}", id,
		 sku, qty);
	if (ev != NULL && test_decode_at(file, line, EVENT_RESTOCK, json, ev))
		r = consumer_apply(&inv.consumer, ev, json, strlen(json));
	free(ev);
	return r;
}
#define RESTOCK(id, sku, qty) restock_at(__FILE__, __LINE__, id, sku, qty)

static enum consumer_result product_at(const char *file, int line, const char *sku,
				       const char *name, long long price, long long version)
{
	char json[512];
	struct event *ev = malloc(sizeof *ev);
	enum consumer_result r = CONSUMER_DB_ERROR;

	snprintf(json, sizeof json,
		 "{\"v\":1,\"sku\":\"%s\",\"name\":\"%s\",\"price_cents\":%lld,\"currency\":\"EUR\","
		 "\"version\":%lld}", sku, name, price, version);
	if (ev != NULL && test_decode_at(file, line, EVENT_PRODUCT, json, ev))
		r = consumer_apply(&inv.consumer, ev, json, strlen(json));
	free(ev);
	return r;
}
#define PRODUCT(sku, name, price, version) product_at(__FILE__, __LINE__, sku, name, price, version)

static long long dead_letters(void)
{
	return q_int("SELECT count(*) FROM dead_letters", NULL);
}

static long long price_of(const char *sku)
{
	return q_int("SELECT price_cents FROM products WHERE sku = ?", sku);
}

static void test_restock_once(void)
{
	long long before = available("A"), letters = dead_letters(), outbox = outbox_rows();

	CHECK_EQ_INT(RESTOCK(ID1, "A", 7), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), before + 7);
	/* the same restock again, twice: nothing more */
	CHECK_EQ_INT(RESTOCK(ID1, "A", 7), CONSUMER_APPLIED);
	CHECK_EQ_INT(RESTOCK(ID1, "A", 7), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), before + 7);
	/* positive control: another restock_id adds again */
	CHECK_EQ_INT(RESTOCK(ID2, "A", 3), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("A"), before + 10);
	CHECK_EQ_INT(q_int("SELECT restocked FROM products WHERE sku = ?", "A"), 10);
	/* the same restock_id with another qty: dead-lettered, the first stands */
	CHECK_EQ_INT(RESTOCK(ID1, "A", 70), CONSUMER_CONFLICT);
	CHECK_EQ_INT(dead_letters(), letters + 1);
	CHECK_EQ_INT(available("A"), before + 10);
	/* a restock publishes nothing */
	CHECK_EQ_INT(outbox_rows(), outbox);
	CHECK_INVARIANTS();
}

static void test_restock_unknown_sku(void)
{
	/* kept until the product exists, then applied once */
	CHECK_EQ_INT(RESTOCK(ID3, "NEW-1", 4), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("NEW-1"), -999); /* no product yet */
	CHECK_EQ_INT(q_int("SELECT count(*) FROM restocks WHERE sku = ? AND applied_at IS NULL",
			   "NEW-1"), 1);
	CHECK_EQ_INT(PRODUCT("NEW-1", "New thing", 500, 100), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("NEW-1"), 4);
	CHECK_EQ_INT(q_int("SELECT initial FROM products WHERE sku = ?", "NEW-1"), 0);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM restocks WHERE sku = ? AND applied_at IS NULL",
			   "NEW-1"), 0);
	/* the restock again, and the product again: nothing more */
	CHECK_EQ_INT(RESTOCK(ID3, "NEW-1", 4), CONSUMER_APPLIED);
	CHECK_EQ_INT(PRODUCT("NEW-1", "New thing", 500, 100), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("NEW-1"), 4);
	CHECK_INVARIANTS();
}

static void test_product_versions(void)
{
	/* a new SKU starts with 0 stock */
	CHECK_EQ_INT(PRODUCT("NEW-2", "Lamp", 1500, 1000), CONSUMER_APPLIED);
	CHECK_EQ_INT(available("NEW-2"), 0);
	CHECK_EQ_INT(price_of("NEW-2"), 1500);
	/* newer applies */
	CHECK_EQ_INT(PRODUCT("NEW-2", "Desk lamp", 1700, 2000), CONSUMER_APPLIED);
	CHECK_EQ_INT(price_of("NEW-2"), 1700);
	/* older changes nothing, name included */
	CHECK_EQ_INT(PRODUCT("NEW-2", "Old lamp", 100, 1500), CONSUMER_APPLIED);
	CHECK_EQ_INT(price_of("NEW-2"), 1700);
	{
		char *name = q_text2("SELECT name FROM products WHERE sku = ?", "NEW-2", NULL);
		CHECK_EQ_STR(name, "Desk lamp");
		free(name);
	}
	/* the same version with other content: the greater content wins in
	 * either order (both orders are tried on two SKUs) */
	CHECK_EQ_INT(PRODUCT("NEW-2", "Desk lamp", 1800, 2000), CONSUMER_APPLIED);
	CHECK_EQ_INT(price_of("NEW-2"), 1800);
	CHECK_EQ_INT(PRODUCT("NEW-2", "Desk lamp", 1700, 2000), CONSUMER_APPLIED);
	CHECK_EQ_INT(price_of("NEW-2"), 1800);
	CHECK_EQ_INT(PRODUCT("NEW-3", "Desk lamp", 1800, 2000), CONSUMER_APPLIED);
	CHECK_EQ_INT(PRODUCT("NEW-3", "Desk lamp", 1700, 2000), CONSUMER_APPLIED);
	CHECK_EQ_INT(price_of("NEW-3"), 1800);
	/* a catalog product (version 0) takes any version */
	CHECK_EQ_INT(PRODUCT("B", "Blue tee", 1000, 1), CONSUMER_APPLIED);
	CHECK_EQ_INT(price_of("B"), 1000);
	CHECK_INVARIANTS();
}

#define LATER1 "bbbbbbbb-0000-4000-8000-000000000001"
#define LATER2 "bbbbbbbb-0000-4000-8000-000000000002"

static void test_price_change_later_reservations(void)
{
	struct event out;
	long long old_price;

	CHECK_EQ_INT(RESTOCK(ID4, "NEW-2", 10), CONSUMER_APPLIED);
	old_price = price_of("NEW-2");
	CHECK_EQ_INT(SEND(LATER1, "[{\"sku\":\"NEW-2\",\"qty\":2}]"), CONSUMER_APPLIED);
	if (LAST_ANSWER(EVENT_IN_STOCK, &out, NULL))
		CHECK_EQ_INT(out.items[0].unit_price_cents, old_price);
	CHECK_EQ_INT(PRODUCT("NEW-2", "Desk lamp", 2500, 3000), CONSUMER_APPLIED);
	/* the earlier order's answer, repeated for a duplicate, keeps its price */
	CHECK_EQ_INT(SEND(LATER1, "[{\"sku\":\"NEW-2\",\"qty\":2}]"), CONSUMER_APPLIED);
	if (LAST_ANSWER(EVENT_IN_STOCK, &out, NULL)) {
		CHECK_EQ_INT(out.items[0].unit_price_cents, old_price);
		CHECK_EQ_INT(out.total_cents, old_price * 2);
	}
	/* an order after the change pays the new price */
	CHECK_EQ_INT(SEND(LATER2, "[{\"sku\":\"NEW-2\",\"qty\":1}]"), CONSUMER_APPLIED);
	if (LAST_ANSWER(EVENT_IN_STOCK, &out, NULL))
		CHECK_EQ_INT(out.total_cents, 2500);
	CHECK_EQ_INT(available("NEW-2"), 7);
	CHECK_INVARIANTS();
}

static void test_stock_and_restocks_json(void)
{
	cJSON *stock = inventory_store_stock_json(&inv.store);
	cJSON *restocks = inventory_store_restocks_json(&inv.store);
	const cJSON *p;
	int seen = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(stock, "products")) {
		const char *sku = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "sku"));
		if (sku == NULL || strcmp(sku, "NEW-1") != 0)
			continue;
		seen = 1;
		CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(p, "initial")->valueint, 0);
		CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(p, "restocked")->valueint, 4);
		CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(p, "available")->valueint, 4);
		CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name")),
			     "New thing");
	}
	CHECK_TRUE(seen);
	CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(restocks, "restocks")), 4);
	cJSON_Delete(stock);
	cJSON_Delete(restocks);
}

int main(void)
{
	char *catalog_path;
	int ok;

	log_init("test_inventory_store", LOG_LEVEL_WARN);
	catalog_path = temp_file(catalog_text);
	if (!CHECK_TRUE(catalog_path != NULL))
		return check_summary("test_inventory_store");
	ok = CHECK_EQ_INT(open_store(&inv), 0) &&
	     CHECK_EQ_INT(inventory_store_load_catalog(&inv.store, catalog_path), 0);
	if (ok) {
		test_catalog(catalog_path);
		test_reserve();
		test_insufficient();
		test_unknown_sku();
		test_duplicate_send();
		test_conflicting_send();
		test_cancel_after_reserve();
		test_cancel_before_send();
		test_reservations_json();
		test_store_find();
		test_conflict_repeats_outcome();
		test_drain_product();
		test_restock_once();
		test_restock_unknown_sku();
		test_product_versions();
		test_price_change_later_reservations();
		test_stock_and_restocks_json();
		close_store(&inv);
	}
	test_bad_catalogs();
	test_catalog_price_limit();
	unlink(catalog_path);
	free(catalog_path);
	return check_summary("test_inventory_store");
}
