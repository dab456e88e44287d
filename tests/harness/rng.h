/* A small seeded random generator for shop-replay: the same seed gives the
 * same shuffle or the same mutants on every machine (rand() does not promise
 * that). */
#ifndef SHOP_REPLAY_RNG_H
#define SHOP_REPLAY_RNG_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: the next number of the sequence that *state holds. */
uint64_t rng_next(uint64_t *state);

/* A number in [0, n); 0 when n is 0. */
size_t rng_below(uint64_t *state, size_t n);

#endif
