/* The public front's parts, shared by its main and its HTTP handlers. */
#ifndef FRONT_H
#define FRONT_H

#include <pthread.h>

#include "http.h"
#include "http_client.h"
#include "metrics.h"
#include "mqtt.h"
#include "service.h"

#define FRONT_MAX_BODY (64 * 1024)
#define FRONT_MAX_PEERS 32
#define FRONT_DAEMON_TIMEOUT_MS 2000

/* What the retained status topics say of each service instance. */
struct front_peers {
	pthread_mutex_t lock;
	int n;
	char name[FRONT_MAX_PEERS][128]; /* "inventory/main" */
	int online[FRONT_MAX_PEERS];
};

struct front {
	struct service_settings svc;
	int port, inventory_port, order_port;
	int publish_timeout_ms;
	const char *inventory_url, *order_url;
	char inventory_url_buf[64], order_url_buf[64];
	struct http_target inventory, order;
	char topic_send[256], topic_cancel[256];
	struct mqtt *mqtt;
	struct mg_context *http;
	struct front_peers peers;
	struct metrics_counter requests;
	struct metrics_histogram publish_latency;
};

/* The mqtt_message_fn of the front: it only listens to status topics. */
void front_peers_on_message(void *ctx, const char *topic, const char *payload, size_t len);
/* True when at least one instance of the service says "online". */
int front_peers_online(struct front_peers *peers, const char *service);

/* POST /api/v1/orders, GET /api/v1/orders/{id}, POST /api/v1/orders/{id}/cancel */
int front_post_order(struct mg_connection *conn, struct front *f);
int front_get_order(struct mg_connection *conn, struct front *f, const char *id);
int front_cancel_order(struct mg_connection *conn, struct front *f, const char *id);

/* Relays a daemon's GET answer: 200 as is, 404 as not_found, else 503. */
int front_relay(struct mg_connection *conn, const struct http_target *target, const char *path,
		const char *who);

int front_http_start(struct front *f);

#endif
