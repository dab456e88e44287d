/* How far behind a daemon runs: the median age of the events it applied lately.
 * The front sheds new orders when this passes its bound, so the wait from
 * POST to confirmed stays bounded instead of growing with the offered load. */
#include "lag.h"

#include <stdlib.h>

#include "service.h"

#define LAG_WINDOW_MS 250
#define LAG_MIN_SAMPLES 20

void lag_init(struct lag *l)
{
	pthread_mutex_init(&l->lock, NULL);
	l->window_start_ms = service_now_ms();
	l->n = 0;
	l->median_ms = 0;
	l->median_at_ms = 0;
}

void lag_destroy(struct lag *l)
{
	pthread_mutex_destroy(&l->lock);
}

static int compare_ms(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Closes the window when it is over; called with the lock held. */
static void rotate(struct lag *l, int64_t now)
{
	size_t n;

	if (now - l->window_start_ms < LAG_WINDOW_MS)
		return;
	n = l->n < LAG_SAMPLES ? (size_t)l->n : LAG_SAMPLES;
	if (n >= LAG_MIN_SAMPLES) {
		qsort(l->samples, n, sizeof l->samples[0], compare_ms);
		l->median_ms = l->samples[n / 2];
		l->median_at_ms = now;
	}
	l->window_start_ms = now;
	l->n = 0;
}

void lag_note(struct lag *l, int64_t age_ms)
{
	int64_t now = service_now_ms();

	pthread_mutex_lock(&l->lock);
	rotate(l, now);
	l->samples[l->n % LAG_SAMPLES] = age_ms > 0 ? age_ms : 0;
	l->n++;
	pthread_mutex_unlock(&l->lock);
}

int64_t lag_read(struct lag *l)
{
	int64_t now = service_now_ms(), lag;

	pthread_mutex_lock(&l->lock);
	rotate(l, now);
	lag = now - l->median_at_ms <= 2 * LAG_WINDOW_MS ? l->median_ms : 0;
	pthread_mutex_unlock(&l->lock);
	return lag;
}
