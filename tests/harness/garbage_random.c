/* shop-replay garbage --random: mutants of recorded messages (mutate.c) on
 * the shop's topics, a stateful fuzz of the running daemons. The same seed
 * and recordings give the same mutants. */
#include "garbage_random.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "bus.h"
#include "mutate.h"
#include "recording.h"
#include "rng.h"
#include "service.h"

#define ACK_TIMEOUT_MS 10000
#define MAX_STACKED 3    /* mutations applied to one message */
#define MAX_TRIES 50     /* mutants made to find one worth sending */

/* A message to mutate: a recorded one on a shop topic, or a built-in one. */
struct seed_message {
	enum event_kind kind;
	const char *payload;
	size_t len;
};

struct seeds {
	struct seed_message *at;
	size_t n;
	struct recording rec;                /* what the recorded ones point into */
	char *built[EVENT_KIND_COUNT];       /* the built-in ones, owned */
};

struct tally {
	long sent[EVENT_KIND_COUNT], valid[EVENT_KIND_COUNT];
	long by_kind[MUTATE_KIND_COUNT];
	long forgeries; /* valid events on a daemon's topic, not sent */
};

/* A front may publish any valid order/send or order/cancel, so a mutant that
 * decodes there is an order or a cancel like any other, and the invariants
 * must hold after it. On a daemon's topic a valid event would be a forgery
 * that the broker's ACL keeps out (docs/protocol.md §Accounts), not garbage. */
static int valid_may_go(enum event_kind kind)
{
	return kind == EVENT_ORDER_SEND || kind == EVENT_ORDER_CANCEL;
}

static void random_uuid(uint64_t *rng, char out[EVENT_ORDER_ID_LEN + 1])
{
	uuid_t u;
	uint64_t a = rng_next(rng), b = rng_next(rng);

	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	uuid_unparse_lower(u, out);
}

/* One valid event of each topic, for a run without recordings. */
static int build_seeds(uint64_t *rng, struct seeds *s)
{
	struct event *ev = calloc(1, sizeof *ev);

	s->at = calloc(EVENT_KIND_COUNT, sizeof *s->at);
	if (ev == NULL || s->at == NULL) {
		free(ev);
		return -1;
	}
	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		memset(ev, 0, sizeof *ev);
		ev->kind = (enum event_kind)k;
		random_uuid(rng, ev->order_id);
		if (k == EVENT_ORDER_SEND || k == EVENT_IN_STOCK || k == EVENT_OUT_OF_STOCK) {
			ev->n_items = 1;
			snprintf(ev->items[0].sku, sizeof ev->items[0].sku, "MUG-001");
			ev->items[0].qty = 1;
		}
		if (k == EVENT_IN_STOCK)
			ev->items[0].unit_price_cents = ev->total_cents = 1200;
		if (k == EVENT_OUT_OF_STOCK)
			snprintf(ev->reason, sizeof ev->reason, "insufficient_stock");
		if (k == EVENT_RESTOCK || k == EVENT_PRODUCT) {
			random_uuid(rng, ev->restock_id);
			snprintf(ev->sku, sizeof ev->sku, "MUG-001");
			ev->restock_qty = 1;
			snprintf(ev->name, sizeof ev->name, "Mug");
			ev->price_cents = 1200;
			snprintf(ev->currency, sizeof ev->currency, "EUR");
			ev->version = 1;
		}
		event_now_rfc3339(ev->created_at);
		if ((s->built[k] = event_encode(ev)) == NULL) {
			free(ev);
			return -1;
		}
		s->at[s->n++] = (struct seed_message){ (enum event_kind)k, s->built[k],
						       strlen(s->built[k]) };
	}
	free(ev);
	return 0;
}

/* The recorded messages on the shop's topics under prefix. 0, or 1 with a line. */
static int load_seeds(const struct garbage_random_options *o, const char *prefix,
		      struct seeds *s)
{
	enum event_kind kind;

	for (int f = 0; f < o->n_files; f++) {
		if (recording_load(o->files[f], &s->rec) != 0)
			return 1;
	}
	s->at = calloc(s->rec.n ? s->rec.n : 1, sizeof *s->at);
	if (s->at == NULL) {
		fprintf(stderr, "%s garbage: out of memory\n", CLI_PROGRAM);
		return 1;
	}
	for (size_t i = 0; i < s->rec.n; i++) {
		const struct recorded_message *m = &s->rec.msgs[i];
		if (event_kind_from_topic(prefix, m->topic, &kind) == 0)
			s->at[s->n++] = (struct seed_message){ kind, m->payload, m->len };
	}
	if (s->n == 0) {
		fprintf(stderr, "%s garbage: no message on a shop topic under '%s' in the recordings\n",
			CLI_PROGRAM, prefix);
		return 1;
	}
	return 0;
}

static void seeds_free(struct seeds *s)
{
	recording_free(&s->rec);
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		free(s->built[k]);
	free(s->at);
}

/* The topic a mutant goes to: mostly its own, one in eight another one. */
static enum event_kind pick_topic(uint64_t *rng, enum event_kind own, const int *wanted)
{
	int n = 0, k;

	if (wanted[own] && rng_below(rng, 8) != 0)
		return own;
	for (k = 0; k < EVENT_KIND_COUNT; k++)
		n += wanted[k] != 0;
	n = (int)rng_below(rng, (size_t)n);
	for (k = 0; k < EVENT_KIND_COUNT; k++) {
		if (wanted[k] && n-- == 0)
			break;
	}
	return (enum event_kind)k;
}

/* One mutant: 1 to MAX_STACKED mutations of one seed message, borrowing
 * from another. *what names them ("truncate+huge-number"). 0 or -1 (memory). */
static int make_mutant(uint64_t *rng, const struct seeds *s, const struct seed_message **from,
		       char **out, size_t *out_len, char *what, size_t whatlen,
		       long by_kind[MUTATE_KIND_COUNT])
{
	const struct seed_message *m = &s->at[rng_below(rng, s->n)];
	const struct seed_message *donor = &s->at[rng_below(rng, s->n)];
	size_t stacked = 1 + rng_below(rng, MAX_STACKED), used = 0;
	char *cur = NULL, *next;
	size_t len = 0;

	what[0] = '\0';
	for (size_t i = 0; i < stacked; i++) {
		enum mutate_kind applied;
		int rc = mutate_payload(rng, (enum mutate_kind)rng_below(rng, MUTATE_KIND_COUNT),
					cur ? cur : m->payload, cur ? len : m->len, donor->payload,
					donor->len, &next, &len, &applied);
		free(cur);
		if (rc != 0)
			return -1;
		cur = next;
		by_kind[applied]++;
		if (used < whatlen)
			used += (size_t)snprintf(what + used, whatlen - used, "%s%s", i ? "+" : "",
						 mutate_name(applied));
	}
	*from = m;
	*out = cur;
	*out_len = len;
	return 0;
}

static void print_tally(const struct tally *t, const int *wanted,
			const struct garbage_random_options *o, long missing)
{
	long sent = 0, valid = 0;
	int topics = 0;

	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		if (!wanted[k])
			continue;
		printf("%s: %ld mutants, %ld valid events\n", event_topic_suffix((enum event_kind)k),
		       t->sent[k], t->valid[k]);
		sent += t->sent[k];
		valid += t->valid[k];
		topics++;
	}
	printf("mutations:");
	for (int k = 0; k < MUTATE_KIND_COUNT; k++)
		printf("%s %s %ld", k ? "," : "", mutate_name((enum mutate_kind)k), t->by_kind[k]);
	printf("\n");
	printf("%s %ld mutants to %d topics (seed %d): %ld valid events, %ld refused by event_decode, "
	       "%ld valid forgeries on daemon topics not sent\n",
	       o->list ? "listed" : "sent", sent - missing, topics, o->seed, valid, sent - valid,
	       t->forgeries);
}

int garbage_random_run(const struct cli_common *c, const struct garbage_random_options *o)
{
	static struct event ev; /* 8 kB: off the stack */
	uint64_t rng = (uint64_t)o->seed;
	struct seeds s = { 0 };
	struct tally t = { 0 };
	struct bus *b = NULL;
	char topic[512], what[128], err[160];
	long missing = 0, made[MUTATE_KIND_COUNT];
	int status = 1, cut_short = 0;

	service_install_signals();
	if (o->n_files > 0 ? load_seeds(o, c->prefix, &s) != 0 : build_seeds(&rng, &s) != 0) {
		if (o->n_files == 0)
			fprintf(stderr, "%s garbage: out of memory\n", CLI_PROGRAM);
		goto out;
	}
	if (!o->list && bus_connect(c, NULL, NULL, &b) != 0)
		goto out;
	for (int i = 0; i < o->count && !service_stopping; i++) {
		const struct seed_message *from = NULL;
		enum event_kind kind = EVENT_ORDER_SEND;
		char *mutant = NULL;
		size_t len = 0;
		int valid = 0, tries;

		for (tries = 0; tries < MAX_TRIES; tries++) {
			free(mutant);
			memset(made, 0, sizeof made);
			if (make_mutant(&rng, &s, &from, &mutant, &len, what, sizeof what, made) != 0) {
				fprintf(stderr, "%s garbage: out of memory\n", CLI_PROGRAM);
				goto out;
			}
			kind = pick_topic(&rng, from->kind, o->wanted);
			valid = event_decode(kind, mutant, len, &ev, err, sizeof err) == 0;
			if (!valid || valid_may_go(kind))
				break;
			t.forgeries++;
		}
		if (tries == MAX_TRIES) {
			free(mutant);
			continue;
		}
		snprintf(topic, sizeof topic, "%s%s", c->prefix, event_topic_suffix(kind));
		if (!o->list && bus_publish(b, topic, mutant, len, ACK_TIMEOUT_MS) != 0) {
			free(mutant);
			cut_short = 1;
			break;
		}
		if (o->list || o->verbose)
			printf("%s\t%zu bytes\t%s\t%s\n", topic, len, valid ? "valid" : "invalid", what);
		t.sent[kind]++;
		t.valid[kind] += valid;
		for (int k = 0; k < MUTATE_KIND_COUNT; k++)
			t.by_kind[k] += made[k];
		free(mutant);
	}
	if (!o->list)
		missing = bus_drain(b, ACK_TIMEOUT_MS);
	print_tally(&t, o->wanted, o, missing);
	if (missing > 0 || cut_short) {
		fprintf(stderr, "%s garbage: %ld mutants got no PUBACK from %s%s\n", CLI_PROGRAM,
			missing, c->broker_url, cut_short ? "; stopped publishing" : "");
		goto out;
	}
	status = service_stopping ? 1 : 0;
out:
	bus_close(b);
	seeds_free(&s);
	return status;
}
