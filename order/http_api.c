/* The order daemon's internal HTTP API: one order, all orders, the admin's
 * re-drive, dead letters, health, metrics. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "metrics.h"
#include "order.h"

/* The public shape of an order (docs/protocol.md §GET /api/v1/orders/{id}). */
static cJSON *order_json(const struct order_record *rec)
{
	cJSON *o = cJSON_CreateObject();
	const char *items = rec->priced ? rec->priced : rec->items;
	cJSON *parsed = items ? cJSON_Parse(items) : NULL;

	cJSON_AddStringToObject(o, "order_id", rec->order_id);
	cJSON_AddStringToObject(o, "status", order_status_name(rec->status));
	cJSON_AddItemToObject(o, "items", parsed ? parsed : cJSON_CreateArray());
	if (rec->total_cents >= 0)
		cJSON_AddNumberToObject(o, "total_cents", (double)rec->total_cents);
	else
		cJSON_AddNullToObject(o, "total_cents");
	if (rec->status == ORDER_REJECTED && rec->reason[0] != '\0') {
		cJSON_AddStringToObject(o, "reason", rec->reason);
		if (rec->reason_sku[0] != '\0')
			cJSON_AddStringToObject(o, "sku", rec->reason_sku);
	}
	if (rec->created_at[0] != '\0')
		cJSON_AddStringToObject(o, "created_at", rec->created_at);
	return o;
}

/* What a read of the store found: its JSON, and whether it shows a final status. */
struct shown {
	cJSON *json; /* the list, or the one order (NULL: not found) */
	int final;
};

static void add_to_list(void *ctx, const struct order_record *rec)
{
	struct shown *shown = ctx;

	cJSON_AddItemToArray(shown->json, order_json(rec));
	shown->final |= rec->status != ORDER_PENDING;
}

static void keep_one(void *ctx, const struct order_record *rec)
{
	struct shown *shown = ctx;

	shown->json = order_json(rec);
	shown->final = rec->status != ORDER_PENDING;
}

/* Durable before visible (docs/protocol.md §Durable before visible): a
 * final status read from the store goes out only once an fsync covers the
 * commit that decided it, which may have skipped its own (handlers.c). The
 * store was read first, so that commit is done. 0, or -1 (nothing final
 * may be shown). */
static int cover_final(struct order *o, const struct shown *shown)
{
	return shown->final ? outbox_sync_for_reader(o->outbox) : 0;
}

/* How far behind the shop runs, as the front's load shedding reads it: the
 * median wait of the orders this daemon just acted on, or, sooner, the age
 * of the ORDER_PENDING_NTH oldest order still waiting for the inventory. A
 * queue shows in the pending orders at once, while the median only sees it
 * once orders come out of it; the nth rather than the oldest, so one order
 * waiting for its re-drive does not count as overload. */
static long long order_lag_ms(struct order *o)
{
	int64_t done = lag_read(&o->consumer.lag);
	int64_t waiting = order_store_pending_age(&o->store, ORDER_PENDING_NTH, service_now_ms());

	return (long long)(done > waiting ? done : waiting);
}

static void write_metrics(FILE *out, void *ctx)
{
	struct order *o = ctx;

	metrics_write_value(out, "shop_order_broker_connected", "gauge",
			    "1 while connected and subscribed", mqtt_is_ready(o->mqtt));
	metrics_write_value(out, "shop_order_redriven_total", "counter",
			    "events re-published by the re-drive", (double)atomic_load(&o->redriven));
	metrics_write_value(out, "shop_order_outbox_reader_syncs_total", "counter",
			    "syncs taken before showing a final status over HTTP (durable before visible)",
			    (double)outbox_reader_syncs(o->outbox));
	metrics_write_value(out, "shop_order_unsynced_final_shown_total", "counter",
			    "answers showing a final status no sync was waited for (0 when it syncs first)",
			    (double)outbox_unsynced_shown(o->outbox));
	metrics_write_value(out, "shop_order_pending_age_seconds", "gauge",
			    "age of the 20th oldest pending order (0: fewer pending)",
			    (double)order_store_pending_age(&o->store, ORDER_PENDING_NTH,
							    service_now_ms()) / 1000.0);
	consumer_write_metrics(out, &o->consumer, "order");
}

static int reply_list(struct mg_connection *conn, struct order *o)
{
	cJSON *root = cJSON_CreateObject();
	struct shown shown = { cJSON_AddArrayToObject(root, "orders"), 0 };
	int status;

	if (order_store_each(&o->store, NULL, add_to_list, &shown) < 0)
		status = http_reply_error(conn, 503, "store_unavailable", "the database cannot be read");
	else if (cover_final(o, &shown) != 0)
		status = http_reply_error(conn, 503, "store_unavailable", "the database cannot be synced");
	else
		status = http_reply_json(conn, 200, root);
	cJSON_Delete(root);
	return status;
}

static int reply_one(struct mg_connection *conn, struct order *o, const char *id)
{
	struct shown shown = { NULL, 0 };
	int status;

	if (!event_order_id_valid(id))
		return http_reply_error(conn, 400, "invalid_order_id", "an order id is a lower-case UUID");
	if (order_store_each(&o->store, id, keep_one, &shown) < 0)
		return http_reply_error(conn, 503, "store_unavailable", "the database cannot be read");
	if (shown.json == NULL)
		return http_reply_error(conn, 404, "not_found", "no order with id %s", id);
	if (cover_final(o, &shown) != 0)
		status = http_reply_error(conn, 503, "store_unavailable", "the database cannot be synced");
	else
		status = http_reply_json(conn, 200, shown.json);
	cJSON_Delete(shown.json);
	return status;
}

#define REDRIVE_SUFFIX "/redrive"

/* POST /orders/{id}/redrive: 202 re-driven, 404 unknown, 409 nothing owed. */
static int reply_redrive(struct mg_connection *conn, struct order *o, const char *path)
{
	char id[EVENT_ORDER_ID_LEN + 1], body[128];
	size_t len = strlen(path) - strlen("/orders/") - strlen(REDRIVE_SUFFIX);

	if (len != EVENT_ORDER_ID_LEN)
		return http_reply_error(conn, 400, "invalid_order_id", "an order id is a lower-case UUID");
	memcpy(id, path + strlen("/orders/"), len);
	id[len] = '\0';
	if (!event_order_id_valid(id))
		return http_reply_error(conn, 400, "invalid_order_id", "an order id is a lower-case UUID");
	switch (order_redrive_now(o, id, service_now_ms())) {
	case ORDER_REDRIVE_NOW_DUE:
		snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"redriven\":true}", id);
		return http_reply(conn, 202, "application/json", body, strlen(body), NULL);
	case ORDER_REDRIVE_NOW_UNKNOWN:
		return http_reply_error(conn, 404, "not_found", "no order with id %s", id);
	case ORDER_REDRIVE_NOW_NOTHING_OWED:
		return http_reply_error(conn, 409, "not_stuck",
					"order %s is final: there is nothing to re-drive", id);
	case ORDER_REDRIVE_NOW_ERROR:
		break;
	}
	return http_reply_error(conn, 503, "store_unavailable", "the database cannot be written");
}

static int reply_dead_letters(struct mg_connection *conn, struct order *o)
{
	cJSON *list;
	int status;

	pthread_mutex_lock(&o->store.lock);
	list = dead_letter_list_json(&o->store.db, DEAD_LETTER_LIST_MAX);
	pthread_mutex_unlock(&o->store.lock);
	if (list == NULL)
		return http_reply_error(conn, 503, "store_unavailable", "the database cannot be read");
	status = http_reply_json(conn, 200, list);
	cJSON_Delete(list);
	return status;
}

static int is_redrive_path(const char *path)
{
	size_t n = strlen(path), s = strlen(REDRIVE_SUFFIX);

	return strncmp(path, "/orders/", 8) == 0 && n > 8 + s &&
	       strcmp(path + n - s, REDRIVE_SUFFIX) == 0;
}

static int handle(struct mg_connection *conn, void *ctx)
{
	struct order *o = ctx;
	const char *path = http_path(conn);
	const char *method = http_method(conn);
	int status;

	if (path != NULL && is_redrive_path(path)) {
		if (method == NULL || strcmp(method, "POST") != 0)
			return http_reply_not_allowed(conn, "POST");
		/* acting on an order is guarded like the listings */
		if ((status = http_internal_check(conn, o->svc.internal_token)) != 0)
			return status;
		return reply_redrive(conn, o, path);
	}
	if (!http_method_reads(method))
		return http_reply_not_allowed(conn, "GET, HEAD");
	if (strcmp(path, "/healthz") == 0)
		return http_reply_health(conn, mqtt_is_ready(o->mqtt), order_lag_ms(o));
	if (strcmp(path, "/metrics") == 0)
		return http_reply_metrics(conn, write_metrics, o);
	/* the rest hold every order id, which is all a cancel needs */
	if ((status = http_internal_check(conn, o->svc.internal_token)) != 0)
		return status;
	if (strcmp(path, "/dead-letters") == 0)
		return reply_dead_letters(conn, o);
	if (strcmp(path, "/orders") == 0)
		return reply_list(conn, o);
	if (strncmp(path, "/orders/", 8) == 0)
		return reply_one(conn, o, path + 8);
	return http_reply_error(conn, 404, "not_found", "no such path");
}

int order_http_start(struct order *o)
{
	o->http = http_start(o->svc.bind, o->port, 8, handle, o);
	return o->http ? 0 : -1;
}
