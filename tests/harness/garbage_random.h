/* shop-replay garbage --random: mutants of recorded messages (mutate.c) on
 * the shop's topics, a stateful fuzz of the running daemons. */
#ifndef SHOP_REPLAY_GARBAGE_RANDOM_H
#define SHOP_REPLAY_GARBAGE_RANDOM_H

#include "cli.h"
#include "event.h"

struct garbage_random_options {
	int seed, count;
	const char *const *files; /* recordings to mutate; none: one built-in event a topic */
	int n_files;
	const int *wanted;        /* [EVENT_KIND_COUNT]: the topics mutants go to */
	int list, verbose;
};

/* Publishes (or with list, prints) count mutants; returns the exit status
 * (0, or 1 with a line on stderr). */
int garbage_random_run(const struct cli_common *c, const struct garbage_random_options *o);

#endif
