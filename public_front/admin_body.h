/* The bodies of the admin's writes (POST /api/v1/admin/products and
 * .../restock): parsed and checked without the HTTP connection, so that a
 * test or a fuzzer can call them on bare bytes. */
#ifndef FRONT_ADMIN_BODY_H
#define FRONT_ADMIN_BODY_H

#include <stddef.h>

#include "event.h"

enum admin_body_result {
	ADMIN_BODY_OK = 0,
	ADMIN_BODY_INVALID_JSON, /* not UTF-8 JSON text: a 400 invalid_json */
	ADMIN_BODY_INVALID,      /* JSON, but not the fields asked for: a 400 invalid_product / invalid_restock */
};

/* {"sku","name","price_cents","currency"?} into ev's product fields
 * (currency EUR when absent); kind, version are the caller's. */
enum admin_body_result admin_body_product(const char *body, size_t len, struct event *ev,
					  char *err, size_t errlen);
/* {"qty"} into ev->restock_qty; sku and restock_id are the caller's. */
enum admin_body_result admin_body_restock(const char *body, size_t len, struct event *ev,
					  char *err, size_t errlen);

#endif
