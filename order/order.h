/* The order daemon's parts, shared by its main, topic handlers, re-drive and HTTP API. */
#ifndef ORDER_H
#define ORDER_H

#include <pthread.h>
#include <stdatomic.h>

#include "consumer.h"
#include "mqtt.h"
#include "order_store.h"
#include "outbox.h"
#include "service.h"

/* Fewer orders than this waiting are never overload (see order_lag_ms). */
#define ORDER_PENDING_NTH 20

struct order {
	struct service_settings svc;
	int port;
	int redrive_s;
	const char *sync;
	struct order_store store;
	struct outbox *outbox;
	struct mqtt *mqtt;
	struct consumer consumer;
	struct mg_context *http;
	pthread_t redrive_thread;
	int redrive_started;
	atomic_ulong redriven;
};

/* Sets o->consumer up with the order daemon's handlers (handlers.c), over
 * its store and outbox: after both are open. consumer_destroy undoes it. */
void order_consumer_init(struct order *o);

/* The daemon the consumer hands the handlers (order_consumer_init). */
static inline struct order *order_of(struct consumer_daemon *daemon)
{
	return (struct order *)daemon;
}

/* Topic handlers: run inside the consumer's transaction (consumer_apply_fn). */
enum consumer_result order_on_order_send(struct consumer_daemon *daemon, const struct event *ev);
enum consumer_result order_on_order_cancel(struct consumer_daemon *daemon, const struct event *ev);
enum consumer_result order_on_in_stock(struct consumer_daemon *daemon, const struct event *ev);
enum consumer_result order_on_out_of_stock(struct consumer_daemon *daemon, const struct event *ev);
enum consumer_result order_on_released(struct consumer_daemon *daemon, const struct event *ev);

/* Loads the record of ev's order, lets change() apply the join rule, saves
 * it; the shape every handler shares. */
enum consumer_result order_apply(struct order *o, const struct event *ev,
				 enum consumer_result (*change)(struct order *o,
								const struct event *ev,
								struct order_record *rec,
								int found));

/* Takes the items of the inventory's in-stock or out-of-stock (canonical
 * text) as the order's, with the answer's created_at, whatever a send
 * recorded before; 0 or -1. */
int order_adopt_items(const struct event *ev, struct order_record *rec, const char *items);

/* The first re-drive of a new pending or canceled order, in ms since the epoch. */
int64_t order_redrive_first(const struct order *o);

/* Most orders one re-drive sweep handles; the rest wait for the next sweep. */
#define ORDER_REDRIVE_BATCH 200

/* One sweep at now_ms: records in the outbox the event each due order still
 * owes (at most ORDER_REDRIVE_BATCH, earliest first) and pushes its next
 * re-drive back, doubling the delay each time up to a cap. Returns how many
 * orders it re-drove, or -1. The re-drive thread calls it twice a second. */
int order_redrive_sweep(struct order *o, int64_t now_ms);

/* The admin's re-drive of one order (POST /orders/{id}/redrive): makes it
 * due now and sweeps at once, so its owed event is in the outbox when this
 * returns. */
enum order_redrive_now_result {
	ORDER_REDRIVE_NOW_DUE,           /* re-driven */
	ORDER_REDRIVE_NOW_UNKNOWN,       /* no such order */
	ORDER_REDRIVE_NOW_NOTHING_OWED,  /* final, or canceled and released */
	ORDER_REDRIVE_NOW_ERROR = -1,
};
enum order_redrive_now_result order_redrive_now(struct order *o, const char *order_id,
						int64_t now_ms);

int order_redrive_start(struct order *o);
void order_redrive_stop(struct order *o);

int order_http_start(struct order *o);

#endif
