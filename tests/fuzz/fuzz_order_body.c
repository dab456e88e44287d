/* libFuzzer target: the front's order body parser and validator
 * (public_front/order_body.c). A body it accepts holds 1 to EVENT_MAX_ITEMS
 * distinct valid SKUs with quantities in range, and the order/send the front
 * would publish decodes to the same items; a body it refuses is refused with
 * a reason and leaves no allocation behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz_util.h"
#include "order_body.h"

#define SOME_ORDER_ID "123e4567-e89b-12d3-a456-426614174000"
#define SOME_TIME "2024-05-01T12:00:00.123Z"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event ev, sent; /* 8 kB each: off the stack */
	enum body_parse_result r;
	char err[200], *payload;

	memset(&ev, 0, sizeof ev);
	ev.kind = EVENT_ORDER_SEND;
	err[0] = '\0';
	fuzz_alloc_begin();
	r = order_body_parse((const char *)data, size, &ev, err, sizeof err);
	if (r != BODY_PARSE_OK) {
		FUZZ_CHECK(r == BODY_PARSE_INVALID_JSON || r == BODY_PARSE_INVALID,
			   "result %d", r);
		FUZZ_CHECK(err[0] != '\0', "a refusal (%d) that does not say why", r);
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "reason without its NUL");
		fuzz_alloc_end("a refused body");
		return 0;
	}
	FUZZ_CHECK(ev.n_items >= 1 && ev.n_items <= EVENT_MAX_ITEMS, "%d items", ev.n_items);
	for (int i = 0; i < ev.n_items; i++) {
		FUZZ_CHECK(event_sku_valid(ev.items[i].sku), "items[%d].sku '%.70s'", i,
			   ev.items[i].sku);
		FUZZ_CHECK(ev.items[i].qty >= 1 && ev.items[i].qty <= EVENT_MAX_QTY,
			   "items[%d].qty %d", i, ev.items[i].qty);
		for (int k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(ev.items[k].sku, ev.items[i].sku) != 0, "SKU %s twice",
				   ev.items[i].sku);
	}
	/* What front_post_order publishes next. */
	memcpy(ev.order_id, SOME_ORDER_ID, sizeof SOME_ORDER_ID);
	/* a fixed time: event_now_rfc3339's first strftime loads the time zone
	 * once and keeps it, which is no leak of the parser */
	memcpy(ev.created_at, SOME_TIME, sizeof SOME_TIME);
	payload = event_encode(&ev);
	FUZZ_CHECK(payload != NULL, "event_encode of an accepted order");
	FUZZ_CHECK(event_decode(EVENT_ORDER_SEND, payload, strlen(payload), &sent, err,
				sizeof err) == 0,
		   "the order/send of an accepted body is refused: %s: %s", payload, err);
	FUZZ_CHECK(sent.n_items == ev.n_items, "%d items sent, %d accepted", sent.n_items,
		   ev.n_items);
	for (int i = 0; i < ev.n_items; i++)
		FUZZ_CHECK(strcmp(sent.items[i].sku, ev.items[i].sku) == 0 &&
				   sent.items[i].qty == ev.items[i].qty,
			   "items[%d]: %s x %d sent, %s x %d accepted", i, sent.items[i].sku,
			   sent.items[i].qty, ev.items[i].sku, ev.items[i].qty);
	free(payload);
	fuzz_alloc_end("an accepted body");
	return 0;
}
