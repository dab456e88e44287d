/* The inventory's answer decides an order's items: it is the view that holds
 * (or refused) stock, so in-stock and out-of-stock both overwrite them. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "order.h"

int order_adopt_items(const struct event *ev, struct order_record *rec, const char *items)
{
	int other = rec->items != NULL && strcmp(rec->items, items) != 0;

	if (other)
		log_warn("order: %s was decided by the inventory with items %s, recorded %s;"
			 " taking the inventory's", ev->order_id, items, rec->items);
	/* The time goes with the version: the answer's, or, from an inventory
	 * that does not send it, none until a send of this version fills it in
	 * (on_order_send.c) rather than the other version's. */
	if (ev->created_at[0] != '\0')
		snprintf(rec->created_at, sizeof rec->created_at, "%s", ev->created_at);
	else if (other)
		rec->created_at[0] = '\0';
	return order_record_set(&rec->items, items);
}
