/* The bodies of the admin's writes: parsed and checked without the HTTP
 * connection, so that a test or a fuzzer can call them on bare bytes. */
#include "admin_body.h"

static int read_product(const cJSON *obj, struct event *ev, char *err, size_t errlen)
{
	return event_product_from_json(obj, ev, "EUR", err, errlen);
}

enum body_parse_result admin_body_product(const char *body, size_t len, struct event *ev,
					  char *err, size_t errlen)
{
	return body_parse_object(body, len, ev, err, errlen, read_product);
}

enum body_parse_result admin_body_restock(const char *body, size_t len, struct event *ev,
					  char *err, size_t errlen)
{
	return body_parse_object(body, len, ev, err, errlen, event_restock_qty_from_json);
}
