/* How far behind a daemon runs: the median age of the events it applied lately. */
#ifndef SHOP_LAG_H
#define SHOP_LAG_H

#include <pthread.h>
#include <stdint.h>

#define LAG_SAMPLES 256

struct lag {
	pthread_mutex_t lock;
	int64_t window_start_ms;
	uint64_t n;                     /* samples noted in this window */
	int64_t samples[LAG_SAMPLES];   /* the latest ones */
	int64_t median_ms;              /* of the last window with enough samples */
	int64_t median_at_ms;
};

void lag_init(struct lag *l);
void lag_destroy(struct lag *l);
/* Notes one event's age: applied time minus the time the front accepted it. */
void lag_note(struct lag *l, int64_t age_ms);
/* The median age over the last quarter second, 0 when too few events came to
 * tell: a quiet shop is never overloaded, and one odd late event (a
 * re-driven order) does not make a median. */
int64_t lag_read(struct lag *l);

#endif
