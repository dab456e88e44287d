/* The admin API: read-only listings of orders, stock and reservations
 * behind a bearer token, relayed from the daemons' internal HTTP (routes in
 * http_api.c's table). */
#include "front.h"

int front_admin_authorize(struct mg_connection *conn, const struct front *f)
{
	const struct http_bearer admin = {
		.token = f->admin_token, .realm = "shop-admin", .what = "admin token",
		.off_code = "admin_disabled",
		.off_message = "the admin API is off: start the front with SHOP_ADMIN_TOKEN",
	};

	return http_bearer_check(conn, &admin);
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
