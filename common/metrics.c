/* Prometheus text metrics: labelled counters, histograms and gauges. */
#include "metrics.h"

#include <string.h>

/* Upper bounds in seconds: from 0.1 ms to 5 s. */
static const double bucket_bounds[METRICS_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
};

void metrics_count(struct metrics_counter *c, const char *labels)
{
	int i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->labels[i], labels) == 0)
			break;
	}
	if (i == c->n && c->n < METRICS_MAX_SERIES) {
		snprintf(c->labels[i], sizeof c->labels[i], "%s", labels);
		c->n++;
	}
	if (i < c->n)
		c->values[i]++;
	pthread_mutex_unlock(&c->lock);
}

void metrics_observe(struct metrics_histogram *h, double seconds)
{
	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < METRICS_BUCKETS; i++) {
		if (seconds <= bucket_bounds[i]) {
			h->buckets[i]++;
			break;
		}
	}
	h->count++;
	h->sum += seconds;
	pthread_mutex_unlock(&h->lock);
}

void metrics_write_counter(FILE *out, struct metrics_counter *c)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", c->name, c->help, c->name);
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->n; i++)
		fprintf(out, "%s{%s} %llu\n", c->name, c->labels[i], c->values[i]);
	pthread_mutex_unlock(&c->lock);
}

void metrics_write_histogram(FILE *out, struct metrics_histogram *h)
{
	unsigned long long cumulative = 0;

	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < METRICS_BUCKETS; i++) {
		cumulative += h->buckets[i];
		fprintf(out, "%s_bucket{le=\"%g\"} %llu\n", h->name, bucket_bounds[i], cumulative);
	}
	fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, h->count);
	fprintf(out, "%s_sum %.6f\n%s_count %llu\n", h->name, h->sum, h->name, h->count);
	pthread_mutex_unlock(&h->lock);
}

void metrics_write_value(FILE *out, const char *name, const char *type, const char *help,
			 double value)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name,
		value);
}
