/* A small HTTP/1.1 client on civetweb for the front's calls to the daemons. */
#include "http_client.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "settings.h"

#define HTTP_CLIENT_MAX_BODY (16 * 1024 * 1024)

int http_target_parse(const char *url, struct http_target *out)
{
	const char *host = url, *colon;
	long port;
	size_t n;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	host += 7;
	colon = strrchr(host, ':');
	if (colon == NULL || colon == host)
		return -1;
	n = (size_t)(colon - host);
	if (n >= sizeof out->host || settings_parse_long(colon + 1, 1, 65535, &port) != 0)
		return -1;
	memcpy(out->host, host, n);
	out->host[n] = '\0';
	out->port = (int)port;
	out->auth[0] = '\0';
	return 0;
}

int http_target_set_bearer(struct http_target *target, const char *token)
{
	int n;

	target->auth[0] = '\0';
	if (token == NULL)
		return 0;
	if (!settings_token_valid(token))
		return -1;
	n = snprintf(target->auth, sizeof target->auth, "Authorization: Bearer %s\r\n", token);
	if (n < 0 || (size_t)n >= sizeof target->auth) {
		target->auth[0] = '\0';
		return -1;
	}
	return 0;
}

void http_response_free(struct http_response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static int read_all(struct mg_connection *conn, long long expected, struct http_response *out)
{
	size_t cap = expected >= 0 ? (size_t)expected : 8192;
	char *buf;

	if (expected > HTTP_CLIENT_MAX_BODY)
		return -1;
	buf = malloc(cap + 1);
	if (buf == NULL)
		return -1;
	for (;;) {
		int n;
		if (out->len == cap) {
			char *bigger;
			if (expected >= 0 || cap >= HTTP_CLIENT_MAX_BODY)
				break;
			bigger = realloc(buf, cap * 2 + 1);
			if (bigger == NULL)
				break;
			buf = bigger;
			cap *= 2;
		}
		n = mg_read(conn, buf + out->len, cap - out->len);
		if (n <= 0)
			break;
		out->len += (size_t)n;
	}
	buf[out->len] = '\0';
	out->body = buf;
	if (expected >= 0 && out->len != (size_t)expected) {
		http_response_free(out);
		return -1;
	}
	return 0;
}

int http_client_get(const struct http_target *target, const char *path, int timeout_ms,
		    struct http_response *out)
{
	return http_client_get_with(target, path, NULL, timeout_ms, out);
}

int http_client_get_with(const struct http_target *target, const char *path, const char *headers,
			 int timeout_ms, struct http_response *out)
{
	return http_client_request(target, "GET", path, headers, timeout_ms, out);
}

int http_client_post(const struct http_target *target, const char *path, int timeout_ms,
		     struct http_response *out)
{
	return http_client_request(target, "POST", path, "Content-Length: 0\r\n", timeout_ms, out);
}

int http_client_request(const struct http_target *target, const char *method, const char *path,
			const char *headers, int timeout_ms, struct http_response *out)
{
	char err[256] = "";
	struct mg_connection *conn;
	const struct mg_response_info *ri;
	int rc = -1;

	memset(out, 0, sizeof *out);
	conn = mg_connect_client(target->host, target->port, 0, err, sizeof err);
	if (conn == NULL) {
		log_debug("http client: cannot connect to %s:%d: %s", target->host, target->port,
			  err);
		return -1;
	}
	mg_printf(conn, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s%sConnection: close\r\n\r\n", method,
		  path, target->host, target->port, target->auth, headers ? headers : "");
	if (mg_get_response(conn, err, sizeof err, timeout_ms) < 0) {
		log_debug("http client: no answer from %s:%d%s: %s", target->host, target->port,
			  path, err);
		goto out;
	}
	ri = mg_get_response_info(conn);
	out->status = ri->status_code;
	rc = read_all(conn, ri->content_length, out);
out:
	mg_close_connection(conn);
	return rc;
}
