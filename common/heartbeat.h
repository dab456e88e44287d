/* A daemon's heartbeat: a sign of life on the bus every second, so that a
 * front can tell the path to the daemon works end to end (docs/protocol.md
 * §Topologies: liveness by the newest heartbeat and its time). */
#ifndef SHOP_HEARTBEAT_H
#define SHOP_HEARTBEAT_H

#include <stdint.h>

#include "mqtt.h"

#define HEARTBEAT_PERIOD_MS 1000

struct heartbeat;

/* Publishes {"v":1,"t_ms":<epoch ms>,"seq":<n>} at QoS 0, not retained, to
 * <prefix>status/<service>/<instance>/heartbeat through via every period_ms,
 * while via and ready_too (NULL: not asked) are connected and subscribed.
 * 0 and *out (free with heartbeat_stop), or -1 (logged). */
int heartbeat_start(struct mqtt *via, struct mqtt *ready_too, const char *prefix,
		    const char *service, const char *instance, int period_ms,
		    struct heartbeat **out);
/* Stops the thread and frees h; NULL is fine. */
void heartbeat_stop(struct heartbeat *h);

/* A heartbeat's payload: 0 and its fields, or -1 when it is not one. */
int heartbeat_parse(const char *payload, size_t len, int64_t *t_ms, int64_t *seq);

#endif
