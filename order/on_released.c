/* webshop/inventory/released: the inventory has the stock of a canceled order
 * back (or never took it): stop re-driving order/canceled. */
#include "log.h"
#include "order.h"

static enum consumer_result change(struct order *o, const struct event *ev,
				   struct order_record *rec, int found)
{
	(void)o;
	if (!found) {
		/* Only ever an answer to our own order/canceled: keep the order
		 * known as canceled so that a late send does not revive it. */
		log_warn("order: released for unknown order %s; recording it as canceled",
			 ev->order_id);
		rec->status = ORDER_CANCELED;
	}
	rec->released = 1;
	return CONSUMER_APPLIED;
}

enum consumer_result order_on_released(struct consumer_daemon *daemon, const struct event *ev)
{
	return order_apply(order_of(daemon), ev, change);
}
