/* The front's HTTP/1.1 client to the daemons (libcurl), connections kept alive and reused. */
#ifndef SHOP_HTTP_CLIENT_H
#define SHOP_HTTP_CLIENT_H

#include <stddef.h>

/* The most connections a process keeps to one daemon (host and port), in
 * use or idle; a request waits for one while all are busy. Each open one
 * holds one of the daemon's HTTP threads (docs/internals.md §Connections
 * to the daemons). */
#define HTTP_CLIENT_CONNS_PER_TARGET 4

/* Sets up libcurl: call once in main before any thread starts (the first
 * request does it otherwise). 0 or -1. */
int http_client_init(void);
/* Closes the idle connections; at exit, after the threads that make requests
 * have stopped. */
void http_client_cleanup(void);

struct http_target {
	char host[128];
	int port;
	char auth[300]; /* "Authorization: Bearer <token>\r\n" sent with every request, or "" */
};

/* Parses "http://host:port" (no path); 0 or -1. No token. */
int http_target_parse(const char *url, struct http_target *out);
/* Sends "Authorization: Bearer <token>" with every request to target from now
 * on (NULL: none). 0, or -1 for a token that does not fit a header line. */
int http_target_set_bearer(struct http_target *target, const char *token);

struct http_response {
	int status;
	char *body; /* NUL-terminated; free with http_response_free */
	size_t len;
};

/* GET path; 0 with any HTTP status in out (body never NULL), -1 when the
 * peer could not be reached or answered garbage within timeout_ms, which
 * includes the wait for a free connection. A connection the daemon closed
 * meanwhile (a restart) is replaced by a new one without a failure. */
int http_client_get(const struct http_target *target, const char *path, int timeout_ms,
		    struct http_response *out);
/* The same with extra request header lines ("Name: value\r\n" each, or NULL). */
int http_client_get_with(const struct http_target *target, const char *path, const char *headers,
			 int timeout_ms, struct http_response *out);
/* POST path with an empty body (an action such as a re-drive). */
int http_client_post(const struct http_target *target, const char *path, int timeout_ms,
		     struct http_response *out);
/* Any method; headers as for http_client_get_with. */
int http_client_request(const struct http_target *target, const char *method, const char *path,
			const char *headers, int timeout_ms, struct http_response *out);
void http_response_free(struct http_response *r);

#endif
