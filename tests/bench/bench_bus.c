/* shop-bench-bus: the bus's limit, QoS 1 publish -> subscribe on one Mosquitto.
 *
 * Two clients of common/mqtt.c (TCP_NODELAY, like the services): a publisher
 * keeping up to --window QoS 1 messages of --size bytes in flight, and a
 * QoS 1 subscriber on the same topic. The payload carries its send time, so
 * the subscriber measures publish -> delivery latency. After a warm-up, it
 * counts deliveries for a fixed time and prints one line of name=value pairs. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "log.h"
#include "mqtt.h"
#include "settings.h"

#define BENCH_BUS_TIMEOUT_MS 10000

struct bus_opts {
	const char *url, *topic;
	const char *username, *password; /* NULL: anonymous */
	char password_buf[256];
	long seconds, warmup, window, size;
};

struct bus {
	struct bus_opts o;
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
		else if (strcmp(argv[i], "--username") == 0)
			o->username = bench_arg_str(argc, argv, &i);
		else if (strcmp(argv[i], "--password-file") == 0) {
			if (settings_read_secret_file(bench_arg_str(argc, argv, &i), o->password_buf,
						      sizeof o->password_buf, argv[0],
						      "MQTT password file") != 0)
				exit(2);
			o->password = o->password_buf;
		}
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = bench_arg_long(argc, argv, &i, 1, 3600);
		else if (strcmp(argv[i], "--warmup") == 0)
			o->warmup = bench_arg_long(argc, argv, &i, 0, 600);
		else if (strcmp(argv[i], "--window") == 0)
			o->window = bench_arg_long(argc, argv, &i, 1, 65535);
		else if (strcmp(argv[i], "--size") == 0)
			o->size = bench_arg_long(argc, argv, &i, 16, 1 << 20);
		else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: %s [--url tcp://H:P] [--topic T] [--username U]"
			       " [--password-file FILE] [--seconds N] [--warmup N]"
			       " [--window N] [--size BYTES]\n", argv[0]);
			exit(0);
		} else
			bench_usage_error(argv[0], "unknown flag '%s'", argv[i]);
	}
}

/* On the subscriber's receive thread. */
static void on_message(void *ctx, const char *topic, const char *payload, size_t len,
		       int retained)
{
	struct bus *b = ctx;
	uint64_t sent, now = bench_now_ns();

	(void)topic;
	(void)retained;
	if (len >= sizeof sent) {
		memcpy(&sent, payload, sizeof sent);
		if (now >= atomic_load(&b->window_start) && now < atomic_load(&b->window_end)) {
			b->in_window++;
			bench_samples_add(&b->lat, now - sent);
		}
	}
	atomic_fetch_add(&b->received, 1);
}

/* A client shop-bench-bus-<role>-<pid>: a clean session, nothing announced. */
static int connect_client(struct bus *b, const char *role, struct mqtt **out)
{
	char service[32], instance[32];
	struct mqtt_config cfg = {
		.url = b->o.url, .service = service, .instance = instance,
		.username = b->o.username, .password = b->o.password,
		.on_message = on_message, .ctx = b,
	};

	snprintf(service, sizeof service, "bench-bus-%s", role);
	snprintf(instance, sizeof instance, "%d", (int)getpid());
	return mqtt_start(&cfg, BENCH_BUS_TIMEOUT_MS, out);
}

/* Publishes flat out with at most window messages in flight until `until`. */
static unsigned long publish_until(struct bus *b, struct mqtt *pub, char *payload,
				   uint64_t until)
{
	unsigned long sent = 0;
	uint64_t now;

	while (bench_now_ns() < until) {
		now = bench_now_ns();
		memcpy(payload, &now, sizeof now);
		if (mqtt_publish_windowed(pub, b->o.topic, payload, (size_t)b->o.size,
					  (int)b->o.window, BENCH_BUS_TIMEOUT_MS) != 0) {
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
	struct mqtt *pub = NULL, *sub = NULL;
	char *payload;
	unsigned long sent;
	long failed;
	uint64_t t0, ws, we;
	double secs;

	parse(argc, argv, &b.o);
	log_init("shop-bench-bus", LOG_LEVEL_WARN);
	atomic_store(&b.window_start, UINT64_MAX);
	atomic_store(&b.window_end, UINT64_MAX);
	payload = calloc(1, (size_t)b.o.size);
	if (payload == NULL || connect_client(&b, "sub", &sub) != 0 ||
	    mqtt_subscribe(sub, b.o.topic, BENCH_BUS_TIMEOUT_MS) != 0) {
		fprintf(stderr, "shop-bench-bus: cannot connect/subscribe to %s\n", b.o.url);
		return 1;
	}
	if (connect_client(&b, "pub", &pub) != 0) {
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
	failed = mqtt_drain(pub, BENCH_BUS_TIMEOUT_MS);
	mqtt_stop(pub);
	mqtt_stop(sub);
	secs = (double)(we - ws) / 1e9;
	printf("bus size=%ld window=%ld sent=%lu received=%lu failed=%ld msgs_per_s=%.0f"
	       " p50_ms=%.3f p99_ms=%.3f client_cpu_s=%.3f\n",
	       b.o.size, b.o.window, sent, (unsigned long)atomic_load(&b.received), failed,
	       (double)b.in_window / secs, bench_quantile_ms(&b.lat, 0.50),
	       bench_quantile_ms(&b.lat, 0.99), (double)bench_process_cpu_ns() / 1e9);
	free(payload);
	return 0;
}
