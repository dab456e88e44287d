/* HTTP server helpers on civetweb: start, JSON replies, error bodies, bounded bodies. */
#include "http.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct http_route {
	http_handler_fn handler;
	void *ctx;
};

static pthread_once_t http_library_once = PTHREAD_ONCE_INIT;

static void http_library_init(void)
{
	mg_init_library(0);
}

static int http_dispatch(struct mg_connection *conn, void *cbdata)
{
	struct http_route *route = cbdata;
	return route->handler(conn, route->ctx);
}

/* civetweb prints its own errors to stderr otherwise; route them to our log. */
static int http_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_debug("http: %s", message);
	return 1;
}

struct mg_context *http_start(const char *bind, int port, int threads,
			      http_handler_fn handler, void *ctx)
{
	static struct http_route routes[4];
	static int n_routes;
	struct mg_callbacks callbacks;
	struct mg_init_data init;
	struct mg_error_data error;
	char listen[160], nthreads[16], errtext[256] = "";
	unsigned errcode = 0;
	struct mg_context *mg;
	const char *options[] = {
		"listening_ports", listen,
		"num_threads", nthreads,
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "15000",
		"request_timeout_ms", "10000",
		"tcp_nodelay", "1",
		NULL,
	};

	if (n_routes >= 4)
		return NULL;
	pthread_once(&http_library_once, http_library_init);
	if (strchr(bind, ':') != NULL)
		snprintf(listen, sizeof listen, "[%s]:%d", bind, port);
	else
		snprintf(listen, sizeof listen, "%s:%d", bind, port);
	snprintf(nthreads, sizeof nthreads, "%d", threads);
	memset(&callbacks, 0, sizeof callbacks);
	callbacks.log_message = http_log_message;
	init.callbacks = &callbacks;
	init.user_data = NULL;
	init.configuration_options = options;
	error.code = &errcode;
	error.text = errtext;
	error.text_buffer_size = sizeof errtext;
	mg = mg_start2(&init, &error);
	if (mg == NULL) {
		log_warn("http: cannot listen on %s: %s", listen,
			 errtext[0] ? errtext : "unknown error");
		return NULL;
	}
	routes[n_routes].handler = handler;
	routes[n_routes].ctx = ctx;
	mg_set_request_handler(mg, "/", http_dispatch, &routes[n_routes]);
	n_routes++;
	return mg;
}

void http_stop(struct mg_context *ctx)
{
	if (ctx != NULL)
		mg_stop(ctx);
}

int http_reply(struct mg_connection *conn, int status, const char *content_type,
	       const char *body, size_t len, const char *extra)
{
	char length[32];

	snprintf(length, sizeof length, "%zu", len);
	mg_response_header_start(conn, status);
	mg_response_header_add(conn, "Content-Type", content_type, -1);
	mg_response_header_add(conn, "Content-Length", length, -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	if (extra != NULL)
		mg_response_header_add_lines(conn, extra);
	mg_response_header_send(conn);
	if (len > 0 && strcmp(http_method(conn), "HEAD") != 0)
		mg_write(conn, body, len);
	return status;
}

int http_reply_json(struct mg_connection *conn, int status, const cJSON *json)
{
	char *text = cJSON_PrintUnformatted(json);

	if (text == NULL)
		return http_reply_error(conn, 500, "internal", "out of memory");
	http_reply(conn, status, "application/json", text, strlen(text), NULL);
	cJSON_free(text);
	return status;
}

int http_reply_error(struct mg_connection *conn, int status, const char *code,
		     const char *fmt, ...)
{
	char message[512];
	const char *extra = NULL;
	cJSON *body = cJSON_CreateObject();
	char *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(body, "error", code);
	cJSON_AddStringToObject(body, "message", message);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (status == 503)
		extra = "Retry-After: 1\r\n";
	if (status == 413) {
		/* The rest of the body was never read: the connection cannot go on. */
		extra = "Connection: close\r\n";
	}
	if (text == NULL)
		return http_reply(conn, status, "application/json", "{}", 2, extra);
	http_reply(conn, status, "application/json", text, strlen(text), extra);
	cJSON_free(text);
	return status;
}

enum http_body_result http_read_body(struct mg_connection *conn, size_t limit,
				     char **out, size_t *len)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	size_t cap, used = 0;
	char *buf;

	*out = NULL;
	*len = 0;
	if (ri->content_length > (long long)limit)
		return HTTP_BODY_TOO_LARGE;
	cap = ri->content_length >= 0 ? (size_t)ri->content_length : 4096;
	buf = malloc(cap + 1);
	if (buf == NULL)
		return HTTP_BODY_ERROR;
	for (;;) {
		int n;
		if (used == cap) {
			char *bigger;
			if (ri->content_length >= 0)
				break;
			if (cap >= limit + 1) {
				free(buf);
				return HTTP_BODY_TOO_LARGE;
			}
			cap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
			bigger = realloc(buf, cap + 1);
			if (bigger == NULL) {
				free(buf);
				return HTTP_BODY_ERROR;
			}
			buf = bigger;
		}
		n = mg_read(conn, buf + used, cap - used);
		if (n < 0) {
			free(buf);
			return HTTP_BODY_ERROR;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > limit) {
		free(buf);
		return HTTP_BODY_TOO_LARGE;
	}
	if (ri->content_length >= 0 && used != (size_t)ri->content_length) {
		free(buf);
		return HTTP_BODY_ERROR;
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	return HTTP_BODY_OK;
}

const char *http_path(const struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	return ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
}

const char *http_method(const struct mg_connection *conn)
{
	return mg_get_request_info(conn)->request_method;
}

int http_reply_health(struct mg_connection *conn, int broker_ready, long long lag_ms)
{
	char body[128];
	int len = snprintf(body, sizeof body, "{\"status\":\"%s\",\"broker\":\"%s\",\"lag_ms\":%lld}",
			   broker_ready ? "ok" : "degraded",
			   broker_ready ? "connected" : "disconnected", lag_ms);

	return http_reply(conn, broker_ready ? 200 : 503, "application/json", body, (size_t)len,
			  NULL);
}

int http_reply_metrics(struct mg_connection *conn, void (*write)(FILE *out, void *ctx), void *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (out == NULL)
		return http_reply_error(conn, 500, "internal", "out of memory");
	write(out, ctx);
	fclose(out);
	http_reply(conn, 200, "text/plain; version=0.0.4", text, len, NULL);
	free(text);
	return 200;
}
