/* Mutations of recorded messages for shop-replay garbage --random: what a
 * broken or hostile publisher could put on the bus, made from real payloads
 * so that most of each mutant still looks right to a daemon. */
#include "mutate.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define MAX_NODES 10000 /* values looked at in one payload */

static const char *const names[MUTATE_KIND_COUNT] = {
	[MUTATE_BIT_FLIP] = "bit-flip",
	[MUTATE_TRUNCATE] = "truncate",
	[MUTATE_BAD_BYTES] = "bad-bytes",
	[MUTATE_FIELD_SWAP] = "field-swap",
	[MUTATE_SPLICE] = "splice",
	[MUTATE_HUGE_NUMBER] = "huge-number",
	[MUTATE_DEEP_NESTING] = "deep-nesting",
	[MUTATE_TYPE_CHANGE] = "type-change",
	[MUTATE_DROP_FIELD] = "drop-field",
	[MUTATE_DUPLICATE_KEY] = "duplicate-key",
};

/* Bytes no valid payload holds, each with its length (some hold a NUL). */
static const struct {
	const char *bytes;
	size_t len;
} bad_bytes[] = {
	{ "\xff", 1 }, { "\xc0\xaf", 2 } /* overlong '/' */, { "\xed\xa0\x80", 3 } /* surrogate */,
	{ "\xe2\x82", 2 } /* cut short */, { "\xf4\x90\x80\x80", 4 } /* past U+10FFFF */,
	{ "\0", 1 }, { "\\u0000", 6 }, { "\x01", 1 }, { "\x1b[2J", 4 }, { "\"", 1 }, { "\\", 1 },
	{ "\xef\xbb\xbf", 3 } /* a byte-order mark */,
};

/* Numbers at and past every limit of docs/protocol.md and of the C types behind them. */
static const char *const huge_numbers[] = {
	"1e308", "-1e308", "1e999", "-1e999", "-0", "-1", "0", "0.5", "1e-400", "2147483648",
	"-2147483649", "4294967296", "9007199254740993", "9223372036854775807",
	"9223372036854775808", "18446744073709551616", "123456789012345678901234567890",
	"10001", "100000001", "1000000000000000", "0x10", "NaN", "Infinity", "1.",
};

/* Values of every JSON type, and strings that are valid elsewhere in an event. */
static const char *const other_values[] = {
	"null", "true", "false", "\"\"", "\"x\"", "0", "1", "[]", "{}", "[1]", "{\"v\":1}",
	"[{\"sku\":\"MUG-001\",\"qty\":1}]", "\"MUG-001\"",
	"\"123e4567-e89b-12d3-a456-426614174000\"", "\"2024-05-01T12:00:00.000Z\"",
	"\"insufficient_stock\"",
};

static const int nesting_depths[] = { 2, 64, 999, 1000, 1001, 5000 };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *mutate_name(enum mutate_kind kind)
{
	return (kind >= 0 && kind < MUTATE_KIND_COUNT) ? names[kind] : "?";
}

/* --- byte mutations --------------------------------------------------------- */

/* A copy with room for extra bytes and the NUL; NULL when out of memory. */
static char *copy_with_room(const char *payload, size_t len, size_t extra)
{
	char *p = malloc(len + extra + 1);

	if (p != NULL) {
		if (len > 0)
			memcpy(p, payload, len);
		p[len] = '\0';
	}
	return p;
}

static int flip_bits(uint64_t *rng, const char *payload, size_t len, char **out, size_t *out_len)
{
	char *p = copy_with_room(payload, len, 1);
	size_t flips = 1 + rng_below(rng, 8);

	if (p == NULL)
		return -1;
	if (len == 0) { /* nothing to flip: one random byte instead */
		p[len++] = (char)rng_below(rng, 256);
		p[len] = '\0';
	}
	for (size_t i = 0; i < flips; i++)
		p[rng_below(rng, len)] ^= (char)(1u << rng_below(rng, 8));
	*out = p;
	*out_len = len;
	return 0;
}

static int truncate_bytes(uint64_t *rng, const char *payload, size_t len, char **out,
			  size_t *out_len)
{
	size_t keep = rng_below(rng, len); /* always shorter; empty stays empty */

	*out = copy_with_room(payload, keep, 0);
	*out_len = keep;
	return *out ? 0 : -1;
}

static int insert_bad_bytes(uint64_t *rng, const char *payload, size_t len, char **out,
			    size_t *out_len)
{
	size_t which = rng_below(rng, COUNT(bad_bytes)), at = rng_below(rng, len + 1);
	size_t n = bad_bytes[which].len;
	char *p = malloc(len + n + 1);

	if (p == NULL)
		return -1;
	memcpy(p, payload, at);
	memcpy(p + at, bad_bytes[which].bytes, n);
	memcpy(p + at + n, payload + at, len - at);
	p[len + n] = '\0';
	*out = p;
	*out_len = len + n;
	return 0;
}

/* --- JSON mutations ----------------------------------------------------------- */

/* Every value below the root, with its parent (the root's own children too). */
struct node_ref {
	cJSON *parent, *node;
};

struct nodes {
	struct node_ref *at;
	size_t n, cap;
};

static int collect(cJSON *parent, struct nodes *ns)
{
	cJSON *child;

	cJSON_ArrayForEach(child, parent) {
		if (ns->n == MAX_NODES)
			return 0;
		if (ns->n == ns->cap) {
			size_t cap = ns->cap ? ns->cap * 2 : 64;
			struct node_ref *bigger = realloc(ns->at, cap * sizeof *bigger);
			if (bigger == NULL)
				return -1;
			ns->at = bigger;
			ns->cap = cap;
		}
		ns->at[ns->n++] = (struct node_ref){ parent, child };
		if ((cJSON_IsArray(child) || cJSON_IsObject(child)) && collect(child, ns) != 0)
			return -1;
	}
	return 0;
}

/* A random value for which wanted() holds (any when wanted is NULL); NULL if none. */
static struct node_ref *pick(uint64_t *rng, struct nodes *ns, int (*wanted)(const cJSON *))
{
	size_t matching = 0, k;

	for (size_t i = 0; i < ns->n; i++)
		matching += wanted == NULL || wanted(ns->at[i].node);
	if (matching == 0)
		return NULL;
	k = rng_below(rng, matching);
	for (size_t i = 0; i < ns->n; i++) {
		if ((wanted == NULL || wanted(ns->at[i].node)) && k-- == 0)
			return &ns->at[i];
	}
	return NULL;
}

static int is_named(const cJSON *node)
{
	return node->string != NULL;
}

static int is_number(const cJSON *node)
{
	return cJSON_IsNumber(node);
}

/* Puts replacement where ref->node was, under the same name; frees the old
 * value. ref is stale afterwards. -1 (replacement freed) when out of memory. */
static int replace(struct node_ref *ref, cJSON *replacement)
{
	if (replacement == NULL)
		return -1;
	if (!(replacement->type & cJSON_StringIsConst))
		free(replacement->string);
	replacement->string = ref->node->string;
	replacement->type &= ~cJSON_StringIsConst;
	ref->node->string = NULL;
	cJSON_ReplaceItemViaPointer(ref->parent, ref->node, replacement);
	return 0;
}

/* The value's text wrapped in depth arrays or objects: [[[v]]] or {"a":{"a":v}}. */
static cJSON *nested(const cJSON *value, int depth, int objects)
{
	char *inner = cJSON_PrintUnformatted(value);
	size_t ilen = inner ? strlen(inner) : 0, open = objects ? 5 : 1;
	char *text = inner ? malloc((size_t)depth * (open + 1) + ilen + 1) : NULL;
	cJSON *raw = NULL;
	size_t k = 0;

	if (text != NULL) {
		for (int i = 0; i < depth; i++, k += open)
			memcpy(text + k, objects ? "{\"a\":" : "[", open);
		memcpy(text + k, inner, ilen);
		k += ilen;
		for (int i = 0; i < depth; i++)
			text[k++] = objects ? '}' : ']';
		text[k] = '\0';
		raw = cJSON_CreateRaw(text);
	}
	free(text);
	free(inner);
	return raw;
}

static cJSON *named_copy(const cJSON *value, const char *name)
{
	cJSON *copy = cJSON_Duplicate(value, 1);

	if (copy == NULL)
		return NULL;
	if (!(copy->type & cJSON_StringIsConst))
		free(copy->string);
	copy->type &= ~cJSON_StringIsConst;
	copy->string = strdup(name);
	if (copy->string == NULL) {
		cJSON_Delete(copy);
		return NULL;
	}
	return copy;
}

/* A field of the donor replaces a value of this payload, or (when the
 * donor's is a named field and this payload an object) joins it. 1 when
 * the donor had nothing to give. */
static int splice(uint64_t *rng, cJSON *root, struct nodes *ns, const char *donor,
		  size_t donor_len)
{
	cJSON *other = donor ? cJSON_ParseWithLength(donor, donor_len) : NULL;
	struct nodes theirs = { 0 };
	struct node_ref *from, *to;
	int rc = 1;

	if (other == NULL || collect(other, &theirs) != 0 || (from = pick(rng, &theirs, NULL)) == NULL)
		goto out;
	if (from->node->string != NULL && cJSON_IsObject(root) && rng_below(rng, 2) == 0) {
		cJSON *copy = named_copy(from->node, from->node->string);
		rc = copy != NULL && cJSON_AddItemToArray(root, copy) ? 0 : -1;
		if (rc != 0)
			cJSON_Delete(copy);
	} else if ((to = pick(rng, ns, NULL)) != NULL) {
		rc = replace(to, cJSON_Duplicate(from->node, 1));
	}
out:
	free(theirs.at);
	cJSON_Delete(other);
	return rc;
}

/* One JSON mutation of root. 0 done, 1 nothing to work on, -1 out of memory. */
static int mutate_tree(uint64_t *rng, enum mutate_kind kind, cJSON *root, struct nodes *ns,
		       const char *donor, size_t donor_len)
{
	struct node_ref *a, *b;
	char *name;
	cJSON *copy;

	switch (kind) {
	case MUTATE_FIELD_SWAP:
		if ((a = pick(rng, ns, is_named)) == NULL || (b = pick(rng, ns, is_named)) == NULL ||
		    a == b)
			return 1;
		name = a->node->string;
		a->node->string = b->node->string;
		b->node->string = name;
		return 0;
	case MUTATE_SPLICE:
		return splice(rng, root, ns, donor, donor_len);
	case MUTATE_HUGE_NUMBER:
		if ((a = pick(rng, ns, is_number)) == NULL && (a = pick(rng, ns, NULL)) == NULL)
			return 1;
		return replace(a, cJSON_CreateRaw(huge_numbers[rng_below(rng, COUNT(huge_numbers))]));
	case MUTATE_DEEP_NESTING:
		if ((a = pick(rng, ns, NULL)) == NULL)
			return 1;
		return replace(a, nested(a->node, nesting_depths[rng_below(rng, COUNT(nesting_depths))],
					 (int)rng_below(rng, 2)));
	case MUTATE_TYPE_CHANGE:
		if ((a = pick(rng, ns, NULL)) == NULL)
			return 1;
		return replace(a, cJSON_CreateRaw(other_values[rng_below(rng, COUNT(other_values))]));
	case MUTATE_DROP_FIELD:
		if ((a = pick(rng, ns, is_named)) == NULL)
			return 1;
		cJSON_Delete(cJSON_DetachItemViaPointer(a->parent, a->node));
		return 0;
	case MUTATE_DUPLICATE_KEY:
		/* First in the object, where cJSON's lookup finds it, or last. */
		if ((a = pick(rng, ns, is_named)) == NULL || (b = pick(rng, ns, NULL)) == NULL)
			return 1;
		copy = rng_below(rng, 2) ? named_copy(b->node, a->node->string) : NULL;
		if (copy == NULL) {
			copy = cJSON_CreateRaw(other_values[rng_below(rng, COUNT(other_values))]);
			if (copy != NULL && (copy->string = strdup(a->node->string)) == NULL) {
				cJSON_Delete(copy);
				copy = NULL;
			}
		}
		if (copy == NULL)
			return -1;
		if (rng_below(rng, 2))
			return cJSON_InsertItemInArray(a->parent, 0, copy) ? 0 : (cJSON_Delete(copy), -1);
		return cJSON_AddItemToArray(a->parent, copy) ? 0 : (cJSON_Delete(copy), -1);
	default:
		return 1;
	}
}

int mutate_payload(uint64_t *rng, enum mutate_kind kind, const char *payload, size_t len,
		   const char *donor, size_t donor_len, char **out, size_t *out_len,
		   enum mutate_kind *applied)
{
	struct nodes ns = { 0 };
	cJSON *root;
	int rc;

	*applied = kind;
	*out = NULL;
	*out_len = 0;
	switch (kind) {
	case MUTATE_TRUNCATE:
		return truncate_bytes(rng, payload, len, out, out_len);
	case MUTATE_BAD_BYTES:
		return insert_bad_bytes(rng, payload, len, out, out_len);
	case MUTATE_BIT_FLIP:
	case MUTATE_KIND_COUNT:
		*applied = MUTATE_BIT_FLIP;
		return flip_bits(rng, payload, len, out, out_len);
	default:
		break;
	}
	root = cJSON_ParseWithLength(payload, len);
	rc = root == NULL ? 1 : collect(root, &ns);
	if (rc == 0)
		rc = mutate_tree(rng, kind, root, &ns, donor, donor_len);
	if (rc == 0) {
		*out = cJSON_PrintUnformatted(root);
		rc = *out ? 0 : -1;
		*out_len = *out ? strlen(*out) : 0;
	}
	free(ns.at);
	cJSON_Delete(root);
	if (rc == 1) {
		*applied = MUTATE_BIT_FLIP;
		return flip_bits(rng, payload, len, out, out_len);
	}
	return rc;
}
