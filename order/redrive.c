/* The re-drive: orders still pending get their order/send again, canceled
 * ones their order/canceled until the inventory answers released, with
 * backoff and a bound per sweep, so nothing waits forever on a lost event. */
#include <stdio.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "order.h"

#define REDRIVE_MAX_DELAY_MS (300 * 1000)

static int64_t next_delay_ms(const struct order *o, int redrives)
{
	int64_t delay = (int64_t)o->redrive_s * 1000;

	for (int i = 0; i < redrives && delay < REDRIVE_MAX_DELAY_MS; i++)
		delay *= 2;
	return delay < REDRIVE_MAX_DELAY_MS ? delay : REDRIVE_MAX_DELAY_MS;
}

/* The event the record still owes: order/send or order/canceled. */
static int owed_event(const struct order_record *rec, struct event *ev)
{
	char err[128];
	cJSON *items;
	int rc = 0;

	memset(ev, 0, sizeof *ev);
	snprintf(ev->order_id, sizeof ev->order_id, "%s", rec->order_id);
	if (rec->status == ORDER_CANCELED) {
		ev->kind = EVENT_ORDER_CANCELED;
		return 0;
	}
	ev->kind = EVENT_ORDER_SEND;
	snprintf(ev->created_at, sizeof ev->created_at, "%s", rec->created_at);
	items = rec->items ? cJSON_Parse(rec->items) : NULL;
	rc = event_items_from_json(items, ev, 0, err, sizeof err);
	if (rc != 0)
		log_warn("redrive: order %s has unreadable items: %s", rec->order_id, err);
	cJSON_Delete(items);
	return rc;
}

struct sweep {
	struct order *o;
	struct order_record *due;
	int n;
	int64_t now_ms;
	struct event ev;
};

static int sweep_txn(struct db *db, void *arg)
{
	struct sweep *s = arg;

	(void)db;
	s->n = order_store_due(&s->o->store, s->now_ms, s->due, ORDER_REDRIVE_BATCH);
	if (s->n < 0)
		return -1;
	for (int i = 0; i < s->n; i++) {
		struct order_record *rec = &s->due[i];
		if (owed_event(rec, &s->ev) == 0 &&
		    outbox_add_event(&s->o->store.db, s->o->svc.prefix, &s->ev) != 0)
			return -1;
		rec->redrives++;
		rec->next_redrive_ms = s->now_ms + next_delay_ms(s->o, rec->redrives);
		if (order_store_save(&s->o->store, rec) != 0)
			return -1;
	}
	return 0;
}

/* The scratch space (a batch of records and an event) comes from the heap
 * each time: a few tens of kB twice a second, not worth a thread's stack. */
int order_redrive_sweep(struct order *o, int64_t now_ms)
{
	struct sweep *s = calloc(1, sizeof *s);
	int rc;

	if (s != NULL)
		s->due = calloc(ORDER_REDRIVE_BATCH, sizeof *s->due);
	if (s == NULL || s->due == NULL) {
		log_warn("redrive: out of memory, sweep skipped");
		free(s);
		return -1;
	}
	s->o = o;
	s->now_ms = now_ms;
	pthread_mutex_lock(&o->store.lock);
	rc = db_transaction(&o->store.db, sweep_txn, s);
	pthread_mutex_unlock(&o->store.lock);
	for (int i = 0; i < (s->n > 0 ? s->n : 0); i++)
		order_record_free(&s->due[i]);
	if (rc == 0 && s->n > 0)
		atomic_fetch_add(&o->redriven, (unsigned long)s->n);
	rc = rc == 0 ? s->n : -1;
	free(s->due);
	free(s);
	return rc;
}

struct redrive_now {
	struct order *o;
	const char *order_id;
	int64_t now_ms;
	enum order_redrive_now_result result;
};

static int redrive_now_txn(struct db *db, void *arg)
{
	struct redrive_now *r = arg;
	struct order_record rec;
	enum db_lookup got = order_store_load(&r->o->store, r->order_id, &rec);
	int rc = 0;

	(void)db;
	if (got == DB_LOOKUP_ERROR) {
		rc = -1;
	} else if (got == DB_MISSING) {
		r->result = ORDER_REDRIVE_NOW_UNKNOWN;
	} else if (rec.status == ORDER_PENDING || (rec.status == ORDER_CANCELED && !rec.released)) {
		rec.next_redrive_ms = r->now_ms;
		rc = order_store_save(&r->o->store, &rec);
		r->result = ORDER_REDRIVE_NOW_DUE;
	} else {
		r->result = ORDER_REDRIVE_NOW_NOTHING_OWED;
	}
	order_record_free(&rec);
	return rc;
}

enum order_redrive_now_result order_redrive_now(struct order *o, const char *order_id,
						int64_t now_ms)
{
	struct redrive_now r = { .o = o, .order_id = order_id, .now_ms = now_ms };
	int rc;

	pthread_mutex_lock(&o->store.lock);
	rc = db_transaction(&o->store.db, redrive_now_txn, &r);
	pthread_mutex_unlock(&o->store.lock);
	if (rc != 0)
		return ORDER_REDRIVE_NOW_ERROR;
	if (r.result == ORDER_REDRIVE_NOW_DUE) {
		int n = order_redrive_sweep(o, now_ms);
		if (n < 0)
			return ORDER_REDRIVE_NOW_ERROR;
		log_info("redrive: order %s re-driven on request (%d events)", order_id, n);
		if (o->outbox != NULL)
			outbox_wake(o->outbox);
	}
	return r.result;
}

static void *redrive_main(void *arg)
{
	struct order *o = arg;
	int n;

	while (!service_stopping) {
		service_sleep_ms(500);
		if (!mqtt_is_ready(o->mqtt))
			continue;
		n = order_redrive_sweep(o, service_now_ms());
		if (n > 0) {
			log_info("redrive: re-published %d events", n);
			outbox_wake(o->outbox);
		}
	}
	return NULL;
}

int order_redrive_start(struct order *o)
{
	if (pthread_create(&o->redrive_thread, NULL, redrive_main, o) != 0)
		return -1;
	o->redrive_started = 1;
	return 0;
}

void order_redrive_stop(struct order *o)
{
	if (o->redrive_started)
		pthread_join(o->redrive_thread, NULL);
	o->redrive_started = 0;
}
