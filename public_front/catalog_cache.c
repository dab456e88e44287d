/* GET /api/v1/catalog from a copy at most FRONT_CATALOG_MAX_AGE_MS old.
 *
 * Every catalog read otherwise costs a connection to the inventory and a
 * query; shop pages read the catalog far more often than stock changes
 * matters to them. "available" is advisory anyway: the reservation at order
 * time decides, so a fifth of a second of staleness never oversells. */
#include <stdlib.h>
#include <string.h>

#include "front.h"

/* A copy of the cached body for one reply (the caller frees it), or NULL
 * when the copy is too old or missing. */
static char *cached_copy(struct front_catalog *c, size_t *len)
{
	char *copy = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->body != NULL && service_now_ms() - c->fetched_ms < FRONT_CATALOG_MAX_AGE_MS) {
		copy = malloc(c->len);
		if (copy != NULL) {
			memcpy(copy, c->body, c->len);
			*len = c->len;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return copy;
}

/* Keeps a copy of a fresh 200 answer; takes nothing from r. */
static void remember(struct front_catalog *c, const struct http_response *r, int64_t fetched_ms)
{
	char *copy = malloc(r->len);

	if (copy == NULL)
		return;
	memcpy(copy, r->body, r->len);
	pthread_mutex_lock(&c->lock);
	if (fetched_ms > c->fetched_ms) {
		free(c->body);
		c->body = copy;
		c->len = r->len;
		c->fetched_ms = fetched_ms;
		copy = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	free(copy);
}

int front_catalog_reply(struct mg_connection *conn, struct front *f)
{
	struct http_response r;
	size_t len = 0;
	char *body = cached_copy(&f->catalog, &len);
	int64_t asked_ms;
	int status;

	if (body != NULL) {
		status = http_reply(conn, 200, "application/json", body, len, NULL);
		free(body);
		return status;
	}
	asked_ms = service_now_ms();
	if (http_client_get(&f->inventory, "/catalog", FRONT_DAEMON_TIMEOUT_MS, &r) != 0)
		return http_reply_error(conn, 503, "service_unavailable",
					"the inventory service cannot be reached");
	if (r.status == 200) {
		remember(&f->catalog, &r, asked_ms);
		status = http_reply(conn, 200, "application/json", r.body, r.len, NULL);
	} else {
		status = http_reply_error(conn, 503, "service_unavailable",
					  "the inventory service answered %d", r.status);
	}
	http_response_free(&r);
	return status;
}

void front_catalog_forget(struct front_catalog *c)
{
	pthread_mutex_lock(&c->lock);
	free(c->body);
	c->body = NULL;
	c->fetched_ms = service_now_ms(); /* an answer asked for before now is too old */
	pthread_mutex_unlock(&c->lock);
}

void front_catalog_free(struct front_catalog *c)
{
	free(c->body);
	c->body = NULL;
}
