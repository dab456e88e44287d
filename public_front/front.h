/* The public front's parts, shared by its main and its HTTP handlers. */
#ifndef FRONT_H
#define FRONT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "http.h"
#include "http_client.h"
#include "metrics.h"
#include "mqtt.h"
#include "service.h"

#define FRONT_MAX_BODY (64 * 1024)
#define FRONT_MAX_PEERS 32
#define FRONT_DAEMON_TIMEOUT_MS 2000
#define FRONT_CATALOG_MAX_AGE_MS 200

/* What the retained status topics say of each service instance. */
struct front_peers {
	pthread_mutex_t lock;
	int n;
	char name[FRONT_MAX_PEERS][128]; /* "inventory/main" */
	int online[FRONT_MAX_PEERS];
};

/* The last catalog the inventory gave, for FRONT_CATALOG_MAX_AGE_MS. */
struct front_catalog {
	pthread_mutex_t lock;
	char *body;
	size_t len;
	int64_t fetched_ms;
};

struct front {
	struct service_settings svc;
	int port, inventory_port, order_port;
	int publish_timeout_ms;
	int http_threads;
	const char *inventory_url, *order_url;
	char inventory_url_buf[64], order_url_buf[64];
	struct http_target inventory, order;
	char topic_send[256], topic_cancel[256];
	struct mqtt *_Atomic mqtt; /* NULL until the first connect: HTTP starts before it */
	struct mg_context *http;
	struct front_peers peers;
	struct metrics_counter requests;
	struct metrics_histogram publish_latency;
	struct front_catalog catalog;
	/* load shedding: see load_watch.c */
	int shed_lag_ms;
	const char *admin_token; /* NULL: the admin API answers 403 */
	const char *www_dir;     /* the pages' files (pages.c) */
	int www_fd;              /* www_dir, opened at start; -1 before */
	atomic_llong daemon_lag_ms;
	atomic_int shedding, watch_stop;
	atomic_ulong shed;
	pthread_t watch_thread;
	int watch_started;
};

/* The mqtt_message_fn of the front: it only listens to status topics. */
void front_peers_on_message(void *ctx, const char *topic, const char *payload, size_t len);
/* True when at least one instance of the service says "online". */
int front_peers_online(struct front_peers *peers, const char *service);

/* POST /api/v1/orders, GET /api/v1/orders/{id}, POST /api/v1/orders/{id}/cancel */
int front_post_order(struct mg_connection *conn, struct front *f);
int front_get_order(struct mg_connection *conn, struct front *f, const char *id);
int front_cancel_order(struct mg_connection *conn, struct front *f, const char *id);

/* Relays a daemon's GET answer: 200 as is (shown to seen() first when it is
 * not NULL), 404 as not_found, else 503. */
int front_relay(struct mg_connection *conn, const struct http_target *target, const char *path,
		const char *who, void (*seen)(struct front *f, const struct http_response *r),
		struct front *f);

/* GET /api/v1/catalog, from the front's short-lived copy when it has one. */
int front_catalog_reply(struct mg_connection *conn, struct front *f);
void front_catalog_free(struct front_catalog *c);
/* Drops the copy: a client that was shown a final order status must not then
 * read a catalog from before its stock moved. */
void front_catalog_forget(struct front_catalog *c);

/* Polls the daemons' lag; front_load_shed is true (and counts a shed order)
 * while the slower one is more than shed_lag_ms behind. */
int front_load_watch_start(struct front *f);
void front_load_watch_stop(struct front *f);
int front_load_shed(struct front *f);

/* /api/v1/admin/{orders,stock,reservations}: GET with the bearer token. */
int front_admin_is_path(const char *path);
int front_admin_reply(struct mg_connection *conn, struct front *f, const char **route);

/* The web pages (pages.c): GET/HEAD / and /static/<file> from www_dir.
 * front_pages_open opens www_dir at start and checks it has index.html;
 * 0, or -1 with why[] saying what is wrong. */
int front_pages_open(struct front *f, char *why, size_t size);
void front_pages_close(struct front *f);
int front_pages_is_path(const char *path);
int front_pages_reply(struct mg_connection *conn, struct front *f, const char **route);

int front_http_start(struct front *f);

#endif
