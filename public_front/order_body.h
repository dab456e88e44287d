/* The body of POST /api/v1/orders: parsed and checked without the HTTP
 * connection, so that a test or a fuzzer can call it on bare bytes. */
#ifndef FRONT_ORDER_BODY_H
#define FRONT_ORDER_BODY_H

#include <stddef.h>

#include "event.h"

enum order_body_result {
	ORDER_BODY_OK = 0,
	ORDER_BODY_INVALID_JSON,  /* not UTF-8 JSON text: a 400 invalid_json */
	ORDER_BODY_INVALID_ORDER, /* JSON, but not {"items":[{sku,qty}...]}: a 400 invalid_order */
};

/* Reads the items of len bytes of body (not NUL-terminated) into ev; on
 * failure writes the reason a client is shown to err. Allocates nothing
 * that outlives the call. */
enum order_body_result order_body_parse(const char *body, size_t len, struct event *ev,
					char *err, size_t errlen);

#endif
