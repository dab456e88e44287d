/* What the libFuzzer targets share: a check that aborts naming what broke,
 * and the count of heap blocks that one input left behind. */
#ifndef SHOP_FUZZ_UTIL_H
#define SHOP_FUZZ_UTIL_H


/* A broken property is a crash: libFuzzer saves the input that caused it.
 * The message goes to the stderr the target started with, which stays open
 * when ./shop fuzz closes the code's own output (-close_fd_mask=3). */
#define FUZZ_CHECK(cond, ...)                                                    \
	do {                                                                     \
		if (!(cond))                                                     \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);       \
	} while (0)

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));

/* Starts counting the heap blocks this thread allocates and frees. */
void fuzz_alloc_begin(void);
/* Aborts when a block allocated since fuzz_alloc_begin is still live: what
 * says which input it was ("a rejected payload"). Unlike LeakSanitizer this
 * also sees blocks a static pointer still holds. */
void fuzz_alloc_end(const char *what);

#endif
