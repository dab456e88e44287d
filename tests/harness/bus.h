/* shop-replay's connection to the bus: common/mqtt.c with the subcommands'
 * settings (credentials, a clean session, no reconnect, no status topic),
 * QoS 1 publishes in a bounded window, and one line on stderr when it cannot
 * connect or subscribe. */
#ifndef SHOP_REPLAY_BUS_H
#define SHOP_REPLAY_BUS_H

#include <stddef.h>

#include "cli.h"

struct bus;

/* Called on Paho's receive thread for each message; the PUBACK goes out
 * after it returns. */
typedef void (*bus_message_fn)(void *ctx, const char *topic, const void *payload, size_t len,
			       int retained);

/* Connects as shop-replay-<pid> with a clean session. 0 and *out set, or -1
 * with one line on stderr naming the broker. on_message may be NULL. */
int bus_connect(const struct cli_common *c, bus_message_fn on_message, void *ctx,
		struct bus **out);

/* Subscribes at QoS 1 and waits for the SUBACK; 0 or -1 (line printed). */
int bus_subscribe(struct bus *b, const char *filter, int timeout_ms);

/* Publishes at QoS 1 (not retained), first waiting for room in the window of
 * unacknowledged messages. 0 handed to Paho; -1 refused or no PUBACK came
 * for timeout_ms while the window was full (counted as failed). */
int bus_publish(struct bus *b, const char *topic, const void *payload, size_t len,
		int timeout_ms);

/* Waits until every publish has its PUBACK or failed, giving up when none
 * completes for timeout_ms. Returns how many publishes did not get a PUBACK. */
long bus_drain(struct bus *b, int timeout_ms);

/* The connection to the broker is gone (it is not re-established). */
int bus_lost(struct bus *b);

/* Disconnects and frees; NULL is fine. */
void bus_close(struct bus *b);

#endif
