/* webshop/inventory/out-of-stock: a pending order becomes rejected with the
 * inventory's reason; a canceled one stays canceled. */
#include <stdio.h>
#include <stdlib.h>

#include "order.h"

static enum consumer_result change(struct order *o, const struct event *ev,
				   struct order_record *rec, int found)
{
	(void)o;
	if (!found || rec->status == ORDER_PENDING)
		rec->status = ORDER_REJECTED;
	snprintf(rec->reason, sizeof rec->reason, "%s", ev->reason);
	snprintf(rec->reason_sku, sizeof rec->reason_sku, "%s", ev->sku);
	if (rec->items == NULL && ev->n_items > 0) {
		char *items = event_items_canonical(ev);
		int rc = items ? order_record_set(&rec->items, items) : -1;
		free(items);
		if (rc != 0)
			return CONSUMER_DB_ERROR;
	}
	return CONSUMER_APPLIED;
}

enum consumer_result order_on_out_of_stock(void *ctx, const struct event *ev)
{
	return order_apply(ctx, ev, change);
}
