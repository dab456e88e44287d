/* webshop/inventory/out-of-stock: a pending order becomes rejected with the
 * inventory's reason and items; a canceled one stays canceled. */
#include <stdio.h>
#include <stdlib.h>

#include "order.h"

static enum consumer_result change(struct order *o, const struct event *ev,
				   struct order_record *rec, int found)
{
	char *items;
	int rc;

	(void)o;
	if (!found || rec->status == ORDER_PENDING)
		rec->status = ORDER_REJECTED;
	snprintf(rec->reason, sizeof rec->reason, "%s", ev->reason);
	snprintf(rec->reason_sku, sizeof rec->reason_sku, "%s", ev->sku);
	if (ev->n_items == 0)
		return CONSUMER_APPLIED; /* an inventory that does not say: keep the send's */
	/* The inventory decided on these items, as for in-stock: otherwise the
	 * items would be those of whichever send this daemon happened to see
	 * first, and two conflicting sends would end differently by arrival. */
	items = event_items_canonical(ev);
	rc = items ? order_adopt_items(ev, rec, items) : -1;
	free(items);
	return rc == 0 ? CONSUMER_APPLIED : CONSUMER_DB_ERROR;
}

enum consumer_result order_on_out_of_stock(struct consumer_daemon *daemon, const struct event *ev)
{
	return order_apply(order_of(daemon), ev, change);
}
