/* The body of POST /api/v1/orders: parsed and checked without the HTTP
 * connection, so that a test or a fuzzer can call it on bare bytes. */
#include "order_body.h"

static int read_items(const cJSON *obj, struct event *ev, char *err, size_t errlen)
{
	return event_items_from_json(cJSON_GetObjectItemCaseSensitive(obj, "items"), ev, 0, err,
				     errlen);
}

enum body_parse_result order_body_parse(const char *body, size_t len, struct event *ev,
					char *err, size_t errlen)
{
	return body_parse_object(body, len, ev, err, errlen, read_items);
}
