/* webshop/inventory/in-stock: a pending order becomes confirmed with the
 * inventory's prices; a canceled one stays canceled but keeps them. */
#include <stdlib.h>

#include "log.h"
#include "order.h"

static enum consumer_result change(struct order *o, const struct event *ev,
				   struct order_record *rec, int found)
{
	char *items = event_items_canonical(ev);
	char *priced = event_items_text(ev, 1);
	enum consumer_result result = CONSUMER_APPLIED;

	(void)o;
	if (items == NULL || priced == NULL) {
		result = CONSUMER_DB_ERROR;
		goto out;
	}
	if (rec->status == ORDER_REJECTED)
		log_warn("order: %s was rejected and is now reported in stock; it stays rejected",
			 ev->order_id);
	if (!found || rec->status == ORDER_PENDING)
		rec->status = ORDER_CONFIRMED;
	rec->total_cents = ev->total_cents;
	if (order_adopt_items(ev, rec, items) != 0 || order_record_set(&rec->priced, priced) != 0)
		result = CONSUMER_DB_ERROR;
out:
	free(items);
	free(priced);
	return result;
}

enum consumer_result order_on_in_stock(struct consumer_daemon *daemon, const struct event *ev)
{
	return order_apply(order_of(daemon), ev, change);
}
