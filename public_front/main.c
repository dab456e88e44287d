/* shop-front: the public HTTP API; turns orders and cancels into events on the bus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "front.h"
#include "log.h"

static const char *const summary =
	"The webshop's public HTTP front: takes orders and publishes them to the bus.";

static void parse_settings(struct front *f, int argc, char **argv)
{
	const struct setting table[] = {
		SERVICE_SETTINGS_ROWS(f->svc),
		SERVICE_PUBLIC_BIND_ROW(f->svc),
		{ "--front-port", "SHOP_FRONT_PORT", SETTING_INT, &f->port, 1, 65535, "8080", NULL,
		  "HTTP port of the public API" },
		{ "--inventory-port", "SHOP_INVENTORY_PORT", SETTING_INT, &f->inventory_port, 1,
		  65535, "8081", NULL, "port of the inventory, used when --inventory-url is not given" },
		{ "--order-port", "SHOP_ORDER_PORT", SETTING_INT, &f->order_port, 1, 65535, "8082",
		  NULL, "port of the order daemon, used when --order-url is not given" },
		{ "--inventory-url", "SHOP_INVENTORY_URL", SETTING_STRING, &f->inventory_url, 0, 0,
		  NULL, NULL, "where the inventory answers (default http://127.0.0.1:<inventory-port>)" },
		{ "--order-url", "SHOP_ORDER_URL", SETTING_STRING, &f->order_url, 0, 0, NULL, NULL,
		  "where the order daemon answers (default http://127.0.0.1:<order-port>)" },
		{ "--publish-timeout-ms", "SHOP_PUBLISH_TIMEOUT_MS", SETTING_INT,
		  &f->publish_timeout_ms, 1, 60000, "2000", NULL,
		  "how long to wait for the broker's PUBACK before answering 503" },
		{ "--heartbeat-timeout-ms", "SHOP_HEARTBEAT_TIMEOUT_MS", SETTING_INT,
		  &f->heartbeat_timeout_ms, 1500, 600000, "3000", NULL,
		  "a daemon whose newest heartbeat is older is down for /readyz" },
		{ "--http-threads", "SHOP_FRONT_THREADS", SETTING_INT, &f->http_threads, 4, 4096,
		  "128", NULL,
		  "HTTP worker threads: a keep-alive client holds one while connected" },
		{ "--admit-target-ms", "SHOP_ADMIT_TARGET_MS", SETTING_INT, &f->admit_target_ms, 1,
		  60000, "100", NULL,
		  "the wait from 202 to final that the limit on orders in flight aims at" },
		{ "--admit-min", "SHOP_ADMIT_MIN", SETTING_INT, &f->admit_min, 1,
		  FRONT_ADMIT_MAX_LIMIT,
		  "8", NULL, "the least orders in flight the limit ever allows" },
		{ "--admit-max", "SHOP_ADMIT_MAX", SETTING_INT, &f->admit_max, 0,
		  FRONT_ADMIT_MAX_LIMIT,
		  "4096", NULL,
		  "the most orders in flight the limit ever allows (0: no limit, never shed)" },
		{ "--sse-max", "SHOP_SSE_MAX", SETTING_INT, &f->sse_max, 1, 4096, "64", NULL,
		  "order status streams served at once (each holds an HTTP thread); 503 beyond" },
		{ "--admin-token", "SHOP_ADMIN_TOKEN", SETTING_STRING, &f->admin_token, 0, 0, NULL,
		  NULL, "bearer token of /api/v1/admin/ (unset: the admin API answers 403)" },
		{ "--www-dir", "SHOP_WWW_DIR", SETTING_STRING, &f->www_dir, 0, 0,
		  SHOP_WWW_DIR_DEFAULT, NULL, "folder of the web pages' files (set at build time)" },
	};
	enum settings_result r = settings_parse(table, sizeof table / sizeof *table, argc, argv,
						"shop-front", summary);
	if (r == SETTINGS_EXIT_SUCCESS)
		exit(0);
	if (r == SETTINGS_ERROR || service_settings_finish(&f->svc, "shop-front") != 0)
		exit(2);
	/* a stream holds a civetweb thread for up to a minute: the rest must
	 * still serve the catalog, orders and health checks */
	if (f->sse_max > f->http_threads - FRONT_THREADS_FOR_REQUESTS) {
		fprintf(stderr, "shop-front: --sse-max %d leaves fewer than %d of the %d HTTP threads"
			" (--http-threads) for other requests\n", f->sse_max,
			FRONT_THREADS_FOR_REQUESTS, f->http_threads);
		exit(2);
	}
	service_default_url(&f->inventory_url, f->inventory_url_buf, sizeof f->inventory_url_buf,
			    "http", f->inventory_port);
	service_default_url(&f->order_url, f->order_url_buf, sizeof f->order_url_buf, "http",
			    f->order_port);
	if (http_target_parse(f->inventory_url, &f->inventory) != 0) {
		fprintf(stderr, "shop-front: invalid inventory URL '%s' (expected http://host:port)\n",
			f->inventory_url);
		exit(2);
	}
	if (http_target_parse(f->order_url, &f->order) != 0) {
		fprintf(stderr, "shop-front: invalid order URL '%s' (expected http://host:port)\n",
			f->order_url);
		exit(2);
	}
	/* docs/protocol.md §Settings: every call to the daemons carries the token
	 * (service_settings_finish checked it fits a header line) */
	if (http_target_set_bearer(&f->inventory, f->svc.internal_token) != 0 ||
	    http_target_set_bearer(&f->order, f->svc.internal_token) != 0) {
		fprintf(stderr, "shop-front: the internal token does not fit a header line\n");
		exit(2);
	}
}

/* An order/status message, decoded once for the streams and for admission
 * control; nothing of a shop's state hangs on it, so a bad one is logged,
 * counted and dropped. */
static void on_order_status(struct front *f, const char *payload, size_t len)
{
	struct event *ev = malloc(sizeof *ev); /* a struct event is large for Paho's thread */
	char err[160];

	if (ev == NULL)
		return;
	if (event_decode(EVENT_ORDER_STATUS, payload, len, ev, err, sizeof err) != 0) {
		log_warn("front: an order/status that is not one (%s): %.200s", err, payload);
		atomic_fetch_add(&f->streams.bad_messages, 1);
	} else {
		front_streams_on_status(&f->streams, ev);
		front_load_on_status(f, ev);
	}
	free(ev);
}

/* The front hears the services' status topics and order/status. */
static void on_message(void *ctx, const char *topic, const char *payload, size_t len,
		       int retained)
{
	struct front *f = ctx;

	if (strcmp(topic, f->topic_status) == 0) {
		on_order_status(f, payload, len);
	} else {
		front_peers_on_message(ctx, topic, payload, len, retained);
	}
}

/* A clean session (persistent 0): what a front's streams did not hear while
 * it was away is of no use later, and a client that reconnects reads the
 * current status first (docs/protocol.md §Topics). */
static void connect_bus(struct front *f)
{
	char status_filter[256], heartbeat_filter[256];
	const char *subs[] = { status_filter, heartbeat_filter, f->topic_status, NULL };
	struct mqtt_config cfg = {
		.url = f->svc.broker_url, .service = "front", .instance = f->svc.instance,
		.prefix = f->svc.prefix, .persistent = 0, .announce = 1, .reconnect = 1,
		.subscriptions = subs,
		.username = f->svc.mqtt_username, .password = f->svc.mqtt_password,
		.on_message = on_message, .ctx = f,
	};

	struct mqtt *m;

	snprintf(status_filter, sizeof status_filter, "%sstatus/+/+", f->svc.prefix);
	snprintf(heartbeat_filter, sizeof heartbeat_filter, "%sstatus/+/+/heartbeat",
		 f->svc.prefix);
	if (mqtt_start(&cfg, 5000, &m) != 0)
		fatal("cannot connect to the broker at %s: %s", f->svc.broker_url,
		      mqtt_start_failure());
	atomic_store(&f->mqtt, m);
}

int main(int argc, char **argv)
{
	static struct front f = {
		.requests = METRICS_COUNTER_INIT("shop_front_requests_total",
						 "HTTP requests by route and status"),
		.publish_latency = METRICS_HISTOGRAM_INIT("shop_front_publish_seconds",
							  "time from publish to the broker's PUBACK"),
		.peers = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.catalog = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.admission = { .lock = PTHREAD_MUTEX_INITIALIZER, .limit = FRONT_ADMIT_INITIAL },
	};
	char why[128];

	f.peers.started_ms = service_monotonic_ms();
	parse_settings(&f, argc, argv);
	/* fit: service_settings_finish holds the prefix to 100 bytes */
	event_topic(f.topic_send, sizeof f.topic_send, f.svc.prefix, EVENT_ORDER_SEND);
	event_topic(f.topic_cancel, sizeof f.topic_cancel, f.svc.prefix, EVENT_ORDER_CANCEL);
	event_topic(f.topic_restock, sizeof f.topic_restock, f.svc.prefix, EVENT_RESTOCK);
	event_topic(f.topic_product, sizeof f.topic_product, f.svc.prefix, EVENT_PRODUCT);
	event_topic(f.topic_status, sizeof f.topic_status, f.svc.prefix, EVENT_ORDER_STATUS);
	if (front_streams_init(&f.streams, f.sse_max) != 0)
		fatal("cannot set up the order status streams");
	if (front_pages_open(&f, why, sizeof why) != 0)
		fatal("cannot serve the web pages from '%s' (--www-dir, SHOP_WWW_DIR): %s",
		      f.www_dir, why);
	service_install_signals();
	/* libcurl's global set-up is not for threads to race on */
	if (http_client_init() != 0)
		fatal("cannot set up libcurl for the calls to the daemons");
	/* HTTP first: a second front started by mistake on a taken port must
	 * fail before its broker connection, with the same client id, throws
	 * the running front off the broker. Until connected, orders get 503. */
	if (front_http_start(&f) != 0)
		fatal("cannot serve HTTP on %s:%d: %s", f.svc.bind, f.port,
		      http_start_failure());
	connect_bus(&f);
	if (front_load_watch_start(&f) != 0)
		fatal("cannot start watching the daemons' load");
	log_info("front ready: http://%s:%d/, broker %s, inventory %s, order %s", f.svc.bind, f.port,
		 f.svc.broker_url, f.inventory_url, f.order_url);

	service_wait_for_stop();

	log_info("front stopping");
	front_streams_stop(&f.streams); /* else http_stop waits for them to end */
	http_stop(f.http);
	front_load_watch_stop(&f);
	http_client_cleanup();
	mqtt_stop(f.mqtt);
	front_catalog_free(&f.catalog);
	front_pages_close(&f);
	front_streams_destroy(&f.streams);
	return 0;
}
