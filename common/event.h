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

enum event_kind {
	EVENT_ORDER_SEND = 0,
	EVENT_ORDER_CANCEL,
	EVENT_IN_STOCK,
	EVENT_OUT_OF_STOCK,
	EVENT_ORDER_CANCELED,
	EVENT_RELEASED,
	/* --- order/status (push to the fronts' streams) --- */
	EVENT_ORDER_STATUS,
	/* --- end order/status --- */
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
	char sku[EVENT_SKU_MAX + 1]; /* out-of-stock, where it applies */
	/* --- order/status --- */
	char status[16];            /* order/status: pending, confirmed, rejected, canceled;
				     * its total_cents is -1 when the order is not priced */
	/* --- end order/status --- */
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

/* --- order/status ---------------------------------------------------------
 * The order daemon publishes one per status change (docs/protocol.md §Topics):
 * order_id, status, total_cents once priced, reason and sku of a rejection.
 * The rank orders the statuses as an order moves on (pending 0, confirmed or
 * rejected 1, canceled 2): a stream shows a status only when it outranks the
 * last one shown, so duplicates and stale messages change nothing. -1 for a
 * word that is no status. */
int event_status_rank(const char *status);
/* --- end order/status ----------------------------------------------------- */

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

#endif
