/* shop-replay garbage: publishes the corpus of bad payloads (garbage_corpus.c)
 * to every shop topic, or the ones --topics names, and says how many. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "cli.h"
#include "commands.h"
#include "event.h"
#include "garbage_corpus.h"
#include "garbage_random.h"
#include "service.h"

#define GARBAGE_ACK_TIMEOUT_MS 10000
#define GARBAGE_MAX_FILES 64

/* Reads "all" or a comma-separated list of topics (without the prefix) into
 * wanted[kind]. 0, or -1 with a line naming the bad one. */
static int parse_topics(const char *list, int wanted[EVENT_KIND_COUNT])
{
	const char *p = list;

	/* all: every topic a daemon takes in; order/status goes to the fronts,
	 * which keep no dead letters to count, so only when named */
	if (strcmp(list, "all") == 0) {
		for (int k = 0; k < EVENT_KIND_COUNT; k++)
			wanted[k] = k != EVENT_ORDER_STATUS;
		return 0;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		int found = 0;

		for (int k = 0; k < EVENT_KIND_COUNT; k++) {
			const char *name = event_topic_suffix((enum event_kind)k);
			if (strlen(name) == n && strncmp(name, p, n) == 0)
				found = wanted[k] = 1;
		}
		if (!found) {
			fprintf(stderr, "%s garbage: invalid --topics '%s': '%.*s' is none of order/send, "
				"order/cancel, inventory/in-stock, inventory/out-of-stock, order/canceled, "
				"inventory/released, inventory/restock, inventory/product, order/status\n",
				CLI_PROGRAM, list, (int)n, p);
			return -1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* One line per payload; the order id finds the payload that a daemon
 * accepted instead of dead-lettering (it shows up in GET /orders). */
static void print_payload(const struct garbage_payload *p, const char *topic)
{
	printf("%s\t%zu bytes\t%s\t%s\n", topic, p->len, p->order_id, p->name);
}

/* Publishes (or lists) one topic's corpus; returns how many were handed to
 * the broker, or -1 when memory ran out. */
static long one_topic(struct bus *b, enum event_kind kind, const char *prefix, int list,
		      int verbose)
{
	struct garbage_corpus c;
	char topic[512];
	long sent = 0, size;

	snprintf(topic, sizeof topic, "%s%s", prefix, event_topic_suffix(kind));
	if (garbage_corpus_build(kind, &c) != 0) {
		fprintf(stderr, "%s garbage: out of memory\n", CLI_PROGRAM);
		return -1;
	}
	for (size_t i = 0; list && i < c.n; i++)
		print_payload(&c.items[i], topic);
	for (size_t i = 0; !list && i < c.n && !service_stopping; i++) {
		if (bus_publish(b, topic, c.items[i].data, c.items[i].len, GARBAGE_ACK_TIMEOUT_MS) != 0)
			break;
		if (verbose)
			print_payload(&c.items[i], topic);
		sent++;
	}
	if (!list)
		printf("%s: %ld bad payloads\n", event_topic_suffix(kind), sent);
	size = (long)c.n;
	garbage_corpus_free(&c);
	return list ? size : sent;
}

static int garbage_run(struct cli_common *c, const int wanted[EVENT_KIND_COUNT], int list,
		       int verbose)
{
	struct bus *b = NULL;
	long total = 0, missing = 0;
	int topics = 0;

	service_install_signals();
	if (!list && bus_connect(c, NULL, NULL, &b) != 0)
		return 1;
	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		long n;

		if (!wanted[k])
			continue;
		n = one_topic(b, (enum event_kind)k, c->prefix, list, verbose);
		if (n < 0) {
			bus_close(b);
			return 1;
		}
		total += n;
		topics++;
	}
	if (!list) {
		missing = bus_drain(b, GARBAGE_ACK_TIMEOUT_MS);
		bus_close(b);
	}
	printf("%s %ld bad payloads to %d topics\n", list ? "listed" : "sent", total - missing,
	       topics);
	if (missing > 0) {
		fprintf(stderr, "%s garbage: %ld payloads got no PUBACK from %s\n", CLI_PROGRAM, missing,
			c->broker_url);
		return 1;
	}
	return service_stopping ? 1 : 0;
}

int garbage_main(int argc, char **argv)
{
	struct cli_common c = { 0 };
	const char *topics = NULL;
	int wanted[EVENT_KIND_COUNT] = { 0 };
	int list = 0, verbose = 0, n_args = 0, seed = -1, count = 0;
	const char *files[GARBAGE_MAX_FILES];
	const struct setting table[] = {
		CLI_COMMON_ROWS(c),
		{ "--topics", "SHOP_REPLAY_TOPICS", SETTING_STRING, &topics, 0, 0, "all", NULL,
		  "\"all\" (the topics the daemons read) or a comma-separated list such as"
		  " order/send,order/cancel" },
		{ "--random", "SHOP_REPLAY_RANDOM", SETTING_INT, &seed, 0, 2147483647, NULL, NULL,
		  "instead of the corpus: mutants of the RECORDINGs' messages (or of one built-in "
		  "event a topic) made with this seed" },
		{ "--count", "SHOP_REPLAY_COUNT", SETTING_INT, &count, 1, 1000000, "200", NULL,
		  "with --random: how many mutants" },
	};
	const struct cli_switch switches[] = {
		{ "--list", "SHOP_REPLAY_LIST", &list,
		  "print the corpus (topic, size, order id, what is wrong) and publish nothing" },
		{ "--verbose", "SHOP_REPLAY_VERBOSE", &verbose,
		  "print each payload sent, as --list does" },
	};
	enum cli_result parsed;
	const struct cli_spec spec = {
		.name = "garbage", .args = "[--random SEED [RECORDING...]]",
		.summary = "Publishes a built-in corpus of bad payloads at QoS 1 to every shop topic:\n"
			   "not JSON, empty, wrong types, missing fields, bad quantities, 300 kB,\n"
			   "invalid UTF-8, \\u0000, v=2, upper-case ids, 101 items, duplicate SKUs,\n"
			   "deep nesting. Each must be dead-lettered by the daemons that subscribe.\n"
			   "Prints \"<topic>: N bad payloads\" per topic and the total.\n"
			   "With --random SEED: --count mutants of recorded messages instead (bit flips,\n"
			   "truncation, field swaps, huge numbers, deep nesting, ...); valid ones only on\n"
			   "order/send and order/cancel. Prints \"<topic>: N mutants, V valid events\".",
		CLI_TABLES(table, switches),
		.min_args = 0, .max_args = GARBAGE_MAX_FILES, .args_out = files, .n_args_out = &n_args,
	};

	if ((parsed = cli_parse(&spec, &c, argc, argv)) != CLI_OK)
		return cli_exit_status(parsed);
	if (parse_topics(topics, wanted) != 0)
		return 2;
	if (seed >= 0) {
		const struct garbage_random_options o = { seed, count, files, n_args, wanted, list,
							  verbose };
		return garbage_random_run(&c, &o);
	}
	if (n_args > 0) {
		fprintf(stderr, "%s garbage: unexpected argument '%s': recordings are mutated only with --random SEED\n",
			CLI_PROGRAM, files[0]);
		return 2;
	}
	return garbage_run(&c, wanted, list, verbose);
}
