/* What the libFuzzer targets share: a check that aborts naming what broke,
 * and the count of heap blocks that one input left behind. */
#ifndef SHOP_FUZZ_UTIL_H
#define SHOP_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* A broken property is a crash: libFuzzer saves the input that caused it. */
#define FUZZ_CHECK(cond, ...)                                                    \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, \
				__LINE__, #cond);                                \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
			abort();                                                 \
		}                                                                \
	} while (0)

/* Starts counting the heap blocks this thread allocates and frees. */
void fuzz_alloc_begin(void);
/* Aborts when a block allocated since fuzz_alloc_begin is still live: what
 * says which input it was ("a rejected payload"). Unlike LeakSanitizer this
 * also sees blocks a static pointer still holds. */
void fuzz_alloc_end(const char *what);

#endif
