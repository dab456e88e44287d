/* The admin API: read-only listings of orders, stock and reservations
 * behind a bearer token, relayed from the daemons' internal HTTP (routes in
 * http_api.c's table). */
#include <string.h>
#include <strings.h>

#include "front.h"

/* Compares in time independent of where the strings differ. */
static int token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

int front_admin_authorize(struct mg_connection *conn, const struct front *f)
{
	const char *auth = mg_get_header(conn, "Authorization");
	size_t bearer = strlen("Bearer ");

	if (f->admin_token == NULL || f->admin_token[0] == '\0')
		return http_reply_error(conn, 403, "admin_disabled",
					"the admin API is off: start the front with SHOP_ADMIN_TOKEN");
	if (auth == NULL || strncasecmp(auth, "Bearer ", bearer) != 0)
		return http_reply_error_with(conn, 401,
					     "WWW-Authenticate: Bearer realm=\"shop-admin\"\r\n",
					     "unauthorized",
					     "send Authorization: Bearer <admin token>");
	if (!token_equal(auth + bearer, f->admin_token))
		return http_reply_error(conn, 403, "forbidden", "wrong admin token");
	return 0;
}

int front_admin_orders(struct mg_connection *conn, struct front *f)
{
	return front_relay(conn, &f->order, "/orders", "order service");
}

int front_admin_stock(struct mg_connection *conn, struct front *f)
{
	return front_relay(conn, &f->inventory, "/stock", "inventory");
}

int front_admin_reservations(struct mg_connection *conn, struct front *f)
{
	return front_relay(conn, &f->inventory, "/reservations", "inventory");
}

int front_admin_not_found(struct mg_connection *conn, struct front *f)
{
	(void)f;
	return http_reply_error(conn, 404, "not_found", "no such admin path");
}
