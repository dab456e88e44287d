/* shop-replay's connection to the bus: common/mqtt.c with the subcommands'
 * settings (credentials, a clean session, no reconnect, no status topic),
 * QoS 1 publishes in a bounded window, and one line on stderr when it cannot
 * connect or subscribe. */
#include "bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mqtt.h"

/* Unacknowledged publishes at a time: enough to keep the pipe full, few
 * enough that Paho's queue and the broker's stay small. */
#define BUS_WINDOW 64
#define BUS_CONNECT_TIMEOUT_MS 5000

struct bus {
	struct mqtt *mqtt;
	bus_message_fn on_message;
	void *ctx;
};

static void on_message(void *ctx, const char *topic, const char *payload, size_t len,
		       int retained)
{
	struct bus *b = ctx;

	if (b->on_message != NULL)
		b->on_message(b->ctx, topic, payload, len, retained);
}

int bus_connect(const struct cli_common *c, bus_message_fn on_message_fn, void *ctx,
		struct bus **out)
{
	struct bus *b = calloc(1, sizeof *b);
	char instance[32];
	/* A test tool: no status topic, and a lost connection ends the run
	 * (the tool says so) rather than being hidden by a reconnect. */
	struct mqtt_config cfg = {
		.url = c->broker_url, .service = "replay", .instance = instance,
		.username = c->username, .password = c->password,
		.on_message = on_message, .ctx = b,
	};

	if (b == NULL) {
		fprintf(stderr, "%s: out of memory\n", CLI_PROGRAM);
		return -1;
	}
	b->on_message = on_message_fn;
	b->ctx = ctx;
	snprintf(instance, sizeof instance, "%ld", (long)getpid());
	if (mqtt_start(&cfg, BUS_CONNECT_TIMEOUT_MS, &b->mqtt) != 0) {
		fprintf(stderr, "%s: cannot connect to the broker at %s: %s\n", CLI_PROGRAM,
			c->broker_url, mqtt_start_failure());
		free(b);
		return -1;
	}
	*out = b;
	return 0;
}

int bus_subscribe(struct bus *b, const char *filter, int timeout_ms)
{
	if (mqtt_subscribe(b->mqtt, filter, timeout_ms) != 0) {
		fprintf(stderr, "%s: the broker did not accept the subscription to %s\n",
			CLI_PROGRAM, filter);
		return -1;
	}
	return 0;
}

int bus_publish(struct bus *b, const char *topic, const void *payload, size_t len,
		int timeout_ms)
{
	return mqtt_publish_windowed(b->mqtt, topic, payload, len, BUS_WINDOW, timeout_ms);
}

long bus_drain(struct bus *b, int timeout_ms)
{
	return mqtt_drain(b->mqtt, timeout_ms);
}

int bus_lost(struct bus *b)
{
	return !mqtt_is_connected(b->mqtt);
}

void bus_close(struct bus *b)
{
	if (b == NULL)
		return;
	mqtt_stop(b->mqtt);
	free(b);
}
