/* libFuzzer target: shop-replay's mutator (tests/harness/mutate.c), which
 * garbage --random runs on whatever a recording holds. An input is 8 bytes
 * of seed, one byte naming the mutation, then the payload. A mutant is
 * NUL-terminated after its length, the byte mutations keep their promise
 * (a bit flip keeps the length, a truncation shortens), and nothing but the
 * mutant is left allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mutate.h"

/* What a splice borrows from: a real event, like a recording's neighbour. */
static const char donor[] =
	"{\"v\":1,\"order_id\":\"123e4567-e89b-12d3-a456-426614174000\",\"items\":[{\"sku\":"
	"\"MUG-001\",\"qty\":2,\"unit_price_cents\":1200}],\"total_cents\":2400}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mutate_kind kind, applied;
	const char *payload;
	uint64_t rng;
	size_t len, out_len;
	char *out;

	if (size < 9)
		return 0;
	memcpy(&rng, data, 8);
	kind = (enum mutate_kind)(data[8] % MUTATE_KIND_COUNT);
	payload = (const char *)data + 9;
	len = size - 9;
	fuzz_alloc_begin();
	FUZZ_CHECK(mutate_payload(&rng, kind, payload, len, donor, sizeof donor - 1, &out, &out_len,
				  &applied) == 0,
		   "mutate_payload(%s) of %zu bytes failed", mutate_name(kind), len);
	FUZZ_CHECK(out != NULL && out[out_len] == '\0', "%s: mutant not NUL-terminated",
		   mutate_name(applied));
	FUZZ_CHECK(applied == kind || applied == MUTATE_BIT_FLIP, "asked %s, applied %s",
		   mutate_name(kind), mutate_name(applied));
	if (applied == MUTATE_BIT_FLIP)
		FUZZ_CHECK(out_len == (len ? len : 1), "bit flips of %zu bytes gave %zu", len, out_len);
	if (applied == MUTATE_TRUNCATE)
		FUZZ_CHECK(out_len < len || len == 0, "truncation of %zu bytes gave %zu", len, out_len);
	free(out);
	fuzz_alloc_end("a mutation");
	return 0;
}
