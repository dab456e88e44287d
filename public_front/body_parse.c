/* The shape every writing route's body shares: one JSON object whose fields
 * a route-specific reader takes (order_body.c, admin_body.c). */
#include "body_parse.h"

#include <stdio.h>

enum body_parse_result body_parse_object(const char *body, size_t len, struct event *ev,
					 char *err, size_t errlen, body_read_fn read)
{
	enum body_parse_result result = BODY_PARSE_OK;
	cJSON *root = event_json_parse(body, len, err, errlen);

	if (root == NULL) {
		result = BODY_PARSE_INVALID_JSON;
	} else if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the body must be a JSON object");
		result = BODY_PARSE_INVALID;
	} else if (read(root, ev, err, errlen) != 0) {
		result = BODY_PARSE_INVALID;
	}
	cJSON_Delete(root);
	return result;
}
