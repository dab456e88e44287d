/* The body of POST /api/v1/orders: parsed and checked without the HTTP
 * connection, so that a test or a fuzzer can call it on bare bytes. */
#include "order_body.h"

#include <cjson/cJSON.h>
#include <stdio.h>

enum order_body_result order_body_parse(const char *body, size_t len, struct event *ev,
					char *err, size_t errlen)
{
	enum order_body_result result = ORDER_BODY_OK;
	cJSON *root = event_json_parse(body, len, err, errlen);

	if (root == NULL) {
		result = ORDER_BODY_INVALID_JSON;
	} else if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the body must be a JSON object");
		result = ORDER_BODY_INVALID_ORDER;
	} else if (event_items_from_json(cJSON_GetObjectItemCaseSensitive(root, "items"), ev, 0, err,
					 errlen) != 0) {
		result = ORDER_BODY_INVALID_ORDER;
	}
	cJSON_Delete(root);
	return result;
}
