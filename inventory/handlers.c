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
	/* Durable before visible (docs/protocol.md §Crash safety): these commit
	 * without an fsync, since the outbox syncs the log before it publishes
	 * what they decided (main: outbox_sync_before_publish), and one lost to
	 * a power cut was seen by nobody: the order daemon re-drives the send
	 * of a pending order, and a cancel until it hears released. */
	.redrive_repairs = {
		[EVENT_ORDER_SEND] = 1,
		[EVENT_ORDER_CANCELED] = 1,
	},
};

void inventory_consumer_init(struct inventory *inv)
{
	consumer_init(&inv->consumer, inv->svc.prefix, &inv->store.db, &inv->store.lock,
		      inv->outbox, (struct consumer_daemon *)inv, &inventory_handlers);
}
