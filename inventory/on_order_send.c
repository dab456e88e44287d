/* webshop/order/send: reserve every line or none, once per order, and answer
 * with in-stock or out-of-stock (the same answer again for a duplicate). */
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "log.h"

/* A send for an order seen before: repeat the outcome, or fill a tombstone.
 * A send with other items is a conflict (dead-lettered, the first version
 * stands) that still repeats the outcome: it may be the order daemon
 * re-driving its own version because our answer was lost, and only the
 * answer (which carries the decided items) lets it stop waiting. */
static enum consumer_result known_order(struct inventory *inv, const struct event *ev,
					const struct reservation *r, const char *items)
{
	enum consumer_result result = CONSUMER_APPLIED;

	if (r->items == NULL)
		return inventory_store_set_items(&inv->store, ev->order_id, items) == 0
			       ? CONSUMER_APPLIED
			       : CONSUMER_DB_ERROR;
	if (strcmp(r->items, items) != 0) {
		log_info("inventory: order %s sent with items %s, decided with %s; repeating %s",
			 ev->order_id, items, r->items,
			 r->outcome_topic ? r->outcome_topic : "nothing (a tombstone)");
		result = CONSUMER_CONFLICT;
	}
	if (r->outcome_topic == NULL || r->outcome_payload == NULL)
		return result; /* a tombstone: canceled orders are never reserved */
	return outbox_add(&inv->store.db, r->outcome_topic, r->outcome_payload) == 0
		       ? result
		       : CONSUMER_DB_ERROR;
}

static enum consumer_result new_order(struct inventory *inv, const struct event *ev,
				      const char *items)
{
	struct event *outcome = malloc(sizeof *outcome);
	enum consumer_result result = CONSUMER_DB_ERROR;
	char topic[256];
	char *payload = NULL;

	if (outcome == NULL || inventory_store_reserve(&inv->store, ev, outcome) != 0 ||
	    event_topic(topic, sizeof topic, inv->svc.prefix, outcome->kind) != 0)
		goto out;
	payload = event_encode(outcome);
	if (payload == NULL ||
	    inventory_store_insert(&inv->store, ev->order_id,
				   outcome->kind == EVENT_IN_STOCK ? RESERVATION_RESERVED
								   : RESERVATION_REJECTED,
				   items, topic, payload) != 0 ||
	    outbox_add(&inv->store.db, topic, payload) != 0)
		goto out;
	consumer_note_lag(&inv->consumer, ev->created_at);
	log_debug("inventory: order %s %s", ev->order_id,
		  outcome->kind == EVENT_IN_STOCK ? "reserved" : outcome->reason);
	result = CONSUMER_APPLIED;
out:
	free(payload);
	free(outcome);
	return result;
}

enum consumer_result inventory_on_order_send(struct consumer_daemon *daemon,
					     const struct event *ev)
{
	struct inventory *inv = inventory_of(daemon);
	struct reservation r;
	char *items = event_items_canonical(ev);
	enum consumer_result result = CONSUMER_DB_ERROR;
	enum db_lookup got;

	if (items == NULL)
		return CONSUMER_DB_ERROR;
	got = inventory_store_find(&inv->store, ev->order_id, &r);
	if (got == DB_FOUND)
		result = known_order(inv, ev, &r, items);
	else if (got == DB_MISSING)
		result = new_order(inv, ev, items);
	inventory_reservation_free(&r);
	free(items);
	return result;
}
