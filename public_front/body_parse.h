/* What a parser of a writing route's JSON body answers (order_body.c,
 * admin_body.c), so that one function of write_path.c turns any of them
 * into the HTTP answer. */
#ifndef FRONT_BODY_PARSE_H
#define FRONT_BODY_PARSE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "event.h"

enum body_parse_result {
	BODY_PARSE_OK = 0,
	BODY_PARSE_INVALID_JSON, /* not UTF-8 JSON text: a 400 invalid_json */
	BODY_PARSE_INVALID,      /* JSON, but not the fields asked for: a 400 with the route's code */
};

/* Reads len bytes of body (not NUL-terminated) into ev; on failure writes
 * the reason a client is shown to err. Allocates nothing that outlives the
 * call. */
typedef enum body_parse_result (*body_parse_fn)(const char *body, size_t len, struct event *ev,
						char *err, size_t errlen);

/* Takes a route's fields from the body's object into ev: 0, or -1 with the
 * reason in err. */
typedef int (*body_read_fn)(const cJSON *obj, struct event *ev, char *err, size_t errlen);

/* Parses body as one JSON object and lets read take its fields; nothing it
 * allocates outlives the call. */
enum body_parse_result body_parse_object(const char *body, size_t len, struct event *ev,
					 char *err, size_t errlen, body_read_fn read);

#endif
