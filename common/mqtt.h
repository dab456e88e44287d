/* The one MQTT client of the project, on Paho MQTTAsync: the services' (status
 * topic, automatic reconnect, handlers that commit before the PUBACK) and the
 * test tools' and benchmarks' (a window of publishes, waiting for PUBACKs). */
#ifndef SHOP_MQTT_H
#define SHOP_MQTT_H

#include <stddef.h>

struct mqtt;

/* Called on Paho's receive thread for every message; the PUBACK goes out
 * after it returns, so a service applies and commits the message first. */
typedef void (*mqtt_message_fn)(void *ctx, const char *topic, const char *payload,
				size_t len, int retained);
/* Called on Paho's thread when a publish is acknowledged (ok=1) or failed. */
typedef void (*mqtt_done_fn)(void *ctx, int ok);

/* Publishes one client may have queued inside Paho at once. */
#define MQTT_MAX_BUFFERED 4096

struct mqtt_config {
	const char *url;      /* a broker URL, or several separated by commas: tried in order */
	const char *service;  /* client id shop-<service>-<instance> */
	const char *instance;
	const char *prefix;   /* status topic <prefix>status/<service>/<instance> */
	const char *username, *password; /* NULL: anonymous */
	int persistent;       /* clean session off: the broker queues while we are down */
	int announce;         /* "online"/"offline" on the status topic, retained, with a Last Will */
	int reconnect;        /* reconnect (and subscribe again) whenever the connection drops */
	const char *const *subscriptions; /* topic filters, NULL-terminated, or NULL */
	mqtt_message_fn on_message;       /* NULL: messages are dropped */
	void (*on_ready)(void *ctx); /* connected and subscribed (again); may be NULL */
	void *ctx;
};

/* Connects and subscribes, waiting up to timeout_ms for the first connection.
 * 0 and *out set, or -1 and mqtt_start_failure() says why. */
int mqtt_start(const struct mqtt_config *cfg, int timeout_ms, struct mqtt **out);
/* Why the last mqtt_start failed ("connection refused or host unreachable"). */
const char *mqtt_start_failure(void);
/* Publishes "offline" (announce), disconnects and frees; NULL is fine. */
void mqtt_stop(struct mqtt *m);

/* Connected, subscribed and answering: false while stalled (a publish got no
 * PUBACK in time and none has come since; see mqtt_publish_wait). */
int mqtt_is_ready(struct mqtt *m);
/* Connected; without reconnect, false for good once the connection is lost. */
int mqtt_is_connected(struct mqtt *m);

/* Subscribes to one more filter at QoS 1 and waits up to timeout_ms for the
 * SUBACK; 0, or -1 when refused or not answered. Kept for reconnects. */
int mqtt_subscribe(struct mqtt *m, const char *filter, int timeout_ms);

/* Publishes at QoS 1; done (may be NULL) is called later unless this
 * returns -1. */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len,
		 int retained, mqtt_done_fn done, void *ctx);

/* Publishes at QoS 0, not retained, if connected: never queued or retried,
 * for signs of life whose old copies are worth nothing (heartbeats). 0 handed
 * to Paho, -1 not. */
int mqtt_publish_once(struct mqtt *m, const char *topic, const void *payload, size_t len);

/* Publishes at QoS 1 and waits for the PUBACK: 0 acknowledged, -1 not sent
 * (not connected, stalled, refused), MQTT_UNCONFIRMED handed to Paho but no
 * PUBACK in time or the send failed: the broker may still have it. After an
 * MQTT_UNCONFIRMED timeout the client is stalled: further calls return -1 at
 * once, without waiting, until a PUBACK arrives, the publishes in flight have
 * all ended, or it reconnects (a frozen or cut-off broker costs one timeout,
 * not one per request). Never call it from a Paho callback. */
#define MQTT_UNCONFIRMED (-2)
int mqtt_publish_wait(struct mqtt *m, const char *topic, const void *payload, size_t len,
		      int timeout_ms);

/* For tools that publish flat out: publishes at QoS 1 (not retained) once
 * fewer than window publishes of this client wait for their PUBACK, waiting
 * for room while they complete, up to timeout_ms without any completing.
 * 0 handed to Paho; -1 refused, connection lost or no room in time (counted
 * as failed, see mqtt_drain). */
int mqtt_publish_windowed(struct mqtt *m, const char *topic, const void *payload, size_t len,
			  int window, int timeout_ms);
/* Waits until no publish waits for its PUBACK, giving up when none completes
 * for timeout_ms; returns how many publishes so far got none (failed, or
 * still waiting). */
long mqtt_drain(struct mqtt *m, int timeout_ms);

#endif
