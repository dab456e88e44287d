/* Relays a daemon's answer to a GET to the client: how the front serves what
 * the daemons know (an order, the admin listings) over its public API. */
#include "front.h"

int front_relay_answer(struct mg_connection *conn, const struct http_response *r, const char *who)
{
	if (r == NULL)
		return http_reply_error(conn, 503, "service_unavailable", "the %s cannot be reached",
					who);
	if (r->status == 200)
		return http_reply(conn, 200, "application/json", r->body, r->len, NULL);
	if (r->status == 404)
		return http_reply_error(conn, 404, "not_found", "not found");
	return http_reply_error(conn, 503, "service_unavailable", "the %s answered %d", who,
				r->status);
}

int front_relay(struct mg_connection *conn, const struct http_target *target, const char *path,
		const char *who)
{
	struct http_response r;
	int reached = http_client_get(target, path, FRONT_DAEMON_TIMEOUT_MS, &r) == 0;
	int status = front_relay_answer(conn, reached ? &r : NULL, who);

	http_response_free(&r);
	return status;
}
