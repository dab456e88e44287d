/* The inventory's internal HTTP API: catalog, stock, reservations, restocks,
 * dead letters, health, metrics. */
#include <cjson/cJSON.h>
#include <string.h>

#include "http.h"
#include "inventory.h"
#include "metrics.h"

static int reply_json_or_503(struct mg_connection *conn, cJSON *json)
{
	int status;

	if (json == NULL)
		return http_reply_error(conn, 503, "store_unavailable", "the database cannot be read");
	status = http_reply_json(conn, 200, json);
	cJSON_Delete(json);
	return status;
}

static void write_metrics(FILE *out, void *ctx)
{
	struct inventory *inv = ctx;

	metrics_write_value(out, "shop_inventory_broker_connected", "gauge",
			    "1 while connected and subscribed", mqtt_is_ready(inv->mqtt));
	consumer_write_metrics(out, &inv->consumer, "inventory");
}

static int handle(struct mg_connection *conn, void *ctx)
{
	struct inventory *inv = ctx;
	const char *path = http_path(conn);
	int status;

	if (!http_method_reads(http_method(conn)))
		return http_reply_not_allowed(conn, "GET, HEAD");
	if (strcmp(path, "/healthz") == 0)
		return http_reply_health(conn, mqtt_is_ready(inv->mqtt),
					 (long long)lag_read(&inv->consumer.lag));
	if (strcmp(path, "/metrics") == 0)
		return http_reply_metrics(conn, write_metrics, inv);
	/* the rest hold every order id, which is all a cancel needs */
	if ((status = http_internal_check(conn, inv->svc.internal_token)) != 0)
		return status;
	if (strcmp(path, "/catalog") == 0)
		return reply_json_or_503(conn, inventory_store_catalog_json(&inv->store));
	if (strcmp(path, "/stock") == 0)
		return reply_json_or_503(conn, inventory_store_stock_json(&inv->store));
	if (strcmp(path, "/restocks") == 0)
		return reply_json_or_503(conn, inventory_store_restocks_json(&inv->store));
	if (strcmp(path, "/dead-letters") == 0) {
		cJSON *list;
		pthread_mutex_lock(&inv->store.lock);
		list = dead_letter_list_json(&inv->store.db, DEAD_LETTER_LIST_MAX);
		pthread_mutex_unlock(&inv->store.lock);
		return reply_json_or_503(conn, list);
	}
	if (strcmp(path, "/reservations") == 0)
		return reply_json_or_503(conn, inventory_store_reservations_json(&inv->store, NULL));
	if (strncmp(path, "/reservations/", 14) == 0) {
		cJSON *one;
		if (!event_order_id_valid(path + 14))
			return http_reply_error(conn, 400, "invalid_order_id",
						"an order id is a lower-case UUID");
		one = inventory_store_reservations_json(&inv->store, path + 14);
		if (one == NULL)
			return http_reply_error(conn, 404, "not_found", "no reservation for that order");
		return reply_json_or_503(conn, one);
	}
	return http_reply_error(conn, 404, "not_found", "no such path");
}

int inventory_http_start(struct inventory *inv)
{
	inv->http = http_start(inv->svc.bind, inv->port, inv->svc.internal_threads,
			       HTTP_KEEP_ALIVE_INTERNAL_MS, handle, inv);
	return inv->http ? 0 : -1;
}
