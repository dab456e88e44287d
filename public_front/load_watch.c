/* Watches how far behind the daemons run, from the lag they report on
 * /healthz, so that POST /api/v1/orders can shed load instead of queueing.
 *
 * A 202 comes after the broker's PUBACK, which says nothing about how fast
 * the daemons keep up: without this the front accepts orders many times
 * faster than they are confirmed and the wait grows without bound. */
#include <cjson/cJSON.h>
#include <string.h>

#include "front.h"
#include "log.h"

#define WATCH_INTERVAL_MS 200
#define WATCH_TIMEOUT_MS 500

/* The daemon's lag_ms, or 0 when it cannot tell (down is not overloaded:
 * /readyz and the broker's queue deal with that). */
static long long daemon_lag_ms(const struct http_target *target)
{
	struct http_response r;
	long long lag = 0;

	if (http_client_get(target, "/healthz", WATCH_TIMEOUT_MS, &r) != 0)
		return 0;
	if (r.body != NULL) {
		cJSON *root = cJSON_ParseWithLength(r.body, r.len);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "lag_ms");
		if (cJSON_IsNumber(v) && v->valuedouble > 0)
			lag = (long long)v->valuedouble;
		cJSON_Delete(root);
	}
	http_response_free(&r);
	return lag;
}

static void *watch_main(void *arg)
{
	struct front *f = arg;
	int shedding = 0;

	while (!service_stopping && !atomic_load(&f->watch_stop)) {
		long long inv = daemon_lag_ms(&f->inventory), ord = daemon_lag_ms(&f->order);
		long long lag = inv > ord ? inv : ord;
		int over = f->shed_lag_ms > 0 && lag > f->shed_lag_ms;

		atomic_store(&f->daemon_lag_ms, lag);
		if (over != shedding)
			log_info("front: daemons %lld ms behind (inventory %lld, order %lld): %s", lag,
				 inv, ord, over ? "shedding new orders" : "taking orders again");
		shedding = over;
		atomic_store(&f->shedding, over);
		service_sleep_ms(WATCH_INTERVAL_MS);
	}
	return NULL;
}

int front_load_watch_start(struct front *f)
{
	if (pthread_create(&f->watch_thread, NULL, watch_main, f) != 0) {
		log_warn("front: cannot start the load watch thread");
		return -1;
	}
	f->watch_started = 1;
	return 0;
}

void front_load_watch_stop(struct front *f)
{
	if (!f->watch_started)
		return;
	atomic_store(&f->watch_stop, 1);
	pthread_join(f->watch_thread, NULL);
	f->watch_started = 0;
}

int front_load_shed(struct front *f)
{
	if (!atomic_load(&f->shedding))
		return 0;
	atomic_fetch_add(&f->shed, 1);
	return 1;
}
