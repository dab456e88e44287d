/* GET /api/v1/orders/{id}/events: an order's status as Server-Sent Events,
 * pushed from the order daemon's order/status messages (docs/protocol.md
 * §HTTP API of the front, §Topics). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front.h"
#include "log.h"

#define STREAM_LIFETIME_MS (60 * 1000) /* then the client reconnects */
#define STREAM_PING_MS (15 * 1000)     /* a comment line keeps proxies from timing out */
#define STREAM_RETRY_MS 1000         /* a browser reconnects after this */
#define STREAM_DATA_MAX (64 * 1024)    /* an order's JSON, as GET answers it */
/* How long a stream waits for an order the order daemon does not know yet:
 * a page opens the stream right after the 202, maybe before the order
 * daemon recorded the order; its first order/status then wakes the stream. */
#define STREAM_UNKNOWN_GRACE_MS 1500

/* One open stream, on its handler's stack, in the front's list while open. */
struct front_stream {
	struct front_stream *next;
	char order_id[EVENT_ORDER_ID_LEN + 1];
	pthread_cond_t wake;
	/* the newest order/status heard for this order (rank -1: none yet) */
	int heard_rank;
	struct event heard;
};

int front_streams_init(struct front_streams *s, int max)
{
	pthread_condattr_t attr;

	s->head = NULL;
	s->open = 0;
	s->max = max;
	s->stopping = 0;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		return -1;
	/* waits measured on the monotonic clock: a step of the wall clock must
	 * not end or stretch a stream */
	if (pthread_condattr_init(&attr) != 0 ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0) {
		pthread_mutex_destroy(&s->lock);
		return -1;
	}
	s->cond_attr = attr;
	return 0;
}

void front_streams_destroy(struct front_streams *s)
{
	pthread_condattr_destroy(&s->cond_attr);
	pthread_mutex_destroy(&s->lock);
}

int front_streams_open(struct front_streams *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->open;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void front_streams_stop(struct front_streams *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	for (struct front_stream *st = s->head; st != NULL; st = st->next)
		pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&s->lock);
}

void front_streams_on_status(struct front_streams *s, const struct event *ev)
{
	int rank = event_status_rank(ev->status);

	pthread_mutex_lock(&s->lock);
	for (struct front_stream *st = s->head; st != NULL; st = st->next) {
		/* a duplicate or a message older than one heard changes nothing */
		if (strcmp(st->order_id, ev->order_id) != 0 || rank <= st->heard_rank)
			continue;
		st->heard_rank = rank;
		st->heard = *ev;
		pthread_cond_signal(&st->wake);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Joins the list unless it is full or the front is stopping; 0 or -1. */
static int stream_register(struct front_streams *s, struct front_stream *st, const char *id)
{
	int rc = -1;

	memset(st, 0, sizeof *st);
	snprintf(st->order_id, sizeof st->order_id, "%s", id);
	st->heard_rank = -1;
	if (pthread_cond_init(&st->wake, &s->cond_attr) != 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	if (!s->stopping && s->open < s->max) {
		st->next = s->head;
		s->head = st;
		s->open++;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		pthread_cond_destroy(&st->wake);
	return rc;
}

static void stream_unregister(struct front_streams *s, struct front_stream *st)
{
	pthread_mutex_lock(&s->lock);
	for (struct front_stream **p = &s->head; *p != NULL; p = &(*p)->next) {
		if (*p == st) {
			*p = st->next;
			s->open--;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	pthread_cond_destroy(&st->wake);
}

/* The status word of an order's JSON (GET's answer) as a rank; -1 when it
 * has none we know. */
static int body_rank(const struct http_response *r)
{
	cJSON *root = cJSON_ParseWithLength(r->body, r->len);
	int rank = event_status_rank(
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status")));

	cJSON_Delete(root);
	return rank;
}

/* One "event: status" with data on one line (the JSON has no raw newline);
 * 0, or -1 when the client is gone. */
static int send_status(struct mg_connection *conn, struct front *f, const char *json, size_t len,
		       int rank)
{
	if (len > STREAM_DATA_MAX || memchr(json, '\n', len) != NULL ||
	    memchr(json, '\r', len) != NULL)
		return -1;
	/* as GET does: a client shown a final status then reads a fresh catalog */
	if (rank > 0)
		front_catalog_forget(&f->catalog);
	if (mg_printf(conn, "event: status\ndata: ") <= 0 || mg_write(conn, json, len) <= 0 ||
	    mg_printf(conn, "\n\n") <= 0)
		return -1;
	return 0;
}

/* Waits on the stream until until_ms (monotonic) or a wake-up; the lock is held. */
static void wait_until(struct front_stream *st, pthread_mutex_t *lock, int64_t until_ms)
{
	struct timespec ts = { .tv_sec = (time_t)(until_ms / 1000),
			       .tv_nsec = (long)(until_ms % 1000) * 1000000 };

	pthread_cond_timedwait(&st->wake, lock, &ts);
}

/* A status heard after rank was shown: the order daemon's current JSON
 * (which has the items, as GET), or, when it cannot be asked, the message's. */
static int send_newer(struct mg_connection *conn, struct front *f, const struct event *heard,
		      int heard_rank, int *shown_rank)
{
	struct http_response r;
	char path[96];
	int rc, rank = -1;

	memset(&r, 0, sizeof r);
	snprintf(path, sizeof path, "/orders/%s", heard->order_id);
	if (http_client_get(&f->order, path, FRONT_DAEMON_TIMEOUT_MS, &r) == 0 && r.status == 200)
		rank = body_rank(&r);
	if (rank >= heard_rank) {
		rc = send_status(conn, f, r.body, r.len, rank);
		*shown_rank = rank;
	} else {
		/* the order daemon cannot be asked: what the message says (its
		 * order_id, status, total_cents, reason, sku; no items) */
		char *json = event_encode(heard);
		rc = json ? send_status(conn, f, json, strlen(json), heard_rank) : -1;
		*shown_rank = heard_rank;
		free(json);
	}
	http_response_free(&r);
	return rc;
}

/* After the first event: each newer status, a ping every STREAM_PING_MS,
 * until a final status, the lifetime's end, the client leaving or the
 * front stopping. */
static void stream_follow(struct mg_connection *conn, struct front *f, struct front_stream *st,
			  int shown_rank)
{
	struct front_streams *s = &f->streams;
	int64_t end_ms = service_monotonic_ms() + STREAM_LIFETIME_MS;
	int64_t ping_ms = service_monotonic_ms() + STREAM_PING_MS;
	struct event *heard = malloc(sizeof *heard);

	if (heard == NULL)
		return;
	while (shown_rank == 0) {
		int heard_rank, stopping;
		int64_t now = service_monotonic_ms();

		pthread_mutex_lock(&s->lock);
		if (st->heard_rank <= shown_rank && !s->stopping && now < end_ms)
			wait_until(st, &s->lock, ping_ms < end_ms ? ping_ms : end_ms);
		heard_rank = st->heard_rank;
		if (heard_rank > shown_rank)
			*heard = st->heard;
		stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);

		if (stopping)
			break;
		if (heard_rank > shown_rank) {
			if (send_newer(conn, f, heard, heard_rank, &shown_rank) != 0)
				break;
			continue;
		}
		now = service_monotonic_ms();
		if (now >= end_ms)
			break;
		if (now >= ping_ms) {
			if (mg_printf(conn, ": ping\n\n") <= 0)
				break; /* the client is gone */
			ping_ms = now + STREAM_PING_MS;
		}
	}
	free(heard);
}

/* GETs the order from the order daemon into r; 1 when it answered. A 404
 * is asked again when an order/status of the order arrives within
 * STREAM_UNKNOWN_GRACE_MS (st is registered, so none is missed). */
static int fetch_current(struct front *f, struct front_stream *st, const char *path,
			 struct http_response *r)
{
	struct front_streams *s = &f->streams;
	int64_t give_up_ms = service_monotonic_ms() + STREAM_UNKNOWN_GRACE_MS;

	for (;;) {
		int heard, stopping;

		if (http_client_get(&f->order, path, FRONT_DAEMON_TIMEOUT_MS, r) != 0)
			return 0;
		if (r->status != 404 || service_monotonic_ms() >= give_up_ms)
			return 1;
		pthread_mutex_lock(&s->lock);
		if (st->heard_rank < 0 && !s->stopping)
			wait_until(st, &s->lock, give_up_ms);
		heard = st->heard_rank >= 0;
		stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (!heard || stopping)
			return 1; /* the 404 stands */
		http_response_free(r);
	}
}

/* Sends the head of the stream: no Content-Length (the body ends when the
 * connection closes, so keep-alive is off), never cached nor buffered. */
static int send_head(struct mg_connection *conn)
{
	mg_disable_connection_keep_alive(conn);
	if (mg_response_header_start(conn, 200) != 0)
		return -1;
	mg_response_header_add(conn, "Content-Type", "text/event-stream; charset=utf-8", -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(conn, "X-Accel-Buffering", "no", -1);
	return mg_response_header_send(conn) == 0 ? 0 : -1;
}

int front_order_events(struct mg_connection *conn, struct front *f, const char *id)
{
	struct front_stream st;
	struct http_response r;
	char path[96];
	int reached, rank, shown_rank;

	memset(&r, 0, sizeof r);
	/* Registered before the current status is read: a change between the
	 * read and the registration would otherwise never be shown. */
	if (stream_register(&f->streams, &st, id) != 0) {
		atomic_fetch_add(&f->streams.refused, 1);
		return http_reply_error(conn, 503, "too_many_streams",
					"this front serves as many order status streams as it may"
					" (SHOP_SSE_MAX); poll GET /api/v1/orders/{id}");
	}
	snprintf(path, sizeof path, "/orders/%s", id);
	reached = fetch_current(f, &st, path, &r);
	rank = reached && r.status == 200 ? body_rank(&r) : -1;
	if (rank < 0) {
		/* 404 as not_found, the rest 503, as GET answers them */
		int status = reached && r.status == 200
				     ? http_reply_error(conn, 503, "service_unavailable",
							"the order service answered without a status")
				     : front_relay_answer(conn, reached ? &r : NULL, "order service");
		http_response_free(&r);
		stream_unregister(&f->streams, &st);
		return status;
	}
	/* retry: a browser's EventSource reconnects a second after the stream
	 * ends before the page closed it (a restarted front, the lifetime) */
	if (send_head(conn) == 0 && strcmp(http_method(conn), "HEAD") != 0 &&
	    mg_printf(conn, "retry: %d\n\n", STREAM_RETRY_MS) > 0 &&
	    send_status(conn, f, r.body, r.len, rank) == 0) {
		shown_rank = rank;
		http_response_free(&r);
		stream_follow(conn, f, &st, shown_rank);
	} else {
		http_response_free(&r);
	}
	stream_unregister(&f->streams, &st);
	return 200;
}
