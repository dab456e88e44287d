/* Unit test of ./shop bench's prefill (tests/bench/prefill.c): the rows it
 * writes are what the daemons would hold for confirmed orders, read back
 * through the stores: the orders, their reservations and encoded answers,
 * the stock, nothing owed to the re-drive. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_helpers.h"
#include "inventory_store.h"
#include "log.h"
#include "order_store.h"
#include "prefill.h"
#include "service.h"

#define PREFIX "webshop/"

static const char catalog[] =
	"{\"products\":["
	"{\"sku\":\"A\",\"name\":\"A\",\"price_cents\":250,\"stock\":1000},"
	"{\"sku\":\"B\",\"name\":\"B\",\"price_cents\":1000,\"stock\":1000},"
	"{\"sku\":\"C\",\"name\":\"C\",\"price_cents\":99,\"stock\":1000}]}";

static char dir[256];

static void path_of(char *buf, size_t cap, const char *name)
{
	service_path(buf, cap, dir, name);
}

static void remove_databases(void)
{
	static const char *const names[] = {
		"inventory.db", "inventory.db-wal", "inventory.db-shm",
		"order.db", "order.db-wal", "order.db-shm", "catalog.json",
	};
	char path[512];

	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		path_of(path, sizeof path, names[i]);
		unlink(path);
	}
}

/* An inventory.db with the catalog loaded, as the shop's first start leaves it. */
static int make_inventory(void)
{
	struct inventory_store inv;
	char db[512], cat[512];
	FILE *f;
	int rc;

	path_of(cat, sizeof cat, "catalog.json");
	path_of(db, sizeof db, "inventory.db");
	f = fopen(cat, "w");
	if (f == NULL || fputs(catalog, f) < 0 || fclose(f) != 0)
		return -1;
	if (inventory_store_open(&inv, db, "normal") != 0)
		return -1;
	rc = inventory_store_load_catalog(&inv, cat);
	inventory_store_close(&inv);
	return rc;
}

struct seen {
	struct inventory_store *inv;
	long orders;
	int64_t now_ms;
};

/* One order as the daemons would hold it once confirmed. */
static void check_order(void *ctx, const struct order_record *rec)
{
	struct seen *s = ctx;
	struct reservation r;
	struct event *answer = malloc(sizeof *answer);
	char *priced = NULL;
	int64_t created_ms = 0;

	s->orders++;
	CHECK_TRUE(event_order_id_valid(rec->order_id));
	CHECK_EQ_STR(order_status_name(rec->status), "confirmed");
	CHECK_TRUE(rec->items != NULL && rec->priced != NULL && rec->total_cents > 0);
	if (CHECK_EQ_INT(event_time_ms(rec->created_at, &created_ms), 0))
		CHECK_TRUE(s->now_ms - created_ms > 86400 * 1000LL);
	CHECK_TRUE(rec->final_ms > created_ms);
	if (!CHECK_EQ_INT(inventory_store_find(s->inv, rec->order_id, &r), DB_FOUND))
		goto out;
	CHECK_EQ_STR(inventory_reservation_status_name(r.status), "reserved");
	CHECK_EQ_STR(r.items, rec->items);
	CHECK_EQ_STR(r.outcome_topic, PREFIX "inventory/in-stock");
	/* the answer a duplicate send gets again: the one the order daemon took */
	if (answer != NULL && r.outcome_payload != NULL &&
	    TEST_DECODE(EVENT_IN_STOCK, r.outcome_payload, answer)) {
		CHECK_EQ_STR(answer->order_id, rec->order_id);
		CHECK_EQ_INT(answer->total_cents, rec->total_cents);
		CHECK_EQ_STR(answer->created_at, rec->created_at);
		priced = event_items_text(answer, 1);
		CHECK_EQ_STR(priced, rec->priced);
	}
out:
	free(priced);
	free(answer);
	inventory_reservation_free(&r);
}

/* Reads both databases back; how many orders they hold (-1 on error). */
static long check_databases(void)
{
	struct inventory_store inv;
	struct order_store ord;
	struct order_record *due = calloc(8, sizeof *due);
	struct seen s = { .inv = &inv, .now_ms = service_now_ms() };
	char inv_path[512], ord_path[512];
	cJSON *stock = NULL;
	const cJSON *p;
	long reserved = 0;

	path_of(inv_path, sizeof inv_path, "inventory.db");
	path_of(ord_path, sizeof ord_path, "order.db");
	if (due == NULL || !CHECK_EQ_INT(inventory_store_open(&inv, inv_path, "normal"), 0)) {
		free(due);
		return -1;
	}
	if (!CHECK_EQ_INT(order_store_open(&ord, ord_path, "normal"), 0)) {
		inventory_store_close(&inv);
		free(due);
		return -1;
	}
	CHECK_TRUE(order_store_each(&ord, NULL, check_order, &s) >= 0);
	/* confirmed: the re-drive owes them nothing, however late it looks */
	CHECK_EQ_INT(order_store_due(&ord, s.now_ms + 86400 * 1000LL, due, 8), 0);
	CHECK_EQ_INT(order_store_pending_age(&ord, 1, s.now_ms), 0);
	stock = inventory_store_stock_json(&inv);
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(stock, "products")) {
		double initial = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "initial"));
		double available = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "available"));
		double held = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "reserved"));
		CHECK_EQ_INT(initial, available + held);
		reserved += (long)held;
	}
	CHECK_EQ_INT(reserved, s.orders);
	cJSON_Delete(stock);
	order_store_close(&ord);
	inventory_store_close(&inv);
	free(due);
	return s.orders;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	log_init("test_bench_prefill", LOG_LEVEL_WARN);
	snprintf(dir, sizeof dir, "%s/test_bench_prefill_XXXXXX", tmp);
	if (!CHECK_TRUE(mkdtemp(dir) != NULL))
		return check_summary("test_bench_prefill");
	/* Positive control first: without a catalog there is nothing to order. */
	CHECK_EQ_INT(bench_prefill(dir, 5, PREFIX), -1);
	remove_databases();
	if (CHECK_EQ_INT(make_inventory(), 0)) {
		CHECK_EQ_INT(bench_prefill(dir, 50, PREFIX), 0);
		CHECK_EQ_INT(check_databases(), 50);
		/* up to a total: only the missing orders are added */
		CHECK_EQ_INT(bench_prefill(dir, 80, PREFIX), 0);
		CHECK_EQ_INT(check_databases(), 80);
		CHECK_EQ_INT(bench_prefill(dir, 10, PREFIX), 0);
		CHECK_EQ_INT(check_databases(), 80);
	}
	remove_databases();
	rmdir(dir);
	return check_summary("test_bench_prefill");
}
