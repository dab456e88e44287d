/* shop-bench-prefill: brings the stopped daemons' databases to --orders
 * confirmed orders for ./shop bench's scaling rows (see prefill.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "log.h"
#include "prefill.h"

int main(int argc, char **argv)
{
	const char *dir = NULL, *prefix = "webshop/";
	long total = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data-dir") == 0)
			dir = bench_arg_str(argc, argv, &i);
		else if (strcmp(argv[i], "--orders") == 0)
			total = bench_arg_long(argc, argv, &i, 0, 100000000);
		else if (strcmp(argv[i], "--topic-prefix") == 0)
			prefix = bench_arg_str(argc, argv, &i);
		else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: %s --data-dir DIR --orders TOTAL [--topic-prefix P]\n", argv[0]);
			return 0;
		} else
			bench_usage_error(argv[0], "unknown flag '%s'", argv[i]);
	}
	if (dir == NULL || total < 0)
		bench_usage_error(argv[0], "--data-dir and --orders are needed");
	log_init("shop-bench-prefill", LOG_LEVEL_WARN);
	return bench_prefill(dir, total, prefix) == 0 ? 0 : 1;
}
