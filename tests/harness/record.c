/* shop-replay record: writes every message on <prefix># to a file, one JSON
 * line each, until a signal, --duration or --count says stop. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "cli.h"
#include "commands.h"
#include "recording.h"
#include "service.h"

struct recorder {
	FILE *out;
	const char *prefix;
	char status_prefix[512];
	int all;
	long limit;          /* --count; 0: no limit */
	double start_ms;
	pthread_mutex_t lock; /* Paho's thread writes, main reads */
	long written;
	int full;
	int write_failed;
};

static double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* On Paho's receive thread: the line is on disk (flushed) before the PUBACK. */
static void on_message(void *ctx, const char *topic, const void *payload, size_t len,
		       int retained)
{
	struct recorder *r = ctx;
	double t;

	/* A filter of "#" (prefix without a trailing '/') sees other topics too. */
	if (!starts_with(topic, r->prefix))
		return;
	if (!r->all && starts_with(topic, r->status_prefix))
		return;
	pthread_mutex_lock(&r->lock);
	if (!r->full && !r->write_failed) {
		/* Microseconds are plenty and print short. */
		t = (double)(long long)((monotonic_ms() - r->start_ms) * 1000.0) / 1000.0;
		if (recording_write_line(r->out, t, topic, payload, len, retained) != 0)
			r->write_failed = errno ? errno : EIO;
		else if (++r->written == r->limit)
			r->full = 1;
	}
	pthread_mutex_unlock(&r->lock);
}

/* 1 while recording should go on. */
static int keep_going(struct recorder *r, struct bus *b, long duration_s)
{
	int go;

	if (service_stopping || bus_lost(b))
		return 0;
	if (duration_s > 0 && monotonic_ms() - r->start_ms >= (double)duration_s * 1000.0)
		return 0;
	pthread_mutex_lock(&r->lock);
	go = !r->full && !r->write_failed;
	pthread_mutex_unlock(&r->lock);
	return go;
}

static int record_run(struct cli_common *c, const char *path, int duration_s, long limit,
		      int all)
{
	struct recorder r = { .prefix = c->prefix, .all = all, .limit = limit };
	struct bus *b = NULL;
	int connected = 0;
	char filter[512];
	size_t plen = strlen(c->prefix);
	int rc = 1;

	snprintf(r.status_prefix, sizeof r.status_prefix, "%sstatus/", c->prefix);
	/* "<prefix>#" is a valid filter only when the prefix ends a level. */
	snprintf(filter, sizeof filter, "%s#", plen == 0 || c->prefix[plen - 1] == '/' ? c->prefix : "");
	pthread_mutex_init(&r.lock, NULL);
	r.out = fopen(path, "w");
	if (r.out == NULL) {
		fprintf(stderr, "%s record: cannot write %s: %s\n", CLI_PROGRAM, path, strerror(errno));
		goto out;
	}
	service_install_signals();
	r.start_ms = monotonic_ms();
	if (bus_connect(c, on_message, &r, &b) != 0 || bus_subscribe(b, filter, 5000) != 0)
		goto out;
	connected = 1;
	/* Tests wait for this line before they make traffic. */
	fprintf(stderr, "%s record: recording %s to %s\n", CLI_PROGRAM, filter, path);
	while (keep_going(&r, b, duration_s))
		service_sleep_ms(20);
	rc = 0;
	if (bus_lost(b)) {
		fprintf(stderr, "%s record: lost the connection to the broker at %s\n", CLI_PROGRAM,
			c->broker_url);
		rc = 1;
	}
out:
	bus_close(b); /* no callback runs after this */
	if (r.write_failed) {
		fprintf(stderr, "%s record: cannot write %s: %s\n", CLI_PROGRAM, path,
			strerror(r.write_failed));
		rc = 1;
	}
	if (r.out != NULL && fclose(r.out) != 0 && rc == 0) {
		fprintf(stderr, "%s record: cannot write %s: %s\n", CLI_PROGRAM, path, strerror(errno));
		rc = 1;
	}
	if (connected)
		printf("recorded %ld messages to %s\n", r.written, path);
	pthread_mutex_destroy(&r.lock);
	return rc;
}

int record_main(int argc, char **argv)
{
	struct cli_common c = { 0 };
	const char *out = NULL;
	int duration_s = 0, count = 0, all = 0;
	const struct setting table[] = {
		CLI_COMMON_ROWS(c),
		{ "--out", "SHOP_REPLAY_OUT", SETTING_STRING, &out, 0, 0, NULL, NULL,
		  "file to write (required)" },
		{ "--duration", "SHOP_REPLAY_DURATION", SETTING_INT, &duration_s, 0, 31536000, "0",
		  NULL, "stop after this many seconds; 0: until SIGINT/SIGTERM" },
		{ "--count", "SHOP_REPLAY_COUNT", SETTING_INT, &count, 0, 2000000000, "0", NULL,
		  "stop after this many messages; 0: no limit" },
	};
	const struct cli_switch switches[] = {
		{ "--all", "SHOP_REPLAY_ALL", &all,
		  "also record <prefix>status/... (the services' retained status topics)" },
	};
	enum cli_result parsed;
	const struct cli_spec spec = {
		.name = "record", .args = "",
		.summary = "Writes every message on <prefix># to a file, one JSON object a line:\n"
			   "{\"t\": ms since start, \"topic\": ..., \"payload\": text} or \"payload_b64\" "
			   "for binary payloads.\nStops on SIGINT/SIGTERM, after --duration or --count.",
		CLI_TABLES(table, switches),
	};

	if ((parsed = cli_parse(&spec, &c, argc, argv)) != CLI_OK)
		return cli_exit_status(parsed);
	if (out == NULL) {
		fprintf(stderr, "%s record: --out FILE is required (see --help)\n", CLI_PROGRAM);
		return 2;
	}
	return record_run(&c, out, duration_s, count, all);
}
