/* webshop/inventory/restock: add stock once per restock_id; a restock of a
 * SKU not known yet waits for its product (docs/protocol.md §Topics). */
#include "inventory.h"
#include "log.h"
#include "service.h"

enum consumer_result inventory_on_restock(struct consumer_daemon *daemon, const struct event *ev)
{
	struct inventory *inv = inventory_of(daemon);

	switch (inventory_store_restock(&inv->store, ev, service_now_ms())) {
	case INVENTORY_RESTOCK_APPLIED:
		log_info("inventory: restock %s adds %d to %s", ev->restock_id, ev->restock_qty,
			 ev->sku);
		return CONSUMER_APPLIED;
	case INVENTORY_RESTOCK_PARKED:
		log_info("inventory: restock %s of %d names the unknown SKU %s: kept until the product exists",
			 ev->restock_id, ev->restock_qty, ev->sku);
		return CONSUMER_APPLIED;
	case INVENTORY_RESTOCK_DUPLICATE:
		log_debug("inventory: restock %s seen before", ev->restock_id);
		return CONSUMER_APPLIED;
	case INVENTORY_RESTOCK_CONFLICT:
		return CONSUMER_CONFLICT;
	case INVENTORY_RESTOCK_ERROR:
		break;
	}
	return CONSUMER_DB_ERROR;
}
