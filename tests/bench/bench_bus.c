/* shop-bench-bus: the bus's limit, QoS 1 publish -> subscribe on one Mosquitto.
 *
 * Two Paho MQTTAsync clients (TCP_NODELAY, like the services): a publisher
 * keeping up to --window QoS 1 messages of --size bytes in flight, and a
 * QoS 1 subscriber on the same topic. The payload carries its send time, so
 * the subscriber measures publish -> delivery latency. After a warm-up, it
 * counts deliveries for a fixed time and prints one line of name=value pairs. */
#include <MQTTAsync.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "nodelay.h"

struct bus_opts {
	const char *url, *topic;
	long seconds, warmup, window, size;
};

struct bus {
	struct bus_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long inflight, failed;
	int ready; /* connected / subscribed steps done */
	atomic_ulong received;
	_Atomic uint64_t window_start, window_end;
	unsigned long in_window;
	struct bench_samples lat; /* only touched by Paho's receive thread of the subscriber */
};

static void parse(int argc, char **argv, struct bus_opts *o)
{
	o->url = "tcp://127.0.0.1:1883";
	o->topic = "bench/bus";
	o->seconds = 5;
	o->warmup = 1;
	o->window = 100;
	o->size = 200;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--url") == 0)
			o->url = bench_arg_str(argc, argv, &i);
		else if (strcmp(argv[i], "--topic") == 0)
			o->topic = bench_arg_str(argc, argv, &i);
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = bench_arg_long(argc, argv, &i, 1, 3600);
		else if (strcmp(argv[i], "--warmup") == 0)
			o->warmup = bench_arg_long(argc, argv, &i, 0, 600);
		else if (strcmp(argv[i], "--window") == 0)
			o->window = bench_arg_long(argc, argv, &i, 1, 65535);
		else if (strcmp(argv[i], "--size") == 0)
			o->size = bench_arg_long(argc, argv, &i, 16, 1 << 20);
		else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: %s [--url tcp://H:P] [--topic T] [--seconds N] [--warmup N]"
			       " [--window N] [--size BYTES]\n", argv[0]);
			exit(0);
		} else
			bench_usage_error(argv[0], "unknown flag '%s'", argv[i]);
	}
}

static void step_done(struct bus *b, int ok)
{
	pthread_mutex_lock(&b->lock);
	b->ready = ok ? b->ready + 1 : -1;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void on_ok(void *ctx, MQTTAsync_successData *d)
{
	(void)d;
	step_done(ctx, 1);
}

static void on_fail(void *ctx, MQTTAsync_failureData *d)
{
	(void)d;
	step_done(ctx, 0);
}

/* Waits until `want` steps are done; 0 or -1 (failed or 10 s passed). */
static int wait_steps(struct bus *b, int want)
{
	uint64_t end = bench_now_ns() + 10000000000u;
	int rc;

	pthread_mutex_lock(&b->lock);
	while (b->ready >= 0 && b->ready < want && bench_now_ns() < end) {
		pthread_mutex_unlock(&b->lock);
		bench_sleep_ns(1000000);
		pthread_mutex_lock(&b->lock);
	}
	rc = b->ready >= want ? 0 : -1;
	pthread_mutex_unlock(&b->lock);
	return rc;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	struct bus *b = ctx;
	uint64_t sent, now = bench_now_ns();

	(void)topic_len;
	if (m->payloadlen >= (int)sizeof sent) {
		memcpy(&sent, m->payload, sizeof sent);
		if (now >= atomic_load(&b->window_start) && now < atomic_load(&b->window_end)) {
			b->in_window++;
			bench_samples_add(&b->lat, now - sent);
		}
	}
	atomic_fetch_add(&b->received, 1);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void on_puback(void *ctx, MQTTAsync_successData *d)
{
	struct bus *b = ctx;

	(void)d;
	pthread_mutex_lock(&b->lock);
	b->inflight--;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void on_pubfail(void *ctx, MQTTAsync_failureData *d)
{
	struct bus *b = ctx;

	(void)d;
	pthread_mutex_lock(&b->lock);
	b->inflight--;
	b->failed++;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static int connect_client(struct bus *b, MQTTAsync *c, const char *id, int want)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;

	if (MQTTAsync_create(c, b->o.url, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTASYNC_SUCCESS)
		return -1;
	if (want == 1 && MQTTAsync_setCallbacks(*c, b, NULL, on_message, NULL) != MQTTASYNC_SUCCESS)
		return -1;
	co.cleansession = 1;
	co.keepAliveInterval = 30;
	co.maxInflight = (int)b->o.window;
	co.onSuccess = on_ok;
	co.onFailure = on_fail;
	co.context = b;
	if (MQTTAsync_connect(*c, &co) != MQTTASYNC_SUCCESS)
		return -1;
	return wait_steps(b, want);
}

static int subscribe(struct bus *b, MQTTAsync sub)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

	ro.onSuccess = on_ok;
	ro.onFailure = on_fail;
	ro.context = b;
	if (MQTTAsync_subscribe(sub, b->o.topic, 1, &ro) != MQTTASYNC_SUCCESS)
		return -1;
	return wait_steps(b, 2);
}

/* Publishes flat out with at most window messages in flight until `until`. */
static unsigned long publish_until(struct bus *b, MQTTAsync pub, char *payload, uint64_t until)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	unsigned long sent = 0;
	uint64_t now;

	ro.onSuccess = on_puback;
	ro.onFailure = on_pubfail;
	ro.context = b;
	while ((now = bench_now_ns()) < until) {
		pthread_mutex_lock(&b->lock);
		while (b->inflight >= b->o.window)
			pthread_cond_wait(&b->cond, &b->lock);
		b->inflight++;
		pthread_mutex_unlock(&b->lock);
		now = bench_now_ns();
		memcpy(payload, &now, sizeof now);
		if (MQTTAsync_send(pub, b->o.topic, (int)b->o.size, payload, 1, 0, &ro) !=
		    MQTTASYNC_SUCCESS) {
			pthread_mutex_lock(&b->lock);
			b->inflight--;
			b->failed++;
			pthread_mutex_unlock(&b->lock);
			bench_sleep_ns(1000000);
			continue;
		}
		sent++;
	}
	return sent;
}

int main(int argc, char **argv)
{
	static struct bus b;
	MQTTAsync pub = NULL, sub = NULL;
	char id[64], *payload;
	unsigned long sent;
	uint64_t t0, ws, we;
	double secs;

	parse(argc, argv, &b.o);
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	atomic_store(&b.window_start, UINT64_MAX);
	atomic_store(&b.window_end, UINT64_MAX);
	nodelay_enable();
	payload = calloc(1, (size_t)b.o.size);
	snprintf(id, sizeof id, "bench-bus-sub-%d", (int)getpid());
	if (payload == NULL || connect_client(&b, &sub, id, 1) != 0 || subscribe(&b, sub) != 0) {
		fprintf(stderr, "shop-bench-bus: cannot connect/subscribe to %s\n", b.o.url);
		return 1;
	}
	snprintf(id, sizeof id, "bench-bus-pub-%d", (int)getpid());
	if (connect_client(&b, &pub, id, 3) != 0) {
		fprintf(stderr, "shop-bench-bus: cannot connect to %s\n", b.o.url);
		return 1;
	}
	memset(payload, 'x', (size_t)b.o.size);
	t0 = bench_now_ns();
	ws = t0 + (uint64_t)b.o.warmup * 1000000000u;
	we = ws + (uint64_t)b.o.seconds * 1000000000u;
	atomic_store(&b.window_end, we);
	atomic_store(&b.window_start, ws);
	sent = publish_until(&b, pub, payload, we);
	/* Let the last deliveries arrive (at most 5 s). */
	for (int i = 0; i < 500 && atomic_load(&b.received) < sent; i++)
		bench_sleep_ns(10000000);
	MQTTAsync_disconnectOptions dop = MQTTAsync_disconnectOptions_initializer;
	MQTTAsync_disconnect(pub, &dop);
	MQTTAsync_disconnect(sub, &dop);
	bench_sleep_ns(100000000);
	secs = (double)(we - ws) / 1e9;
	printf("bus size=%ld window=%ld sent=%lu received=%lu failed=%ld msgs_per_s=%.0f"
	       " p50_ms=%.3f p99_ms=%.3f\n",
	       b.o.size, b.o.window, sent, (unsigned long)atomic_load(&b.received), b.failed,
	       (double)b.in_window / secs, bench_quantile_ms(&b.lat, 0.50),
	       bench_quantile_ms(&b.lat, 0.99));
	MQTTAsync_destroy(&pub);
	MQTTAsync_destroy(&sub);
	free(payload);
	return 0;
}
