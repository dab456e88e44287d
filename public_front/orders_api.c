/* The order routes of the public API: place, read and cancel an order. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "front.h"
#include "log.h"
#include "order_body.h"

static void withdraw_done(void *ctx, int ok)
{
	char *order_id = ctx;

	if (ok)
		log_info("front: order %s withdrawn (its order/cancel was acknowledged)", order_id);
	else
		log_warn("front: the order/cancel withdrawing order %s failed; it may still be placed",
			 order_id);
	free(order_id);
}

/* The broker did not confirm an order/send that Paho had sent, so it may
 * still deliver it, while the client is told 503, nothing was ordered.
 * Without an Idempotency-Key the client's retry is a new order; the front
 * withdraws this one with an order/cancel, which wins in any order of
 * arrival and returns stock once. Paho keeps it behind the send. */
static void withdraw_order(struct front *f, const char *order_id)
{
	struct event cancel = { .kind = EVENT_ORDER_CANCEL };
	char *payload, *ctx = strdup(order_id);

	snprintf(cancel.order_id, sizeof cancel.order_id, "%s", order_id);
	payload = event_encode(&cancel);
	if (payload == NULL || ctx == NULL ||
	    mqtt_publish(f->mqtt, f->topic_cancel, payload, strlen(payload), 0, withdraw_done,
			 ctx) != 0) {
		log_warn("front: cannot withdraw order %s (no broker connection); it may still be placed",
			 order_id);
		free(ctx);
	}
	free(payload);
}

/* A 503 for an order the broker did not confirm; see withdraw_order. */
static int reply_not_placed(struct mg_connection *conn, struct front *f, const struct event *ev,
			    int publish_rc)
{
	if (mg_get_header(conn, "Idempotency-Key") != NULL)
		return http_reply_error(conn, 503, "broker_unavailable",
					"the message broker did not confirm the order; retry with the same Idempotency-Key, it is placed at most once");
	if (publish_rc == MQTT_UNCONFIRMED)
		withdraw_order(f, ev->order_id);
	return http_reply_error(conn, 503, "broker_unavailable",
				"the order could not be handed to the message broker; nothing was ordered, try again");
}

/* For a keyed retry: 1 when the order daemon already has this id with other
 * items (the key was reused for another order), else 0. An unreachable
 * order daemon is no reason to refuse: the inventory and the order daemon
 * dead-letter a conflicting send themselves. */
static int idempotency_conflict(struct front *f, const struct event *ev)
{
	struct http_response r;
	struct event *known = calloc(1, sizeof *known);
	char path[96], err[128];
	char *a = NULL, *b = NULL;
	cJSON *root = NULL;
	int conflict = 0;

	snprintf(path, sizeof path, "/orders/%s", ev->order_id);
	if (known == NULL || http_client_get(&f->order, path, FRONT_DAEMON_TIMEOUT_MS, &r) != 0) {
		free(known);
		return 0;
	}
	if (r.status == 200 && (root = cJSON_ParseWithLength(r.body, r.len)) != NULL &&
	    event_items_from_json(cJSON_GetObjectItemCaseSensitive(root, "items"), known, 0, err,
				  sizeof err) == 0) {
		a = event_items_canonical(known);
		b = event_items_canonical(ev);
		conflict = a != NULL && b != NULL && strcmp(a, b) != 0;
	}
	free(a);
	free(b);
	cJSON_Delete(root);
	http_response_free(&r);
	free(known);
	return conflict;
}

int front_post_order(struct mg_connection *conn, struct front *f)
{
	struct event *ev;
	char location[96], body[128], extra[160];
	int status, rc;

	ev = calloc(1, sizeof *ev);
	if (ev == NULL)
		return http_reply_error(conn, 503, "overloaded", "out of memory");
	ev->kind = EVENT_ORDER_SEND;
	status = front_read_event_body(conn, ev, "invalid_order", order_body_parse);
	if (status != 0)
		goto out;
	if (front_idempotent_id(conn, NULL, ev->order_id) != 0) {
		status = http_reply_error(conn, 400, "invalid_idempotency_key",
					  "Idempotency-Key must be 1 to %d printable ASCII characters",
					  FRONT_IDEMPOTENCY_KEY_MAX);
		goto out;
	}
	if (mg_get_header(conn, "Idempotency-Key") != NULL && idempotency_conflict(f, ev)) {
		status = http_reply_error(conn, 422, "idempotency_key_reused",
					  "this Idempotency-Key was used for order %s with other items",
					  ev->order_id);
		goto out;
	}
	if (front_load_admit(f, ev->order_id)) {
		status = http_reply_error(conn, 503, "overloaded",
					  "the shop has as many orders in flight as it can confirm quickly (%lld ms from order to final); nothing was ordered, try again shortly",
					  front_load_latency_ms(f));
		goto out;
	}
	event_now_rfc3339(ev->created_at);
	rc = front_publish_event(f, f->topic_send, ev);
	if (rc != 0) {
		front_load_withdraw(f, ev->order_id);
		status = reply_not_placed(conn, f, ev, rc);
		goto out;
	}
	snprintf(location, sizeof location, "/api/v1/orders/%s", ev->order_id);
	snprintf(extra, sizeof extra, "Location: %s\r\n", location);
	snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"status\":\"pending\"}", ev->order_id);
	status = http_reply(conn, 202, "application/json", body, strlen(body), extra);
out:
	free(ev);
	return status;
}

/* Whether the order daemon's answer shows the order pending. An answer
 * without a status it can read counts as final: forgetting the catalog
 * only costs the next reader a fetch. */
static int order_pending(const struct http_response *r)
{
	cJSON *root = cJSON_ParseWithLength(r->body, r->len);
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
	int pending = status != NULL && strcmp(status, "pending") == 0;

	cJSON_Delete(root);
	return pending;
}

int front_get_order(struct mg_connection *conn, struct front *f, const char *id)
{
	struct http_response r;
	char path[96];
	int reached, status;

	snprintf(path, sizeof path, "/orders/%s", id);
	reached = http_client_get(&f->order, path, FRONT_DAEMON_TIMEOUT_MS, &r) == 0;
	/* A client shown a final status must not then read a catalog from
	 * before its stock moved (or was never taken): see front_catalog_forget. */
	if (reached && r.status == 200 && !order_pending(&r))
		front_catalog_forget(&f->catalog);
	status = front_relay_answer(conn, reached ? &r : NULL, "order service");
	http_response_free(&r);
	return status;
}

int front_cancel_order(struct mg_connection *conn, struct front *f, const char *id)
{
	struct event ev = { .kind = EVENT_ORDER_CANCEL };
	struct http_response r;
	char path[96], body[128];

	snprintf(path, sizeof path, "/orders/%s", id);
	if (http_client_get(&f->order, path, FRONT_DAEMON_TIMEOUT_MS, &r) != 0)
		return http_reply_error(conn, 503, "order_service_unavailable",
					"the order service cannot be reached");
	http_response_free(&r);
	if (r.status == 404)
		return http_reply_error(conn, 404, "not_found", "no order with id %s", id);
	if (r.status != 200)
		return http_reply_error(conn, 503, "order_service_unavailable",
					"the order service answered %d", r.status);
	snprintf(ev.order_id, sizeof ev.order_id, "%s", id);
	if (front_publish_event(f, f->topic_cancel, &ev) != 0)
		return http_reply_error(conn, 503, "broker_unavailable",
					"the cancel could not be handed to the message broker; try again");
	snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"status\":\"cancel_requested\"}", id);
	return http_reply(conn, 202, "application/json", body, strlen(body), NULL);
}
