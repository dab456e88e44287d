/* webshop/order/canceled: give a reservation's stock back exactly once, leave
 * a tombstone for an order not seen yet, and answer released every time. */
#include <stdio.h>

#include "inventory.h"
#include "log.h"

static int answer_released(struct inventory *inv, const char *order_id)
{
	struct event released = { .kind = EVENT_RELEASED };

	snprintf(released.order_id, sizeof released.order_id, "%s", order_id);
	return outbox_add_event(&inv->store.db, inv->svc.prefix, &released);
}

enum consumer_result inventory_on_order_canceled(struct consumer_daemon *daemon,
						 const struct event *ev)
{
	struct inventory *inv = inventory_of(daemon);
	struct reservation r;
	enum db_lookup got = inventory_store_find(&inv->store, ev->order_id, &r);
	int rc = 0;

	if (got == DB_LOOKUP_ERROR)
		return CONSUMER_DB_ERROR;
	if (got == DB_MISSING)
		rc = inventory_store_insert(&inv->store, ev->order_id, RESERVATION_TOMBSTONE, NULL,
					    NULL, NULL);
	else if (r.status == RESERVATION_RESERVED)
		rc = inventory_store_release(&inv->store, ev->order_id);
	inventory_reservation_free(&r);
	if (rc == 0)
		rc = answer_released(inv, ev->order_id);
	if (rc == 0)
		log_debug("inventory: order %s released", ev->order_id);
	return rc == 0 ? CONSUMER_APPLIED : CONSUMER_DB_ERROR;
}
