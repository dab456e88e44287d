/* The inventory's answer decides an order's items: it is the view that holds
 * (or refused) stock, so in-stock and out-of-stock both overwrite them. */
#include <string.h>

#include "log.h"
#include "order.h"

int order_adopt_items(const struct event *ev, struct order_record *rec, const char *items)
{
	if (rec->items != NULL && strcmp(rec->items, items) != 0) {
		log_warn("order: %s was decided by the inventory with items %s, recorded %s;"
			 " taking the inventory's", ev->order_id, items, rec->items);
		/* The time was that of the other version's send: the first send
		 * of the decided version fills it in again (on_order_send.c). */
		rec->created_at[0] = '\0';
	}
	return order_record_set(&rec->items, items);
}
