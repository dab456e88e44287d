/* The body of POST /api/v1/orders: parsed and checked without the HTTP
 * connection, so that a test or a fuzzer can call it on bare bytes. */
#ifndef FRONT_ORDER_BODY_H
#define FRONT_ORDER_BODY_H

#include "body_parse.h"

/* {"items":[{sku,qty}...]} into ev's items (a body_parse_fn); anything else
 * is BODY_PARSE_INVALID, a 400 invalid_order. */
enum body_parse_result order_body_parse(const char *body, size_t len, struct event *ev,
					char *err, size_t errlen);

#endif
