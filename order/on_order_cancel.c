/* webshop/order/cancel: canceled wins over every other status; tell the
 * inventory with order/canceled (re-driven until it answers released). */
#include <stdio.h>
#include "order.h"

static enum consumer_result change(struct order *o, const struct event *ev,
				   struct order_record *rec, int found)
{
	struct event canceled = { .kind = EVENT_ORDER_CANCELED };

	(void)found;
	if (rec->status != ORDER_CANCELED) {
		rec->status = ORDER_CANCELED;
		rec->redrives = 0;
		rec->next_redrive_ms = order_redrive_first(o);
	} else if (rec->released) {
		return CONSUMER_APPLIED;
	}
	snprintf(canceled.order_id, sizeof canceled.order_id, "%s", ev->order_id);
	return outbox_add_event(&o->store.db, o->svc.prefix, &canceled) == 0 ? CONSUMER_APPLIED
									      : CONSUMER_DB_ERROR;
}

enum consumer_result order_on_order_cancel(struct consumer_daemon *daemon, const struct event *ev)
{
	return order_apply(order_of(daemon), ev, change);
}
