/* The front's HTTP routing: one table of routes, how a request is looked up
 * in it, and the replies of its own (index, health, readiness, metrics). */
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "front.h"

static int daemon_healthy(const struct http_target *target)
{
	struct http_response r;
	int ok = http_client_get(target, "/healthz", FRONT_DAEMON_TIMEOUT_MS, &r) == 0 &&
		 r.status == 200;

	http_response_free(&r);
	return ok;
}

/* Why a daemon is down for /readyz, appended to list; 0 when it is up. The
 * heartbeat first: it is end to end through the front's broker (and a bridge),
 * which /healthz over HTTP is not (docs/protocol.md §Topologies), and it
 * answers at once while a stopped daemon's HTTP would take the timeout. */
static int daemon_down(struct front *f, const char *name, const struct http_target *target,
		       char *list, size_t len)
{
	int64_t age;
	int seen = front_peers_heartbeat_age(&f->peers, name, &age);
	size_t used = strlen(list);
	const char *sep = used ? ", " : "";

	if (!seen)
		snprintf(list + used, len - used, "%s%s (no heartbeat yet)", sep, name);
	else if (age > f->heartbeat_timeout_ms)
		snprintf(list + used, len - used, "%s%s (last heartbeat %.1f s ago)", sep, name,
			 (double)age / 1000.0);
	else if (!daemon_healthy(target))
		snprintf(list + used, len - used, "%s%s (/healthz)", sep, name);
	else
		return 0;
	return 1;
}

/* Ready when the broker connection is up and both daemons have sent a
 * heartbeat through it lately (so their subscriptions exist and the path
 * works) and answer /healthz. */
static int reply_ready(struct mg_connection *conn, struct front *f)
{
	char list[256] = "";
	int down = 0;

	if (!mqtt_is_ready(f->mqtt)) {
		strcpy(list, "broker");
		down = 1;
	}
	down += daemon_down(f, "inventory", &f->inventory, list, sizeof list);
	down += daemon_down(f, "order", &f->order, list, sizeof list);
	if (down == 0) {
		static const char ready[] = "{\"status\":\"ready\"}";
		return http_reply(conn, 200, "application/json", ready, sizeof ready - 1, NULL);
	}
	return http_reply_error(conn, 503, "not_ready", "down: %s", list);
}

static void write_heartbeat_age(FILE *out, struct front *f, const char *daemon)
{
	char labels[64];
	int64_t age;

	(void)front_peers_heartbeat_age(&f->peers, daemon, &age);
	snprintf(labels, sizeof labels, "daemon=\"%s\"", daemon);
	metrics_write_sample(out, "shop_front_daemon_heartbeat_age_seconds", labels,
			     (double)age / 1000.0);
}

static void write_metrics(FILE *out, void *ctx)
{
	struct front *f = ctx;

	metrics_write_counter(out, &f->requests);
	metrics_write_histogram(out, &f->publish_latency);
	metrics_write_value(out, "shop_front_broker_connected", "gauge",
			    "1 while the front is connected to the broker", mqtt_is_ready(f->mqtt));
	metrics_write_value(out, "shop_front_daemon_lag_seconds", "gauge",
			    "how far behind the slower daemon reports it runs",
			    (double)atomic_load(&f->daemon_lag_ms) / 1000.0);
	/* what /readyz reads (docs/protocol.md §Topologies) */
	metrics_write_family(out, "shop_front_daemon_heartbeat_age_seconds", "gauge",
			     "seconds since the daemon's newest heartbeat came through the "
			     "front's broker (since the front's start when none came)");
	write_heartbeat_age(out, f, "inventory");
	write_heartbeat_age(out, f, "order");
	metrics_write_family(out, "shop_front_daemon_online", "gauge",
			     "1 while a heartbeat of the daemon came within the front's "
			     "heartbeat timeout");
	metrics_write_sample(out, "shop_front_daemon_online", "daemon=\"inventory\"",
			     front_peers_alive(&f->peers, "inventory", f->heartbeat_timeout_ms));
	metrics_write_sample(out, "shop_front_daemon_online", "daemon=\"order\"",
			     front_peers_alive(&f->peers, "order", f->heartbeat_timeout_ms));
	metrics_write_value(out, "shop_front_orders_shed_total", "counter",
			    "orders answered 503 overloaded", (double)atomic_load(&f->shed));
	metrics_write_value(out, "shop_front_orders_in_flight", "gauge",
			    "orders this front accepted that it counts as not final yet",
			    (double)front_load_in_flight(f));
	metrics_write_value(out, "shop_front_orders_in_flight_limit", "gauge",
			    "the admission limit on orders in flight (0: none)",
			    f->admit_max > 0 ? front_load_limit(f) : 0.0);
	metrics_write_value(out, "shop_front_sse_streams", "gauge",
			    "order status streams open now (at most SHOP_SSE_MAX)",
			    front_streams_open(&f->streams));
	metrics_write_value(out, "shop_front_sse_refused_total", "counter",
			    "order status streams answered 503 over SHOP_SSE_MAX",
			    (double)atomic_load(&f->streams.refused));
	metrics_write_value(out, "shop_front_order_status_invalid_total", "counter",
			    "order/status messages that did not decode (dropped)",
			    (double)atomic_load(&f->streams.bad_messages));
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

/* Every route of the public API; front_route_find reads it top down. */
static const struct front_route routes[] = {
	{ "POST", "/api/v1/orders", "/api/v1/orders", .reply = front_post_order },
	/* before the next row, which would take "x/cancel" as an id */
	{ "POST", "/api/v1/orders/{id}/cancel", "/api/v1/orders/{id}/cancel",
	  .reply_id = front_cancel_order },
	{ "GET", "/api/v1/orders/{id}/events", "/api/v1/orders/{id}/events", .id_first = 1,
	  .reply_id = front_order_events },
	/* A malformed id is a 400 whatever the method: a decoded %00 may have
	 * cut "/cancel" off the path. */
	{ "GET", "/api/v1/orders/{id}", "/api/v1/orders/{id}", .id_first = 1,
	  .reply_id = front_get_order },
	{ "GET", "/api/v1/admin/orders", "/api/v1/admin", .admin = 1, .reply = front_admin_orders },
	{ "GET", "/api/v1/admin/stock", "/api/v1/admin", .admin = 1, .reply = front_admin_stock },
	{ "GET", "/api/v1/admin/reservations", "/api/v1/admin", .admin = 1,
	  .reply = front_admin_reservations },
	{ "GET", "/api/v1/admin/dead-letters", "/api/v1/admin", .admin = 1,
	  .reply = front_admin_dead_letters },
	{ "GET", "/api/v1/admin/restocks", "/api/v1/admin", .admin = 1,
	  .reply = front_admin_restocks },
	{ "POST", "/api/v1/admin/products", "/api/v1/admin", .admin = 1,
	  .reply = front_admin_post_product },
	{ "POST", "/api/v1/admin/products/{id}/restock", "/api/v1/admin", .admin = 1, .id_sku = 1,
	  .reply_id = front_admin_restock },
	{ "POST", "/api/v1/admin/orders/{id}/redrive", "/api/v1/admin", .admin = 1,
	  .reply_id = front_admin_redrive },
	/* the token first, so that the admin API's paths are not told to strangers */
	{ NULL, "/api/v1/admin/*", "/api/v1/admin", .admin = 1, .reply = front_admin_not_found },
	{ "GET", "/api/v1/catalog", "/api/v1/catalog", .reply = front_catalog_reply },
	{ "GET", "/healthz", "/healthz", .reply = reply_alive },
	{ "GET", "/readyz", "/readyz", .reply = reply_ready },
	{ "GET", "/metrics", "/metrics", .reply = reply_metrics },
	/* the shop page, the admin page and their files (pages.c) */
	{ "GET", "/", "/", .reply = front_pages_reply },
	{ "GET", "/admin", "/admin", .reply = front_pages_reply },
	{ "GET", "/static/*", "/static", .reply = front_pages_reply },
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

/* Matches path against a pattern of literal text with at most one "{id}",
 * or a trailing "*" that takes whatever is left. {id} takes what stands
 * between its neighbours, '/' included, so that a malformed id is this
 * route's 400 rather than another route's 404: at least one character when
 * text follows it, whatever is left (even nothing) at the end. Its text
 * goes to *id, *id_len (NULL when the pattern has none). */
static int pattern_match(const char *pattern, const char *path, const char **id,
			 size_t *id_len)
{
	const char *param = strstr(pattern, "{id}");
	size_t n = strlen(pattern), len = strlen(path), before, after, least;

	*id = NULL;
	*id_len = 0;
	if (param == NULL && n > 0 && pattern[n - 1] == '*')
		return strncmp(path, pattern, n - 1) == 0;
	if (param == NULL)
		return strcmp(path, pattern) == 0;
	before = (size_t)(param - pattern);
	after = n - before - strlen("{id}");
	least = after > 0 ? 1 : 0;
	if (strncmp(path, pattern, before) != 0 || len < before + least + after)
		return 0;
	if (strcmp(path + len - after, param + strlen("{id}")) != 0)
		return 0;
	*id = path + before;
	*id_len = len - before - after;
	return 1;
}

/* "GET" rows answer HEAD too: civetweb then sends the head without the body. */
static int method_accepted(const char *row, const char *method)
{
	if (row == NULL)
		return 1;
	if (strcmp(row, "GET") == 0)
		return http_method_reads(method);
	return strcmp(row, method) == 0;
}

static void allow_add(char *allow, size_t cap, const char *row)
{
	size_t used = strlen(allow);

	snprintf(allow + used, cap - used, "%s%s", used ? ", " : "",
		 strcmp(row, "GET") == 0 ? "GET, HEAD" : row);
}

/* Copies a {id} that is a valid order id (a valid SKU when sku) into out;
 * 0, or -1 when it is not. */
static int id_copy(char out[EVENT_SKU_MAX + 1], const char *id, size_t len, int sku)
{
	if (sku ? len > EVENT_SKU_MAX : len != EVENT_ORDER_ID_LEN)
		return -1;
	memcpy(out, id, len);
	out[len] = '\0';
	if (sku ? event_sku_valid(out) : event_order_id_valid(out))
		return 0;
	out[0] = '\0';
	return -1;
}

enum front_route_result front_route_find(const char *method, const char *path,
					 struct front_route_match *m)
{
	memset(m, 0, sizeof *m);
	if (method == NULL || path == NULL)
		return FRONT_ROUTE_NO_PATH;
	for (size_t i = 0; i < N_ROUTES; i++) {
		const char *id;
		size_t id_len;
		int id_ok;

		if (!pattern_match(routes[i].pattern, path, &id, &id_len))
			continue;
		/* The first row that matches the path decides; rows with the
		 * same pattern and other methods share it. */
		m->route = &routes[i];
		id_ok = id == NULL || id_copy(m->id, id, id_len, routes[i].id_sku) == 0;
		if (routes[i].id_first && !id_ok)
			return FRONT_ROUTE_BAD_ID;
		for (size_t j = i; j < N_ROUTES; j++) {
			if (strcmp(routes[j].pattern, routes[i].pattern) != 0)
				continue;
			if (method_accepted(routes[j].method, method)) {
				m->route = &routes[j];
				return id_ok ? FRONT_ROUTE_FOUND : FRONT_ROUTE_BAD_ID;
			}
			allow_add(m->allow, sizeof m->allow, routes[j].method);
		}
		m->id[0] = '\0';
		return FRONT_ROUTE_NO_METHOD;
	}
	return FRONT_ROUTE_NO_PATH;
}

/* Answers one request; *label gets its route for the requests metric. An
 * unknown path is a 404 whatever the method; a known one asked with the
 * wrong method a 405 naming the right ones. */
static int route_request(struct mg_connection *conn, struct front *f, const char **label)
{
	struct front_route_match m;
	enum front_route_result found = front_route_find(http_method(conn), http_path(conn), &m);
	int status;

	if (m.route == NULL)
		return http_reply_error(conn, 404, "not_found", "no such path");
	*label = m.route->label;
	if (m.route->admin && (status = front_admin_authorize(conn, f)) != 0)
		return status;
	switch (found) {
	case FRONT_ROUTE_FOUND:
		return m.route->reply_id ? m.route->reply_id(conn, f, m.id) : m.route->reply(conn, f);
	case FRONT_ROUTE_NO_METHOD:
		return http_reply_not_allowed(conn, m.allow);
	case FRONT_ROUTE_BAD_ID:
		if (m.route->id_sku)
			return http_reply_error(conn, 400, "invalid_sku",
						"a SKU is 1 to %d characters of A-Z a-z 0-9 . _ -",
						EVENT_SKU_MAX);
		return http_reply_error(conn, 400, "invalid_order_id",
					"an order id is a lower-case UUID");
	case FRONT_ROUTE_NO_PATH:
		break;
	}
	return http_reply_error(conn, 404, "not_found", "no such path");
}

static int handle(struct mg_connection *conn, void *ctx)
{
	struct front *f = ctx;
	const char *label = "other";
	char labels[96];
	int status = route_request(conn, f, &label);

	snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"", label, status);
	metrics_count(&f->requests, labels);
	return status;
}

int front_http_start(struct front *f)
{
	f->http = http_start(f->svc.bind, f->port, f->http_threads,
			   HTTP_KEEP_ALIVE_PUBLIC_MS, handle, f);
	return f->http ? 0 : -1;
}
