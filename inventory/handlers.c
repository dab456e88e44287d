/* The topics the inventory handles, each with its handler: the table its
 * consumer is set up with, by main and by the tests alike. */
#include "inventory.h"

static const struct consumer_handlers inventory_handlers = {
	.apply = {
		[EVENT_ORDER_SEND] = inventory_on_order_send,
		[EVENT_ORDER_CANCELED] = inventory_on_order_canceled,
		[EVENT_RESTOCK] = inventory_on_restock,
		[EVENT_PRODUCT] = inventory_on_product,
	},
};

void inventory_consumer_init(struct inventory *inv)
{
	consumer_init(&inv->consumer, inv->svc.prefix, &inv->store.db, &inv->store.lock,
		      inv->outbox, (struct consumer_daemon *)inv, &inventory_handlers);
}
