/* The shape every topic handler of the order daemon shares: load, join, save,
 * and tell the fronts when the status changed. */
#include <stdio.h>

#include "order.h"

/* Stamps the moment an order became final, and tells the lag how long new
 * orders waited: from the front's 202 to recording it, and to its answer. */
static void note_progress(struct order *o, const struct event *ev, struct order_record *rec,
			  int found)
{
	if (rec->status != ORDER_PENDING && rec->final_ms == 0) {
		rec->final_ms = service_now_ms();
		consumer_note_lag(&o->consumer, rec->created_at);
	} else if (!found && ev->kind == EVENT_ORDER_SEND) {
		consumer_note_lag(&o->consumer, ev->created_at);
	}
}

/* One order/status per status change, in the outbox with the change itself
 * (docs/protocol.md §Topics): a new order's first status counts as one, a run
 * that leaves the status as it was (a duplicate, a late answer to a canceled
 * order) publishes nothing. */
static int publish_status(struct order *o, const struct order_record *rec)
{
	struct event ev = { .kind = EVENT_ORDER_STATUS, .total_cents = rec->total_cents };

	snprintf(ev.order_id, sizeof ev.order_id, "%s", rec->order_id);
	snprintf(ev.status, sizeof ev.status, "%s", order_status_name(rec->status));
	if (rec->status == ORDER_REJECTED) {
		snprintf(ev.reason, sizeof ev.reason, "%s", rec->reason);
		snprintf(ev.sku, sizeof ev.sku, "%s", rec->reason_sku);
	}
	return outbox_add_event(&o->store.db, o->svc.prefix, &ev);
}

enum consumer_result order_apply(struct order *o, const struct event *ev,
				 enum consumer_result (*change)(struct order *o,
								const struct event *ev,
								struct order_record *rec,
								int found))
{
	struct order_record rec;
	enum db_lookup got = order_store_load(&o->store, ev->order_id, &rec);
	enum consumer_result result = CONSUMER_DB_ERROR;

	if (got != DB_LOOKUP_ERROR) {
		enum order_status before = rec.status;

		result = change(o, ev, &rec, got == DB_FOUND);
		if (result == CONSUMER_APPLIED)
			note_progress(o, ev, &rec, got == DB_FOUND);
		if (result == CONSUMER_APPLIED && order_store_save(&o->store, &rec) != 0)
			result = CONSUMER_DB_ERROR;
		if (result == CONSUMER_APPLIED && (got == DB_MISSING || rec.status != before) &&
		    publish_status(o, &rec) != 0)
			result = CONSUMER_DB_ERROR;
	}
	order_record_free(&rec);
	return result;
}

int64_t order_redrive_first(const struct order *o)
{
	return service_now_ms() + (int64_t)o->redrive_s * 1000;
}
