/* The topics the order daemon handles, each with its handler: the table its
 * consumer is set up with, by main and by the tests alike. */
#include "order.h"

static const struct consumer_handlers order_handlers = {
	.apply = {
		[EVENT_ORDER_SEND] = order_on_order_send,
		[EVENT_ORDER_CANCEL] = order_on_order_cancel,
		[EVENT_IN_STOCK] = order_on_in_stock,
		[EVENT_OUT_OF_STOCK] = order_on_out_of_stock,
		[EVENT_RELEASED] = order_on_released,
	},
	/* Durable before visible (docs/protocol.md §Durable before visible):
	 * the inventory's answers only move an order on and commit without an
	 * fsync; the outbox syncs before publishing what they decided, the HTTP
	 * API before showing it (main: outbox_sync_before_publish). One lost to
	 * a power cut was seen by nobody and leaves the order pending (or not
	 * released), so the re-drive asks again. A send or a cancel has no such
	 * second source (its 202 is given, the broker forgets it once we
	 * acknowledge): they commit with the full setting. */
	.redrive_repairs = {
		[EVENT_IN_STOCK] = 1,
		[EVENT_OUT_OF_STOCK] = 1,
		[EVENT_RELEASED] = 1,
	},
};

void order_consumer_init(struct order *o)
{
	consumer_init(&o->consumer, o->svc.prefix, &o->store.db, &o->store.lock, o->outbox,
		      (struct consumer_daemon *)o, &order_handlers);
}
