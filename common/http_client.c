/* The front's HTTP/1.1 client to the daemons, on libcurl, with connections kept alive. */
#include "http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "service.h"
#include "settings.h"

#define HTTP_CLIENT_MAX_BODY (16 * 1024 * 1024)
#define HTTP_CLIENT_MAX_TARGETS 8
#define HTTP_CLIENT_URL_MAX 2048

/* One daemon's connections: each is a curl easy handle that keeps its one
 * connection open between requests. Idle ones are reused newest first, so
 * the fewest stay warm and the rest are closed by the daemon's keep-alive
 * timeout (docs/internals.md §Connections to the daemons). */
struct pool_target {
	char host[128];
	int port;
	int open;   /* handles of this target, idle or in use */
	int n_idle; /* idle[0 .. n_idle - 1], newest last */
	CURL *idle[HTTP_CLIENT_CONNS_PER_TARGET];
	pthread_cond_t freed; /* a handle of this target came back */
};

static struct {
	pthread_mutex_t lock;
	pthread_condattr_t monotonic; /* waits are bounded by the monotonic clock */
	int n_targets;
	struct pool_target targets[HTTP_CLIENT_MAX_TARGETS];
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static int client_ready; /* curl_global_init and the condition variable succeeded */

static void client_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warn("http client: curl_global_init failed");
		return;
	}
	/* a clock step must not stretch a request's timeout */
	if (pthread_condattr_init(&pool.monotonic) == 0 &&
	    pthread_condattr_setclock(&pool.monotonic, CLOCK_MONOTONIC) == 0)
		client_ready = 1;
}

int http_client_init(void)
{
	pthread_once(&client_once, client_init_once);
	return client_ready ? 0 : -1;
}

void http_client_cleanup(void)
{
	if (!client_ready)
		return;
	pthread_mutex_lock(&pool.lock);
	for (int t = 0; t < pool.n_targets; t++) {
		struct pool_target *pt = &pool.targets[t];
		while (pt->n_idle > 0) {
			curl_easy_cleanup(pt->idle[--pt->n_idle]);
			pt->open--;
		}
	}
	pthread_mutex_unlock(&pool.lock);
}

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

/* The pool's entry for target, added when new; NULL when the table is full.
 * Called with the lock held. */
static struct pool_target *pool_find(const struct http_target *target)
{
	struct pool_target *pt;

	for (int t = 0; t < pool.n_targets; t++) {
		pt = &pool.targets[t];
		if (pt->port == target->port && strcmp(pt->host, target->host) == 0)
			return pt;
	}
	if (pool.n_targets == HTTP_CLIENT_MAX_TARGETS)
		return NULL;
	pt = &pool.targets[pool.n_targets];
	if (pthread_cond_init(&pt->freed, &pool.monotonic) != 0)
		return NULL;
	pool.n_targets++;
	snprintf(pt->host, sizeof pt->host, "%s", target->host);
	pt->port = target->port;
	return pt;
}

/* A handle for one request to target, idle or new, waiting until deadline_ms
 * while all HTTP_CLIENT_CONNS_PER_TARGET are in use. *slot is the pool entry
 * to give it back to (NULL: not pooled, the caller cleans it up). NULL when
 * none came in time or curl could not make one. */
static CURL *pool_take(const struct http_target *target, int64_t deadline_ms,
		       struct pool_target **slot)
{
	struct pool_target *pt;
	CURL *curl = NULL;
	int timed_out = 0;

	pthread_mutex_lock(&pool.lock);
	pt = pool_find(target);
	while (pt != NULL && pt->n_idle == 0 && pt->open >= HTTP_CLIENT_CONNS_PER_TARGET &&
	       !timed_out) {
		struct timespec ts = { .tv_sec = (time_t)(deadline_ms / 1000),
				       .tv_nsec = (long)(deadline_ms % 1000) * 1000000 };
		timed_out = pthread_cond_timedwait(&pt->freed, &pool.lock, &ts) != 0 &&
			    service_monotonic_ms() >= deadline_ms;
	}
	if (pt != NULL && pt->n_idle > 0) {
		curl = pt->idle[--pt->n_idle];
	} else if (pt != NULL && pt->open < HTTP_CLIENT_CONNS_PER_TARGET) {
		pt->open++; /* made below, outside the lock */
	} else if (pt != NULL) {
		pthread_mutex_unlock(&pool.lock);
		log_debug("http client: all %d connections to %s:%d stayed busy",
			 HTTP_CLIENT_CONNS_PER_TARGET, target->host, target->port);
		return NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	*slot = pt;
	if (curl != NULL)
		return curl;
	curl = curl_easy_init();
	if (curl == NULL) {
		log_warn("http client: curl_easy_init failed for %s:%d", target->host,
			 target->port);
		if (pt != NULL) {
			pthread_mutex_lock(&pool.lock);
			pt->open--;
			pthread_cond_signal(&pt->freed);
			pthread_mutex_unlock(&pool.lock);
		}
	}
	return curl;
}

/* Gives a handle back after its request, its connection kept for the next. */
static void pool_give(struct pool_target *pt, CURL *curl)
{
	if (pt == NULL) {
		curl_easy_cleanup(curl);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	pt->idle[pt->n_idle++] = curl;
	pthread_cond_signal(&pt->freed);
	pthread_mutex_unlock(&pool.lock);
}

struct body_sink {
	struct http_response *out;
	size_t cap;
};

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct body_sink *sink = arg;
	struct http_response *out = sink->out;
	size_t len = size * n;

	if (len > HTTP_CLIENT_MAX_BODY - out->len)
		return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
	if (out->len + len + 1 > sink->cap) {
		size_t cap = sink->cap ? sink->cap : 4096;
		char *bigger;
		while (cap < out->len + len + 1)
			cap *= 2;
		bigger = realloc(out->body, cap);
		if (bigger == NULL)
			return 0;
		out->body = bigger;
		sink->cap = cap;
	}
	memcpy(out->body + out->len, data, len);
	out->len += len;
	out->body[out->len] = '\0';
	return len;
}

/* Appends each "Name: value\r\n" line of lines to *list; 0 or -1. */
static int header_lines(struct curl_slist **list, const char *lines)
{
	while (lines != NULL && *lines != '\0') {
		const char *end = strstr(lines, "\r\n");
		size_t n = end ? (size_t)(end - lines) : strlen(lines);
		char line[512];
		struct curl_slist *more;

		if (n >= sizeof line)
			return -1;
		if (n > 0) {
			memcpy(line, lines, n);
			line[n] = '\0';
			more = curl_slist_append(*list, line);
			if (more == NULL)
				return -1;
			*list = more;
		}
		lines += n + (end ? 2 : 0);
	}
	return 0;
}

/* Sets every option of one request on curl; 0 or -1. Options are set anew
 * each time (a handle's earlier request may have been another method);
 * curl_easy_reset keeps the handle's open connection. */
static int request_setup(CURL *curl, const char *url, const char *method,
			 struct curl_slist *headers, long timeout_ms, struct body_sink *sink,
			 char *errbuf)
{
	CURLcode rc = CURLE_OK;

	curl_easy_reset(curl); /* keeps the connection */
	rc |= curl_easy_setopt(curl, CURLOPT_URL, url);
	rc |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	/* a user's http_proxy must not carry the shop's internal calls */
	rc |= curl_easy_setopt(curl, CURLOPT_PROXY, "");
	/* the path as the caller wrote it, no "/../" squashing */
	rc |= curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	/* threads: no SIGALRM for timeouts (there is no name to resolve on loopback) */
	rc |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_MAXCONNECTS, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	rc |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	rc |= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
	rc |= curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	if (strcmp(method, "HEAD") == 0) {
		rc |= curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") != 0) {
		/* any other method with an empty body: "Content-Length: 0" */
		rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
		rc |= curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	}
	return rc == CURLE_OK ? 0 : -1;
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
	return http_client_request(target, "POST", path, NULL, timeout_ms, out);
}

int http_client_request(const struct http_target *target, const char *method, const char *path,
			const char *headers, int timeout_ms, struct http_response *out)
{
	int64_t deadline_ms = service_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	char url[HTTP_CLIENT_URL_MAX], errbuf[CURL_ERROR_SIZE] = "";
	struct body_sink sink = { .out = out };
	struct curl_slist *list = NULL;
	struct pool_target *slot = NULL;
	CURL *curl = NULL;
	long status = 0, left_ms;
	CURLcode code;
	int n, rc = -1;

	memset(out, 0, sizeof *out);
	if (http_client_init() != 0)
		return -1;
	n = snprintf(url, sizeof url, "http://%s:%d%s", target->host, target->port, path);
	if (n < 0 || (size_t)n >= sizeof url) {
		log_warn("http client: a path of %zu bytes to %s:%d is too long", strlen(path),
			 target->host, target->port);
		return -1;
	}
	/* "Expect:" with no value: curl sends no "Expect: 100-continue" */
	if (header_lines(&list, target->auth) != 0 || header_lines(&list, headers) != 0 ||
	    header_lines(&list, "Expect:\r\n") != 0) {
		log_warn("http client: cannot build the request headers for %s:%d%s",
			 target->host, target->port, path);
		goto out;
	}
	curl = pool_take(target, deadline_ms, &slot);
	if (curl == NULL)
		goto out;
	left_ms = (long)(deadline_ms - service_monotonic_ms());
	if (request_setup(curl, url, method, list, left_ms > 0 ? left_ms : 1, &sink, errbuf) != 0) {
		log_warn("http client: cannot set the options of a request to %s", url);
		goto out;
	}
	code = curl_easy_perform(curl);
	if (code != CURLE_OK) {
		log_debug("http client: %s %s: %s", method, url,
			  errbuf[0] ? errbuf : curl_easy_strerror(code));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	out->status = (int)status;
	if (out->body == NULL) {
		out->body = calloc(1, 1);
		if (out->body == NULL)
			goto out;
	}
	rc = 0;
out:
	if (curl != NULL)
		pool_give(slot, curl); /* its pointers into this call are reset before use */
	curl_slist_free_all(list);
	if (rc != 0)
		http_response_free(out);
	return rc;
}
