/* Admission control of POST /api/v1/orders: a limit on the orders this front
 * has in flight, adapted from how long they take to become final, so that
 * under overload the excess is shed at once and what is accepted is
 * confirmed quickly (docs/protocol.md §Load shedding).
 *
 * A 202 comes after the broker's PUBACK, which says nothing about how fast
 * the daemons keep up: without a limit the front accepts orders many times
 * faster than they are confirmed and the wait grows without bound.
 *
 * In flight, exactly: the front hears every order's order/status (it
 * subscribes for the status streams anyway), so it keeps the ids of the
 * orders it accepted in a table and drops each one when its final status
 * comes. That gives the count in flight and, per order, the time from
 * accept to final on the front's own clock, at once and with no polling.
 * An earlier version estimated both from the daemons' /healthz lag_ms
 * (polled every 100 ms; a median over a quarter second, held up to half a
 * second), counting the accepts of the last lag_ms as in flight: the signal
 * came about half a second late, so the limit went on shrinking after the
 * queue had gone and fell to SHOP_ADMIT_MIN, and a stale, long lag made the
 * window long, so accepts long final still counted: under a flood the shop
 * accepted about half of what it could confirm, and with two fronts the
 * late signal let the queue overshoot to a second. An order whose final
 * status never comes (the front was off the broker) is forgotten after
 * FORGET_MS.
 *
 * The limit, every STEP_MS, from the latency R of the step: the median
 * accept-to-final time of the orders that became final in it, or, when
 * fewer than MIN_SAMPLES did, the age of the oldest order in flight (so a
 * stalled shop shows at once). With the target T (SHOP_ADMIT_TARGET_MS)
 * the limit moves halfway to limit × T / R, at most a quarter a step; it
 * grows only while it is in use (at least half of it in flight during the
 * step), so a quiet front does not gather a limit it never tested. Near
 * equilibrium R = T: by Little's law the limit is then this front's share
 * of what the shop confirms per second times T, which keeps the daemons
 * busy (goodput) while the queue stays about T long (latency). Several
 * fronts each see the same queue in their own orders' latency, so their
 * limits shrink and grow together and their sum holds the shop's queue
 * near capacity × T; each keeps the share its clients bring. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front.h"
#include "log.h"

#define WATCH_INTERVAL_MS 100
#define WATCH_TIMEOUT_MS 500
#define STEP_MS 100
#define MIN_SAMPLES 4
#define FORGET_MS 10000
#define MAX_SHRINK 0.125
#define MAX_GROW 0.25
#define STALL_TARGETS 4

/* The daemon's lag_ms, or 0 when it cannot tell (down is not overloaded:
 * /readyz and the broker's queue deal with that). Only for the front's
 * shop_front_daemon_lag_seconds: admission goes by its own orders. */
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

/* --- the table of orders in flight: open addressing, linear probing ---------
 * Order ids are UUIDs (random, or v5 from a key): their first hex digits are
 * as good a hash as any. An empty slot has at_us 0. */

static size_t slot_home(const char *id)
{
	return (size_t)strtoul((char[9]){ id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], 0 },
			       NULL, 16) & (FRONT_ADMIT_SLOTS - 1);
}

/* The slot holding id, or the empty slot where it would go; lock held. */
static size_t slot_find(const struct front_admission *a, const char *id)
{
	size_t i = slot_home(id);

	while (a->slot[i].at_us != 0 && strcmp(a->slot[i].id, id) != 0)
		i = (i + 1) & (FRONT_ADMIT_SLOTS - 1);
	return i;
}

/* Empties slot i and moves later entries of its run back, so that every
 * entry stays reachable from its home slot (no tombstones); lock held. */
static void slot_remove(struct front_admission *a, size_t i)
{
	size_t j = i;

	a->slot[i].at_us = 0;
	a->in_flight--;
	for (;;) {
		size_t home;
		j = (j + 1) & (FRONT_ADMIT_SLOTS - 1);
		if (a->slot[j].at_us == 0)
			return;
		home = slot_home(a->slot[j].id);
		/* j's entry may move to i unless its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		a->slot[i] = a->slot[j];
		a->slot[j].at_us = 0;
		i = j;
	}
}

/* --- the limit ------------------------------------------------------------- */

static int compare_us(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

/* The age of the oldest order in flight, forgetting those older than
 * FORGET_MS; lock held. */
static int64_t oldest_age_us(struct front_admission *a, int64_t now)
{
	int64_t oldest = 0;

	for (size_t i = 0; i < FRONT_ADMIT_SLOTS; i++) {
		int64_t age;
		if (a->slot[i].at_us == 0)
			continue;
		age = now - a->slot[i].at_us;
		if (age > (int64_t)FORGET_MS * 1000) {
			slot_remove(a, i);
			i--; /* slot i may hold a moved entry now (wraps to the start: fine) */
			continue;
		}
		if (age > oldest)
			oldest = age;
	}
	return oldest;
}

/* One step of the limit, when STEP_MS have passed since the last; lock held. */
static void step(struct front *f, int64_t now)
{
	struct front_admission *a = &f->admission;
	int64_t latency_us;
	double factor, target_us = (double)f->admit_target_ms * 1000.0;
	unsigned n = a->done < FRONT_ADMIT_SAMPLES ? a->done : FRONT_ADMIT_SAMPLES;
	int64_t oldest;

	if (now - a->step_at_us < (int64_t)STEP_MS * 1000)
		return;
	oldest = oldest_age_us(a, now);
	if (n >= MIN_SAMPLES) {
		qsort(a->latency_us, n, sizeof a->latency_us[0], compare_us);
		latency_us = a->latency_us[n / 2];
	} else if (oldest > STALL_TARGETS * target_us) {
		latency_us = oldest;
	} else {
		latency_us = 0; /* too few to tell */
	}
	if (latency_us > 0) {
		factor = (1.0 + target_us / (double)latency_us) / 2.0;
		if (factor > 1.0 + MAX_GROW)
			factor = 1.0 + MAX_GROW;
		if (factor < 1.0 - MAX_SHRINK)
			factor = 1.0 - MAX_SHRINK;
		if (factor < 1.0 || 2.0 * a->peak >= a->limit)
			a->limit *= factor;
	}
	if (a->limit < f->admit_min)
		a->limit = f->admit_min;
	if (a->limit > f->admit_max)
		a->limit = f->admit_max;
	log_debug("front: admission step: latency %lld ms (%u final, oldest in flight %lld ms), %u in flight (peak %u), limit %.1f",
		  (long long)(latency_us / 1000), a->done, (long long)(oldest / 1000), a->in_flight,
		  a->peak, a->limit);
	atomic_store(&a->latency_ms, (long long)(latency_us / 1000));
	a->step_at_us = now;
	a->done = 0;
	a->peak = a->in_flight;
}

static void *watch_main(void *arg)
{
	struct front *f = arg;
	int high = 0;

	while (!service_stopping && !atomic_load(&f->watch_stop)) {
		long long inv = daemon_lag_ms(&f->inventory), ord = daemon_lag_ms(&f->order);
		long long lag = inv > ord ? inv : ord;
		int over = lag > f->admit_target_ms;

		atomic_store(&f->daemon_lag_ms, lag);
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
	f->admission.step_at_us = now_us();
	if (f->admission.limit < f->admit_min)
		f->admission.limit = f->admit_min;
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

int front_load_admit(struct front *f, const char *order_id)
{
	struct front_admission *a = &f->admission;
	int64_t now = now_us();
	int shed = 0;
	size_t i;

	if (f->admit_max <= 0)
		return 0;
	pthread_mutex_lock(&a->lock);
	step(f, now);
	i = slot_find(a, order_id);
	if (a->slot[i].at_us != 0) {
		/* a retry with the same Idempotency-Key: already counted */
	} else if ((double)a->in_flight >= a->limit) {
		shed = 1;
	} else {
		snprintf(a->slot[i].id, sizeof a->slot[i].id, "%s", order_id);
		a->slot[i].at_us = now;
		a->in_flight++;
		if (a->in_flight > a->peak)
			a->peak = a->in_flight;
	}
	pthread_mutex_unlock(&a->lock);
	if (shed)
		atomic_fetch_add(&f->shed, 1);
	return shed;
}

void front_load_withdraw(struct front *f, const char *order_id)
{
	struct front_admission *a = &f->admission;
	size_t i;

	if (f->admit_max <= 0)
		return;
	pthread_mutex_lock(&a->lock);
	i = slot_find(a, order_id);
	if (a->slot[i].at_us != 0)
		slot_remove(a, i);
	pthread_mutex_unlock(&a->lock);
}

void front_load_on_status(struct front *f, const struct event *status)
{
	struct front_admission *a = &f->admission;
	int64_t now;

	if (f->admit_max <= 0)
		return;
	/* pending is not final */
	if (event_status_rank(status->status) > 0) {
		size_t i;
		now = now_us();
		pthread_mutex_lock(&a->lock);
		i = slot_find(a, status->order_id);
		if (a->slot[i].at_us != 0) {
			a->latency_us[a->done % FRONT_ADMIT_SAMPLES] = now - a->slot[i].at_us;
			a->done++;
			slot_remove(a, i);
		}
		step(f, now);
		pthread_mutex_unlock(&a->lock);
	}
}

unsigned front_load_in_flight(struct front *f)
{
	struct front_admission *a = &f->admission;
	unsigned n;

	pthread_mutex_lock(&a->lock);
	n = a->in_flight;
	pthread_mutex_unlock(&a->lock);
	return n;
}

double front_load_limit(struct front *f)
{
	struct front_admission *a = &f->admission;
	double limit;

	pthread_mutex_lock(&a->lock);
	step(f, now_us());
	limit = a->limit;
	pthread_mutex_unlock(&a->lock);
	return limit;
}

long long front_load_latency_ms(struct front *f)
{
	return atomic_load(&f->admission.latency_ms);
}
