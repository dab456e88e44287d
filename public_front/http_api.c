/* The front's HTTP routing, the catalog, health, readiness and metrics. */
#include <cjson/cJSON.h>
#include <string.h>

#include "event.h"
#include "front.h"
#include "log.h"

#define ORDERS_PREFIX "/api/v1/orders/"

int front_relay(struct mg_connection *conn, const struct http_target *target, const char *path,
		const char *who, void (*seen)(struct front *f, const struct http_response *r),
		struct front *f)
{
	struct http_response r;
	int status;

	if (http_client_get(target, path, FRONT_DAEMON_TIMEOUT_MS, &r) != 0)
		return http_reply_error(conn, 503, "service_unavailable", "the %s cannot be reached",
					who);
	if (r.status == 200) {
		if (seen != NULL)
			seen(f, &r);
		status = http_reply(conn, 200, "application/json", r.body, r.len, NULL);
	} else if (r.status == 404) {
		status = http_reply_error(conn, 404, "not_found", "not found");
	} else {
		status = http_reply_error(conn, 503, "service_unavailable", "the %s answered %d", who,
					  r.status);
	}
	http_response_free(&r);
	return status;
}

static int daemon_healthy(const struct http_target *target)
{
	struct http_response r;
	int ok = http_client_get(target, "/healthz", FRONT_DAEMON_TIMEOUT_MS, &r) == 0 &&
		 r.status == 200;

	http_response_free(&r);
	return ok;
}

/* Ready when the broker connection is up and both daemons answer and have
 * said "online" on their status topics (so their subscriptions exist). */
static int reply_ready(struct mg_connection *conn, struct front *f)
{
	const char *down[4];
	char list[128] = "";
	int n = 0;

	if (!mqtt_is_ready(f->mqtt))
		down[n++] = "broker";
	if (!daemon_healthy(&f->inventory) || !front_peers_online(&f->peers, "inventory"))
		down[n++] = "inventory";
	if (!daemon_healthy(&f->order) || !front_peers_online(&f->peers, "order"))
		down[n++] = "order";
	if (n == 0) {
		static const char ready[] = "{\"status\":\"ready\"}";
		return http_reply(conn, 200, "application/json", ready, sizeof ready - 1, NULL);
	}
	for (int i = 0; i < n; i++) {
		strcat(list, i ? ", " : "");
		strcat(list, down[i]);
	}
	return http_reply_error(conn, 503, "not_ready", "down: %s", list);
}

static void write_metrics(FILE *out, void *ctx)
{
	struct front *f = ctx;

	metrics_write_counter(out, &f->requests);
	metrics_write_histogram(out, &f->publish_latency);
	metrics_write_value(out, "shop_front_broker_connected", "gauge",
			    "1 while the front is connected to the broker", mqtt_is_ready(f->mqtt));
	metrics_write_value(out, "shop_front_daemon_lag_ms", "gauge",
			    "how far behind the slower daemon reports it runs",
			    (double)atomic_load(&f->daemon_lag_ms));
	metrics_write_value(out, "shop_front_orders_shed_total", "counter",
			    "orders answered 503 overloaded", (double)atomic_load(&f->shed));
}

static int reply_index(struct mg_connection *conn)
{
	static const char index[] =
		"{\"service\":\"webshop\",\"endpoints\":["
		"\"GET /api/v1/catalog\",\"POST /api/v1/orders\",\"GET /api/v1/orders/{id}\","
		"\"POST /api/v1/orders/{id}/cancel\",\"GET /healthz\",\"GET /readyz\",\"GET /metrics\"]}";
	return http_reply(conn, 200, "application/json", index, sizeof index - 1, NULL);
}

static int method_not_allowed(struct mg_connection *conn, const char *allowed)
{
	return http_reply_error(conn, 405, "method_not_allowed", "use %s here", allowed);
}

/* Routes one request; *route gets the label for the requests metric. */
static int route_request(struct mg_connection *conn, struct front *f, const char **route)
{
	const char *path = http_path(conn);
	int get = strcmp(http_method(conn), "GET") == 0;
	int post = strcmp(http_method(conn), "POST") == 0;
	size_t plen = strlen(ORDERS_PREFIX);

	if (strcmp(path, "/api/v1/orders") == 0) {
		*route = "/api/v1/orders";
		return post ? front_post_order(conn, f) : method_not_allowed(conn, "POST");
	}
	if (strncmp(path, ORDERS_PREFIX, plen) == 0) {
		const char *id = path + plen;
		size_t idlen = strlen(id), clen = strlen("/cancel");
		char one[64];
		/* Whatever stands between the prefix and "/cancel" is the id, so
		 * that a malformed one ("../x") is a 400, not another route. */
		if (idlen > clen && strcmp(id + idlen - clen, "/cancel") == 0) {
			*route = "/api/v1/orders/{id}/cancel";
			if (idlen - clen >= sizeof one)
				return http_reply_error(conn, 400, "invalid_order_id",
							"an order id is a lower-case UUID");
			memcpy(one, id, idlen - clen);
			one[idlen - clen] = '\0';
			return post ? front_cancel_order(conn, f, one) : method_not_allowed(conn, "POST");
		}
		*route = "/api/v1/orders/{id}";
		/* A malformed id is a 400 whatever the method: a decoded %00 may
		 * have cut "/cancel" off the path. */
		if (get || !event_order_id_valid(id))
			return front_get_order(conn, f, id);
		return method_not_allowed(conn, "GET");
	}
	if (!get)
		return method_not_allowed(conn, "GET");
	if (strcmp(path, "/api/v1/catalog") == 0) {
		*route = "/api/v1/catalog";
		return front_catalog_reply(conn, f);
	}
	if (strcmp(path, "/healthz") == 0) {
		static const char ok[] = "{\"status\":\"ok\"}";
		*route = "/healthz";
		return http_reply(conn, 200, "application/json", ok, sizeof ok - 1, NULL);
	}
	if (strcmp(path, "/readyz") == 0) {
		*route = "/readyz";
		return reply_ready(conn, f);
	}
	if (strcmp(path, "/metrics") == 0) {
		*route = "/metrics";
		return http_reply_metrics(conn, write_metrics, f);
	}
	if (strcmp(path, "/") == 0) {
		*route = "/";
		return reply_index(conn);
	}
	return http_reply_error(conn, 404, "not_found", "no such path");
}

static int handle(struct mg_connection *conn, void *ctx)
{
	struct front *f = ctx;
	const char *route = "other";
	char labels[96];
	int status = route_request(conn, f, &route);

	snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"", route, status);
	metrics_count(&f->requests, labels);
	return status;
}

int front_http_start(struct front *f)
{
	f->http = http_start(f->svc.bind, f->port, f->http_threads, handle, f);
	return f->http ? 0 : -1;
}
