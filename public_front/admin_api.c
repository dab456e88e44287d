/* The admin API: read-only listings of orders, stock and reservations
 * behind a bearer token, relayed from the daemons' internal HTTP. */
#include <string.h>
#include <strings.h>

#include "front.h"

#define ADMIN_PREFIX "/api/v1/admin/"

/* Compares in time independent of where the strings differ. */
static int token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

/* 0 when the request carries the admin token; else replies itself (401
 * without credentials, 403 with wrong ones or when no token is set) and
 * returns the status. */
static int admin_authorize(struct mg_connection *conn, const struct front *f)
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

int front_admin_is_path(const char *path)
{
	return strncmp(path, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) == 0;
}

/* Each listing and the daemon's internal path it relays. */
static const struct listing {
	const char *name;
	int from_inventory; /* else from the order daemon */
	const char *path;
} listings[] = {
	{ "orders", 0, "/orders" },
	{ "stock", 1, "/stock" },
	{ "reservations", 1, "/reservations" },
};

int front_admin_reply(struct mg_connection *conn, struct front *f, const char **route)
{
	const char *what = http_path(conn) + strlen(ADMIN_PREFIX);
	const char *method = http_method(conn);
	int status;

	*route = "/api/v1/admin";
	if ((status = admin_authorize(conn, f)) != 0)
		return status;
	for (size_t i = 0; i < sizeof listings / sizeof listings[0]; i++) {
		const struct listing *l = &listings[i];
		if (strcmp(what, l->name) != 0)
			continue;
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return http_reply_not_allowed(conn, "GET, HEAD");
		return l->from_inventory
			       ? front_relay(conn, &f->inventory, l->path, "inventory", NULL, f)
			       : front_relay(conn, &f->order, l->path, "order service", NULL, f);
	}
	return http_reply_error(conn, 404, "not_found", "no such admin path");
}
