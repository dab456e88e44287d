/* The one MQTT client of the project, on Paho MQTTAsync: the services' (status
 * topic, automatic reconnect, handlers that commit before the PUBACK) and the
 * test tools' and benchmarks' (a window of publishes, waiting for PUBACKs). */
#include "mqtt.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker_url.h"
#include "log.h"
#include "nodelay.h"
#include "service.h"

#define MQTT_MAX_SUBSCRIPTIONS 16

struct mqtt {
	MQTTAsync client;
	struct mqtt_config cfg;
	char client_id[128];
	char status_topic[256];
	char subscriptions[MQTT_MAX_SUBSCRIPTIONS][256]; /* copied: cfg's may not live on */
	int n_subscriptions;
	char *brokers[BROKER_URL_MAX]; /* cfg.url split at its commas; owned */
	int n_brokers;
	char broker[256]; /* the one connected to last (lock) */
	atomic_int connected;
	atomic_int ready;
	atomic_int stalled; /* see mqtt_publish_wait */
	pthread_mutex_t lock;
	pthread_cond_t changed; /* connection, publishes in flight, disconnect */
	int connect_failed;
	int disconnected;
	long in_flight; /* publishes handed to Paho, not yet acknowledged or failed */
	long failed;    /* publishes that failed or found no room (mqtt_drain) */
};

/* One request waited for (a publish, a subscribe): shared by the waiting
 * thread and Paho's callback, freed by whichever lets go last, so a late
 * answer never touches freed memory. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t done;
	int finished;
	int ok;
	int refs;
};

static void waiter_release(struct waiter *w)
{
	int last;

	pthread_mutex_lock(&w->lock);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->lock);
	if (last) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->done);
		free(w);
	}
}

static void waiter_finish(void *ctx, int ok)
{
	struct waiter *w = ctx;

	pthread_mutex_lock(&w->lock);
	w->finished = 1;
	w->ok = ok;
	pthread_cond_signal(&w->done);
	pthread_mutex_unlock(&w->lock);
	waiter_release(w);
}

/* A waiter the caller and one callback hold. */
static struct waiter *waiter_new(void)
{
	struct waiter *w = calloc(1, sizeof *w);

	if (w == NULL)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->done, NULL);
	w->refs = 2;
	return w;
}

/* Waits up to timeout_ms for the callback, then lets go; 1 when it came with ok. */
static int waiter_wait(struct waiter *w, int timeout_ms)
{
	struct timespec deadline;
	int ok;

	service_deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&w->lock);
	while (!w->finished) {
		if (pthread_cond_timedwait(&w->done, &w->lock, &deadline) == ETIMEDOUT)
			break;
	}
	ok = w->finished && w->ok;
	pthread_mutex_unlock(&w->lock);
	waiter_release(w);
	return ok;
}

static void mqtt_signal(struct mqtt *m)
{
	pthread_mutex_lock(&m->lock);
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->lock);
}

static void on_status_published(void *ctx, MQTTAsync_successData *resp)
{
	(void)ctx;
	(void)resp;
}

static void publish_status(struct mqtt *m, const char *text)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;

	if (!m->cfg.announce)
		return;
	opts.onSuccess = on_status_published;
	MQTTAsync_send(m->client, m->status_topic, (int)strlen(text), text, 1, 1, &opts);
}

static void on_subscribed(void *ctx, MQTTAsync_successData *resp)
{
	struct mqtt *m = ctx;

	char broker[sizeof m->broker];

	(void)resp;
	atomic_store(&m->ready, 1);
	publish_status(m, "online");
	pthread_mutex_lock(&m->lock);
	memcpy(broker, m->broker, sizeof broker);
	pthread_mutex_unlock(&m->lock);
	if (broker[0] != '\0' || m->n_brokers == 1)
		log_info("mqtt: connected to %s as %s, subscribed", broker[0] ? broker : m->cfg.url,
			 m->client_id);
	else /* a reconnect: Paho does not say which of the list it reached */
		log_info("mqtt: connected to one of %s as %s, subscribed", m->cfg.url, m->client_id);
	if (m->cfg.on_ready != NULL)
		m->cfg.on_ready(m->cfg.ctx);
	mqtt_signal(m);
}

static void on_subscribe_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct mqtt *m = ctx;

	log_warn("mqtt: subscribe at %s failed (code %d)", m->cfg.url, resp ? resp->code : -1);
}

/* Called by Paho after every successful connect, the first and each reconnect. */
static void on_connected(void *ctx, char *cause)
{
	struct mqtt *m = ctx;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	char *topics[MQTT_MAX_SUBSCRIPTIONS];
	int qos[MQTT_MAX_SUBSCRIPTIONS];
	int n = 0;

	(void)cause;
	atomic_store(&m->stalled, 0);
	atomic_store(&m->connected, 1);
	mqtt_signal(m);
	pthread_mutex_lock(&m->lock);
	/* QoS 1 for a persistent session, whose messages the broker keeps while
	 * we are away; a clean session's are lost with the connection at any
	 * QoS, so there QoS 0 gives the same and saves a PUBACK per message
	 * (docs/protocol.md §Order-status stream). */
	for (; n < m->n_subscriptions; n++) {
		topics[n] = m->subscriptions[n];
		qos[n] = m->cfg.persistent ? 1 : 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (n == 0) {
		on_subscribed(m, NULL);
		return;
	}
	opts.onSuccess = on_subscribed;
	opts.onFailure = on_subscribe_failed;
	opts.context = m;
	if (MQTTAsync_subscribeMany(m->client, n, topics, qos, &opts) != MQTTASYNC_SUCCESS)
		log_warn("mqtt: cannot subscribe at %s", m->cfg.url);
}

/* Paho names the broker of the list it reached, on the first connect only
 * (it calls onSuccess once; reconnects get only on_connected). */
static void on_connect_succeeded(void *ctx, MQTTAsync_successData *resp)
{
	struct mqtt *m = ctx;

	if (resp == NULL || resp->alt.connect.serverURI == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	snprintf(m->broker, sizeof m->broker, "%s", resp->alt.connect.serverURI);
	pthread_mutex_unlock(&m->lock);
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct mqtt *m = ctx;

	pthread_mutex_lock(&m->lock);
	m->connect_failed = resp ? resp->code : -1;
	if (m->connect_failed == 0)
		m->connect_failed = -1;
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->lock);
}

static void on_connection_lost(void *ctx, char *cause)
{
	struct mqtt *m = ctx;

	atomic_store(&m->connected, 0);
	atomic_store(&m->ready, 0);
	pthread_mutex_lock(&m->lock);
	m->broker[0] = '\0'; /* Paho names only the first connect's broker */
	pthread_cond_broadcast(&m->changed); /* a tool waiting for room or PUBACKs gives up */
	pthread_mutex_unlock(&m->lock);
	if (m->cfg.reconnect)
		log_warn("mqtt: lost connection to %s (%s), reconnecting", m->cfg.url,
			 cause ? cause : "no reason given");
	else
		log_debug("mqtt: lost connection to %s (%s)", m->cfg.url,
			  cause ? cause : "no reason given");
}

static int on_message_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct mqtt *m = ctx;
	char *name = topic;

	(void)topic_len;
	/* The handler commits before we return: returning is what lets Paho
	 * send the PUBACK. Never return 0 (Paho would ack at once). */
	if (m->cfg.on_message != NULL)
		m->cfg.on_message(m->cfg.ctx, name, msg->payload, (size_t)msg->payloadlen,
				  msg->retained);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

/* What to call back when a publish ends; freed by the callback. */
struct publish_done {
	struct mqtt *m;
	mqtt_done_fn fn; /* NULL: only counted */
	void *ctx;
};

static void publish_finished(struct publish_done *done, int ok)
{
	struct mqtt *m = done->m;
	mqtt_done_fn fn = done->fn;
	void *ctx = done->ctx;

	free(done);
	pthread_mutex_lock(&m->lock);
	m->in_flight--;
	if (!ok)
		m->failed++;
	/* A PUBACK shows the broker answers again; with nothing left in
	 * flight there is nothing left to wait for either. */
	if ((ok || m->in_flight == 0) && atomic_exchange(&m->stalled, 0))
		log_info("mqtt: the broker answers again; publishing resumes");
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->lock);
	if (fn != NULL)
		fn(ctx, ok);
}

static void on_publish_ok(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	publish_finished(ctx, 1);
}

static void on_publish_failed(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	publish_finished(ctx, 0);
}

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len,
		 int retained, mqtt_done_fn done, void *ctx)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	struct publish_done *pd;
	int rc;

	if (m == NULL || !atomic_load(&m->connected))
		return -1;
	pd = malloc(sizeof *pd);
	if (pd == NULL)
		return -1;
	pd->m = m;
	pd->fn = done;
	pd->ctx = ctx;
	opts.onSuccess = on_publish_ok;
	opts.onFailure = on_publish_failed;
	opts.context = pd;
	pthread_mutex_lock(&m->lock);
	m->in_flight++;
	pthread_mutex_unlock(&m->lock);
	rc = MQTTAsync_send(m->client, topic, (int)len, payload, 1, retained, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&m->lock);
		m->in_flight--;
		pthread_mutex_unlock(&m->lock);
		free(pd);
		log_debug("mqtt: publish to %s refused (code %d)", topic, rc);
		return -1;
	}
	return 0;
}

static int publish_wait(struct mqtt *m, const char *topic, const void *payload, size_t len,
			int retained, int timeout_ms)
{
	struct waiter *w;

	/* Fail fast (docs/protocol.md §Settings, SHOP_BROKER_URL): with no
	 * connection mqtt_publish refuses at once; a stalled broker has just
	 * let a publish time out, and the next one would wait as long. */
	if (m == NULL || atomic_load(&m->stalled) || (w = waiter_new()) == NULL)
		return -1;
	if (mqtt_publish(m, topic, payload, len, retained, waiter_finish, w) != 0) {
		waiter_release(w); /* the callback's share */
		waiter_release(w);
		return -1;
	}
	if (waiter_wait(w, timeout_ms))
		return 0;
	pthread_mutex_lock(&m->lock);
	/* in flight still: it may yet be acknowledged, which ends the stall */
	if (m->in_flight > 0 && atomic_load(&m->connected) && !atomic_exchange(&m->stalled, 1))
		log_warn("mqtt: no PUBACK from the broker within %d ms; publishes are refused at "
			 "once until it answers or the connection is made again", timeout_ms);
	pthread_mutex_unlock(&m->lock);
	return MQTT_UNCONFIRMED;
}

int mqtt_publish_wait(struct mqtt *m, const char *topic, const void *payload, size_t len,
		      int timeout_ms)
{
	return publish_wait(m, topic, payload, len, 0, timeout_ms);
}

/* Waits, lock held, until fewer than limit publishes are in flight; gives up
 * when none completes for timeout_ms or the connection is gone. 0 or -1. */
static int wait_in_flight_below(struct mqtt *m, long limit, int timeout_ms)
{
	struct timespec deadline;
	long seen = m->in_flight;

	service_deadline_after(&deadline, timeout_ms);
	while (m->in_flight >= limit && atomic_load(&m->connected)) {
		if (pthread_cond_timedwait(&m->changed, &m->lock, &deadline) == ETIMEDOUT)
			return -1;
		if (m->in_flight < seen) { /* progress: a fresh timeout */
			seen = m->in_flight;
			service_deadline_after(&deadline, timeout_ms);
		}
	}
	return m->in_flight < limit ? 0 : -1;
}

int mqtt_publish_windowed(struct mqtt *m, const char *topic, const void *payload, size_t len,
			  int window, int timeout_ms)
{
	int room;

	pthread_mutex_lock(&m->lock);
	room = wait_in_flight_below(m, window, timeout_ms) == 0;
	pthread_mutex_unlock(&m->lock);
	if (room && mqtt_publish(m, topic, payload, len, 0, NULL, NULL) == 0)
		return 0;
	pthread_mutex_lock(&m->lock);
	m->failed++;
	pthread_mutex_unlock(&m->lock);
	return -1;
}

long mqtt_drain(struct mqtt *m, int timeout_ms)
{
	long missing;

	pthread_mutex_lock(&m->lock);
	(void)wait_in_flight_below(m, 1, timeout_ms);
	missing = m->failed + m->in_flight;
	pthread_mutex_unlock(&m->lock);
	return missing;
}

int mqtt_publish_once(struct mqtt *m, const char *topic, const void *payload, size_t len)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	int rc;

	if (m == NULL || !atomic_load(&m->connected))
		return -1;
	rc = MQTTAsync_send(m->client, topic, (int)len, payload, 0, 0, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		log_debug("mqtt: QoS 0 publish to %s refused (code %d)", topic, rc);
		return -1;
	}
	return 0;
}

static void on_subscribe_answered(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	waiter_finish(ctx, 1);
}

static void on_subscribe_refused(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	waiter_finish(ctx, 0);
}

int mqtt_subscribe(struct mqtt *m, const char *filter, int timeout_ms)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	struct waiter *w;
	int kept = 0;

	pthread_mutex_lock(&m->lock);
	if (m->n_subscriptions < MQTT_MAX_SUBSCRIPTIONS &&
	    strlen(filter) < sizeof m->subscriptions[0]) {
		strcpy(m->subscriptions[m->n_subscriptions++], filter);
		kept = 1;
	}
	pthread_mutex_unlock(&m->lock);
	if (!kept || (w = waiter_new()) == NULL)
		return -1;
	opts.onSuccess = on_subscribe_answered;
	opts.onFailure = on_subscribe_refused;
	opts.context = w;
	if (MQTTAsync_subscribe(m->client, filter, 1, &opts) != MQTTASYNC_SUCCESS) {
		waiter_release(w); /* the callback's share */
		waiter_release(w);
		return -1;
	}
	return waiter_wait(w, timeout_ms) ? 0 : -1;
}

int mqtt_is_ready(struct mqtt *m)
{
	return m != NULL && atomic_load(&m->ready) && !atomic_load(&m->stalled);
}

int mqtt_is_connected(struct mqtt *m)
{
	return m != NULL && atomic_load(&m->connected);
}

/* Why the last mqtt_start failed: start-up runs on one thread, and the
 * service's one fatal line says it. */
static char start_failure[200] = "unknown error";

#define START_FAILED(...) snprintf(start_failure, sizeof start_failure, __VA_ARGS__)

const char *mqtt_start_failure(void)
{
	return start_failure;
}

/* Splits cfg.url into m->brokers (heap copies, freed by mqtt_stop). */
static int mqtt_split_brokers(struct mqtt *m)
{
	const char *entry = m->cfg.url;
	char bad[160];

	if (broker_url_list_check(m->cfg.url, bad, sizeof bad) != 0) {
		START_FAILED("invalid broker URL '%.100s' (expected tcp://host:port)", bad);
		return -1;
	}
	for (;;) {
		size_t len = strcspn(entry, ",");
		if ((m->brokers[m->n_brokers] = strndup(entry, len)) == NULL) {
			START_FAILED("out of memory");
			return -1;
		}
		m->n_brokers++;
		if (entry[len] == '\0')
			return 0;
		entry += len + 1;
	}
}

static int mqtt_create(struct mqtt *m)
{
	MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;

	create.MQTTVersion = MQTTVERSION_3_1_1;
	create.sendWhileDisconnected = 0;
	/* Paho counts publishes its send thread has not written yet against
	 * this even while connected, and refuses more (-12) past it: its default
	 * of 100 is below the outbox's window and the front's threads. */
	create.maxBufferedMessages = MQTT_MAX_BUFFERED;
	if (MQTTAsync_createWithOptions(&m->client, m->brokers[0], m->client_id,
					MQTTCLIENT_PERSISTENCE_NONE, NULL, &create) != MQTTASYNC_SUCCESS) {
		START_FAILED("invalid broker URL (expected tcp://host:port)");
		return -1;
	}
	if (MQTTAsync_setCallbacks(m->client, m, on_connection_lost, on_message_arrived, NULL) !=
		    MQTTASYNC_SUCCESS ||
	    MQTTAsync_setConnected(m->client, m, on_connected) != MQTTASYNC_SUCCESS) {
		START_FAILED("cannot set the client's callbacks");
		return -1;
	}
	return 0;
}

/* MQTT 3.1.1 CONNACK return codes, which Paho passes to onFailure. */
static const char *connack_reason(int code)
{
	static const char *const reasons[] = {
		"accepted", "unacceptable protocol version", "client id rejected",
		"server unavailable", "bad user name or password", "not authorized",
	};
	return code >= 0 && code <= 5 ? reasons[code] : "unknown reason";
}

static int mqtt_connect_first(struct mqtt *m, int timeout_ms)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	struct timespec deadline;
	int rc = 0;

	will.topicName = m->status_topic;
	will.message = "offline";
	will.retained = 1;
	will.qos = 1;
	opts.keepAliveInterval = 10;
	opts.cleansession = m->cfg.persistent ? 0 : 1;
	/* A list fails over in order: Paho tries each URI of serverURIs on
	 * every (re)connect, from the first. The retry interval doubles from 1 s
	 * and stays at 2 s: a broker back after an outage is found within 2 s
	 * (docs/protocol.md §Settings, SHOP_BROKER_URL). */
	if (m->n_brokers > 1) {
		opts.serverURIs = m->brokers;
		opts.serverURIcount = m->n_brokers;
	}
	opts.automaticReconnect = m->cfg.reconnect;
	opts.minRetryInterval = 1;
	opts.maxRetryInterval = 2;
	opts.connectTimeout = (timeout_ms + 999) / 1000;
	opts.will = m->cfg.announce ? &will : NULL;
	opts.username = m->cfg.username;
	opts.password = m->cfg.password;
	opts.onSuccess = on_connect_succeeded;
	opts.onFailure = on_connect_failed;
	opts.context = m;
	if (MQTTAsync_connect(m->client, &opts) != MQTTASYNC_SUCCESS) {
		START_FAILED("cannot start connecting");
		return -1;
	}
	service_deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&m->lock);
	/* The CONNACK, not the SUBACK: a persistent session with a large backlog
	 * gets its queued messages first, and each is committed before the next,
	 * so the SUBACK can take longer than any start-up timeout. Until it
	 * comes the service is not ready (mqtt_is_ready, its status topic). */
	while (!atomic_load(&m->connected) && m->connect_failed == 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&m->changed, &m->lock, &deadline);
	pthread_mutex_unlock(&m->lock);
	if (!atomic_load(&m->connected)) {
		if (m->connect_failed > 0 && m->connect_failed <= 5)
			START_FAILED("the broker refused: %s", connack_reason(m->connect_failed));
		else if (m->connect_failed)
			START_FAILED("connection refused or host unreachable");
		else
			START_FAILED("no answer within %d ms", timeout_ms);
		return -1;
	}
	return 0;
}

int mqtt_start(const struct mqtt_config *cfg, int timeout_ms, struct mqtt **out)
{
	struct mqtt *m;

	if (cfg == NULL || cfg->url == NULL || cfg->service == NULL || cfg->instance == NULL ||
	    (cfg->announce && cfg->prefix == NULL) || out == NULL) {
		START_FAILED("incomplete configuration");
		return -1;
	}
	m = calloc(1, sizeof *m);
	if (m == NULL) {
		START_FAILED("out of memory");
		return -1;
	}
	m->cfg = *cfg;
	m->cfg.subscriptions = NULL;
	for (int i = 0; cfg->subscriptions && cfg->subscriptions[i]; i++) {
		if (i >= MQTT_MAX_SUBSCRIPTIONS ||
		    strlen(cfg->subscriptions[i]) >= sizeof m->subscriptions[i]) {
			START_FAILED("too many or too long subscriptions");
			free(m);
			return -1;
		}
		strcpy(m->subscriptions[i], cfg->subscriptions[i]);
		m->n_subscriptions = i + 1;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->changed, NULL);
	snprintf(m->client_id, sizeof m->client_id, "shop-%s-%s", cfg->service, cfg->instance);
	if (cfg->announce)
		snprintf(m->status_topic, sizeof m->status_topic, "%sstatus/%s/%s", cfg->prefix,
			 cfg->service, cfg->instance);
	nodelay_enable();
	if (mqtt_split_brokers(m) != 0 || mqtt_create(m) != 0 || mqtt_connect_first(m, timeout_ms) != 0) {
		mqtt_stop(m);
		return -1;
	}
	*out = m;
	return 0;
}

static void on_disconnected(void *ctx, MQTTAsync_successData *resp)
{
	struct mqtt *m = ctx;

	(void)resp;
	pthread_mutex_lock(&m->lock);
	m->disconnected = 1;
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->lock);
}

void mqtt_stop(struct mqtt *m)
{
	MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;
	struct timespec deadline;

	if (m == NULL)
		return;
	if (m->client != NULL && MQTTAsync_isConnected(m->client)) {
		/* Say goodbye ourselves: a clean disconnect sends no Last Will. */
		if (m->cfg.announce)
			publish_wait(m, m->status_topic, "offline", 7, 1, 1000);
		opts.timeout = 100; /* unacknowledged rows stay in the outbox */
		opts.onSuccess = on_disconnected;
		opts.context = m;
		if (MQTTAsync_disconnect(m->client, &opts) == MQTTASYNC_SUCCESS) {
			service_deadline_after(&deadline, 2000);
			pthread_mutex_lock(&m->lock);
			while (!m->disconnected &&
			       pthread_cond_timedwait(&m->changed, &m->lock, &deadline) != ETIMEDOUT)
				;
			pthread_mutex_unlock(&m->lock);
		}
	}
	if (m->client != NULL)
		MQTTAsync_destroy(&m->client);
	for (int i = 0; i < m->n_brokers; i++)
		free(m->brokers[i]);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->changed);
	free(m);
}
