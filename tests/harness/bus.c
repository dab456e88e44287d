/* shop-replay's own MQTT client: Paho MQTTAsync with credentials, a clean
 * session, QoS 1 publishes in a bounded window, and waits for every PUBACK.
 *
 * Not common/mqtt.c: that one is the services' (persistent sessions, status
 * topic and Last Will, no credentials); a test tool wants none of that. */
#include "bus.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nodelay.h"
#include "service.h"

/* Unacknowledged publishes at a time: enough to keep the pipe full, few
 * enough that Paho's queue and the broker's stay small. */
#define BUS_WINDOW 64
#define BUS_CONNECT_TIMEOUT_S 5

struct bus {
	MQTTAsync client;
	char client_id[64];
	const char *url;
	bus_message_fn on_message;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int connect_done; /* 1 connected, -1 failed */
	int connect_code;
	int subscribe_done;
	int disconnected;
	int lost;
	long in_flight;
	long failed;
};

/* Wakes every waiter and lets go of the lock the caller holds. */
static void bus_signal_unlock(struct bus *b)
{
	pthread_cond_broadcast(&b->changed);
	pthread_mutex_unlock(&b->lock);
}

static void on_connected(void *ctx, MQTTAsync_successData *resp)
{
	struct bus *b = ctx;

	(void)resp;
	pthread_mutex_lock(&b->lock);
	b->connect_done = 1;
	bus_signal_unlock(b);
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct bus *b = ctx;

	pthread_mutex_lock(&b->lock);
	b->connect_done = -1;
	b->connect_code = resp ? resp->code : 0;
	bus_signal_unlock(b);
}

static void on_connection_lost(void *ctx, char *cause)
{
	struct bus *b = ctx;

	(void)cause;
	pthread_mutex_lock(&b->lock);
	b->lost = 1;
	bus_signal_unlock(b);
}

static int on_message_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct bus *b = ctx;

	(void)topic_len;
	if (b->on_message != NULL)
		b->on_message(b->ctx, topic, msg->payload, (size_t)msg->payloadlen, msg->retained);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1; /* handled: Paho sends the PUBACK now */
}

static const char *connect_failure(int code)
{
	switch (code) {
	case 1: return "unacceptable protocol version";
	case 2: return "client id rejected";
	case 3: return "server unavailable";
	case 4: return "bad user name or password";
	case 5: return "not authorized";
	default: return "refused or unreachable";
	}
}

static int bus_create(struct bus *b)
{
	MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
	int rc;

	create.MQTTVersion = MQTTVERSION_3_1_1;
	rc = MQTTAsync_createWithOptions(&b->client, b->url, b->client_id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL, &create);
	if (rc != MQTTASYNC_SUCCESS) {
		b->client = NULL;
		fprintf(stderr, "%s: invalid broker URL '%s' (Paho code %d)\n", CLI_PROGRAM,
			b->url, rc);
		return -1;
	}
	if (MQTTAsync_setCallbacks(b->client, b, on_connection_lost, on_message_arrived, NULL) !=
	    MQTTASYNC_SUCCESS) {
		fprintf(stderr, "%s: cannot set the MQTT callbacks\n", CLI_PROGRAM);
		return -1;
	}
	return 0;
}

static int bus_wait_connected(struct bus *b, const struct cli_common *c)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	struct timespec deadline;
	int done;

	opts.keepAliveInterval = 20;
	opts.cleansession = 1;
	opts.MQTTVersion = MQTTVERSION_3_1_1;
	opts.connectTimeout = BUS_CONNECT_TIMEOUT_S;
	opts.username = c->username;
	opts.password = c->password;
	opts.onSuccess = on_connected;
	opts.onFailure = on_connect_failed;
	opts.context = b;
	if (MQTTAsync_connect(b->client, &opts) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "%s: cannot connect to the broker at %s\n", CLI_PROGRAM, b->url);
		return -1;
	}
	service_deadline_after(&deadline, (BUS_CONNECT_TIMEOUT_S + 1) * 1000);
	pthread_mutex_lock(&b->lock);
	while (b->connect_done == 0 &&
	       pthread_cond_timedwait(&b->changed, &b->lock, &deadline) != ETIMEDOUT)
		;
	done = b->connect_done;
	pthread_mutex_unlock(&b->lock);
	if (done != 1) {
		fprintf(stderr, "%s: cannot connect to the broker at %s: %s\n", CLI_PROGRAM,
			b->url, done == 0 ? "timed out" : connect_failure(b->connect_code));
		return -1;
	}
	return 0;
}

int bus_connect(const struct cli_common *c, bus_message_fn on_message, void *ctx,
		struct bus **out)
{
	struct bus *b = calloc(1, sizeof *b);

	if (b == NULL) {
		fprintf(stderr, "%s: out of memory\n", CLI_PROGRAM);
		return -1;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->changed, NULL);
	b->url = c->broker_url;
	b->on_message = on_message;
	b->ctx = ctx;
	snprintf(b->client_id, sizeof b->client_id, "shop-replay-%ld", (long)getpid());
	/* The bus is latency-bound (PUBACK round trips): no Nagle (DESIGN.md). */
	nodelay_enable();
	if (bus_create(b) != 0 || bus_wait_connected(b, c) != 0) {
		bus_close(b);
		return -1;
	}
	*out = b;
	return 0;
}

static void on_subscribed(void *ctx, MQTTAsync_successData *resp)
{
	struct bus *b = ctx;

	(void)resp;
	pthread_mutex_lock(&b->lock);
	b->subscribe_done = 1;
	bus_signal_unlock(b);
}

static void on_subscribe_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct bus *b = ctx;

	(void)resp;
	pthread_mutex_lock(&b->lock);
	b->subscribe_done = -1;
	bus_signal_unlock(b);
}

int bus_subscribe(struct bus *b, const char *filter, int timeout_ms)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	struct timespec deadline;
	int done;

	opts.onSuccess = on_subscribed;
	opts.onFailure = on_subscribe_failed;
	opts.context = b;
	if (MQTTAsync_subscribe(b->client, filter, 1, &opts) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "%s: cannot subscribe to %s\n", CLI_PROGRAM, filter);
		return -1;
	}
	service_deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&b->lock);
	while (b->subscribe_done == 0 && !b->lost &&
	       pthread_cond_timedwait(&b->changed, &b->lock, &deadline) != ETIMEDOUT)
		;
	done = b->subscribe_done;
	pthread_mutex_unlock(&b->lock);
	if (done != 1) {
		fprintf(stderr, "%s: the broker at %s did not accept the subscription to %s\n",
			CLI_PROGRAM, b->url, filter);
		return -1;
	}
	return 0;
}

static void publish_finished(struct bus *b, int ok)
{
	pthread_mutex_lock(&b->lock);
	b->in_flight--;
	if (!ok)
		b->failed++;
	bus_signal_unlock(b);
}

static void on_published(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	publish_finished(ctx, 1);
}

static void on_publish_failed(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	publish_finished(ctx, 0);
}

/* Waits, lock held, until fewer than limit publishes are in flight; gives up
 * when nothing completes for timeout_ms or the connection is gone. */
static int wait_in_flight_below(struct bus *b, long limit, int timeout_ms)
{
	struct timespec deadline;
	long seen = b->in_flight;

	service_deadline_after(&deadline, timeout_ms);
	while (b->in_flight >= limit && !b->lost) {
		if (pthread_cond_timedwait(&b->changed, &b->lock, &deadline) == ETIMEDOUT)
			return -1;
		if (b->in_flight < seen) { /* progress: a fresh timeout */
			seen = b->in_flight;
			service_deadline_after(&deadline, timeout_ms);
		}
	}
	return b->in_flight < limit ? 0 : -1;
}

int bus_publish(struct bus *b, const char *topic, const void *payload, size_t len,
		int timeout_ms)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	int rc;

	pthread_mutex_lock(&b->lock);
	if (wait_in_flight_below(b, BUS_WINDOW, timeout_ms) != 0) {
		b->failed++;
		pthread_mutex_unlock(&b->lock);
		return -1;
	}
	b->in_flight++;
	pthread_mutex_unlock(&b->lock);
	opts.onSuccess = on_published;
	opts.onFailure = on_publish_failed;
	opts.context = b;
	/* Paho copies the payload; the cast only drops const from its signature. */
	rc = MQTTAsync_send(b->client, topic, (int)len, (void *)payload, 1, 0, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "%s: publish to %s refused (Paho code %d)\n", CLI_PROGRAM, topic,
			rc);
		publish_finished(b, 0);
		return -1;
	}
	return 0;
}

long bus_drain(struct bus *b, int timeout_ms)
{
	long missing;

	pthread_mutex_lock(&b->lock);
	(void)wait_in_flight_below(b, 1, timeout_ms);
	missing = b->failed + b->in_flight;
	pthread_mutex_unlock(&b->lock);
	return missing;
}

int bus_lost(struct bus *b)
{
	int lost;

	pthread_mutex_lock(&b->lock);
	lost = b->lost;
	pthread_mutex_unlock(&b->lock);
	return lost;
}

static void on_disconnected(void *ctx, MQTTAsync_successData *resp)
{
	struct bus *b = ctx;

	(void)resp;
	pthread_mutex_lock(&b->lock);
	b->disconnected = 1;
	bus_signal_unlock(b);
}

void bus_close(struct bus *b)
{
	MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;
	struct timespec deadline;

	if (b == NULL)
		return;
	if (b->client != NULL && MQTTAsync_isConnected(b->client)) {
		opts.timeout = 1000;
		opts.onSuccess = on_disconnected;
		opts.context = b;
		if (MQTTAsync_disconnect(b->client, &opts) == MQTTASYNC_SUCCESS) {
			service_deadline_after(&deadline, 2000);
			pthread_mutex_lock(&b->lock);
			while (!b->disconnected &&
			       pthread_cond_timedwait(&b->changed, &b->lock, &deadline) != ETIMEDOUT)
				;
			pthread_mutex_unlock(&b->lock);
		}
	}
	if (b->client != NULL)
		MQTTAsync_destroy(&b->client);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->changed);
	free(b);
}
