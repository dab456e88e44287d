/* The MQTT client every service uses: Paho MQTTAsync with a status topic,
 * automatic reconnect, and handlers that commit before the PUBACK. */
#ifndef SHOP_MQTT_H
#define SHOP_MQTT_H

#include <stddef.h>

struct mqtt;

/* Called on Paho's receive thread for every message. It must apply and commit
 * the message before returning: the PUBACK goes out after it returns. */
typedef void (*mqtt_message_fn)(void *ctx, const char *topic, const char *payload,
				size_t len);
/* Called on Paho's thread when a publish is acknowledged (ok=1) or failed. */
typedef void (*mqtt_done_fn)(void *ctx, int ok);

/* Publishes one client may have queued inside Paho at once. */
#define MQTT_MAX_BUFFERED 4096

struct mqtt_config {
	const char *url;
	const char *service;  /* client id shop-<service>-<instance> */
	const char *instance;
	const char *prefix;   /* status topic <prefix>status/<service>/<instance> */
	const char *username, *password; /* NULL: anonymous */
	int persistent;       /* clean session off: the broker queues while we are down */
	const char *const *subscriptions; /* topic filters, NULL-terminated */
	mqtt_message_fn on_message;
	void (*on_ready)(void *ctx); /* connected and subscribed (again) */
	void *ctx;
};

/* Connects and subscribes, waiting up to timeout_ms for the first connection.
 * 0 and *out set, or -1 and mqtt_start_failure() says why. */
int mqtt_start(const struct mqtt_config *cfg, int timeout_ms, struct mqtt **out);
/* Why the last mqtt_start failed ("connection refused or host unreachable"). */
const char *mqtt_start_failure(void);
/* Publishes "offline", disconnects and frees. */
void mqtt_stop(struct mqtt *m);

/* Connected and subscribed. */
int mqtt_is_ready(struct mqtt *m);

/* Publishes at QoS 1; done is called later unless this returns -1. */
int mqtt_publish(struct mqtt *m, const char *topic, const char *payload, size_t len,
		 int retained, mqtt_done_fn done, void *ctx);

/* Publishes at QoS 1 and waits for the PUBACK: 0 acknowledged, -1 not sent
 * (not connected, refused), MQTT_UNCONFIRMED handed to Paho but no PUBACK in
 * time or the send failed: the broker may still have it. Never call it from
 * a Paho callback. */
#define MQTT_UNCONFIRMED (-2)
int mqtt_publish_wait(struct mqtt *m, const char *topic, const char *payload, size_t len,
		      int timeout_ms);

#endif
