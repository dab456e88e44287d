/* The order daemon as its unit tests run it (test_order_store, test_redrive):
 * on an in-memory store with its consumer set up as main does, without a
 * broker or an outbox thread, fed the payloads the other services send. */
#ifndef SHOP_TEST_ORDER_H
#define SHOP_TEST_ORDER_H

#include <stdlib.h>
#include <string.h>

#include "order.h"
#include "test_helpers.h"

#define ITEMS "[{\"sku\":\"A\",\"qty\":3},{\"sku\":\"B\",\"qty\":2}]"
#define ITEMS_PRICED \
	"[{\"sku\":\"A\",\"qty\":3,\"unit_price_cents\":250},{\"sku\":\"B\",\"qty\":2,\"unit_price_cents\":1000}]"
#define TOTAL 2750
#define TEST_REDRIVE_S 5 /* the order daemon's SHOP_REDRIVE_S in the tests */

/* An order daemon on an in-memory store, its consumer set up as main does
 * (without an outbox thread); close_order undoes it. */
static inline int open_order(struct order *o)
{
	memset(o, 0, sizeof *o);
	o->svc.prefix = "webshop/";
	o->redrive_s = TEST_REDRIVE_S;
	o->sync = "normal";
	if (order_store_open(&o->store, ":memory:", o->sync) != 0)
		return -1;
	order_consumer_init(o);
	return 0;
}

static inline void close_order(struct order *o)
{
	order_store_close(&o->store);
	consumer_destroy(&o->consumer);
}

/* The payload of a kind for order id, as the other services send it. */
static inline void event_json(enum event_kind kind, const char *id, char *json, size_t cap)
{
	switch (kind) {
	case EVENT_ORDER_SEND:
		snprintf(json, cap,
			 "{\"v\":1,\"order_id\":\"%s\",\"items\":" ITEMS
			 ",\"created_at\":\"2024-05-01T12:00:00.000Z\"}", id);
		break;
	case EVENT_IN_STOCK:
		snprintf(json, cap,
			 "{\"v\":1,\"order_id\":\"%s\",\"items\":" ITEMS_PRICED ",\"total_cents\":%d}",
			 id, TOTAL);
		break;
	case EVENT_OUT_OF_STOCK:
		snprintf(json, cap,
			 "{\"v\":1,\"order_id\":\"%s\",\"reason\":\"insufficient_stock\",\"sku\":\"B\","
			 "\"items\":" ITEMS "}", id);
		break;
	default:
		snprintf(json, cap, "{\"v\":1,\"order_id\":\"%s\"}", id);
		break;
	}
}

/* Applies a payload of a kind through the consumer, as it comes off the bus;
 * the handler's result. */
static inline enum consumer_result apply_json_at(const char *file, int line, struct order *o,
					  enum event_kind kind, const char *json)
{
	struct event *ev = malloc(sizeof *ev);
	enum consumer_result r = CONSUMER_DB_ERROR;

	if (ev != NULL && test_decode_at(file, line, kind, json, ev))
		r = consumer_apply(&o->consumer, ev, json, strlen(json));
	free(ev);
	return r;
}
#define APPLY_JSON(o, kind, json) apply_json_at(__FILE__, __LINE__, o, kind, json)

/* Applies the event of a kind for order id (event_json). */
static inline enum consumer_result apply_at(const char *file, int line, struct order *o,
				     enum event_kind kind, const char *id)
{
	char json[1024];

	event_json(kind, id, json, sizeof json);
	return apply_json_at(file, line, o, kind, json);
}
#define APPLY(o, kind, id) apply_at(__FILE__, __LINE__, o, kind, id)

#endif
