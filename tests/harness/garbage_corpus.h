/* The built-in corpus of bad payloads: for each shop topic, payloads that
 * each break one payload rule of docs/protocol.md, and must be dead-lettered. */
#ifndef SHOP_REPLAY_GARBAGE_CORPUS_H
#define SHOP_REPLAY_GARBAGE_CORPUS_H

#include <stddef.h>

#include "event.h"

struct garbage_payload {
	const char *name; /* what is wrong with it */
	char order_id[EVENT_ORDER_ID_LEN + 1]; /* the fresh id it carries, if any */
	char *data;
	size_t len;
};

struct garbage_corpus {
	struct garbage_payload *items;
	size_t n, cap;
};

/* Builds the payloads for one topic, each with a fresh random order id.
 * 0, or -1 when memory ran out. */
int garbage_corpus_build(enum event_kind kind, struct garbage_corpus *out);
void garbage_corpus_free(struct garbage_corpus *c);

#endif
