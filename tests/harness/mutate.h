/* Mutations of recorded messages for shop-replay garbage --random: what a
 * broken or hostile publisher could put on the bus, made from real payloads
 * so that most of each mutant still looks right to a daemon. */
#ifndef SHOP_REPLAY_MUTATE_H
#define SHOP_REPLAY_MUTATE_H

#include <stddef.h>
#include <stdint.h>

enum mutate_kind {
	MUTATE_BIT_FLIP = 0, /* 1 to 8 bits anywhere */
	MUTATE_TRUNCATE,     /* cut short anywhere */
	MUTATE_BAD_BYTES,    /* invalid UTF-8, a NUL, \u0000, a control character, a quote */
	MUTATE_FIELD_SWAP,   /* two fields trade names (so their values) */
	MUTATE_SPLICE,       /* a field of another message replaces one of this */
	MUTATE_HUGE_NUMBER,  /* a value becomes 1e999, 2^64, -1, 0.5, ... */
	MUTATE_DEEP_NESTING, /* a value wrapped in up to 5000 arrays or objects */
	MUTATE_TYPE_CHANGE,  /* a value becomes null, true, "", [], {}, ... */
	MUTATE_DROP_FIELD,   /* a field is removed */
	MUTATE_DUPLICATE_KEY, /* an object gets a second field of a name it has */
	MUTATE_KIND_COUNT,
};

/* "bit-flip", "truncate", ... */
const char *mutate_name(enum mutate_kind kind);

/* Applies one mutation of the given kind to len bytes of payload. A kind that
 * needs JSON (field swap and after) on a payload that is not JSON, or that
 * has nothing to work on, flips bits instead; *applied says which was done.
 * donor (donor_len bytes, may be NULL) is another message a splice borrows
 * from. *out is malloc'ed and NUL-terminated after its *out_len bytes; the
 * caller frees it. 0, or -1 when memory ran out. */
int mutate_payload(uint64_t *rng, enum mutate_kind kind, const char *payload, size_t len,
		   const char *donor, size_t donor_len, char **out, size_t *out_len,
		   enum mutate_kind *applied);

#endif
