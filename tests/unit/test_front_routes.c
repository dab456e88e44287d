/* Unit tests of the front's route table (public_front/http_api.c,
 * front_route_find): which route, which status class and which Allow each
 * method and path get, with no server and no connection. */
#include <string.h>

#include "check.h"
#include "front.h"

#define ID "11111111-1111-4111-8111-111111111111"
#define ORDERS "/api/v1/orders"

struct want {
	const char *method, *path;
	enum front_route_result result;
	const char *label; /* NULL: no route */
	const char *allow; /* for FRONT_ROUTE_NO_METHOD */
	const char *id;    /* for FRONT_ROUTE_FOUND */
};

static const struct want cases[] = {
	{ "POST", ORDERS, FRONT_ROUTE_FOUND, ORDERS, "", "" },
	{ "GET", ORDERS, FRONT_ROUTE_NO_METHOD, ORDERS, "POST", "" },
	{ "HEAD", ORDERS, FRONT_ROUTE_NO_METHOD, ORDERS, "POST", "" },
	{ "GET", ORDERS "/" ID, FRONT_ROUTE_FOUND, ORDERS "/{id}", "", ID },
	{ "HEAD", ORDERS "/" ID, FRONT_ROUTE_FOUND, ORDERS "/{id}", "", ID },
	{ "DELETE", ORDERS "/" ID, FRONT_ROUTE_NO_METHOD, ORDERS "/{id}", "GET, HEAD", "" },
	/* a malformed id is a 400 whatever the method */
	{ "GET", ORDERS "/x", FRONT_ROUTE_BAD_ID, ORDERS "/{id}", "", "" },
	{ "DELETE", ORDERS "/x", FRONT_ROUTE_BAD_ID, ORDERS "/{id}", "", "" },
	{ "GET", ORDERS "/", FRONT_ROUTE_BAD_ID, ORDERS "/{id}", "", "" },
	{ "GET", ORDERS "/11111111-1111-4111-8111-11111111111A", FRONT_ROUTE_BAD_ID,
	  ORDERS "/{id}", "", "" },
	{ "GET", ORDERS "/a/b", FRONT_ROUTE_BAD_ID, ORDERS "/{id}", "", "" },
	{ "GET", ORDERS "/" ID "/events", FRONT_ROUTE_BAD_ID, ORDERS "/{id}", "", "" },
	{ "POST", ORDERS "/" ID "/cancel", FRONT_ROUTE_FOUND, ORDERS "/{id}/cancel", "", ID },
	{ "GET", ORDERS "/" ID "/cancel", FRONT_ROUTE_NO_METHOD, ORDERS "/{id}/cancel", "POST", "" },
	{ "POST", ORDERS "/x/cancel", FRONT_ROUTE_BAD_ID, ORDERS "/{id}/cancel", "", "" },
	/* the cancel route wants the method first, then the id */
	{ "GET", ORDERS "/x/cancel", FRONT_ROUTE_NO_METHOD, ORDERS "/{id}/cancel", "POST", "" },
	/* no id before /cancel: "/cancel" is the id of the order route */
	{ "POST", ORDERS "//cancel", FRONT_ROUTE_BAD_ID, ORDERS "/{id}", "", "" },
	{ "GET", ORDERS "//cancel", FRONT_ROUTE_BAD_ID, ORDERS "/{id}", "", "" },
	{ "GET", "/api/v1/catalog", FRONT_ROUTE_FOUND, "/api/v1/catalog", "", "" },
	{ "HEAD", "/api/v1/catalog", FRONT_ROUTE_FOUND, "/api/v1/catalog", "", "" },
	{ "POST", "/api/v1/catalog", FRONT_ROUTE_NO_METHOD, "/api/v1/catalog", "GET, HEAD", "" },
	{ "DELETE", "/readyz", FRONT_ROUTE_NO_METHOD, "/readyz", "GET, HEAD", "" },
	{ "GET", "/healthz", FRONT_ROUTE_FOUND, "/healthz", "", "" },
	{ "GET", "/metrics", FRONT_ROUTE_FOUND, "/metrics", "", "" },
	{ "GET", "/", FRONT_ROUTE_FOUND, "/", "", "" },
	{ "GET", "/admin", FRONT_ROUTE_FOUND, "/admin", "", "" },
	{ "POST", "/admin", FRONT_ROUTE_NO_METHOD, "/admin", "GET, HEAD", "" },
	{ "GET", "/api/v1/admin/stock", FRONT_ROUTE_FOUND, "/api/v1/admin", "", "" },
	{ "POST", "/api/v1/admin/orders", FRONT_ROUTE_NO_METHOD, "/api/v1/admin", "GET, HEAD", "" },
	{ "PUT", "/api/v1/admin/nope", FRONT_ROUTE_FOUND, "/api/v1/admin", "", "" },
	{ "GET", "/api/v1/admin/", FRONT_ROUTE_FOUND, "/api/v1/admin", "", "" },
	/* the admin's writes */
	{ "POST", "/api/v1/admin/products", FRONT_ROUTE_FOUND, "/api/v1/admin", "", "" },
	{ "GET", "/api/v1/admin/products", FRONT_ROUTE_NO_METHOD, "/api/v1/admin", "POST", "" },
	{ "POST", "/api/v1/admin/products/MUG-1.a_b/restock", FRONT_ROUTE_FOUND, "/api/v1/admin",
	  "", "MUG-1.a_b" },
	{ "POST", "/api/v1/admin/products/a b/restock", FRONT_ROUTE_BAD_ID, "/api/v1/admin", "", "" },
	{ "POST", "/api/v1/admin/products/a/b/restock", FRONT_ROUTE_BAD_ID, "/api/v1/admin", "", "" },
	{ "POST", "/api/v1/admin/products/"
	  "12345678901234567890123456789012345678901234567890123456789012345/restock",
	  FRONT_ROUTE_BAD_ID, "/api/v1/admin", "", "" },
	{ "GET", "/api/v1/admin/products/A/restock", FRONT_ROUTE_NO_METHOD, "/api/v1/admin", "POST",
	  "" },
	{ "POST", "/api/v1/admin/orders/" ID "/redrive", FRONT_ROUTE_FOUND, "/api/v1/admin", "", ID },
	{ "POST", "/api/v1/admin/orders/x/redrive", FRONT_ROUTE_BAD_ID, "/api/v1/admin", "", "" },
	{ "GET", "/api/v1/admin/dead-letters", FRONT_ROUTE_FOUND, "/api/v1/admin", "", "" },
	{ "GET", "/api/v1/admin/restocks", FRONT_ROUTE_FOUND, "/api/v1/admin", "", "" },
	/* unknown paths: 404 whatever the method */
	{ "GET", "/api/v1/admin", FRONT_ROUTE_NO_PATH, NULL, "", "" },
	{ "POST", "/api/v1/catalog/", FRONT_ROUTE_NO_PATH, NULL, "", "" },
	{ "GET", "/x", FRONT_ROUTE_NO_PATH, NULL, "", "" },
	{ "GET", "", FRONT_ROUTE_NO_PATH, NULL, "", "" },
	{ NULL, "/", FRONT_ROUTE_NO_PATH, NULL, "", "" },
	{ "GET", NULL, FRONT_ROUTE_NO_PATH, NULL, "", "" },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct want *w = &cases[i];
		struct front_route_match m;
		enum front_route_result r = front_route_find(w->method, w->path, &m);
		int ok = CHECK_EQ_INT(r, w->result);

		ok &= CHECK_EQ_STR(m.route ? m.route->label : NULL, w->label);
		ok &= CHECK_EQ_STR(m.allow, w->allow);
		ok &= CHECK_EQ_STR(m.id, w->id);
		if (!ok)
			fprintf(stderr, "  (%s %s)\n", w->method ? w->method : "(null)",
				w->path ? w->path : "(null)");
	}
}

/* Every route can be reached, and answers with exactly one reply. */
static void test_table(void)
{
	static const char *const reached[][2] = {
		{ "POST", ORDERS },
		{ "POST", ORDERS "/" ID "/cancel" },
		{ "GET", ORDERS "/" ID },
		{ "GET", "/api/v1/admin/orders" },
		{ "GET", "/api/v1/admin/reservations" },
		{ "GET", "/readyz" },
	};

	for (size_t i = 0; i < sizeof reached / sizeof reached[0]; i++) {
		struct front_route_match m;
		if (CHECK_EQ_INT(front_route_find(reached[i][0], reached[i][1], &m), FRONT_ROUTE_FOUND))
			CHECK_TRUE((m.route->reply == NULL) != (m.route->reply_id == NULL));
	}
}

int main(void)
{
	test_cases();
	test_table();
	return check_summary("test_front_routes");
}
