/* Admission control of POST /api/v1/orders: a limit on the orders this front
 * has in flight, adapted from how long orders take to become final, so that
 * under overload the excess is shed at once and what is accepted is
 * confirmed quickly (docs/protocol.md §Load shedding).
 *
 * A 202 comes after the broker's PUBACK, which says nothing about how fast
 * the daemons keep up: without a limit the front accepts orders many times
 * faster than they are confirmed and the wait grows without bound.
 *
 * In flight: the front cannot see each order become final without asking,
 * but the daemons report on /healthz how long their orders take from 202
 * to being acted on (lag_ms; the order daemon's includes the age of its
 * oldest pending orders, so a queue shows at once). With that latency L,
 * the orders this front accepted in the last L are the ones not yet final
 * (Little's law; exactly so for a first-in first-out pipeline), counted
 * from a ring of accept times. The window is never shorter than the target,
 * so the limit also bounds a burst before any latency shows.
 *
 * The limit: a gradient, as in Netflix's concurrency-limits. While the
 * latency is above the target it shrinks by half of (1 - target / latency),
 * at most a quarter a step; while it is below and the limit was what shed
 * orders, it grows by an eighth plus one. Several fronts see the same
 * latency, so each one's limit shrinks and grows with the others' and
 * together they hold the shop's queue near capacity × target. */
#include <cjson/cJSON.h>
#include <string.h>
#include <time.h>

#include "front.h"
#include "log.h"

#define WATCH_INTERVAL_MS 100
#define WATCH_TIMEOUT_MS 500
#define ADMIT_SMOOTHING 0.5

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

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* How many accepts of the ring are later than cutoff; called with the lock
 * held. The ring's times never decrease, so a binary search finds it. */
static unsigned count_since(const struct front_admission *a, int64_t cutoff)
{
	uint64_t n = a->accepts < FRONT_ADMIT_RING ? a->accepts : FRONT_ADMIT_RING;
	uint64_t lo = a->accepts - n, hi = a->accepts; /* search [lo, hi) */

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (a->at_us[mid % FRONT_ADMIT_RING] > cutoff)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (unsigned)(a->accepts - lo);
}

/* The window in which an accept still counts as in flight, in µs. */
static int64_t window_us(const struct front *f)
{
	long long lag = atomic_load(&f->daemon_lag_ms);
	long long ms = lag > f->admit_target_ms ? lag : f->admit_target_ms;
	return (int64_t)ms * 1000;
}

/* One step of the gradient, every WATCH_INTERVAL_MS. */
static void adapt_limit(struct front *f, long long lag, int shed_since)
{
	struct front_admission *a = &f->admission;
	double limit, target = (double)f->admit_target_ms;

	pthread_mutex_lock(&a->lock);
	limit = a->limit;
	if (lag > f->admit_target_ms) {
		double gradient = target / (double)lag;
		if (gradient < 0.5)
			gradient = 0.5;
		limit -= ADMIT_SMOOTHING * (1.0 - gradient) * limit;
	} else if (shed_since) {
		limit += 1.0 + limit / 8.0;
	}
	if (limit < f->admit_min)
		limit = f->admit_min;
	if (limit > f->admit_max)
		limit = f->admit_max;
	a->limit = limit;
	pthread_mutex_unlock(&a->lock);
}

static void *watch_main(void *arg)
{
	struct front *f = arg;
	unsigned long shed_seen = atomic_load(&f->shed);
	int high = 0;

	while (!service_stopping && !atomic_load(&f->watch_stop)) {
		long long inv = daemon_lag_ms(&f->inventory), ord = daemon_lag_ms(&f->order);
		long long lag = inv > ord ? inv : ord;
		unsigned long shed = atomic_load(&f->shed);
		int over = lag > f->admit_target_ms;

		atomic_store(&f->daemon_lag_ms, lag);
		if (f->admit_max > 0)
			adapt_limit(f, lag, shed != shed_seen);
		shed_seen = shed;
		if (over != high && (over || lag < f->admit_target_ms / 2))
			log_info("front: daemons %lld ms behind (inventory %lld, order %lld), order limit %.0f in flight",
				 lag, inv, ord, front_load_limit(f));
		if (over || lag < f->admit_target_ms / 2)
			high = over;
		service_sleep_ms(WATCH_INTERVAL_MS);
	}
	return NULL;
}

int front_load_watch_start(struct front *f)
{
	adapt_limit(f, 0, 0); /* into [admit_min, admit_max] */
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
	struct front_admission *a = &f->admission;
	int64_t now = now_us();
	int shed = 0;

	if (f->admit_max <= 0)
		return 0;
	pthread_mutex_lock(&a->lock);
	if ((double)count_since(a, now - window_us(f)) >= a->limit) {
		shed = 1;
	} else {
		a->at_us[a->accepts % FRONT_ADMIT_RING] = now;
		a->accepts++;
	}
	pthread_mutex_unlock(&a->lock);
	if (shed)
		atomic_fetch_add(&f->shed, 1);
	return shed;
}

unsigned front_load_in_flight(struct front *f)
{
	struct front_admission *a = &f->admission;
	unsigned n;

	pthread_mutex_lock(&a->lock);
	n = count_since(a, now_us() - window_us(f));
	pthread_mutex_unlock(&a->lock);
	return n;
}

double front_load_limit(struct front *f)
{
	struct front_admission *a = &f->admission;
	double limit;

	pthread_mutex_lock(&a->lock);
	limit = a->limit;
	pthread_mutex_unlock(&a->lock);
	return limit;
}
