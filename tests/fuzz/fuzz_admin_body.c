/* libFuzzer target: the bodies of the admin's writes (public_front/admin_body.c).
 * The first byte picks the body (even: POST /api/v1/admin/products, odd:
 * .../restock), the rest is the body. An accepted product has a valid SKU,
 * a name of 1..200 characters, a price in range and a currency of three
 * upper-case letters; an accepted restock a qty of 1..1,000,000; and the
 * event the front would publish decodes to the same fields. A refused body
 * is refused with a reason and leaves no allocation behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin_body.h"
#include "event.h"
#include "fuzz_util.h"

#define SOME_RESTOCK_ID "123e4567-e89b-12d3-a456-426614174000"
#define SOME_SKU "MUG-001"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_product(const struct event *ev, struct event *sent, char *err, size_t errlen)
{
	char *payload;

	FUZZ_CHECK(event_sku_valid(ev->sku), "sku '%.70s'", ev->sku);
	FUZZ_CHECK(event_product_name_valid(ev->name, err, errlen) == 0, "name '%.70s'", ev->name);
	FUZZ_CHECK(ev->price_cents >= 0 && ev->price_cents <= EVENT_MAX_PRICE_CENTS, "price %lld",
		   ev->price_cents);
	FUZZ_CHECK(event_currency_valid(ev->currency), "currency '%.8s'", ev->currency);
	payload = event_encode(ev);
	FUZZ_CHECK(payload != NULL, "event_encode of an accepted product");
	FUZZ_CHECK(event_decode(EVENT_PRODUCT, payload, strlen(payload), sent, err, errlen) == 0,
		   "the inventory/product of an accepted body is refused: %s: %s", payload, err);
	FUZZ_CHECK(strcmp(sent->sku, ev->sku) == 0 && strcmp(sent->name, ev->name) == 0 &&
			   sent->price_cents == ev->price_cents &&
			   strcmp(sent->currency, ev->currency) == 0 && sent->version == ev->version,
		   "product sent differs from the accepted one: %s", payload);
	free(payload);
}

static void check_restock(const struct event *ev, struct event *sent, char *err, size_t errlen)
{
	char *payload;

	FUZZ_CHECK(ev->restock_qty >= 1 && ev->restock_qty <= EVENT_MAX_RESTOCK_QTY, "qty %d",
		   ev->restock_qty);
	payload = event_encode(ev);
	FUZZ_CHECK(payload != NULL, "event_encode of an accepted restock");
	FUZZ_CHECK(event_decode(EVENT_RESTOCK, payload, strlen(payload), sent, err, errlen) == 0,
		   "the inventory/restock of an accepted body is refused: %s: %s", payload, err);
	FUZZ_CHECK(sent->restock_qty == ev->restock_qty && strcmp(sent->sku, ev->sku) == 0 &&
			   strcmp(sent->restock_id, ev->restock_id) == 0,
		   "restock sent differs from the accepted one: %s", payload);
	free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event ev, sent; /* 9 kB each: off the stack */
	enum body_parse_result r;
	char err[200];
	int product;

	if (size < 1)
		return 0;
	product = (data[0] & 1) == 0;
	memset(&ev, 0, sizeof ev);
	err[0] = '\0';
	fuzz_alloc_begin();
	if (product) {
		ev.kind = EVENT_PRODUCT;
		r = admin_body_product((const char *)data + 1, size - 1, &ev, err, sizeof err);
	} else {
		/* what front_admin_restock fills in from the path and the key */
		ev.kind = EVENT_RESTOCK;
		memcpy(ev.sku, SOME_SKU, sizeof SOME_SKU);
		memcpy(ev.restock_id, SOME_RESTOCK_ID, sizeof SOME_RESTOCK_ID);
		r = admin_body_restock((const char *)data + 1, size - 1, &ev, err, sizeof err);
	}
	if (r != BODY_PARSE_OK) {
		FUZZ_CHECK(r == BODY_PARSE_INVALID_JSON || r == BODY_PARSE_INVALID, "result %d", r);
		FUZZ_CHECK(err[0] != '\0', "a refusal (%d) that does not say why", r);
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "reason without its NUL");
		fuzz_alloc_end("a refused body");
		return 0;
	}
	if (product) {
		ev.version = 1700000000123LL; /* what front_admin_post_product adds */
		check_product(&ev, &sent, err, sizeof err);
	} else {
		check_restock(&ev, &sent, err, sizeof err);
	}
	fuzz_alloc_end("an accepted body");
	return 0;
}
