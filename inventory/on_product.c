/* webshop/inventory/product: create a product or change its name, price or
 * currency, the newest version winning (docs/protocol.md §Topics). */
#include "inventory.h"
#include "log.h"
#include "service.h"

enum consumer_result inventory_on_product(struct consumer_daemon *daemon, const struct event *ev)
{
	struct inventory *inv = inventory_of(daemon);

	switch (inventory_store_product(&inv->store, ev, service_now_ms())) {
	case INVENTORY_PRODUCT_CREATED:
		log_info("inventory: product %s created at version %lld (%lld cents %s)", ev->sku,
			 ev->version, ev->price_cents, ev->currency);
		return CONSUMER_APPLIED;
	case INVENTORY_PRODUCT_UPDATED:
		log_info("inventory: product %s changed to version %lld (%lld cents %s)", ev->sku,
			 ev->version, ev->price_cents, ev->currency);
		return CONSUMER_APPLIED;
	case INVENTORY_PRODUCT_STALE:
		log_debug("inventory: product %s version %lld is not newer; nothing changes", ev->sku,
			  ev->version);
		return CONSUMER_APPLIED;
	case INVENTORY_PRODUCT_ERROR:
		break;
	}
	return CONSUMER_DB_ERROR;
}
