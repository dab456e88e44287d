/* Prometheus text metrics: labelled counters, histograms and gauges. */
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
void metrics_write_value(FILE *out, const char *name, const char *type, const char *help,
			 double value);

#endif
