/* HTTP server helpers on civetweb: start, JSON replies, error bodies, bounded bodies. */
#include "http.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "service.h"

/* A request body larger than this that the handler left unread is not
 * drained: the connection is closed instead (see http_begin_request). */
#define HTTP_DRAIN_MAX (64 * 1024)

struct http_route {
	http_handler_fn handler;
	void *ctx;
	char address[64]; /* where http_stop's wake-up connects */
	int port;
	atomic_int stopped;
};

/* Set while a worker thread serves one request: whether the handler read the
 * whole body. civetweb runs one request at a time on a thread. */
static __thread int http_body_complete;

/* Set while http_error_page answers an error civetweb found itself: the
 * connection is closed after it (civetweb's must_close), so it says so. */
static __thread int http_in_error_page;

static pthread_once_t http_library_once = PTHREAD_ONCE_INIT;

static void http_library_init(void)
{
	mg_init_library(0);
}

static int http_is_chunked(const struct mg_connection *conn)
{
	const char *te = mg_get_header(conn, "Transfer-Encoding");
	return te != NULL && strcasecmp(te, "chunked") == 0;
}

/* A body that is still (partly) on the wire and too big to drain cheaply:
 * a 413 must not read it, nor a 404 or 415 that never looked at it. */
static int http_body_abandoned(const struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);

	if (http_body_complete || ri == NULL)
		return 0;
	return http_is_chunked(conn) || ri->content_length > HTTP_DRAIN_MAX;
}

/* Every request comes here. civetweb 1.15 reads and throws away whatever a
 * handler left of the body before the next request on the connection, for
 * as long as the client sends (a 200 MB body after a 413); only its own
 * internal close flag stops that. A negative return from begin_request makes
 * it skip the draining, and a body left unread ends the keep-alive, so the
 * connection is closed and nothing past the limit is read. */
static int http_begin_request(struct mg_connection *conn)
{
	struct http_route *route = mg_get_user_data(mg_get_context(conn));
	int status;

	http_body_complete = 0;
	status = route->handler(conn, route->ctx);
	return http_body_abandoned(conn) ? -1 : status;
}

static const char *http_error_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 408: return "request_timeout";
	case 411: return "length_required";
	case 413: return "body_too_large";
	case 414: return "uri_too_long";
	case 431: return "headers_too_large";
	case 500: return "internal";
	case 501: return "not_implemented";
	case 505: return "http_version_not_supported";
	default: return status >= 500 ? "server_error" : "bad_request";
	}
}

/* Errors civetweb answers itself (a broken request line, an oversized
 * header) get the same JSON error body as ours. Returns 1 to let civetweb
 * send its own page when a response can no longer be started. */
static int http_error_page(struct mg_connection *conn, int status, const char *message)
{
	int rc;

	http_in_error_page = 1;
	rc = http_reply_error(conn, status, http_error_code(status), "%s",
			      message && message[0] ? message : "bad request");
	http_in_error_page = 0;
	return rc < 0;
}

/* civetweb prints its own errors to stderr otherwise; route them to our log. */
static int http_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_debug("http: %s", message);
	return 1;
}

/* Why the last http_start failed; start-up runs on one thread. */
static char start_failure[256] = "unknown error";

const char *http_start_failure(void)
{
	return start_failure;
}

/* civetweb says only "Failed to setup server ports": binding the same
 * address ourselves tells the operator what is wrong (address in use). */
static void explain_listen_failure(const char *address, int port, const char *civetweb_text)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char service[16];
	int fd, one = 1;

	snprintf(start_failure, sizeof start_failure, "%s",
		 civetweb_text[0] ? civetweb_text : "unknown error");
	snprintf(service, sizeof service, "%d", port);
	if (getaddrinfo(address, service, &hints, &ai) != 0) {
		snprintf(start_failure, sizeof start_failure, "'%s' is not an IP address", address);
		return;
	}
	fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
			snprintf(start_failure, sizeof start_failure, "%s", strerror(errno));
		close(fd);
	}
	freeaddrinfo(ai);
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
	callbacks.begin_request = http_begin_request;
	callbacks.http_error = http_error_page;
	routes[n_routes].handler = handler;
	routes[n_routes].ctx = ctx;
	/* an unspecified address listens on loopback too */
	snprintf(routes[n_routes].address, sizeof routes[n_routes].address, "%s",
		 strcmp(bind, "0.0.0.0") == 0 ? "127.0.0.1" : strcmp(bind, "::") == 0 ? "::1" : bind);
	routes[n_routes].port = port;
	init.callbacks = &callbacks;
	init.user_data = &routes[n_routes];
	init.configuration_options = options;
	error.code = &errcode;
	error.text = errtext;
	error.text_buffer_size = sizeof errtext;
	mg = mg_start2(&init, &error);
	if (mg == NULL) {
		explain_listen_failure(bind, port, errtext);
		return NULL;
	}
	n_routes++;
	return mg;
}

/* Connects to the listener now and then until http_stop is done. */
static void *wake_listener(void *arg)
{
	struct http_route *route = arg;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char service[16];

	snprintf(service, sizeof service, "%d", route->port);
	if (getaddrinfo(route->address, service, &hints, &ai) != 0)
		return NULL;
	while (!atomic_load(&route->stopped)) {
		int fd = socket(ai->ai_family, ai->ai_socktype, 0);
		if (fd >= 0) {
			connect(fd, ai->ai_addr, ai->ai_addrlen);
			close(fd);
		}
		service_sleep_ms(20);
	}
	freeaddrinfo(ai);
	return NULL;
}

/* civetweb 1.15's master thread notices the stop flag only when its poll of
 * the listening socket returns, after up to 2 s (SOCKET_TIMEOUT_QUANTUM, a
 * compile-time constant): every service took 2 s to stop. A connection to
 * the listener wakes that poll; one made before mg_stop sets the flag is
 * just served, so they go on until mg_stop returns. */
void http_stop(struct mg_context *ctx)
{
	struct http_route *route;
	pthread_t waker;
	int waking;

	if (ctx == NULL)
		return;
	route = mg_get_user_data(ctx);
	waking = pthread_create(&waker, NULL, wake_listener, route) == 0;
	mg_stop(ctx);
	atomic_store(&route->stopped, 1);
	if (waking)
		pthread_join(waker, NULL);
}

/* Whether civetweb keeps the connection open after this answer: its own
 * rule (should_keep_alive in civetweb 1.15, keep-alive being enabled) for
 * a request it has not failed: the client's Connection header if it has
 * one, else the HTTP version's default. */
static int http_keeps_alive(const struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *header = mg_get_header(conn, "Connection");

	if (header != NULL) {
		for (const char *p = header; *p != '\0';) {
			size_t n;
			p += strspn(p, " \t,");
			n = strcspn(p, " \t,");
			if (n == strlen("keep-alive") && strncasecmp(p, "keep-alive", n) == 0)
				return 1;
			p += n;
		}
		return 0;
	}
	return ri != NULL && ri->http_version != NULL && strcmp(ri->http_version, "1.1") == 0;
}

/* The head and, when it fits, the body in one buffer and one mg_write:
 * civetweb's mg_response_header_send writes each header line with a send
 * of its own (nine per answer). The head is what it would have sent:
 * status line, our headers, Date and Connection. */
#define HTTP_ONE_WRITE_MAX 8192
int http_reply(struct mg_connection *conn, int status, const char *content_type,
	       const char *body, size_t len, const char *extra)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *method = http_method(conn);
	int send_body = len > 0 && (method == NULL || strcmp(method, "HEAD") != 0);
	int keep_alive = !http_in_error_page && !http_body_abandoned(conn) &&
			 http_keeps_alive(conn);
	char buf[HTTP_ONE_WRITE_MAX], date[64];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	/* civetweb's own check that nothing was sent yet; it writes nothing */
	if (mg_response_header_start(conn, status) != 0)
		return -1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	n = snprintf(buf, sizeof buf,
		     "HTTP/%s %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Cache-Control: no-store\r\n%sDate: %s\r\nConnection: %s\r\n\r\n",
		     ri != NULL && ri->http_version != NULL ? ri->http_version : "1.0", status,
		     mg_get_response_code_text(conn, status), content_type, len,
		     extra != NULL ? extra : "", date, keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof buf) {
		log_warn("http: the head of a %d answer is over %d bytes", status, HTTP_ONE_WRITE_MAX);
		static const char fallback[] = "HTTP/1.1 500 Internal Server Error\r\n"
					       "Content-Length: 0\r\nConnection: close\r\n\r\n";
		mg_write(conn, fallback, sizeof fallback - 1);
		return status;
	}
	if (send_body && (size_t)n + len <= sizeof buf) {
		memcpy(buf + n, body, len);
		mg_write(conn, buf, (size_t)n + len);
	} else {
		mg_write(conn, buf, (size_t)n);
		if (send_body)
			mg_write(conn, body, len);
	}
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

int http_reply_error_with(struct mg_connection *conn, int status, const char *extra,
			  const char *code, const char *message)
{
	cJSON *body = cJSON_CreateObject();
	char *text = NULL;
	int rc;

	if (body != NULL && cJSON_AddStringToObject(body, "error", code) != NULL &&
	    cJSON_AddStringToObject(body, "message", message) != NULL)
		text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (text == NULL)
		return http_reply(conn, status, "application/json", "{}", 2, extra);
	rc = http_reply(conn, status, "application/json", text, strlen(text), extra);
	cJSON_free(text);
	return rc;
}

int http_reply_error(struct mg_connection *conn, int status, const char *code,
		     const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	return http_reply_error_with(conn, status, status == 503 ? "Retry-After: 1\r\n" : NULL,
				      code, message);
}

int http_reply_not_allowed(struct mg_connection *conn, const char *allow)
{
	char extra[96], message[96];

	snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
	snprintf(message, sizeof message, "this path answers %s only", allow);
	return http_reply_error_with(conn, 405, extra, "method_not_allowed", message);
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
	http_body_complete = 1;
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

int http_method_reads(const char *method)
{
	return method != NULL && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
}

int http_token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	/* every byte of a is looked at, whatever matched before */
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

int http_bearer_check(struct mg_connection *conn, const struct http_bearer *b)
{
	const char *auth = mg_get_header(conn, "Authorization");
	size_t bearer = strlen("Bearer ");
	char challenge[128];

	if (b->token == NULL || b->token[0] == '\0')
		return http_reply_error(conn, 403, b->off_code, "%s", b->off_message);
	if (auth == NULL || strncasecmp(auth, "Bearer ", bearer) != 0) {
		char message[128];
		snprintf(challenge, sizeof challenge, "WWW-Authenticate: Bearer realm=\"%s\"\r\n",
			 b->realm);
		snprintf(message, sizeof message, "send Authorization: Bearer <%s>", b->what);
		return http_reply_error_with(conn, 401, challenge, "unauthorized", message);
	}
	if (!http_token_equal(auth + bearer, b->token))
		return http_reply_error(conn, 403, "forbidden", "wrong %s", b->what);
	return 0;
}

int http_internal_check(struct mg_connection *conn, const char *token)
{
	const struct http_bearer internal = {
		.token = token, .realm = "shop-internal", .what = "internal token",
		.off_code = "internal_disabled",
		.off_message = "no internal token is set: start the daemon with SHOP_INTERNAL_TOKEN "
			       "or SHOP_INTERNAL_TOKEN_FILE (./shop run makes one)",
	};

	return http_bearer_check(conn, &internal);
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
	if (metrics_write_process(out) != 0)
		log_warn("http: /metrics: cannot read /proc/self, process_* metrics incomplete");
	fclose(out);
	http_reply(conn, 200, "text/plain; version=0.0.4", text, len, NULL);
	free(text);
	return 200;
}
