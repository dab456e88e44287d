/* What the front's writing routes share (orders and the admin's writes): the
 * JSON content type, ids derived from an Idempotency-Key, and publishing an
 * event that counts only once the broker's PUBACK is in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <uuid/uuid.h>

#include "front.h"
#include "log.h"

/* Ids from Idempotency-Key are UUID v5 in this namespace, so the same key
 * always names the same order (or restock) and a retried POST cannot act
 * twice (docs/protocol.md §Crash safety). */
static const uuid_t idempotency_namespace = {
	0x6b, 0x1d, 0x5e, 0x3a, 0x9c, 0x2f, 0x4e, 0x71,
	0x8a, 0x0b, 0x53, 0xd4, 0x2e, 0x67, 0xf1, 0x09,
};

int front_json_content_type(struct mg_connection *conn)
{
	const char *type = mg_get_header(conn, "Content-Type");
	size_t n = strlen("application/json");

	return type != NULL && strncasecmp(type, "application/json", n) == 0 &&
	       (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* A time-ordered (version 7, RFC 9562) UUID: the Unix time in milliseconds
 * in its first 48 bits, then 74 bits from the kernel's CSPRNG. The daemons
 * key their orders, reservations and lines by this id, and a random key
 * puts each new order on a random page of every B-tree: with 10^6 orders
 * that was a page read and a scattered page write per tree per order,
 * where ids in time order land on the trees' last pages
 * (docs/design-notes.md §HTTP). The random bytes come from a per-thread
 * store filled 16 ids at a time, as libuuid's uuid_generate_random would
 * make them but without its reseeding of random() on every call (getpid,
 * getuid, getppid, gettid: six syscalls per order). */
static void time_ordered_uuid(uuid_t u)
{
	static __thread unsigned char pool[16 * sizeof(uuid_t)];
	static __thread size_t used = sizeof pool;
	struct timespec now;
	uint64_t ms;

	if (used == sizeof pool && getrandom(pool, sizeof pool, 0) == (ssize_t)sizeof pool)
		used = 0;
	if (used == sizeof pool) {
		uuid_generate_random(u); /* no bytes from getrandom: libuuid's */
	} else {
		memcpy(u, pool + used, sizeof(uuid_t));
		explicit_bzero(pool + used, sizeof(uuid_t));
		used += sizeof(uuid_t);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
	for (int i = 5; i >= 0; i--, ms >>= 8)
		u[i] = (unsigned char)(ms & 0xff);
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x70); /* version 7 */
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 9562 variant */
}

int front_idempotent_id(struct mg_connection *conn, const char *scope,
			char id[EVENT_ORDER_ID_LEN + 1])
{
	const char *key = mg_get_header(conn, "Idempotency-Key");
	char scoped[EVENT_SKU_MAX + 1 + FRONT_IDEMPOTENCY_KEY_MAX + 1];
	uuid_t u;
	size_t len;

	if (key == NULL) {
		time_ordered_uuid(u);
		uuid_unparse_lower(u, id);
		return 0;
	}
	len = strlen(key);
	if (len == 0 || len > FRONT_IDEMPOTENCY_KEY_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (key[i] < 0x21 || key[i] > 0x7e)
			return -1;
	}
	if (scope == NULL) {
		uuid_generate_sha1(u, idempotency_namespace, key, len);
	} else {
		/* "SKU key": a key is unique per resource, and a space is in
		 * neither a SKU nor a key, so two pairs never hash alike. */
		int n = snprintf(scoped, sizeof scoped, "%s %s", scope, key);
		if (n < 0 || (size_t)n >= sizeof scoped)
			return -1;
		uuid_generate_sha1(u, idempotency_namespace, scoped, (size_t)n);
	}
	uuid_unparse_lower(u, id);
	return 0;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int front_publish_event(struct front *f, const char *topic, const struct event *ev)
{
	struct timespec start;
	char *payload = event_encode(ev);
	int rc;

	if (payload == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = mqtt_publish_wait(f->mqtt, topic, payload, strlen(payload), f->publish_timeout_ms);
	if (rc == 0)
		metrics_observe(&f->publish_latency, seconds_since(&start));
	else if (rc == MQTT_UNCONFIRMED)
		log_warn("front: no PUBACK for %s of %s within %d ms", topic, event_subject(ev),
			 f->publish_timeout_ms);
	else /* at once: no connection, or the broker stalled (mqtt_publish_wait) */
		log_warn("front: %s of %s not sent: the broker is not answering", topic,
			 event_subject(ev));
	free(payload);
	return rc;
}

int front_read_event_body(struct mg_connection *conn, struct event *ev, const char *invalid,
			  body_parse_fn parse)
{
	char *body = NULL;
	size_t len = 0;
	char err[200];
	int status = 0;

	if (!front_json_content_type(conn))
		return http_reply_error(conn, 415, "unsupported_media_type",
					"send the body as Content-Type: application/json");
	switch (http_read_body(conn, FRONT_MAX_BODY, &body, &len)) {
	case HTTP_BODY_TOO_LARGE:
		return http_reply_error(conn, 413, "body_too_large",
					"the request body is over the limit of %d bytes", FRONT_MAX_BODY);
	case HTTP_BODY_ERROR:
		return http_reply_error(conn, 400, "invalid_body", "the request body could not be read");
	case HTTP_BODY_OK:
		break;
	}
	switch (parse(body, len, ev, err, sizeof err)) {
	case BODY_PARSE_INVALID_JSON:
		status = http_reply_error(conn, 400, "invalid_json", "the body is not valid JSON: %s", err);
		break;
	case BODY_PARSE_INVALID:
		status = http_reply_error(conn, 400, invalid, "%s", err);
		break;
	case BODY_PARSE_OK:
		break;
	}
	free(body);
	return status;
}
