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

static int reply_alive(struct mg_connection *conn, struct front *f)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	(void)f;
	return http_reply(conn, 200, "application/json", ok, sizeof ok - 1, NULL);
}

static int reply_metrics(struct mg_connection *conn, struct front *f)
{
	return http_reply_metrics(conn, write_metrics, f);
}

/* The paths that only read, each with its reply; GET and HEAD only. */
static const struct read_route {
	const char *path;
	int (*reply)(struct mg_connection *conn, struct front *f);
} read_routes[] = {
	{ "/api/v1/catalog", front_catalog_reply },
	{ "/healthz", reply_alive },
	{ "/readyz", reply_ready },
	{ "/metrics", reply_metrics },
};

/* The order id between ORDERS_PREFIX and "/cancel": whatever stands there,
 * so that a malformed one ("../x") is a 400, not another route. 0 when the
 * path ends in /cancel, with one[] holding the id ("" when too long). */
static int cancel_path_id(const char *id, char *one, size_t size)
{
	size_t idlen = strlen(id), clen = strlen("/cancel");

	if (idlen <= clen || strcmp(id + idlen - clen, "/cancel") != 0)
		return -1;
	one[0] = '\0';
	if (idlen - clen < size) {
		memcpy(one, id, idlen - clen);
		one[idlen - clen] = '\0';
	}
	return 0;
}

/* Routes one request; *route gets the label for the requests metric. An
 * unknown path is a 404 whatever the method; a known one asked with the
 * wrong method a 405 naming the right ones. */
static int route_request(struct mg_connection *conn, struct front *f, const char **route)
{
	const char *path = http_path(conn), *method = http_method(conn);
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int post = strcmp(method, "POST") == 0;
	size_t plen = strlen(ORDERS_PREFIX);
	char one[64];

	if (strcmp(path, "/api/v1/orders") == 0) {
		*route = "/api/v1/orders";
		return post ? front_post_order(conn, f) : http_reply_not_allowed(conn, "POST");
	}
	if (strncmp(path, ORDERS_PREFIX, plen) == 0) {
		const char *id = path + plen;
		if (cancel_path_id(id, one, sizeof one) == 0) {
			*route = "/api/v1/orders/{id}/cancel";
			return post ? front_cancel_order(conn, f, one)
				    : http_reply_not_allowed(conn, "POST");
		}
		*route = "/api/v1/orders/{id}";
		/* A malformed id is a 400 whatever the method: a decoded %00 may
		 * have cut "/cancel" off the path. */
		if (get || !event_order_id_valid(id))
			return front_get_order(conn, f, id);
		return http_reply_not_allowed(conn, "GET, HEAD");
	}
	if (front_admin_is_path(path))
		return front_admin_reply(conn, f, route);
	if (front_pages_is_path(path))
		return front_pages_reply(conn, f, route);
	for (size_t i = 0; i < sizeof read_routes / sizeof read_routes[0]; i++) {
		if (strcmp(path, read_routes[i].path) == 0) {
			*route = read_routes[i].path;
			return get ? read_routes[i].reply(conn, f)
				   : http_reply_not_allowed(conn, "GET, HEAD");
		}
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
