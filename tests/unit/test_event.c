/* Unit tests of common/event.c: topics, payload codecs and their validation. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "event.h"
#include "log.h"
#include "service.h"

#define ID "123e4567-e89b-12d3-a456-426614174000"
#define ID_UPPER "123E4567-E89B-12D3-A456-426614174000"
#define V1_ID "\"v\":1,\"order_id\":\"" ID "\""
#define CREATED "\"created_at\":\"2024-05-01T12:00:00.000Z\""

static const enum event_kind all_kinds[EVENT_KIND_COUNT] = {
	EVENT_ORDER_SEND, EVENT_ORDER_CANCEL, EVENT_IN_STOCK,
	EVENT_OUT_OF_STOCK, EVENT_ORDER_CANCELED, EVENT_RELEASED,
	EVENT_RESTOCK, EVENT_PRODUCT,
};

/* --- helpers ------------------------------------------------------------ */

static int decode_len(enum event_kind kind, const char *payload, size_t len, struct event *ev,
		      char *err, size_t errlen)
{
	err[0] = '\0';
	return event_decode(kind, payload, len, ev, err, errlen);
}

/* The payload must be rejected with -1 and a non-empty reason. */
static void expect_bad_at(const char *file, int line, enum event_kind kind, const char *payload,
			  size_t len)
{
	struct event *ev = malloc(sizeof *ev);
	char err[256];
	int rc;

	if (!CHECK_TRUE_AT(file, line, ev != NULL))
		return;
	rc = decode_len(kind, payload, len, ev, err, sizeof err);
	if (!CHECK_EQ_INT_AT(file, line, rc, -1))
		fprintf(stderr, "  (kind %s, payload %.200s)\n", event_topic_suffix(kind), payload);
	if (!CHECK_TRUE_AT(file, line, err[0] != '\0'))
		fprintf(stderr, "  (kind %s: empty err)\n", event_topic_suffix(kind));
	free(ev);
}
#define EXPECT_BAD(kind, payload) expect_bad_at(__FILE__, __LINE__, kind, payload, strlen(payload))
#define EXPECT_BAD_LEN(kind, payload, len) expect_bad_at(__FILE__, __LINE__, kind, payload, len)

/* Every kind rejects it. */
static void expect_bad_all_at(const char *file, int line, const char *payload, size_t len)
{
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		expect_bad_at(file, line, all_kinds[k], payload, len);
}
#define EXPECT_BAD_ALL(payload) expect_bad_all_at(__FILE__, __LINE__, payload, strlen(payload))
#define EXPECT_BAD_ALL_LEN(payload, len) expect_bad_all_at(__FILE__, __LINE__, payload, len)

/* Decodes a payload that must be valid; returns 1 when it was. */
static int expect_good_at(const char *file, int line, enum event_kind kind, const char *payload,
			  struct event *ev)
{
	char err[256];
	int rc = decode_len(kind, payload, strlen(payload), ev, err, sizeof err);

	if (!CHECK_EQ_INT_AT(file, line, rc, 0)) {
		fprintf(stderr, "  (kind %s, err '%s', payload %.200s)\n", event_topic_suffix(kind),
			err, payload);
		return 0;
	}
	return 1;
}
#define EXPECT_GOOD(kind, payload, ev) expect_good_at(__FILE__, __LINE__, kind, payload, ev)

static void expect_same_event_at(const char *file, int line, const struct event *a,
				 const struct event *b)
{
	CHECK_EQ_INT_AT(file, line, a->kind, b->kind);
	CHECK_EQ_STR_AT(file, line, a->order_id, b->order_id);
	if (!CHECK_EQ_INT_AT(file, line, a->n_items, b->n_items))
		return;
	for (int i = 0; i < a->n_items; i++) {
		CHECK_EQ_STR_AT(file, line, a->items[i].sku, b->items[i].sku);
		CHECK_EQ_INT_AT(file, line, a->items[i].qty, b->items[i].qty);
		CHECK_EQ_INT_AT(file, line, a->items[i].unit_price_cents, b->items[i].unit_price_cents);
	}
	CHECK_EQ_STR_AT(file, line, a->created_at, b->created_at);
	CHECK_EQ_INT_AT(file, line, a->total_cents, b->total_cents);
	CHECK_EQ_STR_AT(file, line, a->reason, b->reason);
	CHECK_EQ_STR_AT(file, line, a->sku, b->sku);
}

/* Encodes ev, decodes the text as the same kind and compares every field;
 * a second encode gives the same bytes. */
static void expect_round_trip_at(const char *file, int line, const struct event *ev)
{
	struct event *again = malloc(sizeof *again);
	char *text = event_encode(ev);
	char *text2 = NULL;

	if (CHECK_TRUE_AT(file, line, again != NULL && text != NULL) &&
	    expect_good_at(file, line, ev->kind, text, again)) {
		expect_same_event_at(file, line, ev, again);
		text2 = event_encode(again);
		CHECK_EQ_STR_AT(file, line, text2, text);
	}
	free(text);
	free(text2);
	free(again);
}
#define EXPECT_ROUND_TRIP(ev) expect_round_trip_at(__FILE__, __LINE__, ev)

/* Builds {"v":1,"order_id":ID,"items":[<n lines>],created_at} for order/send. */
static char *send_with_n_items(int n)
{
	size_t cap = 256 + (size_t)n * 48;
	char *buf = malloc(cap);
	size_t used;

	if (buf == NULL)
		return NULL;
	used = (size_t)snprintf(buf, cap, "{" V1_ID ",\"items\":[");
	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s{\"sku\":\"SKU-%d\",\"qty\":1}",
					 i ? "," : "", i);
	snprintf(buf + used, cap - used, "]," CREATED "}");
	return buf;
}

/* order/send with one line whose body is given ({"sku":...,"qty":...}). */
static char *send_with_line(const char *line_json)
{
	size_t cap = strlen(line_json) + 256;
	char *buf = malloc(cap);

	if (buf != NULL)
		snprintf(buf, cap, "{" V1_ID ",\"items\":[%s]," CREATED "}", line_json);
	return buf;
}

static void expect_bad_line_at(const char *file, int line, const char *line_json)
{
	char *p = send_with_line(line_json);

	if (CHECK_TRUE_AT(file, line, p != NULL))
		expect_bad_at(file, line, EVENT_ORDER_SEND, p, strlen(p));
	free(p);
}
#define EXPECT_BAD_LINE(line_json) expect_bad_line_at(__FILE__, __LINE__, line_json)

static char *repeat_char(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memset(s, c, n);
		s[n] = '\0';
	}
	return s;
}

/* --- valid payloads of every kind ----------------------------------------- */

static void test_valid_order_send(void)
{
	struct event ev;
	const char *p = "{" V1_ID ",\"items\":[{\"sku\":\"MUG-001\",\"qty\":2},"
			"{\"sku\":\"tee_XL.2\",\"qty\":10000}]," CREATED ",\"note\":\"unknown fields are ignored\"}";

	if (EXPECT_GOOD(EVENT_ORDER_SEND, p, &ev)) {
		CHECK_EQ_INT(ev.kind, EVENT_ORDER_SEND);
		CHECK_EQ_STR(ev.order_id, ID);
		CHECK_EQ_INT(ev.n_items, 2);
		CHECK_EQ_STR(ev.items[0].sku, "MUG-001");
		CHECK_EQ_INT(ev.items[0].qty, 2);
		CHECK_EQ_INT(ev.items[0].unit_price_cents, 0);
		CHECK_EQ_STR(ev.items[1].sku, "tee_XL.2");
		CHECK_EQ_INT(ev.items[1].qty, EVENT_MAX_QTY);
		CHECK_EQ_STR(ev.created_at, "2024-05-01T12:00:00.000Z");
		EXPECT_ROUND_TRIP(&ev);
	}
	/* Whitespace around the value is not trailing garbage. */
	if (EXPECT_GOOD(EVENT_ORDER_SEND,
			" \n{ " V1_ID " , \"items\" : [ {\"qty\":1,\"sku\":\"A\"} ] , " CREATED " }\r\n\t ",
			&ev)) {
		CHECK_EQ_INT(ev.n_items, 1);
		CHECK_EQ_STR(ev.items[0].sku, "A");
	}
	/* v as 1.0 is the number 1. */
	EXPECT_GOOD(EVENT_ORDER_CANCEL, "{\"v\":1.0,\"order_id\":\"" ID "\"}", &ev);
}

static void test_valid_max_items(void)
{
	struct event *ev = malloc(sizeof *ev);
	char *p = send_with_n_items(EVENT_MAX_ITEMS);

	if (CHECK_TRUE(ev != NULL && p != NULL) && EXPECT_GOOD(EVENT_ORDER_SEND, p, ev)) {
		CHECK_EQ_INT(ev->n_items, EVENT_MAX_ITEMS);
		CHECK_EQ_STR(ev->items[EVENT_MAX_ITEMS - 1].sku, "SKU-99");
		EXPECT_ROUND_TRIP(ev);
	}
	free(p);
	free(ev);
}

static void test_valid_sku_of_max_length(void)
{
	struct event ev;
	char *sku = repeat_char('S', EVENT_SKU_MAX);
	char line[256];
	char *p;

	snprintf(line, sizeof line, "{\"sku\":\"%s\",\"qty\":1}", sku ? sku : "");
	p = send_with_line(line);
	if (CHECK_TRUE(p != NULL) && EXPECT_GOOD(EVENT_ORDER_SEND, p, &ev)) {
		CHECK_EQ_STR(ev.items[0].sku, sku);
		EXPECT_ROUND_TRIP(&ev);
	}
	free(p);
	free(sku);
}

static void test_valid_bare_kinds(void)
{
	const enum event_kind bare[] = { EVENT_ORDER_CANCEL, EVENT_ORDER_CANCELED, EVENT_RELEASED };

	for (size_t i = 0; i < sizeof bare / sizeof *bare; i++) {
		struct event ev;
		if (EXPECT_GOOD(bare[i], "{" V1_ID ",\"items\":\"ignored\"}", &ev)) {
			CHECK_EQ_INT(ev.kind, bare[i]);
			CHECK_EQ_STR(ev.order_id, ID);
			CHECK_EQ_INT(ev.n_items, 0);
			EXPECT_ROUND_TRIP(&ev);
		}
	}
}

static void test_valid_in_stock(void)
{
	struct event ev;
	const char *p = "{" V1_ID ",\"items\":[{\"sku\":\"MUG-001\",\"qty\":3,\"unit_price_cents\":1250},"
			"{\"sku\":\"PEN\",\"qty\":1,\"unit_price_cents\":0}],\"total_cents\":3750}";

	if (EXPECT_GOOD(EVENT_IN_STOCK, p, &ev)) {
		CHECK_EQ_INT(ev.kind, EVENT_IN_STOCK);
		CHECK_EQ_INT(ev.n_items, 2);
		CHECK_EQ_INT(ev.items[0].qty, 3);
		CHECK_EQ_INT(ev.items[0].unit_price_cents, 1250);
		CHECK_EQ_INT(ev.items[1].unit_price_cents, 0);
		CHECK_EQ_INT(ev.total_cents, 3750);
		EXPECT_ROUND_TRIP(&ev);
	}
	/* The biggest total the limits allow survives the trip through a double. */
	{
		struct event *big = malloc(sizeof *big);
		if (CHECK_TRUE(big != NULL)) {
			memset(big, 0, sizeof *big);
			big->kind = EVENT_IN_STOCK;
			strcpy(big->order_id, ID);
			big->n_items = EVENT_MAX_ITEMS;
			for (int i = 0; i < EVENT_MAX_ITEMS; i++) {
				snprintf(big->items[i].sku, sizeof big->items[i].sku, "BIG-%d", i);
				big->items[i].qty = EVENT_MAX_QTY;
				big->items[i].unit_price_cents = EVENT_MAX_PRICE_CENTS;
				big->total_cents += EVENT_MAX_PRICE_CENTS * EVENT_MAX_QTY;
			}
			EXPECT_ROUND_TRIP(big);
		}
		free(big);
	}
}

static void test_valid_out_of_stock(void)
{
	struct event ev;

	if (EXPECT_GOOD(EVENT_OUT_OF_STOCK,
			"{" V1_ID ",\"reason\":\"insufficient_stock\",\"sku\":\"MUG-001\","
			"\"items\":[{\"sku\":\"MUG-001\",\"qty\":5}]}", &ev)) {
		CHECK_EQ_INT(ev.kind, EVENT_OUT_OF_STOCK);
		CHECK_EQ_STR(ev.reason, "insufficient_stock");
		CHECK_EQ_STR(ev.sku, "MUG-001");
		CHECK_EQ_INT(ev.n_items, 1);
		CHECK_EQ_INT(ev.items[0].qty, 5);
		EXPECT_ROUND_TRIP(&ev);
	}
	if (EXPECT_GOOD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"unknown_sku\",\"sku\":\"NOPE\"}",
			&ev)) {
		CHECK_EQ_STR(ev.reason, "unknown_sku");
		CHECK_EQ_STR(ev.sku, "NOPE");
		CHECK_EQ_INT(ev.n_items, 0);
		EXPECT_ROUND_TRIP(&ev);
	}
	if (EXPECT_GOOD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"invalid\"}", &ev)) {
		CHECK_EQ_STR(ev.reason, "invalid");
		CHECK_EQ_STR(ev.sku, "");
		CHECK_EQ_STR(ev.created_at, "");
		EXPECT_ROUND_TRIP(&ev);
	}
	/* The time of the send decided on travels along (optional). */
	if (EXPECT_GOOD(EVENT_OUT_OF_STOCK,
			"{" V1_ID ",\"reason\":\"insufficient_stock\",\"sku\":\"MUG-001\","
			"\"items\":[{\"sku\":\"MUG-001\",\"qty\":5}],"
			"\"created_at\":\"2024-05-01T12:00:00.000Z\"}", &ev)) {
		CHECK_EQ_STR(ev.created_at, "2024-05-01T12:00:00.000Z");
		EXPECT_ROUND_TRIP(&ev);
	}
	if (EXPECT_GOOD(EVENT_IN_STOCK,
			"{" V1_ID ",\"items\":[{\"sku\":\"PEN\",\"qty\":2,\"unit_price_cents\":5}],"
			"\"total_cents\":10,\"created_at\":\"2024-05-01T12:00:00Z\"}", &ev)) {
		CHECK_EQ_STR(ev.created_at, "2024-05-01T12:00:00Z");
		EXPECT_ROUND_TRIP(&ev);
	}
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"invalid\",\"created_at\":5}");
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[{\"sku\":\"PEN\",\"qty\":2,"
		   "\"unit_price_cents\":5}],\"total_cents\":10,\"created_at\":null}");
}

/* --- bad payloads --------------------------------------------------------- */

static void test_bad_syntax(void)
{
	char *big;
	size_t big_len = 300 * 1024;

	EXPECT_BAD_ALL("");
	EXPECT_BAD_ALL("hello");
	EXPECT_BAD_ALL("{" V1_ID);                       /* truncated */
	EXPECT_BAD_ALL("[{" V1_ID "}]");                  /* an array */
	EXPECT_BAD_ALL("[]");
	EXPECT_BAD_ALL("\"" ID "\"");                     /* a string */
	EXPECT_BAD_ALL("42");
	EXPECT_BAD_ALL("null");
	EXPECT_BAD_ALL("{" V1_ID "} x");                  /* trailing garbage */
	EXPECT_BAD_ALL("{" V1_ID "}{}");
	EXPECT_BAD_ALL_LEN("{" V1_ID "}\0", sizeof("{" V1_ID "}")); /* a NUL after the object */
	EXPECT_BAD_ALL("{" V1_ID ",\"x\":\"\xff\"}");    /* invalid UTF-8 */
	EXPECT_BAD_ALL("{" V1_ID ",\"x\":\"\xc0\xaf\"}"); /* overlong '/' */
	EXPECT_BAD_ALL("{" V1_ID ",\"x\":\"\xed\xa0\x80\"}"); /* a surrogate */
	EXPECT_BAD_ALL("{" V1_ID ",\"x\":\"\xe2\x82\"}"); /* truncated sequence */

	/* Over EVENT_MAX_PAYLOAD: an otherwise valid cancel with a 300 kB filler. */
	big = malloc(big_len + 1);
	if (big == NULL) {
		CHECK_TRUE(big != NULL);
		return;
	}
	memset(big, 'x', big_len);
	big[big_len] = '\0';
	memcpy(big, "{" V1_ID ",\"filler\":\"", strlen("{" V1_ID ",\"filler\":\""));
	memcpy(big + big_len - 2, "\"}", 2);
	CHECK_EQ_INT(strlen(big), big_len);
	CHECK_TRUE(big_len > EVENT_MAX_PAYLOAD);
	EXPECT_BAD_ALL(big);
	free(big);
}

static void test_bad_version(void)
{
	EXPECT_BAD_ALL("{\"order_id\":\"" ID "\"}");
	EXPECT_BAD_ALL("{\"v\":2,\"order_id\":\"" ID "\"}");
	EXPECT_BAD_ALL("{\"v\":0,\"order_id\":\"" ID "\"}");
	EXPECT_BAD_ALL("{\"v\":\"1\",\"order_id\":\"" ID "\"}");
	EXPECT_BAD_ALL("{\"v\":1.5,\"order_id\":\"" ID "\"}");
	EXPECT_BAD_ALL("{\"v\":null,\"order_id\":\"" ID "\"}");
	EXPECT_BAD_ALL("{\"v\":true,\"order_id\":\"" ID "\"}");
	EXPECT_BAD_ALL("{\"V\":1,\"order_id\":\"" ID "\"}");
}

static void test_bad_order_id(void)
{
	EXPECT_BAD_ALL("{\"v\":1}");
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":\"" ID_UPPER "\"}");
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":\"123e4567-e89b-12d3-a456-42661417400\"}"); /* 35 */
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":\"123e4567-e89b-12d3-a456-4266141740000\"}"); /* 37 */
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":\"not-a-uuid\"}");
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":\"123e4567-e89b-12d3-a456-42661417400g\"}");
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":\"\"}");
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":123}");
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":null}");
	/* A NUL escape must not smuggle a valid id past the check by truncation. */
	EXPECT_BAD_ALL("{\"v\":1,\"order_id\":\"" ID "\\u0000junk\"}");
}

static void test_bad_items(void)
{
	char *p;

	/* items not an array, empty, or too many */
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID "," CREATED "}");
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":{\"sku\":\"A\",\"qty\":1}," CREATED "}");
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":\"A\"," CREATED "}");
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":null," CREATED "}");
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":[]," CREATED "}");
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":[1]," CREATED "}");
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":[[\"A\",1]]," CREATED "}");
	p = send_with_n_items(EVENT_MAX_ITEMS + 1);
	if (CHECK_TRUE(p != NULL))
		EXPECT_BAD(EVENT_ORDER_SEND, p);
	free(p);

	/* quantities */
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":0}");
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":-1}");
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":1.5}");
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":\"2\"}");
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":4294967296}");
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":4294967297}");
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":10001}"); /* EVENT_MAX_QTY + 1 */
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":1e300}");
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":null}");
	EXPECT_BAD_LINE("{\"sku\":\"A\",\"qty\":true}");
	EXPECT_BAD_LINE("{\"sku\":\"A\"}");

	/* SKUs */
	EXPECT_BAD_LINE("{\"qty\":1}");
	EXPECT_BAD_LINE("{\"sku\":null,\"qty\":1}");
	EXPECT_BAD_LINE("{\"sku\":7,\"qty\":1}");
	EXPECT_BAD_LINE("{\"sku\":\"\",\"qty\":1}");
	EXPECT_BAD_LINE("{\"sku\":\"SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS\",\"qty\":1}"); /* 65 */
	EXPECT_BAD_LINE("{\"sku\":\"A\\u0001\",\"qty\":1}");
	EXPECT_BAD_LINE("{\"sku\":\"MUG 001\",\"qty\":1}");
	EXPECT_BAD_LINE("{\"sku\":\"MUG/001\",\"qty\":1}");
	EXPECT_BAD_LINE("{\"sku\":\"caf\xc3\xa9\",\"qty\":1}");
	/* A NUL escape must not truncate "MUG\u0000evil" to the valid "MUG". */
	EXPECT_BAD_LINE("{\"sku\":\"MUG\\u0000evil\",\"qty\":1}");

	/* the same SKU on two lines */
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"B\",\"qty\":1},"
				     "{\"sku\":\"A\",\"qty\":2}]," CREATED "}");
}

static void test_bad_order_send(void)
{
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":1}]}");
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":1}],\"created_at\":5}");
	EXPECT_BAD(EVENT_ORDER_SEND, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":1}],"
				     "\"created_at\":\"2024-05-01T12:00:00.000000000000000000000Z\"}");
}

static void test_bad_in_stock(void)
{
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":2,\"unit_price_cents\":100}],"
				   "\"total_cents\":100}");  /* not the sum */
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":2,\"unit_price_cents\":100},"
				   "{\"sku\":\"B\",\"qty\":1,\"unit_price_cents\":5}],\"total_cents\":200}");
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":2}],\"total_cents\":0}");
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":2,\"unit_price_cents\":100}]}");
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":2,\"unit_price_cents\":-1}],"
				   "\"total_cents\":-2}");
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":1.5}],"
				   "\"total_cents\":1.5}");
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":\"100\"}],"
				   "\"total_cents\":100}");
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"items\":[],\"total_cents\":0}");
	EXPECT_BAD(EVENT_IN_STOCK, "{" V1_ID ",\"total_cents\":0}");
}

static void test_bad_out_of_stock(void)
{
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"sold_out\"}");
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"INVALID\"}");
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"\"}");
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":3}");
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID "}");
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"unknown_sku\",\"sku\":\"has space\"}");
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"unknown_sku\",\"sku\":5}");
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"unknown_sku\",\"sku\":\"A\",\"items\":[]}");
	EXPECT_BAD(EVENT_OUT_OF_STOCK, "{" V1_ID ",\"reason\":\"unknown_sku\",\"sku\":\"A\","
				       "\"items\":[{\"sku\":\"A\",\"qty\":0}]}");
}

/* --- topics, SKUs, ids, UTF-8, canonical items -------------------------- */

static void test_topics(void)
{
	static const struct {
		const char *topic;
		enum event_kind kind;
	} ok[] = {
		{ "webshop/order/send", EVENT_ORDER_SEND },
		{ "webshop/order/cancel", EVENT_ORDER_CANCEL },
		{ "webshop/inventory/in-stock", EVENT_IN_STOCK },
		{ "webshop/inventory/out-of-stock", EVENT_OUT_OF_STOCK },
		{ "webshop/order/canceled", EVENT_ORDER_CANCELED },
		{ "webshop/inventory/released", EVENT_RELEASED },
		{ "webshop/inventory/restock", EVENT_RESTOCK },
		{ "webshop/inventory/product", EVENT_PRODUCT },
	};
	static const char *const bad[] = {
		"webshop/order/sendx", "other/order/send", "webshop/order/send/", "webshop/",
		"webshop", "", "order/send", "webshop/order/SEND", "webshop//order/send",
		"webshop/status/inventory/main", "xwebshop/order/send",
	};
	enum event_kind kind;

	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		kind = EVENT_KIND_COUNT;
		if (CHECK_EQ_INT(event_kind_from_topic("webshop/", ok[i].topic, &kind), 0))
			CHECK_EQ_INT(kind, ok[i].kind);
		/* and back */
		{
			char topic[128];
			snprintf(topic, sizeof topic, "webshop/%s", event_topic_suffix(ok[i].kind));
			CHECK_EQ_STR(topic, ok[i].topic);
		}
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (!CHECK_EQ_INT(event_kind_from_topic("webshop/", bad[i], &kind), -1))
			fprintf(stderr, "  (topic '%s')\n", bad[i]);
	}
	/* Another prefix, and none. */
	CHECK_EQ_INT(event_kind_from_topic("shop2/", "shop2/order/cancel", &kind), 0);
	CHECK_EQ_INT(kind, EVENT_ORDER_CANCEL);
	CHECK_EQ_INT(event_kind_from_topic("shop2/", "webshop/order/cancel", &kind), -1);
	CHECK_EQ_INT(event_kind_from_topic("", "inventory/released", &kind), 0);
	CHECK_EQ_INT(kind, EVENT_RELEASED);
	CHECK_EQ_STR(event_topic_suffix(EVENT_KIND_COUNT), "?");
}

static void test_sku_valid(void)
{
	char *s64 = repeat_char('a', EVENT_SKU_MAX);
	char *s65 = repeat_char('a', EVENT_SKU_MAX + 1);

	CHECK_TRUE(event_sku_valid("A"));
	CHECK_TRUE(event_sku_valid("MUG-001"));
	CHECK_TRUE(event_sku_valid("az_AZ.09-"));
	CHECK_TRUE(event_sku_valid("..."));
	CHECK_TRUE(s64 && event_sku_valid(s64));
	CHECK_FALSE(s65 && event_sku_valid(s65));
	CHECK_FALSE(event_sku_valid(""));
	CHECK_FALSE(event_sku_valid(" "));
	CHECK_FALSE(event_sku_valid("MUG 001"));
	CHECK_FALSE(event_sku_valid("MUG\x01"));
	CHECK_FALSE(event_sku_valid("MUG\t"));
	CHECK_FALSE(event_sku_valid("a/b"));
	CHECK_FALSE(event_sku_valid("a+b"));
	CHECK_FALSE(event_sku_valid("\"a\""));
	CHECK_FALSE(event_sku_valid("caf\xc3\xa9"));
	CHECK_FALSE(event_sku_valid("\xff"));
	free(s64);
	free(s65);
}

static void test_order_id_valid(void)
{
	CHECK_TRUE(event_order_id_valid(ID));
	CHECK_TRUE(event_order_id_valid("00000000-0000-0000-0000-000000000000"));
	CHECK_TRUE(event_order_id_valid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
	CHECK_FALSE(event_order_id_valid(ID_UPPER));
	CHECK_FALSE(event_order_id_valid("123e4567-e89b-12d3-a456-42661417400A")); /* one upper */
	CHECK_FALSE(event_order_id_valid("123e4567-e89b-12d3-a456-42661417400"));  /* 35 */
	CHECK_FALSE(event_order_id_valid("123e4567-e89b-12d3-a456-4266141740000")); /* 37 */
	CHECK_FALSE(event_order_id_valid("123e4567e89b12d3a456426614174000"));     /* no dashes */
	CHECK_FALSE(event_order_id_valid("123e4567e-89b-12d3-a456-426614174000")); /* dash moved */
	CHECK_FALSE(event_order_id_valid("123e4567-e89b-12d3-a456-42661417400g"));
	CHECK_FALSE(event_order_id_valid("{23e4567-e89b-12d3-a456-42661417400}"));
	CHECK_FALSE(event_order_id_valid(" 23e4567-e89b-12d3-a456-426614174000"));
	CHECK_FALSE(event_order_id_valid("not-a-uuid"));
	CHECK_FALSE(event_order_id_valid(""));
}

static void test_utf8_valid(void)
{
#define UTF8(s) event_utf8_valid(s, sizeof(s) - 1)
	CHECK_TRUE(event_utf8_valid("", 0));
	CHECK_TRUE(UTF8("plain ascii {}"));
	CHECK_TRUE(UTF8("caf\xc3\xa9"));             /* é */
	CHECK_TRUE(UTF8("\xe2\x82\xac 5"));          /* € */
	CHECK_TRUE(UTF8("\xf0\x9f\x98\x80"));        /* 😀 */
	CHECK_TRUE(UTF8("\xc2\x80"));                /* U+0080, smallest 2-byte */
	CHECK_TRUE(UTF8("\xe0\xa0\x80"));            /* U+0800 */
	CHECK_TRUE(UTF8("\xed\x9f\xbf"));            /* U+D7FF, just below the surrogates */
	CHECK_TRUE(UTF8("\xee\x80\x80"));            /* U+E000, just above */
	CHECK_TRUE(UTF8("\xef\xbf\xbf"));            /* U+FFFF */
	CHECK_TRUE(UTF8("\xf4\x8f\xbf\xbf"));        /* U+10FFFF */
	CHECK_FALSE(UTF8("\xff"));
	CHECK_FALSE(UTF8("\xfe"));
	CHECK_FALSE(UTF8("\x80"));                   /* lone continuation */
	CHECK_FALSE(UTF8("\xc0\xaf"));               /* overlong '/' */
	CHECK_FALSE(UTF8("\xc1\xbf"));               /* overlong */
	CHECK_FALSE(UTF8("\xe0\x80\xaf"));           /* overlong, 3 bytes */
	CHECK_FALSE(UTF8("\xf0\x80\x80\xaf"));       /* overlong, 4 bytes */
	CHECK_FALSE(UTF8("\xed\xa0\x80"));           /* U+D800 surrogate */
	CHECK_FALSE(UTF8("\xed\xbf\xbf"));           /* U+DFFF surrogate */
	CHECK_FALSE(UTF8("\xf4\x90\x80\x80"));       /* past U+10FFFF */
	CHECK_FALSE(UTF8("\xf8\x88\x80\x80\x80"));   /* 5-byte form */
	CHECK_FALSE(UTF8("\xe2\x82"));               /* truncated € */
	CHECK_FALSE(UTF8("\xc3"));
	CHECK_FALSE(UTF8("\xc3x"));
	/* The length is honoured: é cut after its first byte is invalid. */
	CHECK_FALSE(event_utf8_valid("\xc3\xa9", 1));
	CHECK_TRUE(event_utf8_valid("ab\xff", 2));
#undef UTF8
}

static void test_items_canonical(void)
{
	struct event a, b, c;
	char *ta = NULL, *tb = NULL, *tc = NULL;

	memset(&a, 0, sizeof a);
	a.kind = EVENT_ORDER_SEND;
	strcpy(a.order_id, ID);
	a.n_items = 2;
	strcpy(a.items[0].sku, "MUG-001");
	a.items[0].qty = 2;
	strcpy(a.items[1].sku, "PEN");
	a.items[1].qty = 1;

	/* The same lines decoded from differently written JSON, with prices. */
	if (EXPECT_GOOD(EVENT_IN_STOCK,
			"{ \"total_cents\" : 2401, \"items\":[ {\"qty\":2.0,\"unit_price_cents\":1200,\"sku\":\"MUG-001\"},"
			" {\"unit_price_cents\":1,\"sku\":\"PEN\",\"qty\":1}], " V1_ID " }", &b)) {
		ta = event_items_canonical(&a);
		tb = event_items_canonical(&b);
		if (CHECK_TRUE(ta != NULL && tb != NULL)) {
			CHECK_EQ_STR(tb, ta);
			CHECK_EQ_INT(memcmp(ta, tb, strlen(ta) + 1), 0);
			CHECK_TRUE(strstr(ta, "unit_price_cents") == NULL);
		}
	}
	c = a;
	c.items[1].qty = 3;
	tc = event_items_canonical(&c);
	if (CHECK_TRUE(ta != NULL && tc != NULL))
		CHECK_NE_STR(tc, ta);
	free(tc);
	c = a;
	strcpy(c.items[1].sku, "PEN2");
	tc = event_items_canonical(&c);
	if (CHECK_TRUE(ta != NULL && tc != NULL))
		CHECK_NE_STR(tc, ta);
	free(tc);
	/* With prices the text carries them. */
	tc = event_items_text(&b, 1);
	if (CHECK_TRUE(tc != NULL))
		CHECK_TRUE(strstr(tc, "\"unit_price_cents\":1200") != NULL);
	free(tc);
	free(ta);
	free(tb);
}

static void test_now_rfc3339(void)
{
	char buf[40];
	struct event ev;
	char payload[256];

	event_now_rfc3339(buf);
	CHECK_EQ_INT(strlen(buf), 24);
	CHECK_EQ_INT(buf[10], 'T');
	CHECK_EQ_INT(buf[23], 'Z');
	snprintf(payload, sizeof payload,
		 "{" V1_ID ",\"items\":[{\"sku\":\"A\",\"qty\":1}],\"created_at\":\"%s\"}", buf);
	if (EXPECT_GOOD(EVENT_ORDER_SEND, payload, &ev))
		CHECK_EQ_STR(ev.created_at, buf);
}

static void test_time_ms(void)
{
	char now[40];
	int64_t ms = 0;

	CHECK_EQ_INT(event_time_ms("1970-01-01T00:00:00Z", &ms), 0);
	CHECK_EQ_INT(ms, 0);
	CHECK_EQ_INT(event_time_ms("2026-11-24T19:40:45.123Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795549245123LL);
	CHECK_EQ_INT(event_time_ms("2026-11-24T19:40:45.5Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795549245500LL);
	CHECK_EQ_INT(event_time_ms("2026-11-24T19:40:45.123456789Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795549245123LL);
	CHECK_EQ_INT(event_time_ms("", &ms), -1);
	CHECK_EQ_INT(event_time_ms("yesterday", &ms), -1);
	CHECK_EQ_INT(event_time_ms("2026-11-24T19:40:45.123+01:00", &ms), -1);
	CHECK_EQ_INT(event_time_ms("2026-11-24T19:40:45.123Zjunk", &ms), -1);
	CHECK_EQ_INT(event_time_ms("2026-11-24 19:40:45Z", &ms), -1);
	event_now_rfc3339(now);
	CHECK_EQ_INT(event_time_ms(now, &ms), 0);
	CHECK_TRUE(llabs(ms - service_now_ms()) < 2000);
	event_rfc3339(1795549245123LL, now);
	CHECK_EQ_STR(now, "2026-11-24T19:40:45.123Z");
	event_rfc3339(7, now);
	CHECK_EQ_STR(now, "1970-01-01T00:00:00.007Z");
}

/* --- the admin's events: inventory/restock and inventory/product -------- */

#define RESTOCK_HEAD "{\"v\":1,\"restock_id\":\"" ID "\","
#define PRODUCT_OK "{\"v\":1,\"sku\":\"MUG-9\",\"name\":\"Mug\",\"price_cents\":1250,\"currency\":\"EUR\",\"version\":1700000000000}"

static void test_valid_restock(void)
{
	struct event ev, again;

	if (EXPECT_GOOD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"MUG-001\",\"qty\":25,\"extra\":1}", &ev)) {
		CHECK_EQ_STR(ev.restock_id, ID);
		CHECK_EQ_STR(ev.sku, "MUG-001");
		CHECK_EQ_INT(ev.restock_qty, 25);
		CHECK_EQ_STR(event_subject(&ev), ID);
	}
	if (EXPECT_GOOD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"A\",\"qty\":1000000}", &ev))
		CHECK_EQ_INT(ev.restock_qty, 1000000);
	if (EXPECT_GOOD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"A\",\"qty\":7}", &ev)) {
		char *text = event_encode(&ev);
		if (CHECK_TRUE(text != NULL) && EXPECT_GOOD(EVENT_RESTOCK, text, &again)) {
			CHECK_EQ_STR(again.restock_id, ev.restock_id);
			CHECK_EQ_STR(again.sku, ev.sku);
			CHECK_EQ_INT(again.restock_qty, ev.restock_qty);
		}
		free(text);
	}
	CHECK_TRUE(event_kind_is_admin(EVENT_RESTOCK));
	CHECK_TRUE(event_kind_is_admin(EVENT_PRODUCT));
	CHECK_TRUE(!event_kind_is_admin(EVENT_ORDER_SEND));
}

static void test_bad_restock(void)
{
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"A\",\"qty\":0}");
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"A\",\"qty\":1000001}");
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"A\",\"qty\":-3}");
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"A\",\"qty\":1.5}");
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"A\",\"qty\":\"5\"}");
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"A\"}");
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"a b\",\"qty\":1}");
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"sku\":\"\",\"qty\":1}");
	EXPECT_BAD(EVENT_RESTOCK, RESTOCK_HEAD "\"qty\":1}");
	EXPECT_BAD(EVENT_RESTOCK, "{\"v\":1,\"restock_id\":\"" ID_UPPER "\",\"sku\":\"A\",\"qty\":1}");
	EXPECT_BAD(EVENT_RESTOCK, "{\"v\":1,\"restock_id\":\"nope\",\"sku\":\"A\",\"qty\":1}");
	EXPECT_BAD(EVENT_RESTOCK, "{\"v\":1,\"sku\":\"A\",\"qty\":1}");
	EXPECT_BAD(EVENT_RESTOCK, "{\"v\":2,\"restock_id\":\"" ID "\",\"sku\":\"A\",\"qty\":1}");
	EXPECT_BAD(EVENT_RESTOCK, "{\"restock_id\":\"" ID "\",\"sku\":\"A\",\"qty\":1}");
	/* an order's payload is no restock */
	EXPECT_BAD(EVENT_RESTOCK, "{" V1_ID "}");
}

static void test_valid_product(void)
{
	struct event ev, again;
	char name[EVENT_NAME_MAX_BYTES + 256];

	if (EXPECT_GOOD(EVENT_PRODUCT, PRODUCT_OK, &ev)) {
		CHECK_EQ_STR(ev.sku, "MUG-9");
		CHECK_EQ_STR(ev.name, "Mug");
		CHECK_EQ_INT(ev.price_cents, 1250);
		CHECK_EQ_STR(ev.currency, "EUR");
		CHECK_EQ_INT(ev.version, 1700000000000LL);
		CHECK_EQ_STR(event_subject(&ev), "MUG-9");
		char *text = event_encode(&ev);
		if (CHECK_TRUE(text != NULL) && EXPECT_GOOD(EVENT_PRODUCT, text, &again)) {
			CHECK_EQ_STR(again.name, ev.name);
			CHECK_EQ_INT(again.price_cents, ev.price_cents);
			CHECK_EQ_STR(again.currency, ev.currency);
			CHECK_EQ_INT(again.version, ev.version);
		}
		free(text);
	}
	/* 200 characters of four bytes each, a free price, the largest version */
	strcpy(name, "{\"v\":1,\"sku\":\"A\",\"price_cents\":0,\"currency\":\"USD\",\"version\":9007199254740991,\"name\":\"");
	for (int i = 0; i < EVENT_NAME_MAX_CHARS; i++)
		strcat(name, "\xF0\x9F\x98\x80");
	strcat(name, "\"}");
	if (EXPECT_GOOD(EVENT_PRODUCT, name, &ev))
		CHECK_EQ_INT((long long)strlen(ev.name), EVENT_NAME_MAX_BYTES);
}

static void test_bad_product(void)
{
	char name[EVENT_NAME_MAX_BYTES + 256];

	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"\",\"price_cents\":1,\"currency\":\"EUR\",\"version\":1}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"a\\u0001b\",\"price_cents\":1,\"currency\":\"EUR\",\"version\":1}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":7,\"price_cents\":1,\"currency\":\"EUR\",\"version\":1}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"x\",\"price_cents\":-1,\"currency\":\"EUR\",\"version\":1}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"x\",\"price_cents\":100000001,\"currency\":\"EUR\",\"version\":1}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"currency\":\"eur\",\"version\":1}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"currency\":\"EURO\",\"version\":1}");
	/* the currency is optional in the front's body only */
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"version\":1}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"currency\":\"EUR\"}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"currency\":\"EUR\",\"version\":-1}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A\",\"name\":\"x\",\"price_cents\":1,\"currency\":\"EUR\",\"version\":9007199254740993}");
	EXPECT_BAD(EVENT_PRODUCT, "{\"v\":1,\"sku\":\"A/B\",\"name\":\"x\",\"price_cents\":1,\"currency\":\"EUR\",\"version\":1}");
	/* 201 characters */
	strcpy(name, "{\"v\":1,\"sku\":\"A\",\"price_cents\":0,\"currency\":\"USD\",\"version\":1,\"name\":\"");
	for (int i = 0; i <= EVENT_NAME_MAX_CHARS; i++)
		strcat(name, "n");
	strcat(name, "\"}");
	EXPECT_BAD(EVENT_PRODUCT, name);
}

int main(void)
{
	log_init("test_event", LOG_LEVEL_WARN);
	test_valid_order_send();
	test_valid_max_items();
	test_valid_sku_of_max_length();
	test_valid_bare_kinds();
	test_valid_in_stock();
	test_valid_out_of_stock();
	test_bad_syntax();
	test_bad_version();
	test_bad_order_id();
	test_bad_items();
	test_bad_order_send();
	test_bad_in_stock();
	test_bad_out_of_stock();
	test_topics();
	test_sku_valid();
	test_order_id_valid();
	test_utf8_valid();
	test_items_canonical();
	test_now_rfc3339();
	test_time_ms();
	test_valid_restock();
	test_bad_restock();
	test_valid_product();
	test_bad_product();
	return check_summary("test_event");
}
