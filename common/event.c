/* The events on the bus: topics, payload codecs and their validation. */
#define _GNU_SOURCE /* strptime, timegm */
#include "event.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

static const char *const topic_suffixes[EVENT_KIND_COUNT] = {
	[EVENT_ORDER_SEND] = "order/send",
	[EVENT_ORDER_CANCEL] = "order/cancel",
	[EVENT_IN_STOCK] = "inventory/in-stock",
	[EVENT_OUT_OF_STOCK] = "inventory/out-of-stock",
	[EVENT_ORDER_CANCELED] = "order/canceled",
	[EVENT_RELEASED] = "inventory/released",
	/* the admin's events */
	[EVENT_RESTOCK] = "inventory/restock",
	[EVENT_PRODUCT] = "inventory/product",
};

/* The admin's events: decoded and encoded in their own block at the end. */
static int admin_decode(const cJSON *root, struct event *ev, char *err, size_t errlen);
static char *admin_encode(const struct event *ev);

static const char *const out_of_stock_reasons[] = {
	"insufficient_stock", "unknown_sku", "invalid",
};

const char *event_topic_suffix(enum event_kind kind)
{
	return (kind >= 0 && kind < EVENT_KIND_COUNT) ? topic_suffixes[kind] : "?";
}

int event_topic(char *buf, size_t cap, const char *prefix, enum event_kind kind)
{
	int n = snprintf(buf, cap, "%s%s", prefix, event_topic_suffix(kind));

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int event_kind_from_topic(const char *prefix, const char *topic, enum event_kind *out)
{
	size_t plen = strlen(prefix);

	if (strncmp(topic, prefix, plen) != 0)
		return -1;
	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		if (strcmp(topic + plen, topic_suffixes[k]) == 0) {
			*out = (enum event_kind)k;
			return 0;
		}
	}
	return -1;
}

int event_sku_valid(const char *sku)
{
	size_t n = 0;

	for (const char *p = sku; *p != '\0'; p++, n++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		if (!ok || n >= EVENT_SKU_MAX)
			return 0;
	}
	return n > 0;
}

int event_order_id_valid(const char *id)
{
	uuid_t u;

	if (strlen(id) != EVENT_ORDER_ID_LEN || uuid_parse(id, u) != 0)
		return 0;
	/* Only the canonical lower-case form, so that one order has one id. */
	for (const char *p = id; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'F')
			return 0;
	}
	return 1;
}

void event_rfc3339(int64_t ms, char buf[40])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char base[24];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 40, "%s.%03dZ", base, (int)(ms % 1000));
}

void event_now_rfc3339(char buf[40])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	event_rfc3339((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, buf);
}

int event_time_ms(const char *rfc3339, int64_t *ms)
{
	struct tm tm;
	const char *rest;
	int64_t frac = 0, scale = 1000;

	memset(&tm, 0, sizeof tm);
	rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return -1;
	if (*rest == '.') {
		for (rest++; *rest >= '0' && *rest <= '9'; rest++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*rest - '0') * scale;
			}
		}
	}
	if (strcmp(rest, "Z") != 0)
		return -1;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}

int event_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		unsigned int cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		/* Overlong forms, surrogates and values past U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* A JSON number that is a whole number within [min, max]. */
static int json_whole_number(const cJSON *item, long long min, long long max, long long *out)
{
	double d;

	if (!cJSON_IsNumber(item))
		return -1;
	d = item->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
		return -1;
	*out = (long long)d;
	return 0;
}

/* Copies a JSON string of at most cap-1 bytes; -1 if missing, wrong type or too long. */
static int json_string(const cJSON *obj, const char *name, char *buf, size_t cap)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsString(item) || item->valuestring == NULL ||
	    strlen(item->valuestring) >= cap)
		return -1;
	memcpy(buf, item->valuestring, strlen(item->valuestring) + 1);
	return 0;
}

int event_items_from_json(const cJSON *items, struct event *ev, int with_prices,
			  char *err, size_t errlen)
{
	int n = 0;
	const cJSON *line;

	if (!cJSON_IsArray(items)) {
		snprintf(err, errlen, "items must be an array");
		return -1;
	}
	if (cJSON_GetArraySize(items) == 0) {
		snprintf(err, errlen, "items must not be empty");
		return -1;
	}
	if (cJSON_GetArraySize(items) > EVENT_MAX_ITEMS) {
		snprintf(err, errlen, "at most %d items per order", EVENT_MAX_ITEMS);
		return -1;
	}
	cJSON_ArrayForEach(line, items) {
		struct event_item *it = &ev->items[n];
		const cJSON *sku = cJSON_GetObjectItemCaseSensitive(line, "sku");
		long long v;

		if (!cJSON_IsObject(line)) {
			snprintf(err, errlen, "items[%d] must be an object", n);
			return -1;
		}
		if (!cJSON_IsString(sku) || sku->valuestring == NULL) {
			snprintf(err, errlen, "items[%d].sku must be a string", n);
			return -1;
		}
		if (!event_sku_valid(sku->valuestring)) {
			snprintf(err, errlen,
				 "items[%d].sku must be 1 to %d characters of A-Z a-z 0-9 . _ -",
				 n, EVENT_SKU_MAX);
			return -1;
		}
		for (int k = 0; k < n; k++) {
			if (strcmp(ev->items[k].sku, sku->valuestring) == 0) {
				snprintf(err, errlen, "items[%d].sku '%s' appears twice", n,
					 sku->valuestring);
				return -1;
			}
		}
		strcpy(it->sku, sku->valuestring);
		if (json_whole_number(cJSON_GetObjectItemCaseSensitive(line, "qty"), 1,
				      EVENT_MAX_QTY, &v) != 0) {
			snprintf(err, errlen, "items[%d].qty must be a whole number from 1 to %d",
				 n, EVENT_MAX_QTY);
			return -1;
		}
		it->qty = (int)v;
		it->unit_price_cents = 0;
		if (with_prices) {
			if (json_whole_number(cJSON_GetObjectItemCaseSensitive(line, "unit_price_cents"),
					      0, EVENT_MAX_PRICE_CENTS, &v) != 0) {
				snprintf(err, errlen, "items[%d].unit_price_cents must be a whole number", n);
				return -1;
			}
			it->unit_price_cents = v;
		}
		n++;
	}
	ev->n_items = n;
	return 0;
}

static int decode_fields(const cJSON *root, struct event *ev, char *err, size_t errlen)
{
	long long v;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");

	/* An answer of the inventory carries the time of the send it decided on
	 * (an extra field, so optional): the decided version's, not another's. */
	if ((ev->kind == EVENT_IN_STOCK || ev->kind == EVENT_OUT_OF_STOCK) &&
	    cJSON_GetObjectItemCaseSensitive(root, "created_at") != NULL &&
	    json_string(root, "created_at", ev->created_at, sizeof ev->created_at) != 0) {
		snprintf(err, errlen, "created_at must be a string of at most 39 bytes");
		return -1;
	}
	switch (ev->kind) {
	case EVENT_ORDER_SEND:
		if (event_items_from_json(items, ev, 0, err, errlen) != 0)
			return -1;
		if (json_string(root, "created_at", ev->created_at, sizeof ev->created_at) != 0) {
			snprintf(err, errlen, "created_at must be a string of at most 39 bytes");
			return -1;
		}
		return 0;
	case EVENT_IN_STOCK: {
		long long sum = 0;
		if (event_items_from_json(items, ev, 1, err, errlen) != 0)
			return -1;
		if (json_whole_number(cJSON_GetObjectItemCaseSensitive(root, "total_cents"), 0,
				      EVENT_MAX_PRICE_CENTS * EVENT_MAX_QTY * EVENT_MAX_ITEMS, &v) != 0) {
			snprintf(err, errlen, "total_cents must be a whole number");
			return -1;
		}
		for (int i = 0; i < ev->n_items; i++)
			sum += ev->items[i].unit_price_cents * ev->items[i].qty;
		if (sum != v) {
			snprintf(err, errlen, "total_cents %lld is not the sum of the lines %lld", v, sum);
			return -1;
		}
		ev->total_cents = v;
		return 0;
	}
	case EVENT_OUT_OF_STOCK: {
		int known = 0;
		if (json_string(root, "reason", ev->reason, sizeof ev->reason) == 0) {
			for (size_t i = 0; i < sizeof out_of_stock_reasons / sizeof *out_of_stock_reasons; i++)
				known |= strcmp(ev->reason, out_of_stock_reasons[i]) == 0;
		}
		if (!known) {
			snprintf(err, errlen, "reason must be insufficient_stock, unknown_sku or invalid");
			return -1;
		}
		if (cJSON_GetObjectItemCaseSensitive(root, "sku") != NULL &&
		    (json_string(root, "sku", ev->sku, sizeof ev->sku) != 0 ||
		     !event_sku_valid(ev->sku))) {
			snprintf(err, errlen, "sku must be a valid SKU");
			return -1;
		}
		/* The items travel along so that an order not seen yet can be created. */
		if (items != NULL && event_items_from_json(items, ev, 0, err, errlen) != 0)
			return -1;
		return 0;
	}
	case EVENT_ORDER_CANCEL:
	case EVENT_ORDER_CANCELED:
	case EVENT_RELEASED:
		return 0;
	case EVENT_RESTOCK: /* admin_decode's */
	case EVENT_PRODUCT:
	case EVENT_KIND_COUNT:
		break;
	}
	snprintf(err, errlen, "unknown event kind");
	return -1;
}

/* True when a string in the JSON text holds the escape \u0000: cJSON would
 * end the C string there and a check would see only the part before it. */
static int json_has_nul_escape(const char *text, size_t len)
{
	for (size_t i = 0; i + 5 < len; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u' && memcmp(text + i + 2, "0000", 4) == 0)
			return 1;
		i++; /* skip the escaped character: after an escaped backslash "u0000" is text */
	}
	return 0;
}

cJSON *event_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root;

	if (!event_utf8_valid(text, len)) {
		snprintf(err, errlen, "not valid UTF-8");
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		/* JSON allows no raw control characters in strings; a NUL would
		 * also end the C string and hide what follows from the checks. */
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			snprintf(err, errlen, "a raw control character (0x%02x) at byte %zu", c, i);
			return NULL;
		}
	}
	if (json_has_nul_escape(text, len)) {
		snprintf(err, errlen, "a JSON string holds a NUL character (\\u0000)");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL) {
		snprintf(err, errlen, "not JSON");
		return NULL;
	}
	while (end != NULL && end < text + len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end != text + len) {
		snprintf(err, errlen, "bytes after the JSON value");
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int event_decode(enum event_kind kind, const char *payload, size_t len,
		 struct event *out, char *err, size_t errlen)
{
	cJSON *root = NULL;
	long long v;
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->kind = kind;
	if (len > EVENT_MAX_PAYLOAD) {
		snprintf(err, errlen, "payload of %zu bytes is over the limit of %d", len,
			 EVENT_MAX_PAYLOAD);
		goto out;
	}
	root = event_json_parse(payload, len, err, errlen);
	if (root == NULL)
		goto out;
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "payload is not a JSON object");
		goto out;
	}
	if (json_whole_number(cJSON_GetObjectItemCaseSensitive(root, "v"), 0, 1000000, &v) != 0 ||
	    v != EVENT_SCHEMA_VERSION) {
		snprintf(err, errlen, "unsupported schema version (v must be %d)",
			 EVENT_SCHEMA_VERSION);
		goto out;
	}
	if (event_kind_is_admin(kind)) {
		rc = admin_decode(root, out, err, errlen);
		goto out;
	}
	if (json_string(root, "order_id", out->order_id, sizeof out->order_id) != 0 ||
	    !event_order_id_valid(out->order_id)) {
		snprintf(err, errlen, "order_id must be a lower-case UUID");
		goto out;
	}
	rc = decode_fields(root, out, err, errlen);
out:
	cJSON_Delete(root);
	return rc;
}

static cJSON *items_to_json(const struct event *ev, int with_prices)
{
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; arr != NULL && i < ev->n_items; i++) {
		cJSON *line = cJSON_CreateObject();
		if (line == NULL || !cJSON_AddItemToArray(arr, line)) {
			cJSON_Delete(line);
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddStringToObject(line, "sku", ev->items[i].sku);
		cJSON_AddNumberToObject(line, "qty", ev->items[i].qty);
		if (with_prices)
			cJSON_AddNumberToObject(line, "unit_price_cents",
						(double)ev->items[i].unit_price_cents);
	}
	return arr;
}

static int compare_sku(const void *a, const void *b)
{
	return strcmp(((const struct event_item *)a)->sku, ((const struct event_item *)b)->sku);
}

char *event_items_canonical(const struct event *ev)
{
	struct event *sorted = malloc(sizeof *sorted);
	char *text;

	if (sorted == NULL)
		return NULL;
	*sorted = *ev;
	qsort(sorted->items, (size_t)sorted->n_items, sizeof sorted->items[0], compare_sku);
	text = event_items_text(sorted, 0);
	free(sorted);
	return text;
}

char *event_items_text(const struct event *ev, int with_prices)
{
	cJSON *arr = items_to_json(ev, with_prices);
	char *text = arr ? cJSON_PrintUnformatted(arr) : NULL;

	cJSON_Delete(arr);
	return text;
}

char *event_encode(const struct event *ev)
{
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;

	if (event_kind_is_admin(ev->kind)) {
		cJSON_Delete(root);
		return admin_encode(ev);
	}
	if (root == NULL)
		return NULL;
	cJSON_AddNumberToObject(root, "v", EVENT_SCHEMA_VERSION);
	cJSON_AddStringToObject(root, "order_id", ev->order_id);
	switch (ev->kind) {
	case EVENT_ORDER_SEND:
		cJSON_AddItemToObject(root, "items", items_to_json(ev, 0));
		cJSON_AddStringToObject(root, "created_at", ev->created_at);
		break;
	case EVENT_IN_STOCK:
		cJSON_AddItemToObject(root, "items", items_to_json(ev, 1));
		cJSON_AddNumberToObject(root, "total_cents", (double)ev->total_cents);
		if (ev->created_at[0] != '\0')
			cJSON_AddStringToObject(root, "created_at", ev->created_at);
		break;
	case EVENT_OUT_OF_STOCK:
		cJSON_AddStringToObject(root, "reason", ev->reason);
		if (ev->sku[0] != '\0')
			cJSON_AddStringToObject(root, "sku", ev->sku);
		if (ev->n_items > 0)
			cJSON_AddItemToObject(root, "items", items_to_json(ev, 0));
		if (ev->created_at[0] != '\0')
			cJSON_AddStringToObject(root, "created_at", ev->created_at);
		break;
	case EVENT_ORDER_CANCEL:
	case EVENT_ORDER_CANCELED:
	case EVENT_RELEASED:
	case EVENT_RESTOCK: /* admin_encode's */
	case EVENT_PRODUCT:
	case EVENT_KIND_COUNT:
		break;
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

/* --- the admin's events: inventory/restock and inventory/product ---------
 * (docs/protocol.md §Topics). They name no order: a restock is applied once
 * per restock_id, a product change by its version. */

int event_kind_is_admin(enum event_kind kind)
{
	return kind == EVENT_RESTOCK || kind == EVENT_PRODUCT;
}

const char *event_subject(const struct event *ev)
{
	if (ev->kind == EVENT_RESTOCK)
		return ev->restock_id;
	if (ev->kind == EVENT_PRODUCT)
		return ev->sku;
	return ev->order_id;
}

int event_currency_valid(const char *currency)
{
	for (int i = 0; i < 3; i++) {
		if (currency[i] < 'A' || currency[i] > 'Z')
			return 0;
	}
	return currency[3] == '\0';
}

int event_product_name_valid(const char *name, char *err, size_t errlen)
{
	size_t chars = 0, len = strlen(name);

	if (!event_utf8_valid(name, len)) {
		snprintf(err, errlen, "name must be UTF-8");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "name must hold no control characters");
			return -1;
		}
		chars += (*p & 0xC0) != 0x80; /* count the first byte of each character */
	}
	if (chars < 1 || chars > EVENT_NAME_MAX_CHARS) {
		snprintf(err, errlen, "name must be 1 to %d characters", EVENT_NAME_MAX_CHARS);
		return -1;
	}
	return 0;
}

/* The sku field of a restock or product; 0, or -1 with the reason. */
static int admin_sku(const cJSON *obj, struct event *ev, char *err, size_t errlen)
{
	const cJSON *sku = cJSON_GetObjectItemCaseSensitive(obj, "sku");

	if (!cJSON_IsString(sku) || sku->valuestring == NULL || !event_sku_valid(sku->valuestring)) {
		snprintf(err, errlen, "sku must be 1 to %d characters of A-Z a-z 0-9 . _ -",
			 EVENT_SKU_MAX);
		return -1;
	}
	snprintf(ev->sku, sizeof ev->sku, "%s", sku->valuestring);
	return 0;
}

int event_product_from_json(const cJSON *obj, struct event *ev, const char *currency_default,
			    char *err, size_t errlen)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
	const cJSON *currency = cJSON_GetObjectItemCaseSensitive(obj, "currency");

	if (admin_sku(obj, ev, err, errlen) != 0)
		return -1;
	if (!cJSON_IsString(name) || name->valuestring == NULL ||
	    strlen(name->valuestring) > EVENT_NAME_MAX_BYTES) {
		snprintf(err, errlen, "name must be a string of 1 to %d characters",
			 EVENT_NAME_MAX_CHARS);
		return -1;
	}
	if (event_product_name_valid(name->valuestring, err, errlen) != 0)
		return -1;
	snprintf(ev->name, sizeof ev->name, "%s", name->valuestring);
	if (json_whole_number(cJSON_GetObjectItemCaseSensitive(obj, "price_cents"), 0,
			      EVENT_MAX_PRICE_CENTS, &ev->price_cents) != 0) {
		snprintf(err, errlen, "price_cents must be a whole number from 0 to %lld",
			 EVENT_MAX_PRICE_CENTS);
		return -1;
	}
	if (currency == NULL && currency_default != NULL) {
		snprintf(ev->currency, sizeof ev->currency, "%s", currency_default);
		return 0;
	}
	if (!cJSON_IsString(currency) || currency->valuestring == NULL ||
	    !event_currency_valid(currency->valuestring)) {
		snprintf(err, errlen, "currency must be three upper-case letters (EUR)");
		return -1;
	}
	snprintf(ev->currency, sizeof ev->currency, "%s", currency->valuestring);
	return 0;
}

int event_restock_qty_from_json(const cJSON *obj, struct event *ev, char *err, size_t errlen)
{
	long long qty;

	if (json_whole_number(cJSON_GetObjectItemCaseSensitive(obj, "qty"), 1,
			      EVENT_MAX_RESTOCK_QTY, &qty) != 0) {
		snprintf(err, errlen, "qty must be a whole number from 1 to %d",
			 EVENT_MAX_RESTOCK_QTY);
		return -1;
	}
	ev->restock_qty = (int)qty;
	return 0;
}

static int admin_decode(const cJSON *root, struct event *ev, char *err, size_t errlen)
{
	if (ev->kind == EVENT_RESTOCK) {
		if (json_string(root, "restock_id", ev->restock_id, sizeof ev->restock_id) != 0 ||
		    !event_order_id_valid(ev->restock_id)) {
			snprintf(err, errlen, "restock_id must be a lower-case UUID");
			return -1;
		}
		if (admin_sku(root, ev, err, errlen) != 0)
			return -1;
		return event_restock_qty_from_json(root, ev, err, errlen);
	}
	if (event_product_from_json(root, ev, NULL, err, errlen) != 0)
		return -1;
	if (json_whole_number(cJSON_GetObjectItemCaseSensitive(root, "version"), 0,
			      EVENT_MAX_VERSION, &ev->version) != 0) {
		snprintf(err, errlen, "version must be a whole number of ms from 0 to %lld",
			 EVENT_MAX_VERSION);
		return -1;
	}
	return 0;
}

static char *admin_encode(const struct event *ev)
{
	cJSON *root = cJSON_CreateObject();
	char *text;

	if (root == NULL)
		return NULL;
	cJSON_AddNumberToObject(root, "v", EVENT_SCHEMA_VERSION);
	if (ev->kind == EVENT_RESTOCK) {
		cJSON_AddStringToObject(root, "restock_id", ev->restock_id);
		cJSON_AddStringToObject(root, "sku", ev->sku);
		cJSON_AddNumberToObject(root, "qty", ev->restock_qty);
	} else {
		cJSON_AddStringToObject(root, "sku", ev->sku);
		cJSON_AddStringToObject(root, "name", ev->name);
		cJSON_AddNumberToObject(root, "price_cents", (double)ev->price_cents);
		cJSON_AddStringToObject(root, "currency", ev->currency);
		cJSON_AddNumberToObject(root, "version", (double)ev->version);
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

/* --- end of the admin's events --- */
