/* The inventory daemon's parts, shared by its main, handlers and HTTP API. */
#ifndef INVENTORY_H
#define INVENTORY_H

#include "consumer.h"
#include "inventory_store.h"
#include "mqtt.h"
#include "outbox.h"
#include "service.h"

struct inventory {
	struct service_settings svc;
	int port;
	const char *sync;
	const char *catalog;
	struct inventory_store store;
	struct outbox *outbox;
	struct mqtt *mqtt;
	struct consumer consumer;
	struct mg_context *http;
};

/* Sets inv->consumer up with the inventory's handlers (handlers.c), over
 * its store and outbox: after both are open. consumer_destroy undoes it. */
void inventory_consumer_init(struct inventory *inv);

/* The daemon the consumer hands the handlers (inventory_consumer_init). */
static inline struct inventory *inventory_of(struct consumer_daemon *daemon)
{
	return (struct inventory *)daemon;
}

/* Topic handlers: run inside the consumer's transaction (consumer_apply_fn). */
enum consumer_result inventory_on_order_send(struct consumer_daemon *daemon,
					     const struct event *ev);
enum consumer_result inventory_on_order_canceled(struct consumer_daemon *daemon,
						 const struct event *ev);
enum consumer_result inventory_on_restock(struct consumer_daemon *daemon, const struct event *ev);
enum consumer_result inventory_on_product(struct consumer_daemon *daemon, const struct event *ev);

/* Serves the internal HTTP API; 0 or -1 (logged). */
int inventory_http_start(struct inventory *inv);

#endif
