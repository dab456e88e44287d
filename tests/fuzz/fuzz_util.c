/* What the libFuzzer targets share: a check that aborts naming what broke,
 * and the count of heap blocks that one input left behind. */
#include "fuzz_util.h"

#include <sanitizer/allocator_interface.h>

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
