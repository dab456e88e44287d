/* Prefilled databases for ./shop bench's scaling rows, written by the
 * daemons' own store code and event encoders.
 *
 * Each order goes the way a confirmed order goes through the daemons: the
 * inventory reserves its line (inventory_store_reserve) and records the
 * reservation with its encoded in-stock answer; the order daemon saves the
 * record its handlers would (canonical items, the priced answer's items).
 * No table or JSON shape is written by hand here, so a change of a schema
 * or an event reaches the prefilled rows too. */
#include "prefill.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "inventory_store.h"
#include "order_store.h"
#include "service.h"

#define PREFILL_BATCH 10000               /* orders per transaction */
#define PREFILL_AGE_MS (2 * 86400 * 1000LL) /* created two days ago */

/* What one batch needs; the events are large, so they live here, once. */
struct prefill {
	struct inventory_store inv;
	struct order_store ord;
	const char *prefix;
	char (*skus)[EVENT_SKU_MAX + 1];
	int n_skus;
	int64_t first_ms; /* created_at of the first order added */
	long done, add;
	struct event send, outcome;
};

static void count_order(void *ctx, const struct order_record *rec)
{
	(void)rec;
	(*(long *)ctx)++;
}

/* The catalog's SKUs in its order (by SKU); 0, or -1 when it is empty. */
static int load_skus(struct prefill *p)
{
	cJSON *root = inventory_store_catalog_json(&p->inv);
	const cJSON *products = cJSON_GetObjectItemCaseSensitive(root, "products");
	const cJSON *item;
	int n = cJSON_GetArraySize(products);

	p->skus = n > 0 ? calloc((size_t)n, sizeof *p->skus) : NULL;
	cJSON_ArrayForEach(item, products) {
		const char *sku = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "sku"));
		if (p->skus != NULL && sku != NULL)
			snprintf(p->skus[p->n_skus++], sizeof p->skus[0], "%s", sku);
	}
	cJSON_Delete(root);
	return p->n_skus > 0 ? 0 : -1;
}

/* Order number i: the inventory's side, then the order daemon's. */
static int add_order(struct prefill *p, long i)
{
	struct event *send = &p->send, *outcome = &p->outcome;
	struct order_record rec = { .status = ORDER_CONFIRMED };
	int64_t created_ms = p->first_ms + i;
	char topic[256], *items = NULL, *payload = NULL;
	uuid_t u;
	int rc = -1;

	memset(send, 0, sizeof *send);
	send->kind = EVENT_ORDER_SEND;
	uuid_generate_random(u);
	uuid_unparse_lower(u, send->order_id);
	send->n_items = 1;
	snprintf(send->items[0].sku, sizeof send->items[0].sku, "%s", p->skus[i % p->n_skus]);
	send->items[0].qty = 1;
	event_rfc3339(created_ms, send->created_at);
	if (inventory_store_reserve(&p->inv, send, outcome) != 0 || outcome->kind != EVENT_IN_STOCK ||
	    event_topic(topic, sizeof topic, p->prefix, outcome->kind) != 0 ||
	    (items = event_items_canonical(send)) == NULL || (payload = event_encode(outcome)) == NULL ||
	    inventory_store_insert(&p->inv, send->order_id, RESERVATION_RESERVED, items, topic,
				   payload) != 0)
		goto out;
	snprintf(rec.order_id, sizeof rec.order_id, "%s", send->order_id);
	rec.items = items;
	rec.priced = event_items_text(outcome, 1);
	rec.total_cents = outcome->total_cents;
	snprintf(rec.created_at, sizeof rec.created_at, "%s", send->created_at);
	rec.next_redrive_ms = created_ms + 5000;
	rec.final_ms = created_ms + 3;
	if (rec.priced != NULL && order_store_save(&p->ord, &rec) == 0)
		rc = 0;
	free(rec.priced);
out:
	if (rc != 0)
		fprintf(stderr, "shop-bench-prefill: cannot add order %ld (%s)\n", i,
			outcome->kind == EVENT_OUT_OF_STOCK ? outcome->reason : "database error");
	free(payload);
	free(items);
	return rc;
}

/* One batch in one transaction on each database, the inventory's inside the
 * order daemon's: an error before the commits leaves both as they were. */
static int add_batch_orders(struct db *db, void *arg)
{
	struct prefill *p = arg;
	long end = p->done + PREFILL_BATCH < p->add ? p->done + PREFILL_BATCH : p->add;

	(void)db;
	for (long i = p->done; i < end; i++) {
		if (add_order(p, i) != 0)
			return -1;
	}
	return 0;
}

static int add_batch(struct db *db, void *arg)
{
	struct prefill *p = arg;

	(void)db;
	return db_transaction(&p->inv.db, add_batch_orders, p);
}

int bench_prefill(const char *data_dir, long total, const char *prefix)
{
	struct prefill *p = calloc(1, sizeof *p);
	char inv_path[4096], ord_path[4096];
	long existing = 0;
	int opened = 0, rc = -1;

	if (p == NULL || service_path(inv_path, sizeof inv_path, data_dir, "inventory.db") != 0 ||
	    service_path(ord_path, sizeof ord_path, data_dir, "order.db") != 0) {
		fprintf(stderr, "shop-bench-prefill: out of memory or data dir path too long\n");
		free(p);
		return -1;
	}
	p->prefix = prefix;
	if (inventory_store_open(&p->inv, inv_path, "normal") != 0) {
		fprintf(stderr, "shop-bench-prefill: cannot open %s\n", inv_path);
		goto out;
	}
	if (order_store_open(&p->ord, ord_path, "normal") != 0) {
		fprintf(stderr, "shop-bench-prefill: cannot open %s\n", ord_path);
		inventory_store_close(&p->inv);
		goto out;
	}
	opened = 1;
	if (order_store_each(&p->ord, NULL, count_order, &existing) < 0) {
		fprintf(stderr, "shop-bench-prefill: cannot count the orders in %s\n", ord_path);
		goto out;
	}
	p->add = total - existing;
	if (p->add <= 0) {
		rc = 0;
		goto out;
	}
	if (load_skus(p) != 0) {
		fprintf(stderr, "shop-bench-prefill: %s has no products (start the shop once first)\n",
			inv_path);
		goto out;
	}
	p->first_ms = service_now_ms() - PREFILL_AGE_MS;
	for (p->done = 0; p->done < p->add; p->done += PREFILL_BATCH) {
		if (db_transaction(&p->ord.db, add_batch, p) != 0)
			goto out;
	}
	rc = 0;
out:
	if (opened) {
		order_store_close(&p->ord);
		inventory_store_close(&p->inv);
	}
	free(p->skus);
	free(p);
	return rc;
}
