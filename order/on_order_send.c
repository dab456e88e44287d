/* webshop/order/send: record a new order as pending; fill in the items of a
 * cancel tombstone without reviving it, and the time of an order its answer
 * created; a send with other items than recorded conflicts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"

static enum consumer_result change(struct order *o, const struct event *ev,
				   struct order_record *rec, int found)
{
	char *items = event_items_canonical(ev);
	enum consumer_result result = CONSUMER_APPLIED;

	if (items == NULL)
		return CONSUMER_DB_ERROR;
	if (found && rec->items != NULL) {
		if (strcmp(rec->items, items) != 0)
			result = CONSUMER_CONFLICT;
		else if (rec->created_at[0] == '\0')
			/* created by the inventory's answer, which carries no time */
			snprintf(rec->created_at, sizeof rec->created_at, "%s", ev->created_at);
	} else {
		if (!found) {
			rec->status = ORDER_PENDING;
			rec->next_redrive_ms = order_redrive_first(o);
		}
		snprintf(rec->created_at, sizeof rec->created_at, "%s", ev->created_at);
		if (order_record_set(&rec->items, items) != 0)
			result = CONSUMER_DB_ERROR;
	}
	free(items);
	return result;
}

enum consumer_result order_on_order_send(struct consumer_daemon *daemon, const struct event *ev)
{
	return order_apply(order_of(daemon), ev, change);
}
