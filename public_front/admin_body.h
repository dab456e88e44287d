/* The bodies of the admin's writes (POST /api/v1/admin/products and
 * .../restock): parsed and checked without the HTTP connection, so that a
 * test or a fuzzer can call them on bare bytes. */
#ifndef FRONT_ADMIN_BODY_H
#define FRONT_ADMIN_BODY_H

#include "body_parse.h"

/* Both are body_parse_fn. */
/* {"sku","name","price_cents","currency"?} into ev's product fields
 * (currency EUR when absent); kind, version are the caller's. */
enum body_parse_result admin_body_product(const char *body, size_t len, struct event *ev,
					  char *err, size_t errlen);
/* {"qty"} into ev->restock_qty; sku and restock_id are the caller's. */
enum body_parse_result admin_body_restock(const char *body, size_t len, struct event *ev,
					  char *err, size_t errlen);

#endif
