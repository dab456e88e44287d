/* The admin's writes: products and restocks as events on the bus (202 once
 * the broker has them, like orders), the re-drive of a stuck order and the
 * daemons' dead letters over their internal HTTP (docs/protocol.md §HTTP API). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_body.h"
#include "front.h"
#include "log.h"
#include "service.h"

int front_admin_post_product(struct mg_connection *conn, struct front *f)
{
	struct event *ev = calloc(1, sizeof *ev);
	char body[256];
	int status;

	if (ev == NULL)
		return http_reply_error(conn, 503, "overloaded", "out of memory");
	ev->kind = EVENT_PRODUCT;
	status = front_read_event_body(conn, ev, "invalid_product", admin_body_product);
	if (status != 0)
		goto out;
	/* The time of the change orders changes (docs/protocol.md §Topics):
	 * the last one the admin made wins, whatever order they arrive in. */
	ev->version = service_now_ms();
	if (front_publish_event(f, f->topic_product, ev) != 0) {
		status = http_reply_error(conn, 503, "broker_unavailable",
					  "the message broker did not confirm the change; send it again (a newer change wins)");
		goto out;
	}
	snprintf(body, sizeof body, "{\"sku\":\"%s\",\"version\":%lld,\"status\":\"accepted\"}",
		 ev->sku, ev->version);
	status = http_reply(conn, 202, "application/json", body, strlen(body), NULL);
out:
	free(ev);
	return status;
}

int front_admin_restock(struct mg_connection *conn, struct front *f, const char *sku)
{
	struct event ev = { .kind = EVENT_RESTOCK };
	char body[256];
	int status;

	snprintf(ev.sku, sizeof ev.sku, "%s", sku);
	status = front_read_event_body(conn, &ev, "invalid_restock", admin_body_restock);
	if (status != 0)
		return status;
	if (front_idempotent_id(conn, sku, ev.restock_id) != 0)
		return http_reply_error(conn, 400, "invalid_idempotency_key",
					"Idempotency-Key must be 1 to %d printable ASCII characters",
					FRONT_IDEMPOTENCY_KEY_MAX);
	if (front_publish_event(f, f->topic_restock, &ev) != 0)
		return http_reply_error(conn, 503, "broker_unavailable",
					mg_get_header(conn, "Idempotency-Key") != NULL
						? "the message broker did not confirm the restock; retry with the same Idempotency-Key, it is applied at most once"
						: "the message broker did not confirm the restock; it may still apply: check the stock, or send an Idempotency-Key to retry safely");
	snprintf(body, sizeof body,
		 "{\"restock_id\":\"%s\",\"sku\":\"%s\",\"qty\":%d,\"status\":\"accepted\"}",
		 ev.restock_id, ev.sku, ev.restock_qty);
	return http_reply(conn, 202, "application/json", body, strlen(body), NULL);
}

int front_admin_redrive(struct mg_connection *conn, struct front *f, const char *id)
{
	struct http_response r;
	char path[128];
	int status;

	snprintf(path, sizeof path, "/orders/%s/redrive", id);
	if (http_client_post(&f->order, path, FRONT_DAEMON_TIMEOUT_MS, &r) != 0)
		return http_reply_error(conn, 503, "order_service_unavailable",
					"the order service cannot be reached");
	if (r.status == 202 || r.status == 404 || r.status == 409)
		status = http_reply(conn, r.status, "application/json", r.body, r.len, NULL);
	else
		status = http_reply_error(conn, 503, "order_service_unavailable",
					  "the order service answered %d", r.status);
	http_response_free(&r);
	return status;
}

/* One daemon's dead letters, added to root under name; 0 or -1. */
static int add_dead_letters(cJSON *root, const char *name, const struct http_target *target)
{
	struct http_response r;
	cJSON *got = NULL, *list;

	if (http_client_get(target, "/dead-letters", FRONT_DAEMON_TIMEOUT_MS, &r) != 0)
		return -1;
	if (r.status == 200)
		got = cJSON_ParseWithLength(r.body, r.len);
	http_response_free(&r);
	list = cJSON_DetachItemFromObjectCaseSensitive(got, "dead_letters");
	cJSON_Delete(got);
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(list);
		return -1;
	}
	cJSON_AddItemToObject(root, name, list);
	return 0;
}

int front_admin_dead_letters(struct mg_connection *conn, struct front *f)
{
	cJSON *root = cJSON_CreateObject();
	const char *down = NULL;
	int status;

	if (root == NULL)
		return http_reply_error(conn, 503, "overloaded", "out of memory");
	if (add_dead_letters(root, "inventory", &f->inventory) != 0)
		down = "inventory";
	else if (add_dead_letters(root, "order", &f->order) != 0)
		down = "order service";
	if (down != NULL)
		status = http_reply_error(conn, 503, "daemon_unavailable",
					  "the %s's dead letters cannot be read", down);
	else
		status = http_reply_json(conn, 200, root);
	cJSON_Delete(root);
	return status;
}

int front_admin_restocks(struct mg_connection *conn, struct front *f)
{
	return front_relay(conn, &f->inventory, "/restocks", "inventory");
}
