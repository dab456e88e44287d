/* libFuzzer target: event_decode of every topic kind (common/event.c).
 * An input is a topic line, then the payload: "webshop/order/send\n{...}".
 * A payload that decodes holds what the consumers rely on, encodes to a
 * payload that decodes to the same event, and encoding it again changes
 * nothing; a rejected one says why and leaves no allocation behind. The
 * time parser (event_time_ms) runs on each created_at and on the payload. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz_util.h"

#define PREFIX "webshop/"

static const char *const reasons[] = { "insufficient_stock", "unknown_sku", "invalid" };

/* A string field is NUL-terminated within its array. */
#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

/* What the inventory's restock and product handlers take for granted. */
static void check_admin(const struct event *ev)
{
	char err[200];

	FUZZ_CHECK(ev->n_items == 0 && ev->order_id[0] == '\0', "an order's fields on %s",
		   event_topic_suffix(ev->kind));
	FUZZ_CHECK(TERMINATED(ev->sku) && event_sku_valid(ev->sku), "sku '%.70s'", ev->sku);
	if (ev->kind == EVENT_RESTOCK) {
		FUZZ_CHECK(event_order_id_valid(ev->restock_id), "restock id '%.40s'", ev->restock_id);
		FUZZ_CHECK(ev->restock_qty >= 1 && ev->restock_qty <= EVENT_MAX_RESTOCK_QTY, "qty %d",
			   ev->restock_qty);
		return;
	}
	FUZZ_CHECK(event_product_name_valid(ev->name, err, sizeof err) == 0, "name '%.70s'",
		   ev->name);
	FUZZ_CHECK(ev->price_cents >= 0 && ev->price_cents <= EVENT_MAX_PRICE_CENTS, "price %lld",
		   ev->price_cents);
	FUZZ_CHECK(event_currency_valid(ev->currency), "currency '%.8s'", ev->currency);
	FUZZ_CHECK(ev->version >= 0 && ev->version <= EVENT_MAX_VERSION, "version %lld",
		   ev->version);
}

/* What every handler takes for granted of a decoded event. */
static void check_valid(const struct event *ev)
{
	long long sum = 0;
	int known = 0;

	FUZZ_CHECK(TERMINATED(ev->order_id) && TERMINATED(ev->restock_id) && TERMINATED(ev->name) &&
			   TERMINATED(ev->currency),
		   "a string field without its NUL");
	if (event_kind_is_admin(ev->kind)) {
		check_admin(ev);
		return;
	}
	FUZZ_CHECK(event_order_id_valid(ev->order_id), "order id '%.40s'", ev->order_id);
	FUZZ_CHECK(ev->n_items >= 0 && ev->n_items <= EVENT_MAX_ITEMS, "%d items", ev->n_items);
	FUZZ_CHECK(TERMINATED(ev->created_at) && TERMINATED(ev->reason) && TERMINATED(ev->sku),
		   "a string field without its NUL");
	for (int i = 0; i < ev->n_items; i++) {
		const struct event_item *it = &ev->items[i];

		FUZZ_CHECK(TERMINATED(it->sku) && event_sku_valid(it->sku), "items[%d].sku", i);
		FUZZ_CHECK(it->qty >= 1 && it->qty <= EVENT_MAX_QTY, "items[%d].qty %d", i, it->qty);
		FUZZ_CHECK(it->unit_price_cents >= 0 && it->unit_price_cents <= EVENT_MAX_PRICE_CENTS,
			   "items[%d].unit_price_cents %lld", i, it->unit_price_cents);
		for (int k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(ev->items[k].sku, it->sku) != 0, "SKU %s twice", it->sku);
		sum += it->unit_price_cents * it->qty;
	}
	switch (ev->kind) {
	case EVENT_ORDER_SEND:
		FUZZ_CHECK(ev->n_items >= 1, "an order/send without items");
		break;
	case EVENT_IN_STOCK:
		FUZZ_CHECK(ev->n_items >= 1 && ev->total_cents == sum,
			   "in-stock of %d items, total %lld, lines add up to %lld", ev->n_items,
			   ev->total_cents, sum);
		break;
	case EVENT_OUT_OF_STOCK:
		for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
			known |= strcmp(ev->reason, reasons[i]) == 0;
		FUZZ_CHECK(known, "reason '%s'", ev->reason);
		FUZZ_CHECK(ev->sku[0] == '\0' || event_sku_valid(ev->sku), "sku '%s'", ev->sku);
		break;
	default:
		FUZZ_CHECK(ev->n_items == 0, "%d items on %s", ev->n_items,
			   event_topic_suffix(ev->kind));
		break;
	}
}

static void check_same(const struct event *a, const struct event *b)
{
	FUZZ_CHECK(a->kind == b->kind, "kind %d vs %d", a->kind, b->kind);
	FUZZ_CHECK(strcmp(a->order_id, b->order_id) == 0, "order_id %s vs %s", a->order_id,
		   b->order_id);
	FUZZ_CHECK(a->n_items == b->n_items, "n_items %d vs %d", a->n_items, b->n_items);
	for (int i = 0; i < a->n_items; i++) {
		FUZZ_CHECK(strcmp(a->items[i].sku, b->items[i].sku) == 0, "items[%d].sku %s vs %s", i,
			   a->items[i].sku, b->items[i].sku);
		FUZZ_CHECK(a->items[i].qty == b->items[i].qty, "items[%d].qty %d vs %d", i,
			   a->items[i].qty, b->items[i].qty);
		FUZZ_CHECK(a->items[i].unit_price_cents == b->items[i].unit_price_cents,
			   "items[%d].unit_price_cents %lld vs %lld", i, a->items[i].unit_price_cents,
			   b->items[i].unit_price_cents);
	}
	FUZZ_CHECK(strcmp(a->created_at, b->created_at) == 0, "created_at '%s' vs '%s'",
		   a->created_at, b->created_at);
	FUZZ_CHECK(a->total_cents == b->total_cents, "total_cents %lld vs %lld", a->total_cents,
		   b->total_cents);
	FUZZ_CHECK(strcmp(a->reason, b->reason) == 0, "reason '%s' vs '%s'", a->reason, b->reason);
	FUZZ_CHECK(strcmp(a->sku, b->sku) == 0, "sku '%s' vs '%s'", a->sku, b->sku);
	FUZZ_CHECK(strcmp(a->restock_id, b->restock_id) == 0 && a->restock_qty == b->restock_qty &&
			   strcmp(a->name, b->name) == 0 && a->price_cents == b->price_cents &&
			   strcmp(a->currency, b->currency) == 0 && a->version == b->version,
		   "the admin's fields differ (%s)", event_topic_suffix(a->kind));
}

/* The items' texts: the plain one reads back as the same items, and the
 * canonical one (what a conflict is judged by) ignores their order. */
static void check_items_text(const struct event *ev, struct event *scratch)
{
	char *canonical, *reversed, *text, err[200];
	cJSON *arr;

	if (ev->n_items == 0)
		return;
	text = event_items_text(ev, 0);
	FUZZ_CHECK(text != NULL, "items text of %d items", ev->n_items);
	arr = event_json_parse(text, strlen(text), err, sizeof err);
	FUZZ_CHECK(arr != NULL, "items text %s: %s", text, err);
	memset(scratch, 0, sizeof *scratch);
	FUZZ_CHECK(event_items_from_json(arr, scratch, 0, err, sizeof err) == 0, "items %s: %s",
		   text, err);
	FUZZ_CHECK(scratch->n_items == ev->n_items, "%d items read back from %s", scratch->n_items,
		   text);
	for (int i = 0; i < ev->n_items; i++) {
		FUZZ_CHECK(strcmp(scratch->items[i].sku, ev->items[i].sku) == 0 &&
				   scratch->items[i].qty == ev->items[i].qty,
			   "items[%d] read back from %s", i, text);
		scratch->items[i] = ev->items[ev->n_items - 1 - i];
	}
	canonical = event_items_canonical(ev);
	reversed = event_items_canonical(scratch);
	FUZZ_CHECK(canonical != NULL && reversed != NULL && strcmp(canonical, reversed) == 0,
		   "canonical items %s, of the reversed items %s", canonical, reversed);
	free(canonical);
	free(reversed);
	free(text);
	cJSON_Delete(arr);
}

/* The daemons hand any created_at to event_time_ms (consumer_note_lag). A
 * time it reads is within what strptime's four-digit years allow. */
static void check_time(const char *text, size_t len)
{
	char buf[64];
	int64_t ms;

	if (len >= sizeof buf)
		len = sizeof buf - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (event_time_ms(buf, &ms) == 0)
		FUZZ_CHECK(ms > -70000000000000LL && ms < 260000000000000LL, "%s is %lld ms", buf,
			   (long long)ms);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int64_t ms;

	(void)argc;
	(void)argv;
	/* glibc reads the time zone at the first strptime/timegm and keeps it:
	 * once, before any input's allocations are counted */
	(void)event_time_ms("2024-05-01T12:00:00.123Z", &ms);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event ev, again, scratch; /* 8 kB each: off the stack */
	const char *nl = memchr(data, '\n', size);
	const char *payload;
	char topic[128], err[256], *text, *text2;
	enum event_kind kind;
	size_t n, len;
	int rc;

	if (nl == NULL || (n = (size_t)(nl - (const char *)data)) >= sizeof topic)
		return 0;
	memcpy(topic, data, n);
	topic[n] = '\0';
	if (event_kind_from_topic(PREFIX, topic, &kind) != 0)
		return 0;
	FUZZ_CHECK(strcmp(topic + strlen(PREFIX), event_topic_suffix(kind)) == 0,
		   "topic %s taken for %s", topic, event_topic_suffix(kind));
	payload = nl + 1; /* not NUL-terminated: reading past len is an ASan report */
	len = size - n - 1;

	fuzz_alloc_begin();
	check_time(payload, len);
	err[0] = '\0';
	rc = event_decode(kind, payload, len, &ev, err, sizeof err);
	if (rc != 0) {
		FUZZ_CHECK(rc == -1 && err[0] != '\0', "a rejection (%d) that does not say why", rc);
		fuzz_alloc_end("a rejected payload");
		return 0;
	}
	FUZZ_CHECK(ev.kind == kind, "decoded as kind %d, asked for %d", ev.kind, kind);
	check_valid(&ev);
	check_time(ev.created_at, strlen(ev.created_at));
	text = event_encode(&ev);
	FUZZ_CHECK(text != NULL, "event_encode of a decoded %s", topic);
	rc = event_decode(kind, text, strlen(text), &again, err, sizeof err);
	FUZZ_CHECK(rc == 0, "the re-encoded event %s does not decode: %s", text, err);
	check_same(&ev, &again);
	text2 = event_encode(&again);
	FUZZ_CHECK(text2 != NULL && strcmp(text, text2) == 0, "encoded twice: %s, then %s", text,
		   text2 ? text2 : "(null)");
	check_items_text(&ev, &scratch);
	free(text);
	free(text2);
	fuzz_alloc_end("a decoded payload");
	return 0;
}
