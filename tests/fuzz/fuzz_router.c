/* libFuzzer target: the front's route lookup (front_route_find in
 * public_front/http_api.c, the table every request goes through). Whatever
 * the method and path, the answer is one of the four outcomes and agrees
 * with the row it names: a route found accepts the method and hands on only
 * a valid order id taken from the path; a 405 names the methods; a 400 is
 * only for a pattern with {id}; the same question gets the same answer, and
 * nothing is allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "front.h"
#include "fuzz_util.h"

#define ROUTER_FIELD_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "GET" rows answer HEAD too (http_api.c's method_accepted). */
static int row_takes(const char *row, const char *method)
{
	if (row == NULL)
		return 1;
	if (strcmp(row, "GET") == 0)
		return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	return strcmp(row, method) == 0;
}

static void check_match(const char *method, const char *path, enum front_route_result r,
			const struct front_route_match *m)
{
	FUZZ_CHECK(r == FRONT_ROUTE_FOUND || r == FRONT_ROUTE_NO_PATH ||
			   r == FRONT_ROUTE_NO_METHOD || r == FRONT_ROUTE_BAD_ID,
		   "result %d", (int)r);
	FUZZ_CHECK(memchr(m->id, '\0', sizeof m->id) != NULL, "id without its NUL");
	FUZZ_CHECK(memchr(m->allow, '\0', sizeof m->allow) != NULL, "allow without its NUL");
	if (r == FRONT_ROUTE_NO_PATH) {
		FUZZ_CHECK(m->route == NULL, "404 for '%.80s' names a route", path);
		return;
	}
	FUZZ_CHECK(m->route != NULL && m->route->pattern != NULL && m->route->label != NULL,
		   "result %d for '%.80s' without a route", (int)r, path);
	switch (r) {
	case FRONT_ROUTE_FOUND:
		FUZZ_CHECK(row_takes(m->route->method, method), "%s %.80s went to a %s row",
			   method, path, m->route->method);
		FUZZ_CHECK((m->route->reply != NULL) != (m->route->reply_id != NULL),
			   "row %s has %s reply", m->route->pattern,
			   m->route->reply ? "two kinds of" : "no");
		if (m->route->reply_id != NULL) {
			FUZZ_CHECK(m->route->id_sku ? event_sku_valid(m->id)
						    : event_order_id_valid(m->id),
				   "id '%s' of '%.80s' handed on", m->id, path);
			FUZZ_CHECK(strstr(path, m->id) != NULL, "id '%s' not in '%.80s'", m->id,
				   path);
		}
		break;
	case FRONT_ROUTE_NO_METHOD:
		FUZZ_CHECK(m->allow[0] != '\0', "405 for %s %.80s names no method", method, path);
		FUZZ_CHECK(!row_takes(m->route->method, method), "405 but row %s takes %s",
			   m->route->pattern, method);
		break;
	case FRONT_ROUTE_BAD_ID:
		FUZZ_CHECK(strstr(m->route->pattern, "{id}") != NULL, "400 on row %s",
			   m->route->pattern);
		break;
	case FRONT_ROUTE_NO_PATH:
		break;
	}
}

/* An input is "METHOD\0PATH": a method, then the path (both NUL-terminated
 * copies; a NUL inside the path ends it, as it does for civetweb). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char method[ROUTER_FIELD_MAX + 1], path[ROUTER_FIELD_MAX + 1];
	struct front_route_match m, again;
	enum front_route_result r;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t mlen = nul ? (size_t)(nul - data) : 0;
	size_t plen = nul ? size - mlen - 1 : size;

	if (mlen > ROUTER_FIELD_MAX || plen > ROUTER_FIELD_MAX)
		return 0;
	memcpy(method, data, mlen);
	method[mlen] = '\0';
	memcpy(path, nul ? nul + 1 : data, plen);
	path[plen] = '\0';
	if (mlen == 0)
		strcpy(method, "GET");

	fuzz_alloc_begin();
	r = front_route_find(method, path, &m);
	check_match(method, path, r, &m);
	FUZZ_CHECK(front_route_find(method, path, &again) == r && again.route == m.route &&
			   strcmp(again.id, m.id) == 0 && strcmp(again.allow, m.allow) == 0,
		   "%s %.80s answered twice differently", method, path);
	FUZZ_CHECK(front_route_find(NULL, path, &again) == FRONT_ROUTE_NO_PATH &&
			   front_route_find(method, NULL, &again) == FRONT_ROUTE_NO_PATH,
		   "a NULL method or path is not a 404");
	fuzz_alloc_end("a route lookup");
	return 0;
}
