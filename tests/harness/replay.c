/* shop-replay replay: publishes recordings back at QoS 1, duplicated,
 * reversed or shuffled, and waits for every PUBACK. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "cli.h"
#include "commands.h"
#include "recording.h"
#include "rng.h"
#include "service.h"

#define REPLAY_MAX_FILES 64

struct replay_options {
	int dup;
	int delay_ms;
	int seed;      /* -1: pick one */
	int ack_timeout_ms;
	const char *from_prefix;
	int shuffle, reverse, interleave;
};

/* The messages in the order they go out (pointers into the recordings). */
struct plan {
	const struct recorded_message **msgs;
	size_t n;
};

/* Files one after another, or round-robin with --interleave; each message
 * --dup times in a row. */
static int plan_build(struct plan *p, const struct recording *recs, int n_recs,
		      const struct replay_options *o)
{
	size_t total = 0, longest = 0, k = 0;

	for (int f = 0; f < n_recs; f++) {
		total += recs[f].n;
		if (recs[f].n > longest)
			longest = recs[f].n;
	}
	p->n = total * (size_t)o->dup;
	p->msgs = malloc((p->n ? p->n : 1) * sizeof *p->msgs);
	if (p->msgs == NULL)
		return -1;
	if (o->interleave) {
		for (size_t i = 0; i < longest; i++)
			for (int f = 0; f < n_recs; f++)
				for (int d = 0; i < recs[f].n && d < o->dup; d++)
					p->msgs[k++] = &recs[f].msgs[i];
	} else {
		for (int f = 0; f < n_recs; f++)
			for (size_t i = 0; i < recs[f].n; i++)
				for (int d = 0; d < o->dup; d++)
					p->msgs[k++] = &recs[f].msgs[i];
	}
	return 0;
}

static void plan_reorder(struct plan *p, const struct replay_options *o)
{
	uint64_t state = (uint64_t)o->seed;

	if (o->reverse) {
		for (size_t i = 0, j = p->n ? p->n - 1 : 0; i < j; i++, j--) {
			const struct recorded_message *m = p->msgs[i];
			p->msgs[i] = p->msgs[j];
			p->msgs[j] = m;
		}
	}
	if (o->shuffle) { /* Fisher-Yates */
		for (size_t i = p->n; i > 1; i--) {
			size_t j = rng_below(&state, i);
			const struct recorded_message *m = p->msgs[i - 1];
			p->msgs[i - 1] = p->msgs[j];
			p->msgs[j] = m;
		}
	}
}

/* The topic to publish to: with --from-prefix, a recorded topic under that
 * prefix moves under --topic-prefix. Returns the topic (buf or the original). */
static const char *target_topic(const char *topic, const struct replay_options *o,
				const char *prefix, char **buf)
{
	size_t flen = o->from_prefix ? strlen(o->from_prefix) : 0;
	size_t need;

	if (o->from_prefix == NULL || strncmp(topic, o->from_prefix, flen) != 0)
		return topic;
	need = strlen(prefix) + strlen(topic + flen) + 1;
	free(*buf);
	*buf = malloc(need);
	if (*buf == NULL)
		return topic;
	snprintf(*buf, need, "%s%s", prefix, topic + flen);
	return *buf;
}

/* Publishes the plan; returns how many publishes got no PUBACK (or were
 * never made because of a signal or a lost connection). */
static long publish_plan(struct bus *b, const struct plan *p, const struct replay_options *o,
			 const char *prefix)
{
	char *topic_buf = NULL;
	const char *why = NULL;
	size_t i = 0;
	long missing;

	while (i < p->n) {
		const struct recorded_message *m = p->msgs[i];
		const char *topic = target_topic(m->topic, o, prefix, &topic_buf);
		int rc;

		if (i > 0 && o->delay_ms > 0)
			service_sleep_ms(o->delay_ms);
		if (service_stopping) {
			why = "stopped by a signal";
			break;
		}
		if (bus_lost(b)) {
			why = "lost the connection to the broker";
			break;
		}
		rc = bus_publish(b, topic, m->payload, m->len, o->ack_timeout_ms);
		i++; /* tried: bus_drain counts it if it failed */
		if (rc != 0) {
			/* No use queueing more behind a broker that does not answer. */
			why = "a publish was refused or got no PUBACK in time";
			break;
		}
	}
	free(topic_buf);
	missing = bus_drain(b, o->ack_timeout_ms);
	if (why != NULL)
		fprintf(stderr, "%s replay: %s after %zu of %zu messages\n", CLI_PROGRAM, why,
			i, p->n);
	return missing + (long)(p->n - i);
}

static int replay_run(struct cli_common *c, const char **files, int n_files,
		      struct replay_options *o)
{
	struct recording recs[REPLAY_MAX_FILES] = { { 0 } };
	struct plan p = { 0 };
	struct bus *b = NULL;
	long missing;
	int rc = 1;

	for (int f = 0; f < n_files; f++) {
		if (recording_load(files[f], &recs[f]) != 0)
			goto out;
	}
	if (plan_build(&p, recs, n_files, o) != 0) {
		fprintf(stderr, "%s replay: out of memory\n", CLI_PROGRAM);
		goto out;
	}
	if (o->shuffle) {
		if (o->seed < 0)
			o->seed = (int)(((unsigned)time(NULL) ^ ((unsigned)getpid() << 16)) & 0x7fffffff);
		/* So that a run that found something can be run again. */
		fprintf(stderr, "%s replay: shuffle seed %d (use --seed %d to repeat)\n",
			CLI_PROGRAM, o->seed, o->seed);
	}
	plan_reorder(&p, o);
	service_install_signals();
	if (bus_connect(c, NULL, NULL, &b) != 0)
		goto out;
	missing = publish_plan(b, &p, o, c->prefix);
	printf("published %ld messages\n", (long)p.n - missing);
	if (missing > 0)
		fprintf(stderr, "%s replay: %ld of %zu messages got no PUBACK from %s\n", CLI_PROGRAM,
			missing, p.n, c->broker_url);
	else
		rc = 0;
out:
	bus_close(b);
	free(p.msgs);
	for (int f = 0; f < n_files; f++)
		recording_free(&recs[f]);
	return rc;
}

int replay_main(int argc, char **argv)
{
	struct cli_common c = { 0 };
	struct replay_options o = { .seed = -1 };
	const char *files[REPLAY_MAX_FILES];
	int n_files = 0;
	const struct setting table[] = {
		CLI_COMMON_ROWS(c),
		{ "--dup", "SHOP_REPLAY_DUP", SETTING_INT, &o.dup, 1, 1000, "1", NULL,
		  "publish each message this many times" },
		{ "--delay-ms", "SHOP_REPLAY_DELAY_MS", SETTING_INT, &o.delay_ms, 0, 3600000, "0",
		  NULL, "pause between two messages" },
		{ "--seed", "SHOP_REPLAY_SEED", SETTING_INT, &o.seed, 0, 2147483647, NULL, NULL,
		  "seed of --shuffle (default: picked and printed on stderr)" },
		{ "--ack-timeout-ms", "SHOP_REPLAY_ACK_TIMEOUT_MS", SETTING_INT, &o.ack_timeout_ms,
		  1, 600000, "10000", NULL, "give up when no PUBACK arrives for this long" },
		{ "--from-prefix", "SHOP_REPLAY_FROM_PREFIX", SETTING_STRING, &o.from_prefix, 0, 0,
		  NULL, NULL, "recorded topics under this prefix are published under --topic-prefix "
		  "(default: topics as recorded)" },
	};
	const struct cli_switch switches[] = {
		{ "--shuffle", "SHOP_REPLAY_SHUFFLE", &o.shuffle, "random order (see --seed)" },
		{ "--reverse", "SHOP_REPLAY_REVERSE", &o.reverse, "last message first" },
		{ "--interleave", "SHOP_REPLAY_INTERLEAVE", &o.interleave,
		  "several files: round-robin, one message of each in turn (default: one after another)" },
	};
	enum cli_result parsed;
	const struct cli_spec spec = {
		.name = "replay", .args = "FILE [FILE...]",
		.summary = "Publishes recordings (from shop-replay record, or written by hand) at QoS 1\n"
			   "and waits for every PUBACK; prints \"published N messages\". Order of work:\n"
			   "files joined (--interleave), each message --dup times, --reverse, --shuffle.",
		CLI_TABLES(table, switches),
		.min_args = 1, .max_args = REPLAY_MAX_FILES, .args_out = files, .n_args_out = &n_files,
	};

	if ((parsed = cli_parse(&spec, &c, argc, argv)) != CLI_OK)
		return cli_exit_status(parsed);
	return replay_run(&c, files, n_files, &o);
}
