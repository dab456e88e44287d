/* Prometheus text metrics: labelled counters, histograms, gauges and the process's own. */
#include "metrics.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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

void metrics_write_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_write_sample(FILE *out, const char *name, const char *labels, double value)
{
	char text[32];

	/* 15 digits when they read back as the same double (0.03, not
	 * 0.029999999999999999), else the 17 that always do. */
	snprintf(text, sizeof text, "%.15g", value);
	if (strtod(text, NULL) != value)
		snprintf(text, sizeof text, "%.17g", value);
	if (labels != NULL)
		fprintf(out, "%s{%s} %s\n", name, labels, text);
	else
		fprintf(out, "%s %s\n", name, text);
}

void metrics_write_counter(FILE *out, struct metrics_counter *c)
{
	metrics_write_family(out, c->name, "counter", c->help);
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->n; i++)
		fprintf(out, "%s{%s} %llu\n", c->name, c->labels[i], c->values[i]);
	pthread_mutex_unlock(&c->lock);
}

void metrics_write_histogram(FILE *out, struct metrics_histogram *h)
{
	unsigned long long cumulative = 0;

	metrics_write_family(out, h->name, "histogram", h->help);
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
	metrics_write_family(out, name, type, help);
	metrics_write_sample(out, name, NULL, value);
}

/* The fields of /proc/self/stat the process metrics need (proc(5)). */
struct self_stat {
	unsigned long long cpu_ticks;   /* utime + stime */
	unsigned long long start_ticks; /* after boot */
	unsigned long long vsize_bytes;
	long long rss_pages;
};

static int read_self_stat(struct self_stat *st)
{
	char buf[1024];
	unsigned long long utime, stime;
	const char *fields;
	size_t n;
	FILE *f = fopen("/proc/self/stat", "re");

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and ')': fields 3 on
	 * follow its last ')'. */
	fields = strrchr(buf, ')');
	if (fields == NULL)
		return -1;
	/* state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt,
	 * majflt, cmajflt, utime (14), stime, cutime, cstime, priority, nice,
	 * num_threads, itrealvalue, starttime (22), vsize, rss (24) */
	if (sscanf(fields + 1, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu"
		   " %*s %*s %*s %*s %*s %*s %llu %llu %lld",
		   &utime, &stime, &st->start_ticks, &st->vsize_bytes, &st->rss_pages) != 5)
		return -1;
	st->cpu_ticks = utime + stime;
	return 0;
}

/* The boot time in seconds since the epoch ("btime" in /proc/stat): a
 * process's start time in /proc/self/stat counts from there. */
static int read_boot_time(unsigned long long *btime)
{
	char line[256];
	int found = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (f == NULL)
		return -1;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = sscanf(line, "btime %llu", btime) == 1;
	fclose(f);
	return found ? 0 : -1;
}

/* The open file descriptors, not counting the one that lists them. */
static int count_open_fds(long *count)
{
	struct dirent *e;
	char listing[16];
	DIR *d = opendir("/proc/self/fd");

	if (d == NULL)
		return -1;
	snprintf(listing, sizeof listing, "%d", dirfd(d));
	*count = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' && strcmp(e->d_name, listing) != 0)
			(*count)++;
	}
	closedir(d);
	return 0;
}

int metrics_write_process(FILE *out)
{
	struct self_stat st;
	struct rlimit limit;
	unsigned long long btime;
	long ticks_per_s = sysconf(_SC_CLK_TCK), page_size = sysconf(_SC_PAGESIZE), fds;
	int status = 0;

	if (ticks_per_s <= 0 || page_size <= 0 || read_self_stat(&st) != 0) {
		status = -1;
	} else {
		metrics_write_value(out, "process_cpu_seconds_total", "counter",
				    "Total user and system CPU time spent in seconds.",
				    (double)st.cpu_ticks / (double)ticks_per_s);
		metrics_write_value(out, "process_resident_memory_bytes", "gauge",
				    "Resident memory size in bytes.",
				    (double)st.rss_pages * (double)page_size);
		metrics_write_value(out, "process_virtual_memory_bytes", "gauge",
				    "Virtual memory size in bytes.", (double)st.vsize_bytes);
		if (read_boot_time(&btime) == 0)
			metrics_write_value(out, "process_start_time_seconds", "gauge",
					    "Start time of the process since unix epoch in seconds.",
					    (double)btime + (double)st.start_ticks / (double)ticks_per_s);
		else
			status = -1;
	}
	if (count_open_fds(&fds) == 0)
		metrics_write_value(out, "process_open_fds", "gauge",
				    "Number of open file descriptors.", (double)fds);
	else
		status = -1;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
		metrics_write_value(out, "process_max_fds", "gauge",
				    "Maximum number of open file descriptors.", (double)limit.rlim_cur);
	metrics_write_family(out, "shop_build_info", "gauge",
			     "Always 1; the version of the shop this binary was built from.");
	metrics_write_sample(out, "shop_build_info", "version=\"" SHOP_VERSION "\"", 1);
	return status;
}
