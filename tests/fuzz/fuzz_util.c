/* What the libFuzzer targets share: a check that aborts naming what broke,
 * and the count of heap blocks that one input left behind. */
#include "fuzz_util.h"

#include <sanitizer/allocator_interface.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A copy of stderr taken before libFuzzer closes the original (a
 * constructor runs before libFuzzer's main). */
static FILE *report;

__attribute__((constructor)) static void keep_stderr(void)
{
	int fd = dup(2);

	report = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (report != NULL)
		setvbuf(report, NULL, _IONBF, 0);
	/* stdio allocates a buffer at the first printf and keeps it: no leak of
	 * the code under test, so none to count */
	setvbuf(stdout, NULL, _IONBF, 0);
}

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	FILE *out = report != NULL ? report : stderr;
	va_list ap;

	fprintf(out, "fuzz check failed at %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	abort();
}

/* Per thread: libFuzzer's own threads allocate too. */
static _Thread_local long live_blocks;
static _Thread_local int counting;
static int hooks_installed;

static void on_malloc(const volatile void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
	if (counting)
		live_blocks++;
}

static void on_free(const volatile void *ptr)
{
	if (counting && ptr != NULL)
		live_blocks--;
}

void fuzz_alloc_begin(void)
{
	if (!hooks_installed) {
		FUZZ_CHECK(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0,
			   "no room for another pair of allocator hooks");
		hooks_installed = 1;
	}
	live_blocks = 0;
	counting = 1;
}

void fuzz_alloc_end(const char *what)
{
	long left = live_blocks;

	counting = 0;
	FUZZ_CHECK(left == 0, "%s left %ld heap block(s) allocated (allocations minus frees)", what, left);
}
