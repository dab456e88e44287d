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
	/* The inventory's answers only move an order on; one lost to a power
	 * cut leaves it pending (or not released), so the re-drive asks again
	 * and gets the same answer. A send or a cancel has no such second
	 * source: they commit with the full setting. */
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
