/* HTTP server helpers on civetweb: start, JSON replies, error bodies, bounded bodies. */
#ifndef SHOP_HTTP_H
#define SHOP_HTTP_H

#include <civetweb.h>
#include <stddef.h>
#include <stdio.h>

struct cJSON;

/* Handles one request; returns the HTTP status it answered. */
typedef int (*http_handler_fn)(struct mg_connection *conn, void *ctx);

/* How long a kept-alive connection may stay idle before the server closes
 * it. Each idle one holds a worker thread, which civetweb 1.15 lets go at a
 * stop only when that wait ends (or after 2 s): the daemons, whose clients
 * are the fronts' pools (common/http_client.c), close idle connections soon,
 * so a stopping daemon is not held up by them; the public front keeps a
 * browser's for 15 s (docs/internals.md §Connections to the daemons). */
#define HTTP_KEEP_ALIVE_PUBLIC_MS 15000
#define HTTP_KEEP_ALIVE_INTERNAL_MS 500

/* Listens on bind:port with keep-alive (idle ones closed after keep_alive_ms)
 * and TCP_NODELAY, every path to handler. NULL on failure, and
 * http_start_failure() says why ("Address already in use"). */
struct mg_context *http_start(const char *bind, int port, int threads, int keep_alive_ms,
			      http_handler_fn handler, void *ctx);
const char *http_start_failure(void);
void http_stop(struct mg_context *ctx);

/* Sends a complete response with Content-Length; extra is NULL or
 * "Name: value" header lines each ending in \r\n. Returns status, or -1
 * when a response was already started. A body the handler left unread and
 * too big to drain gets "Connection: close" and is never read. */
int http_reply(struct mg_connection *conn, int status, const char *content_type,
	       const char *body, size_t len, const char *extra);
int http_reply_json(struct mg_connection *conn, int status, const struct cJSON *json);
/* {"error": code, "message": text}. Returns status. */
int http_reply_error(struct mg_connection *conn, int status, const char *code,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The error body with extra header lines ("Name: value\r\n" each, or NULL). */
int http_reply_error_with(struct mg_connection *conn, int status, const char *extra,
			  const char *code, const char *message);
/* 405 with the error body and "Allow: allow" (e.g. "GET, HEAD"). */
int http_reply_not_allowed(struct mg_connection *conn, const char *allow);

enum http_body_result {
	HTTP_BODY_OK = 0,
	HTTP_BODY_ERROR = -1,     /* the client went away or sent a broken body */
	HTTP_BODY_TOO_LARGE = -2, /* over limit: nothing past the limit was read */
};
/* Reads the request body (Content-Length or chunked) up to limit bytes into a
 * NUL-terminated buffer the caller frees. */
enum http_body_result http_read_body(struct mg_connection *conn, size_t limit,
				     char **out, size_t *len);

/* The path of the request without its query string; NULL if missing. */
const char *http_path(const struct mg_connection *conn);
const char *http_method(const struct mg_connection *conn);
/* True for the methods of a read-only path: GET and HEAD (http_reply sends
 * no body to a HEAD). NULL is neither. */
int http_method_reads(const char *method);

/* A bearer token that http_bearer_check requires (docs/protocol.md §HTTP API
 * for the admin API, §Settings for the daemons' internal HTTP). */
struct http_bearer {
	const char *token;            /* NULL or "": every request gets 403 off_code */
	const char *realm;            /* of the 401's WWW-Authenticate */
	const char *what;             /* "admin token": named in the messages */
	const char *off_code, *off_message; /* the 403 when no token is set */
};
/* 0 when the request carries "Authorization: Bearer <token>" (compared in
 * constant time); otherwise replies with the error body, 401 without the
 * header, 403 with a wrong token, and returns that status. */
int http_bearer_check(struct mg_connection *conn, const struct http_bearer *b);
/* http_bearer_check for the daemons' internal HTTP, on everything but
 * /healthz and /metrics (docs/protocol.md §Settings, SHOP_INTERNAL_TOKEN). */
int http_internal_check(struct mg_connection *conn, const char *token);
/* Whether a and b are equal, in time that does not depend on where they differ. */
int http_token_equal(const char *a, const char *b);

/* GET /healthz of a daemon: 200 while the broker connection is up, else 503;
 * lag_ms (consumer's lag) tells the front how far behind the daemon runs. */
int http_reply_health(struct mg_connection *conn, int broker_ready, long long lag_ms);
/* Replies with what write(out, ctx) printed, as Prometheus text. */
int http_reply_metrics(struct mg_connection *conn, void (*write)(FILE *out, void *ctx), void *ctx);

#endif
