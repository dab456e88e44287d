/* The bodies of the admin's writes: parsed and checked without the HTTP
 * connection, so that a test or a fuzzer can call them on bare bytes. */
#include "admin_body.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* Parses body as a JSON object and lets read() take its fields. */
static enum admin_body_result admin_body_parse(const char *body, size_t len, struct event *ev,
					       char *err, size_t errlen,
					       int (*read)(const cJSON *obj, struct event *ev,
							   char *err, size_t errlen))
{
	enum admin_body_result result = ADMIN_BODY_OK;
	cJSON *root = event_json_parse(body, len, err, errlen);

	if (root == NULL) {
		result = ADMIN_BODY_INVALID_JSON;
	} else if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the body must be a JSON object");
		result = ADMIN_BODY_INVALID;
	} else if (read(root, ev, err, errlen) != 0) {
		result = ADMIN_BODY_INVALID;
	}
	cJSON_Delete(root);
	return result;
}

static int read_product(const cJSON *obj, struct event *ev, char *err, size_t errlen)
{
	return event_product_from_json(obj, ev, "EUR", err, errlen);
}

enum admin_body_result admin_body_product(const char *body, size_t len, struct event *ev,
					  char *err, size_t errlen)
{
	return admin_body_parse(body, len, ev, err, errlen, read_product);
}

enum admin_body_result admin_body_restock(const char *body, size_t len, struct event *ev,
					  char *err, size_t errlen)
{
	return admin_body_parse(body, len, ev, err, errlen, event_restock_qty_from_json);
}
