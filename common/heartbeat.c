/* A daemon's heartbeat: a sign of life on the bus every second (heartbeat.h). */
#include "heartbeat.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service.h"

struct heartbeat {
	struct mqtt *via, *ready_too;
	char topic[256];
	int period_ms;
	atomic_int stop;
	pthread_t thread;
};

/* QoS 0 on purpose: a heartbeat held back by a queue or a persistent bridge
 * session and delivered late would say a daemon lives when it may not
 * (docs/protocol.md §Topologies). */
static void *heartbeat_run(void *arg)
{
	struct heartbeat *h = arg;
	long long seq = 0;

	while (!atomic_load(&h->stop)) {
		if (mqtt_is_ready(h->via) && (h->ready_too == NULL || mqtt_is_ready(h->ready_too))) {
			char payload[96];
			int n = snprintf(payload, sizeof payload, "{\"v\":1,\"t_ms\":%lld,\"seq\":%lld}",
					 (long long)service_now_ms(), ++seq);
			if (mqtt_publish_once(h->via, h->topic, payload, (size_t)n) != 0)
				log_debug("heartbeat: %s not sent", h->topic);
		}
		for (int slept = 0; slept < h->period_ms && !atomic_load(&h->stop); slept += 50)
			service_sleep_ms(50);
	}
	return NULL;
}

int heartbeat_start(struct mqtt *via, struct mqtt *ready_too, const char *prefix,
		    const char *service, const char *instance, int period_ms,
		    struct heartbeat **out)
{
	struct heartbeat *h;
	int n;

	if (via == NULL || period_ms <= 0)
		return -1;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		return -1;
	n = snprintf(h->topic, sizeof h->topic, "%sstatus/%s/%s/heartbeat", prefix, service,
		     instance);
	if (n < 0 || (size_t)n >= sizeof h->topic) {
		log_warn("heartbeat: topic for %s/%s does not fit", service, instance);
		free(h);
		return -1;
	}
	h->via = via;
	h->ready_too = ready_too;
	h->period_ms = period_ms;
	if (pthread_create(&h->thread, NULL, heartbeat_run, h) != 0) {
		log_warn("heartbeat: cannot start its thread");
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

void heartbeat_stop(struct heartbeat *h)
{
	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	pthread_join(h->thread, NULL);
	free(h);
}

int heartbeat_parse(const char *payload, size_t len, int64_t *t_ms, int64_t *seq)
{
	cJSON *json = cJSON_ParseWithLength(payload, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(json, "t_ms");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(json, "seq");
	int rc = -1;

	/* both below 2^53, where a double holds every integer */
	if (cJSON_IsNumber(t) && cJSON_IsNumber(s) && t->valuedouble >= 0 &&
	    t->valuedouble < 9007199254740992.0 && s->valuedouble >= 0 &&
	    s->valuedouble < 9007199254740992.0) {
		*t_ms = (int64_t)t->valuedouble;
		*seq = (int64_t)s->valuedouble;
		rc = 0;
	}
	cJSON_Delete(json);
	return rc;
}
