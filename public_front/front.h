/* The public front's parts, shared by its main and its HTTP handlers. */
#ifndef FRONT_H
#define FRONT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "body_parse.h"
#include "event.h"
#include "http.h"
#include "http_client.h"
#include "metrics.h"
#include "mqtt.h"
#include "service.h"

#define FRONT_MAX_BODY (64 * 1024)
#define FRONT_MAX_PEERS 32
#define FRONT_DAEMON_TIMEOUT_MS 2000
#define FRONT_CATALOG_MAX_AGE_MS 200
/* HTTP threads that order status streams never take (--sse-max) */
#define FRONT_THREADS_FOR_REQUESTS 16

/* What the bus says of each service instance: its retained status topic
 * (logged only) and its newest heartbeat, which is what liveness is judged by
 * (docs/protocol.md §Topologies: a persistent bridge session can deliver an
 * old "offline" after a newer "online"). */
struct front_peers {
	pthread_mutex_t lock;
	int n;
	char name[FRONT_MAX_PEERS][128]; /* "inventory/main" */
	int online[FRONT_MAX_PEERS];
	/* the newest heartbeat by its own (t_ms, seq), and when it arrived
	 * (service_monotonic_ms; 0: none yet) */
	int64_t beat_t_ms[FRONT_MAX_PEERS], beat_seq[FRONT_MAX_PEERS];
	int64_t beat_arrived_ms[FRONT_MAX_PEERS];
	int64_t started_ms; /* service_monotonic_ms when the front started */
};

/* The last catalog the inventory gave, for FRONT_CATALOG_MAX_AGE_MS. */
struct front_catalog {
	pthread_mutex_t lock;
	char *body;
	size_t len;
	int64_t fetched_ms;
};

/* Admission control's state (load_watch.c): the orders this front accepted
 * that are not final yet, by id, and the limit on how many. The table has
 * twice the most the limit allows, so its runs stay short. */
#define FRONT_ADMIT_MAX_LIMIT 8191
#define FRONT_ADMIT_SLOTS 16384 /* a power of two over 2 x FRONT_ADMIT_MAX_LIMIT */
#define FRONT_ADMIT_SAMPLES 512
#define FRONT_ADMIT_INITIAL 20
struct front_admit_slot {
	int64_t at_us; /* accepted at, CLOCK_MONOTONIC; 0: an empty slot */
	char id[EVENT_ORDER_ID_LEN + 1];
};
struct front_admission {
	pthread_mutex_t lock;
	double limit;
	unsigned in_flight;
	unsigned peak;      /* the most in flight during this step */
	int64_t step_at_us; /* when this step began */
	unsigned done;      /* orders that became final during this step */
	int64_t latency_us[FRONT_ADMIT_SAMPLES]; /* accept to final, of the step's latest */
	atomic_llong latency_ms;                 /* of the last step, for the 503's message */
	struct front_admit_slot slot[FRONT_ADMIT_SLOTS];
};

/* The open order-status streams of this front (order_stream.c). */
struct front_stream;
struct front_streams {
	pthread_mutex_t lock;
	pthread_condattr_t cond_attr; /* monotonic clock, for each stream's wake */
	struct front_stream *head;
	int open, max;
	int stopping;
	atomic_ulong refused;      /* 503 over max */
	atomic_ulong bad_messages; /* order/status messages that did not decode */
};

struct front_pages;

struct front {
	struct service_settings svc;
	int port, inventory_port, order_port;
	int publish_timeout_ms;
	int heartbeat_timeout_ms; /* a daemon silent for longer is down (/readyz) */
	int http_threads;
	const char *inventory_url, *order_url;
	char inventory_url_buf[64], order_url_buf[64];
	struct http_target inventory, order;
	char topic_send[256], topic_cancel[256], topic_status[256];
	char topic_restock[256], topic_product[256]; /* the admin's writes */
	int sse_max;
	struct front_streams streams;
	struct mqtt *_Atomic mqtt; /* NULL until the first connect: HTTP starts before it */
	struct mg_context *http;
	struct front_peers peers;
	struct metrics_counter requests;
	struct metrics_histogram publish_latency;
	struct front_catalog catalog;
	/* admission control: see load_watch.c */
	int admit_target_ms, admit_min, admit_max;
	struct front_admission admission;
	const char *admin_token; /* NULL: the admin API answers 403 */
	const char *www_dir;     /* the pages' files (pages.c) */
	struct front_pages *pages; /* www_dir's files, read at start (pages.c) */
	atomic_llong daemon_lag_ms;
	atomic_int watch_stop;
	atomic_ulong shed;
	pthread_t watch_thread;
	int watch_started;
};

/* The mqtt_message_fn of the front: it only listens to status topics and
 * the daemons' heartbeats. */
void front_peers_on_message(void *ctx, const char *topic, const char *payload, size_t len,
			    int retained);
/* The age of the service's newest heartbeat (any instance) in *age_ms; 1, or
 * 0 when none came yet (then *age_ms counts from the front's start). */
int front_peers_heartbeat_age(struct front_peers *peers, const char *service,
			      int64_t *age_ms);
/* A heartbeat of the service came within max_age_ms. */
int front_peers_alive(struct front_peers *peers, const char *service, int max_age_ms);

/* One row of the front's route table (http_api.c): who answers method on a
 * path that matches pattern. */
struct front_route {
	const char *method;  /* "GET" (HEAD too), "POST"; NULL: any method */
	const char *pattern; /* "/api/v1/orders/{id}/cancel"; see front_route_find */
	const char *label;   /* route="..." of the requests metric */
	int admin;           /* the admin token is checked first, whatever the answer */
	int id_first;        /* a malformed {id} is a 400 whatever the method */
	int id_sku;          /* the {id} is a SKU, not an order id */
	int (*reply)(struct mg_connection *conn, struct front *f);
	/* instead of reply on a pattern with {id}: id is a valid order id (a
	 * valid SKU on an id_sku row) */
	int (*reply_id)(struct mg_connection *conn, struct front *f, const char *id);
};

enum front_route_result {
	FRONT_ROUTE_FOUND,     /* route answers it, with id when its pattern has one */
	FRONT_ROUTE_NO_PATH,   /* 404: no route matches the path */
	FRONT_ROUTE_NO_METHOD, /* 405: route matches the path; allow lists its methods */
	FRONT_ROUTE_BAD_ID,    /* 400: route matches the path, its {id} is no order id (SKU) */
};

struct front_route_match {
	const struct front_route *route; /* NULL for FRONT_ROUTE_NO_PATH */
	char id[EVENT_SKU_MAX + 1];      /* FRONT_ROUTE_FOUND: the {id}, else "" */
	char allow[32];                  /* FRONT_ROUTE_NO_METHOD: "GET, HEAD", "POST" */
};

/* Looks method and path (without the query) up in the route table. Pure: no
 * connection, no front, nothing allocated; any strings, NULL included. */
enum front_route_result front_route_find(const char *method, const char *path,
					 struct front_route_match *m);

/* POST /api/v1/orders, GET /api/v1/orders/{id}, POST /api/v1/orders/{id}/cancel;
 * id is a valid order id (the route table checked it). */
int front_post_order(struct mg_connection *conn, struct front *f);
int front_get_order(struct mg_connection *conn, struct front *f, const char *id);
int front_cancel_order(struct mg_connection *conn, struct front *f, const char *id);

/* What the writing routes share (write_path.c). */
#define FRONT_IDEMPOTENCY_KEY_MAX 200
/* True when the request says Content-Type: application/json. */
int front_json_content_type(struct mg_connection *conn);
/* The id of what a POST creates: from its Idempotency-Key (within scope,
 * e.g. a SKU; NULL for none) when it has one, else random. 0, or -1 when
 * the key is not 1 to FRONT_IDEMPOTENCY_KEY_MAX printable ASCII characters. */
int front_idempotent_id(struct mg_connection *conn, const char *scope,
			char id[EVENT_ORDER_ID_LEN + 1]);
/* Publishes ev at QoS 1 and waits for the PUBACK: 0, or mqtt_publish_wait's
 * error (MQTT_UNCONFIRMED: the broker may still have it). */
int front_publish_event(struct front *f, const char *topic, const struct event *ev);
/* Reads the request's JSON body (at most FRONT_MAX_BODY bytes) into ev with
 * parse: 0, or replies itself and returns the status: 415 when it is not
 * application/json, 413, 400 invalid_json, or 400 with the code invalid
 * (e.g. "invalid_order") for JSON parse refuses. */
int front_read_event_body(struct mg_connection *conn, struct event *ev, const char *invalid,
			  body_parse_fn parse);

/* Relays a daemon's answer to the client (relay.c): 200 as is, 404 as
 * not_found, anything else 503; r is NULL when the daemon could not be
 * reached (503). */
int front_relay_answer(struct mg_connection *conn, const struct http_response *r,
		       const char *who);
/* GETs path from a daemon and relays its answer (front_relay_answer). */
int front_relay(struct mg_connection *conn, const struct http_target *target, const char *path,
		const char *who);

/* GET /api/v1/catalog, from the front's short-lived copy when it has one. */
int front_catalog_reply(struct mg_connection *conn, struct front *f);
void front_catalog_free(struct front_catalog *c);
/* Drops the copy: a client that was shown a final order status must not then
 * read a catalog from before its stock moved. */
void front_catalog_forget(struct front_catalog *c);

/* Admission control (load_watch.c, docs/protocol.md §Load shedding). The
 * watch thread polls the daemons' lag for shop_front_daemon_lag_seconds.
 * front_load_admit is true (and counts a shed order) when this front has as
 * many orders in flight as its limit allows; else it counts order_id in
 * flight (once: a keyed retry of one in flight is not counted again) until
 * front_load_on_status hears it final or front_load_withdraw takes it back
 * (it was not placed). With admit_max 0 nothing is ever shed or counted. */
int front_load_watch_start(struct front *f);
void front_load_watch_stop(struct front *f);
int front_load_admit(struct front *f, const char *order_id);
void front_load_withdraw(struct front *f, const char *order_id);
/* A decoded order/status message (on Paho's thread). */
void front_load_on_status(struct front *f, const struct event *status);
/* The orders in flight now, the limit on them, and the median time from
 * accept to final of the last step's orders (ms). */
unsigned front_load_in_flight(struct front *f);
double front_load_limit(struct front *f);
long long front_load_latency_ms(struct front *f);

/* 0 when the request carries the admin token; else replies itself (401
 * without credentials, 403 with wrong ones or when no token is set) and
 * returns the status. */
int front_admin_authorize(struct mg_connection *conn, const struct front *f);
/* GET /api/v1/admin/{orders,stock,reservations}, after front_admin_authorize:
 * the daemons' listings; any other admin path is a 404. */
int front_admin_orders(struct mg_connection *conn, struct front *f);
int front_admin_stock(struct mg_connection *conn, struct front *f);
int front_admin_reservations(struct mg_connection *conn, struct front *f);
int front_admin_not_found(struct mg_connection *conn, struct front *f);
/* The admin's writes (admin_write.c, docs/protocol.md §HTTP API): 202 once
 * the broker has the event; the re-drive and the listings go to the daemons. */
int front_admin_post_product(struct mg_connection *conn, struct front *f);
int front_admin_restock(struct mg_connection *conn, struct front *f, const char *sku);
int front_admin_redrive(struct mg_connection *conn, struct front *f, const char *id);
int front_admin_dead_letters(struct mg_connection *conn, struct front *f);
int front_admin_restocks(struct mg_connection *conn, struct front *f);

/* The web pages (pages.c): GET/HEAD /, /admin and /static/<file> from www_dir.
 * front_pages_open reads every file it may serve from www_dir at start (a
 * changed file is served after a restart) and checks index.html is one;
 * 0, or -1 with why[] saying what is wrong. front_pages_close frees them. */
int front_pages_open(struct front *f, char *why, size_t size);
void front_pages_close(struct front *f);
int front_pages_reply(struct mg_connection *conn, struct front *f);

/* GET /api/v1/orders/{id}/events (order_stream.c): the order's status at
 * once, then each change the order daemon publishes on order/status, until a
 * final status, 60 s, the client leaving or the front stopping; a 503 beyond
 * f->streams.max streams at once. Holds its civetweb thread meanwhile. */
int front_order_events(struct mg_connection *conn, struct front *f, const char *id);
/* max streams at once; 0 or -1. */
int front_streams_init(struct front_streams *s, int max);
void front_streams_destroy(struct front_streams *s);
/* A decoded order/status message (on Paho's thread): wakes the streams of
 * its order. */
void front_streams_on_status(struct front_streams *s, const struct event *status);
/* The front stops: every stream ends now (its client sees the end of the
 * body and reconnects elsewhere), and no new one starts. */
void front_streams_stop(struct front_streams *s);
int front_streams_open(struct front_streams *s);

int front_http_start(struct front *f);

#endif
