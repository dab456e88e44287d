/* The built-in corpus of bad payloads: for each shop topic, payloads that
 * each break one payload rule of docs/protocol.md, and must be dead-lettered.
 *
 * Each payload is a valid event of its topic with exactly one thing wrong,
 * so that a check that is missing shows up as an event the daemons accept
 * (and a dead-letter counter that does not grow). */
#include "garbage_corpus.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#define BIG_PAYLOAD (300 * 1024) /* over EVENT_MAX_PAYLOAD (64 KiB) */
#define DEEP_NESTING 10000        /* over cJSON's nesting limit of 1000 */

/* A growing byte buffer; ok drops to 0 when memory runs out. */
struct text {
	char *p;
	size_t len, cap;
	int ok;
};

static void text_add(struct text *t, const void *bytes, size_t n)
{
	if (!t->ok)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *bigger = realloc(t->p, cap);
		if (bigger == NULL) {
			t->ok = 0;
			return;
		}
		t->p = bigger;
		t->cap = cap;
	}
	memcpy(t->p + t->len, bytes, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(struct text *t, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof small) {
		t->ok = 0; /* the formats here are short */
		return;
	}
	text_add(t, small, (size_t)n);
}

static void text_repeat(struct text *t, const char *s, size_t times)
{
	for (size_t i = 0; i < times && t->ok; i++)
		text_add(t, s, strlen(s));
}

/* What one payload is built from: the topic, a fresh order id, and the
 * fields of a valid event of that topic after "v" and "order_id". */
struct shape {
	enum event_kind kind;
	char id[EVENT_ORDER_ID_LEN + 1];
};

static int has_items(enum event_kind kind)
{
	return kind == EVENT_ORDER_SEND || kind == EVENT_IN_STOCK || kind == EVENT_OUT_OF_STOCK;
}

/* ,"items":[...] and the rest of a valid event (empty for id-only topics). */
static const char *valid_rest(enum event_kind kind)
{
	switch (kind) {
	case EVENT_ORDER_SEND:
		return ",\"items\":[{\"sku\":\"MUG-001\",\"qty\":1}],\"created_at\":\"2024-01-01T00:00:00Z\"";
	case EVENT_IN_STOCK:
		return ",\"items\":[{\"sku\":\"MUG-001\",\"qty\":1,\"unit_price_cents\":1200}],\"total_cents\":1200";
	case EVENT_OUT_OF_STOCK:
		return ",\"reason\":\"insufficient_stock\",\"sku\":\"MUG-001\",\"items\":[{\"sku\":\"MUG-001\",\"qty\":1}]";
	default:
		return "";
	}
}

/* The fields of a valid event besides "v", "order_id" and "items". */
static const char *rest_without_items(enum event_kind kind)
{
	switch (kind) {
	case EVENT_ORDER_SEND:
		return ",\"created_at\":\"2024-01-01T00:00:00Z\"";
	case EVENT_IN_STOCK:
		return ",\"total_cents\":1200";
	case EVENT_OUT_OF_STOCK:
		return ",\"reason\":\"insufficient_stock\"";
	default:
		return "";
	}
}

/* What an item line carries besides sku and qty. */
static const char *line_extra(enum event_kind kind)
{
	return kind == EVENT_IN_STOCK ? ",\"unit_price_cents\":1200" : "";
}

static void valid_event(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\"%s}", s->id, valid_rest(s->kind));
}

/* One builder per entry of the corpus. */
typedef void (*build_fn)(struct text *t, const struct shape *s);

/* --- payloads bad on every topic ------------------------------------------ */

static void not_json(struct text *t, const struct shape *s) { (void)s; text_printf(t, "not json"); }
static void empty(struct text *t, const struct shape *s) { (void)t; (void)s; }
static void json_array(struct text *t, const struct shape *s) { (void)s; text_printf(t, "[]"); }
static void json_null(struct text *t, const struct shape *s) { (void)s; text_printf(t, "null"); }
static void json_number(struct text *t, const struct shape *s) { (void)s; text_printf(t, "42"); }
static void json_string(struct text *t, const struct shape *s) { (void)s; text_printf(t, "\"order\""); }
static void empty_object(struct text *t, const struct shape *s) { (void)s; text_printf(t, "{}"); }

static void event_in_array(struct text *t, const struct shape *s)
{
	text_add(t, "[", 1);
	valid_event(t, s);
	text_add(t, "]", 1);
}

static void truncated(struct text *t, const struct shape *s)
{
	valid_event(t, s);
	if (t->ok)
		t->p[--t->len] = '\0';
}

static void trailing_bytes(struct text *t, const struct shape *s)
{
	valid_event(t, s);
	text_printf(t, " {}");
}

static void no_version(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"order_id\":\"%s\"%s}", s->id, valid_rest(s->kind));
}

#define WITH_VERSION(fn, v)                                                            \
	static void fn(struct text *t, const struct shape *s)                          \
	{                                                                              \
		text_printf(t, "{\"v\":" v ",\"order_id\":\"%s\"%s}", s->id, valid_rest(s->kind)); \
	}
WITH_VERSION(version_2, "2")
WITH_VERSION(version_0, "0")
WITH_VERSION(version_string, "\"1\"")
WITH_VERSION(version_fraction, "1.5")
WITH_VERSION(version_huge, "1e308")
WITH_VERSION(version_null, "null")

static void no_order_id(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1%s}", valid_rest(s->kind));
}

/* order_id replaced by raw JSON text (printf: %s is the real id). */
#define WITH_ORDER_ID(fn, fmt)                                                         \
	static void fn(struct text *t, const struct shape *s)                          \
	{                                                                              \
		text_printf(t, "{\"v\":1,\"order_id\":" fmt "%s}", s->id, valid_rest(s->kind)); \
	}
WITH_ORDER_ID(order_id_number, "12345%.0s")
WITH_ORDER_ID(order_id_null, "null%.0s")
WITH_ORDER_ID(order_id_array, "[\"%s\"]")
WITH_ORDER_ID(order_id_not_uuid, "\"order-1%.0s\"")
WITH_ORDER_ID(order_id_too_long, "\"%s0\"")
WITH_ORDER_ID(order_id_nul_escape, "\"%s\\u0000x\"")
WITH_ORDER_ID(order_id_braces, "\"{%s}\"")

static void order_id_upper(struct text *t, const struct shape *s)
{
	char upper[sizeof s->id];

	for (size_t i = 0; i < sizeof upper; i++)
		upper[i] = (s->id[i] >= 'a' && s->id[i] <= 'f') ? (char)(s->id[i] - 32) : s->id[i];
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\"%s}", upper, valid_rest(s->kind));
}

/* A raw NUL byte (not the escape) right after the id: JSON forbids control
 * characters in strings, and a C string would end at it, leaving the id. */
static void order_id_raw_nul(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s", s->id);
	text_add(t, "\0x\"", 3);
	text_printf(t, "%s}", valid_rest(s->kind));
}

/* An extra field holding the given bytes inside a JSON string. */
static void with_note(struct text *t, const struct shape *s, const char *bytes, size_t n)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"note\":\"", s->id);
	text_add(t, bytes, n);
	text_printf(t, "\"%s}", valid_rest(s->kind));
}

static void utf8_invalid_byte(struct text *t, const struct shape *s) { with_note(t, s, "\xff\xfe", 2); }
static void utf8_overlong(struct text *t, const struct shape *s) { with_note(t, s, "\xc0\xaf", 2); }
static void utf8_surrogate(struct text *t, const struct shape *s) { with_note(t, s, "\xed\xa0\x80", 3); }
static void utf8_cut_short(struct text *t, const struct shape *s) { with_note(t, s, "\xe2\x82", 2); }
static void nul_escape_in_field(struct text *t, const struct shape *s) { with_note(t, s, "a\\u0000b", 8); }

static void big_payload(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"pad\":\"", s->id);
	text_repeat(t, "x", BIG_PAYLOAD);
	text_printf(t, "\"%s}", valid_rest(s->kind));
}

static void deeply_nested(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"deep\":", s->id);
	text_repeat(t, "[", DEEP_NESTING);
	text_repeat(t, "]", DEEP_NESTING);
	text_printf(t, "%s}", valid_rest(s->kind));
}

static void nested_top_level(struct text *t, const struct shape *s)
{
	(void)s;
	text_repeat(t, "[", DEEP_NESTING);
	text_repeat(t, "]", DEEP_NESTING);
}

static void binary_bytes(struct text *t, const struct shape *s)
{
	(void)s;
	for (int i = 0; i < 256; i++) {
		char c = (char)(255 - i);
		text_add(t, &c, 1);
	}
}

/* --- payloads with bad items (order/send, in-stock, out-of-stock) -------- */

static void with_items(struct text *t, const struct shape *s, const char *items)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"items\":", s->id);
	text_add(t, items, strlen(items));
	text_printf(t, "%s}", rest_without_items(s->kind));
}

/* items of one line whose qty is the given JSON text. */
static void with_qty(struct text *t, const struct shape *s, const char *qty)
{
	char items[160];

	snprintf(items, sizeof items, "[{\"sku\":\"MUG-001\",\"qty\":%s%s}]", qty,
		 line_extra(s->kind));
	with_items(t, s, items);
}

/* items of one line whose sku is the given JSON text. */
static void with_sku(struct text *t, const struct shape *s, const char *sku)
{
	char items[200];

	snprintf(items, sizeof items, "[{\"sku\":%s,\"qty\":1%s}]", sku, line_extra(s->kind));
	with_items(t, s, items);
}

static void items_missing(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\"%s}", s->id, rest_without_items(s->kind));
}

static void items_string(struct text *t, const struct shape *s) { with_items(t, s, "\"MUG-001\""); }
static void items_object(struct text *t, const struct shape *s) { with_items(t, s, "{\"sku\":\"MUG-001\",\"qty\":1}"); }
static void items_empty(struct text *t, const struct shape *s) { with_items(t, s, "[]"); }
static void items_line_number(struct text *t, const struct shape *s) { with_items(t, s, "[1]"); }
static void items_line_null(struct text *t, const struct shape *s) { with_items(t, s, "[null]"); }
static void items_nested(struct text *t, const struct shape *s) { with_items(t, s, "[[[[[[[[[[{\"sku\":\"MUG-001\",\"qty\":1}]]]]]]]]]]"); }

static void qty_negative(struct text *t, const struct shape *s) { with_qty(t, s, "-1"); }
static void qty_zero(struct text *t, const struct shape *s) { with_qty(t, s, "0"); }
static void qty_fraction(struct text *t, const struct shape *s) { with_qty(t, s, "1.5"); }
static void qty_2_pow_32(struct text *t, const struct shape *s) { with_qty(t, s, "4294967296"); }
static void qty_1e308(struct text *t, const struct shape *s) { with_qty(t, s, "1e308"); }
static void qty_minus_1e308(struct text *t, const struct shape *s) { with_qty(t, s, "-1e308"); }
static void qty_over_limit(struct text *t, const struct shape *s) { with_qty(t, s, "10001"); }
static void qty_string(struct text *t, const struct shape *s) { with_qty(t, s, "\"1\""); }
static void qty_null(struct text *t, const struct shape *s) { with_qty(t, s, "null"); }
static void qty_true(struct text *t, const struct shape *s) { with_qty(t, s, "true"); }

static void qty_missing(struct text *t, const struct shape *s)
{
	char items[120];

	snprintf(items, sizeof items, "[{\"sku\":\"MUG-001\"%s}]", line_extra(s->kind));
	with_items(t, s, items);
}

static void sku_missing(struct text *t, const struct shape *s)
{
	char items[120];

	snprintf(items, sizeof items, "[{\"qty\":1%s}]", line_extra(s->kind));
	with_items(t, s, items);
}

static void sku_number(struct text *t, const struct shape *s) { with_sku(t, s, "1"); }
static void sku_empty(struct text *t, const struct shape *s) { with_sku(t, s, "\"\""); }
static void sku_space(struct text *t, const struct shape *s) { with_sku(t, s, "\"MUG 001\""); }
static void sku_non_ascii(struct text *t, const struct shape *s) { with_sku(t, s, "\"M\xc3\x9cG-001\""); }
static void sku_nul_escape(struct text *t, const struct shape *s) { with_sku(t, s, "\"MUG-001\\u0000x\""); }

static void sku_too_long(struct text *t, const struct shape *s)
{
	char sku[EVENT_SKU_MAX + 4];

	memset(sku, 'A', sizeof sku);
	sku[0] = '"';
	sku[EVENT_SKU_MAX + 2] = '"';
	sku[EVENT_SKU_MAX + 3] = '\0';
	with_sku(t, s, sku);
}

static void too_many_items(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"items\":[", s->id);
	for (int i = 0; i <= EVENT_MAX_ITEMS; i++)
		text_printf(t, "%s{\"sku\":\"SKU-%03d\",\"qty\":1%s}", i ? "," : "", i,
			    line_extra(s->kind));
	text_printf(t, "]%s}", s->kind == EVENT_IN_STOCK ? ",\"total_cents\":121200"
							 : rest_without_items(s->kind));
}

static void duplicate_sku(struct text *t, const struct shape *s)
{
	char items[200];

	snprintf(items, sizeof items, "[{\"sku\":\"MUG-001\",\"qty\":1%s},{\"sku\":\"MUG-001\",\"qty\":2%s}]",
		 line_extra(s->kind), line_extra(s->kind));
	with_items(t, s, items);
}

/* --- payloads bad on one topic -------------------------------------------- */

static void send_no_created_at(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"items\":[{\"sku\":\"MUG-001\",\"qty\":1}]}", s->id);
}

static void send_created_at_number(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"items\":[{\"sku\":\"MUG-001\",\"qty\":1}],\"created_at\":1700000000}", s->id);
}

static void send_created_at_long(struct text *t, const struct shape *s)
{
	text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"items\":[{\"sku\":\"MUG-001\",\"qty\":1}],\"created_at\":\"", s->id);
	text_repeat(t, "2024", 25);
	text_printf(t, "\"}");
}

#define IN_STOCK_WITH(fn, line, total)                                                  \
	static void fn(struct text *t, const struct shape *s)                           \
	{                                                                               \
		text_printf(t, "{\"v\":1,\"order_id\":\"%s\",\"items\":[" line "]" total "}", s->id); \
	}
IN_STOCK_WITH(in_stock_wrong_total, "{\"sku\":\"MUG-001\",\"qty\":1,\"unit_price_cents\":1200}", ",\"total_cents\":1201")
IN_STOCK_WITH(in_stock_no_total, "{\"sku\":\"MUG-001\",\"qty\":1,\"unit_price_cents\":1200}", "")
IN_STOCK_WITH(in_stock_total_string, "{\"sku\":\"MUG-001\",\"qty\":1,\"unit_price_cents\":1200}", ",\"total_cents\":\"1200\"")
IN_STOCK_WITH(in_stock_no_price, "{\"sku\":\"MUG-001\",\"qty\":1}", ",\"total_cents\":0")
IN_STOCK_WITH(in_stock_negative_price, "{\"sku\":\"MUG-001\",\"qty\":1,\"unit_price_cents\":-1200}", ",\"total_cents\":-1200")
IN_STOCK_WITH(in_stock_huge_price, "{\"sku\":\"MUG-001\",\"qty\":1,\"unit_price_cents\":1e308}", ",\"total_cents\":1e308")

#define OUT_OF_STOCK_WITH(fn, fields)                                                   \
	static void fn(struct text *t, const struct shape *s)                           \
	{                                                                               \
		text_printf(t, "{\"v\":1,\"order_id\":\"%s\"" fields "}", s->id);       \
	}
OUT_OF_STOCK_WITH(out_of_stock_no_reason, ",\"sku\":\"MUG-001\"")
OUT_OF_STOCK_WITH(out_of_stock_unknown_reason, ",\"reason\":\"because\"")
OUT_OF_STOCK_WITH(out_of_stock_reason_number, ",\"reason\":1")
OUT_OF_STOCK_WITH(out_of_stock_bad_sku, ",\"reason\":\"unknown_sku\",\"sku\":\"MUG 001\"")
OUT_OF_STOCK_WITH(out_of_stock_sku_number, ",\"reason\":\"unknown_sku\",\"sku\":7")

/* --- the table ------------------------------------------------------------- */

enum applies { ALL_TOPICS, ITEM_TOPICS, ITEMS_REQUIRED, ONLY_SEND, ONLY_IN_STOCK, ONLY_OUT_OF_STOCK };

static const struct entry {
	const char *name;
	enum applies applies;
	build_fn build;
} corpus[] = {
	{ "not JSON", ALL_TOPICS, not_json },
	{ "empty payload", ALL_TOPICS, empty },
	{ "JSON array", ALL_TOPICS, json_array },
	{ "the event inside an array", ALL_TOPICS, event_in_array },
	{ "JSON null", ALL_TOPICS, json_null },
	{ "JSON number", ALL_TOPICS, json_number },
	{ "JSON string", ALL_TOPICS, json_string },
	{ "empty object", ALL_TOPICS, empty_object },
	{ "truncated JSON", ALL_TOPICS, truncated },
	{ "bytes after the JSON value", ALL_TOPICS, trailing_bytes },
	{ "no schema version", ALL_TOPICS, no_version },
	{ "unknown schema version v=2", ALL_TOPICS, version_2 },
	{ "schema version v=0", ALL_TOPICS, version_0 },
	{ "schema version as a string", ALL_TOPICS, version_string },
	{ "schema version 1.5", ALL_TOPICS, version_fraction },
	{ "schema version 1e308", ALL_TOPICS, version_huge },
	{ "schema version null", ALL_TOPICS, version_null },
	{ "no order_id", ALL_TOPICS, no_order_id },
	{ "order_id a number", ALL_TOPICS, order_id_number },
	{ "order_id null", ALL_TOPICS, order_id_null },
	{ "order_id an array", ALL_TOPICS, order_id_array },
	{ "order_id not a UUID", ALL_TOPICS, order_id_not_uuid },
	{ "order_id upper-case", ALL_TOPICS, order_id_upper },
	{ "order_id one character too long", ALL_TOPICS, order_id_too_long },
	{ "order_id in braces", ALL_TOPICS, order_id_braces },
	{ "order_id with \\u0000", ALL_TOPICS, order_id_nul_escape },
	{ "order_id with a raw NUL byte", ALL_TOPICS, order_id_raw_nul },
	{ "invalid UTF-8 byte 0xff", ALL_TOPICS, utf8_invalid_byte },
	{ "overlong UTF-8", ALL_TOPICS, utf8_overlong },
	{ "UTF-8 surrogate", ALL_TOPICS, utf8_surrogate },
	{ "UTF-8 sequence cut short", ALL_TOPICS, utf8_cut_short },
	{ "\\u0000 inside a string", ALL_TOPICS, nul_escape_in_field },
	{ "300 kB payload", ALL_TOPICS, big_payload },
	{ "deeply nested arrays in a field", ALL_TOPICS, deeply_nested },
	{ "deeply nested arrays", ALL_TOPICS, nested_top_level },
	{ "binary bytes", ALL_TOPICS, binary_bytes },
	{ "items missing", ITEMS_REQUIRED, items_missing },
	{ "items a string", ITEM_TOPICS, items_string },
	{ "items an object", ITEM_TOPICS, items_object },
	{ "items empty", ITEM_TOPICS, items_empty },
	{ "item a number", ITEM_TOPICS, items_line_number },
	{ "item null", ITEM_TOPICS, items_line_null },
	{ "items nested arrays", ITEM_TOPICS, items_nested },
	{ "quantity -1", ITEM_TOPICS, qty_negative },
	{ "quantity 0", ITEM_TOPICS, qty_zero },
	{ "quantity 1.5", ITEM_TOPICS, qty_fraction },
	{ "quantity 4294967296", ITEM_TOPICS, qty_2_pow_32 },
	{ "quantity 1e308", ITEM_TOPICS, qty_1e308 },
	{ "quantity -1e308", ITEM_TOPICS, qty_minus_1e308 },
	{ "quantity 10001", ITEM_TOPICS, qty_over_limit },
	{ "quantity a string", ITEM_TOPICS, qty_string },
	{ "quantity null", ITEM_TOPICS, qty_null },
	{ "quantity true", ITEM_TOPICS, qty_true },
	{ "quantity missing", ITEM_TOPICS, qty_missing },
	{ "sku missing", ITEM_TOPICS, sku_missing },
	{ "sku a number", ITEM_TOPICS, sku_number },
	{ "sku empty", ITEM_TOPICS, sku_empty },
	{ "sku with a space", ITEM_TOPICS, sku_space },
	{ "sku not ASCII", ITEM_TOPICS, sku_non_ascii },
	{ "sku with \\u0000", ITEM_TOPICS, sku_nul_escape },
	{ "sku 65 characters", ITEM_TOPICS, sku_too_long },
	{ "101 items", ITEM_TOPICS, too_many_items },
	{ "duplicate SKU lines", ITEM_TOPICS, duplicate_sku },
	{ "created_at missing", ONLY_SEND, send_no_created_at },
	{ "created_at a number", ONLY_SEND, send_created_at_number },
	{ "created_at 100 characters", ONLY_SEND, send_created_at_long },
	{ "total_cents not the sum", ONLY_IN_STOCK, in_stock_wrong_total },
	{ "total_cents missing", ONLY_IN_STOCK, in_stock_no_total },
	{ "total_cents a string", ONLY_IN_STOCK, in_stock_total_string },
	{ "unit_price_cents missing", ONLY_IN_STOCK, in_stock_no_price },
	{ "unit_price_cents negative", ONLY_IN_STOCK, in_stock_negative_price },
	{ "unit_price_cents 1e308", ONLY_IN_STOCK, in_stock_huge_price },
	{ "reason missing", ONLY_OUT_OF_STOCK, out_of_stock_no_reason },
	{ "reason unknown", ONLY_OUT_OF_STOCK, out_of_stock_unknown_reason },
	{ "reason a number", ONLY_OUT_OF_STOCK, out_of_stock_reason_number },
	{ "sku field invalid", ONLY_OUT_OF_STOCK, out_of_stock_bad_sku },
	{ "sku field a number", ONLY_OUT_OF_STOCK, out_of_stock_sku_number },
};

static int applies_to(enum applies a, enum event_kind kind)
{
	switch (a) {
	case ALL_TOPICS: return 1;
	case ITEM_TOPICS: return has_items(kind);
	/* out-of-stock carries items only where it can */
	case ITEMS_REQUIRED: return kind == EVENT_ORDER_SEND || kind == EVENT_IN_STOCK;
	case ONLY_SEND: return kind == EVENT_ORDER_SEND;
	case ONLY_IN_STOCK: return kind == EVENT_IN_STOCK;
	case ONLY_OUT_OF_STOCK: return kind == EVENT_OUT_OF_STOCK;
	}
	return 0;
}

static int corpus_add(struct garbage_corpus *c, const char *name, const char *id,
		      struct text *t)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct garbage_payload *bigger = realloc(c->items, cap * sizeof *bigger);
		if (bigger == NULL)
			return -1;
		c->items = bigger;
		c->cap = cap;
	}
	c->items[c->n].name = name;
	memcpy(c->items[c->n].order_id, id, sizeof c->items[c->n].order_id);
	c->items[c->n].data = t->p ? t->p : strdup("");
	c->items[c->n].len = t->len;
	if (c->items[c->n].data == NULL)
		return -1;
	c->n++;
	return 0;
}

int garbage_corpus_build(enum event_kind kind, struct garbage_corpus *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++) {
		struct shape s = { .kind = kind };
		struct text t = { .ok = 1 };
		uuid_t u;

		if (!applies_to(corpus[i].applies, kind))
			continue;
		/* A fresh order id each, so that no two payloads meet in one order. */
		uuid_generate_random(u);
		uuid_unparse_lower(u, s.id);
		corpus[i].build(&t, &s);
		if (!t.ok || corpus_add(out, corpus[i].name, s.id, &t) != 0) {
			free(t.p);
			garbage_corpus_free(out);
			return -1;
		}
	}
	return 0;
}

void garbage_corpus_free(struct garbage_corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->items[i].data);
	free(c->items);
	memset(c, 0, sizeof *c);
}
