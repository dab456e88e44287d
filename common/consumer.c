/* Turns MQTT messages into committed state: decode, apply in one transaction
 * with the events it causes, dead-letter what is bad, and only then return. */
#include "consumer.h"

#include <stdlib.h>
#include <string.h>

#include "dead_letter.h"
#include "heartbeat.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "service.h"

_Static_assert(DEAD_LETTER_STMT_SLOT >= CONSUMER_STORE_SLOTS &&
		       OUTBOX_STMT_SLOT >= CONSUMER_STORE_SLOTS &&
		       DEAD_LETTER_STMT_SLOT != OUTBOX_STMT_SLOT &&
		       DEAD_LETTER_STMT_SLOT < DB_MAX_STMTS && OUTBOX_STMT_SLOT < DB_MAX_STMTS,
	       "the dead-letter and outbox statements need slots of their own above the store's");

struct consumer_txn {
	struct consumer *c;
	const char *topic;
	const char *payload;
	size_t len;
	const struct event *ev; /* NULL: dead-letter with reason */
	const char *reason;
	enum consumer_result result;
	struct db_kept_rows kept; /* the outbox rows it wrote, taken before COMMIT */
};

static int consumer_txn_apply(struct db *db, struct consumer_txn *t)
{
	if (t->ev == NULL)
		return dead_letter_add(db, t->topic, t->payload, t->len, t->reason);
	t->result = t->c->handlers->apply[t->ev->kind](t->c->daemon, t->ev);
	if (t->result == CONSUMER_DB_ERROR)
		return -1;
	if (t->result == CONSUMER_CONFLICT)
		return dead_letter_add(db, t->topic, t->payload, t->len,
				       t->ev->kind == EVENT_RESTOCK
					       ? "conflict: same restock_id with another sku or qty"
					       : "conflict: same order_id with other items");
	return 0;
}

static int consumer_txn_run(struct db *db, void *arg)
{
	struct consumer_txn *t = arg;
	int rc = consumer_txn_apply(db, t);

	/* still under the store's lock: another writer's BEGIN would drop them */
	db_kept_rows_take(db, &t->kept);
	return rc;
}

/* After a commit: its events go out (at once when they can). */
static void consumer_publish(struct consumer *c, struct consumer_txn *t)
{
	if (c->outbox != NULL)
		outbox_publish_committed(c->outbox, &t->kept);
	db_kept_rows_clear(&t->kept);
}

/* Commits, retrying with backoff until it works: the broker keeps the message
 * unacknowledged meanwhile. A daemon told to stop while the disk refuses exits
 * without acknowledging, so the broker delivers the message again later. */
static void consumer_commit(struct consumer *c, struct consumer_txn *t)
{
	int relaxed = t->ev != NULL && c->handlers->redrive_repairs[t->ev->kind];
	int rc = db_transaction_retry(c->db, c->db_lock, relaxed, consumer_txn_run, t, t->topic,
				      &c->retries);

	if (rc != 0) {
		log_warn("consumer: stopping with a message on %s not committed; the broker keeps it",
			 t->topic);
		_Exit(3);
	}
}

void consumer_init(struct consumer *c, const char *prefix, struct db *db,
		   pthread_mutex_t *db_lock, struct outbox *outbox,
		   struct consumer_daemon *daemon, const struct consumer_handlers *handlers)
{
	memset(c, 0, sizeof *c);
	c->prefix = prefix;
	c->db = db;
	c->db_lock = db_lock;
	c->outbox = outbox;
	c->daemon = daemon;
	c->handlers = handlers;
	lag_init(&c->lag);
}

void consumer_destroy(struct consumer *c)
{
	lag_destroy(&c->lag);
}

int consumer_db_open(struct db *db, pthread_mutex_t *lock, const char *path, const char *sync,
		     const char *schema)
{
	if (db_open(db, path, sync) != 0)
		return -1;
	if (db_exec(db, schema) != 0 || outbox_create_schema(db) != 0 ||
	    dead_letter_create_schema(db) != 0) {
		db_close(db);
		return -1;
	}
	pthread_mutex_init(lock, NULL);
	return 0;
}

void consumer_db_close(struct db *db, pthread_mutex_t *lock)
{
	db_close(db);
	pthread_mutex_destroy(lock);
}

void consumer_on_message(void *ctx, const char *topic, const char *payload, size_t len,
			 int retained)
{
	struct consumer *c = ctx;
	struct consumer_txn t = { .c = c, .topic = topic, .payload = payload, .len = len };
	struct event *ev = malloc(sizeof *ev);
	enum event_kind kind;
	char err[200];

	(void)retained; /* a retained event is applied like any other */
	atomic_fetch_add(&c->received, 1);
	if (ev == NULL) {
		log_warn("consumer: out of memory for a message on %s", topic);
		t.reason = "out of memory";
	} else if (event_kind_from_topic(c->prefix, topic, &kind) != 0 ||
		   c->handlers->apply[kind] == NULL) {
		t.reason = "not a topic this service handles";
	} else if (event_decode(kind, payload, len, ev, err, sizeof err) != 0) {
		t.reason = err;
	} else {
		t.ev = ev;
	}
	if (t.ev == NULL)
		log_warn("consumer: dead-lettering a message on %s (%zu bytes): %s", topic, len,
			 t.reason);
	consumer_commit(c, &t);
	if (t.ev == NULL || t.result == CONSUMER_CONFLICT)
		atomic_fetch_add(&c->dead_letters, 1);
	if (t.ev != NULL && t.result == CONSUMER_CONFLICT) {
		atomic_fetch_add(&c->conflicts, 1);
		log_warn("consumer: %s on %s conflicts with the recorded one; dead-lettered",
			 event_subject(ev), topic);
	}
	if (t.ev != NULL && t.result == CONSUMER_APPLIED)
		atomic_fetch_add(&c->applied, 1);
	/* A conflict commits too, and may have repeated an answer (inventory). */
	consumer_publish(c, &t);
	free(ev);
}

enum consumer_result consumer_apply(struct consumer *c, const struct event *ev,
				    const char *payload, size_t len)
{
	char topic[256];
	struct consumer_txn t = { .c = c, .topic = topic, .payload = payload, .len = len, .ev = ev };
	int rc;

	if (ev->kind < 0 || ev->kind >= EVENT_KIND_COUNT || c->handlers->apply[ev->kind] == NULL ||
	    event_topic(topic, sizeof topic, c->prefix, ev->kind) != 0)
		return CONSUMER_DB_ERROR;
	if (c->db_lock != NULL)
		pthread_mutex_lock(c->db_lock);
	rc = db_transaction(c->db, consumer_txn_run, &t);
	if (c->db_lock != NULL)
		pthread_mutex_unlock(c->db_lock);
	if (rc != 0) {
		db_kept_rows_clear(&t.kept);
		return CONSUMER_DB_ERROR;
	}
	consumer_publish(c, &t);
	return t.result;
}

void consumer_on_ready(void *ctx)
{
	struct consumer *c = ctx;

	if (c->outbox != NULL)
		outbox_resend(c->outbox);
}

/* One value of a daemon's consumer, named shop_<service>_<what>. */
static void write_value(FILE *out, const char *service, const char *what, const char *type,
			const char *help, double value)
{
	char name[96];

	snprintf(name, sizeof name, "shop_%s_%s", service, what);
	metrics_write_value(out, name, type, help, value);
}

void consumer_write_metrics(FILE *out, struct consumer *c, const char *service)
{
	write_value(out, service, "messages_received_total", "counter", "MQTT messages received",
		    (double)atomic_load(&c->received));
	write_value(out, service, "messages_applied_total", "counter",
		    "messages applied and committed", (double)atomic_load(&c->applied));
	write_value(out, service, "dead_letters_total", "counter",
		    "messages dead-lettered (invalid or conflicting)",
		    (double)atomic_load(&c->dead_letters));
	write_value(out, service, "conflicts_total", "counter",
		    "order/send with other items for a known id", (double)atomic_load(&c->conflicts));
	write_value(out, service, "commit_retries_total", "counter",
		    "failed commits retried (busy, disk full)", (double)atomic_load(&c->retries));
	write_value(out, service, "lag_seconds", "gauge",
		    "median age of the orders acted on in the last quarter second",
		    (double)lag_read(&c->lag) / 1000.0);
	if (c->outbox == NULL)
		return;
	write_value(out, service, "outbox_backlog", "gauge", "events waiting for a PUBACK",
		    (double)outbox_backlog(c->outbox));
	write_value(out, service, "outbox_resends_total", "counter",
		    "times every event not yet acknowledged was sent again",
		    (double)outbox_resends(c->outbox));
	write_value(out, service, "outbox_published_total", "counter",
		    "events handed to the broker", (double)outbox_published(c->outbox));
	write_value(out, service, "outbox_published_at_commit_total", "counter",
		    "of those, handed over right after their commit, not by the outbox thread",
		    (double)outbox_published_direct(c->outbox));
	write_value(out, service, "outbox_syncs_total", "counter",
		    "fsyncs of the database log taken before publishing (durable before visible)",
		    (double)outbox_syncs(c->outbox));
	write_value(out, service, "outbox_unsynced_published_total", "counter",
		    "events handed to the broker before the outbox synced the log (0 when it syncs first)",
		    (double)outbox_unsynced_sent(c->outbox));
}

int consumer_connect(struct consumer *c, const struct service_settings *svc,
		     const char *service, struct mqtt **out)
{
	char topics[EVENT_KIND_COUNT][256];
	const char *subs[EVENT_KIND_COUNT + 1];
	char publisher[64];
	int n = 0;
	struct mqtt *subscriber = NULL;
	struct mqtt_config cfg = {
		.url = svc->broker_url, .service = service, .instance = svc->instance,
		.prefix = svc->prefix, .persistent = 1, .announce = 1, .reconnect = 1,
		.subscriptions = subs,
		.username = svc->mqtt_username, .password = svc->mqtt_password,
		.on_message = consumer_on_message, .on_ready = consumer_on_ready, .ctx = c,
	};

	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		if (c->handlers->apply[k] == NULL)
			continue;
		if (event_topic(topics[n], sizeof topics[n], svc->prefix, (enum event_kind)k) != 0)
			return -1;
		subs[n] = topics[n];
		n++;
	}
	subs[n] = NULL;
	/* The outbox publishes on a connection of its own with a clean session:
	 * Paho then fails in-flight publishes when the connection drops instead
	 * of keeping them to retry, which the outbox does itself. Paho 1.3.12
	 * was seen to read a freed topic (ASan, heap-use-after-free between its
	 * send and receive threads) when a persistent session that publishes
	 * lost its broker; the subscriber's session only ever publishes its
	 * status. The two connections also keep acks and publishes apart.
	 * *out, which /healthz reads, is set only once both are up, so a daemon
	 * never looks ready with half a bus. The subscriber connects first:
	 * Paho notices a new connection only when its receive thread's select
	 * returns, which the subscriber's traffic makes quick and an idle
	 * publisher's connection does not (a second later). */
	if (mqtt_start(&cfg, 5000, &subscriber) != 0)
		return -1;
	snprintf(publisher, sizeof publisher, "%s-outbox", service);
	cfg.service = publisher;
	cfg.persistent = 0;
	cfg.subscriptions = NULL;
	if (mqtt_start(&cfg, 5000, &c->publisher) != 0) {
		mqtt_stop(subscriber);
		return -1;
	}
	*out = subscriber;
	if (outbox_start(c->outbox, c->publisher) != 0)
		return -1;
	/* docs/protocol.md §Topologies: the fronts judge a daemon alive by its
	 * newest heartbeat, which says both connections (so its session) are up */
	return heartbeat_start(c->publisher, subscriber, svc->prefix, service, svc->instance,
			       HEARTBEAT_PERIOD_MS, &c->heartbeat);
}

void consumer_disconnect(struct consumer *c)
{
	heartbeat_stop(c->heartbeat);
	c->heartbeat = NULL;
	mqtt_stop(c->publisher);
	c->publisher = NULL;
}

void consumer_note_lag(struct consumer *c, const char *created_at)
{
	int64_t accepted_ms;

	if (event_time_ms(created_at, &accepted_ms) == 0)
		lag_note(&c->lag, service_now_ms() - accepted_ms);
}
