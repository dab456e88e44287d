/* A small seeded random generator for shop-replay: the same seed gives the
 * same shuffle or the same mutants on every machine (rand() does not promise
 * that). */
#include "rng.h"

uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

size_t rng_below(uint64_t *state, size_t n)
{
	return n == 0 ? 0 : (size_t)(rng_next(state) % n);
}
