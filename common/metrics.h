/* Prometheus text metrics: labelled counters, histograms, gauges and the process's own. */
#ifndef SHOP_METRICS_H
#define SHOP_METRICS_H

#include <pthread.h>
#include <stdio.h>

#define METRICS_MAX_SERIES 64
#define METRICS_BUCKETS 14

struct metrics_counter {
	const char *name;
	const char *help;
	pthread_mutex_t lock;
	int n;
	char labels[METRICS_MAX_SERIES][96];
	unsigned long long values[METRICS_MAX_SERIES];
};

struct metrics_histogram {
	const char *name;
	const char *help;
	pthread_mutex_t lock;
	unsigned long long buckets[METRICS_BUCKETS]; /* cumulative on output */
	unsigned long long count;
	double sum;
};

#define METRICS_COUNTER_INIT(n, h) { .name = (n), .help = (h), .lock = PTHREAD_MUTEX_INITIALIZER }
#define METRICS_HISTOGRAM_INIT(n, h) { .name = (n), .help = (h), .lock = PTHREAD_MUTEX_INITIALIZER }

/* Adds one to the series with these labels ('route="/x",status="200"'). */
void metrics_count(struct metrics_counter *c, const char *labels);
void metrics_observe(struct metrics_histogram *h, double seconds);

void metrics_write_counter(FILE *out, struct metrics_counter *c);
void metrics_write_histogram(FILE *out, struct metrics_histogram *h);
/* A metric family's "# HELP" and "# TYPE" lines, then its samples with
 * metrics_write_sample (labels 'daemon="order"', or NULL for none). */
void metrics_write_family(FILE *out, const char *name, const char *type, const char *help);
void metrics_write_sample(FILE *out, const char *name, const char *labels, double value);
/* A family of one unlabelled sample. */
void metrics_write_value(FILE *out, const char *name, const char *type, const char *help,
			 double value);
/* What every Prometheus client library exports of its process (CPU seconds,
 * resident and virtual memory, start time, open and maximum fds, read from
 * /proc/self), and shop_build_info{version} 1. Returns 0, or -1 when part of
 * /proc could not be read: the samples it could read are written all the same. */
int metrics_write_process(FILE *out);

#endif
