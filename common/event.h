/* The events on the bus: topics, payload codecs and their validation. */
#ifndef SHOP_EVENT_H
#define SHOP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define EVENT_SCHEMA_VERSION 1
#define EVENT_MAX_ITEMS 100          /* lines per order */
#define EVENT_MAX_QTY 10000          /* quantity per line */
#define EVENT_SKU_MAX 64             /* characters of a SKU */
#define EVENT_MAX_PRICE_CENTS 100000000LL
#define EVENT_MAX_PAYLOAD (64 * 1024) /* bytes of one payload */
#define EVENT_ORDER_ID_LEN 36
/* --- the admin's events: limits (docs/protocol.md §Topics) --- */
#define EVENT_MAX_RESTOCK_QTY 1000000
#define EVENT_NAME_MAX_CHARS 200      /* characters (code points) of a product name */
#define EVENT_NAME_MAX_BYTES (EVENT_NAME_MAX_CHARS * 4)
#define EVENT_MAX_VERSION 9007199254740991LL /* 2^53 - 1: exact in a JSON number */
/* --- end of the admin's limits --- */

enum event_kind {
	EVENT_ORDER_SEND = 0,
	EVENT_ORDER_CANCEL,
	EVENT_IN_STOCK,
	EVENT_OUT_OF_STOCK,
	EVENT_ORDER_CANCELED,
	EVENT_RELEASED,
	/* --- the admin's events (inventory/restock, inventory/product) --- */
	EVENT_RESTOCK,
	EVENT_PRODUCT,
	/* --- end of the admin's events --- */
	EVENT_KIND_COUNT,
};

struct event_item {
	char sku[EVENT_SKU_MAX + 1];
	int qty;
	long long unit_price_cents; /* in-stock only, else 0 */
};

struct event {
	enum event_kind kind;
	char order_id[EVENT_ORDER_ID_LEN + 1];
	int n_items;
	struct event_item items[EVENT_MAX_ITEMS];
	char created_at[40];        /* order/send: RFC 3339 UTC; in-stock and out-of-stock:
				     * that of the send decided on (optional) */
	long long total_cents;      /* in-stock */
	char reason[32];            /* out-of-stock */
	char sku[EVENT_SKU_MAX + 1]; /* out-of-stock, where it applies; restock and product */
	/* --- the admin's events --- */
	char restock_id[EVENT_ORDER_ID_LEN + 1]; /* restock: a lower-case UUID */
	int restock_qty;                         /* restock: 1..EVENT_MAX_RESTOCK_QTY */
	char name[EVENT_NAME_MAX_BYTES + 1];     /* product: 1..200 characters of UTF-8 */
	long long price_cents;                   /* product: 0..EVENT_MAX_PRICE_CENTS */
	char currency[4];                        /* product: three upper-case letters */
	long long version;                       /* product: ms; the newest applies */
	/* --- end of the admin's events --- */
};

/* "order/send" etc.: the topic without the prefix. */
const char *event_topic_suffix(enum event_kind kind);
/* The full topic of a kind, prefix and suffix, into buf; 0, or -1 when it
 * does not fit. */
int event_topic(char *buf, size_t cap, const char *prefix, enum event_kind kind);
/* Maps a full topic to its kind; -1 when it is none of ours. */
int event_kind_from_topic(const char *prefix, const char *topic, enum event_kind *out);

/* Decodes and validates a payload of the given kind; on failure writes a short
 * reason to err and returns -1. */
int event_decode(enum event_kind kind, const char *payload, size_t len,
		 struct event *out, char *err, size_t errlen);

/* Encodes an event as JSON; the caller frees the result with free(). NULL on
 * allocation failure. */
char *event_encode(const struct event *ev);

/* Reads an "items" array of {sku, qty} into ev (the front's request body and
 * the events share this check). */
struct cJSON;
int event_items_from_json(const struct cJSON *items, struct event *ev, int with_prices,
			  char *err, size_t errlen);
/* JSON text of the items ([{sku,qty}] or [{sku,qty,unit_price_cents}]) in
 * the order given; the caller frees it. */
char *event_items_text(const struct event *ev, int with_prices);
/* The items as [{sku,qty}] sorted by SKU; the caller frees it. Two sends of
 * one order conflict when these differ. */
char *event_items_canonical(const struct event *ev);

/* Parses UTF-8 JSON text of exactly len bytes: no bytes after the value and
 * no \u0000 in strings. NULL with a reason in err; cJSON_Delete the result. */
struct cJSON *event_json_parse(const char *text, size_t len, char *err, size_t errlen);

int event_sku_valid(const char *sku);
/* A canonical lower-case UUID. */
int event_order_id_valid(const char *id);
/* Writes the current time as RFC 3339 into buf[40]. */
void event_now_rfc3339(char buf[40]);
/* Writes ms since the epoch as RFC 3339 UTC with milliseconds
 * (2026-11-24T19:40:45.123Z) into buf[40]; event_time_ms reads it back. */
void event_rfc3339(int64_t ms, char buf[40]);
/* Milliseconds since the epoch of an RFC 3339 UTC time such as
 * 2026-11-24T19:40:45.123Z (fraction optional); 0 or -1 when it is not one. */
int event_time_ms(const char *rfc3339, int64_t *ms);
/* True when the string is valid UTF-8 of the given length. */
int event_utf8_valid(const char *s, size_t len);

/* --- the admin's events --- */
/* True for the kinds that carry no order_id (restock, product). */
int event_kind_is_admin(enum event_kind kind);
/* What names the event in a log line: its order_id, restock_id or sku. */
const char *event_subject(const struct event *ev);
/* A product's fields, shared by the event codec and the front's body check;
 * 0, or -1 with the reason in err. */
int event_product_name_valid(const char *name, char *err, size_t errlen);
int event_currency_valid(const char *currency);
/* Reads sku, name, price_cents and currency (optional when currency_default
 * is not NULL) of a JSON object into ev; 0, or -1 with the reason in err. */
int event_product_from_json(const struct cJSON *obj, struct event *ev,
			    const char *currency_default, char *err, size_t errlen);
/* Reads "qty" of a restock (1..EVENT_MAX_RESTOCK_QTY) into ev->restock_qty. */
int event_restock_qty_from_json(const struct cJSON *obj, struct event *ev, char *err,
				size_t errlen);
/* --- end of the admin's events --- */

#endif
