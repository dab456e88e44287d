/* Shared helpers of the benchmark programs: clocks, latency samples, percentiles, flags. */
#include "bench_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t bench_process_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int samples_reserve(struct bench_samples *s, size_t need)
{
	size_t cap = s->cap ? s->cap : 4096;
	uint32_t *v;

	if (need <= s->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	v = realloc(s->v, cap * sizeof *v);
	if (v == NULL)
		return -1;
	s->v = v;
	s->cap = cap;
	return 0;
}

int bench_samples_add(struct bench_samples *s, uint64_t ns)
{
	uint64_t us = ns / 1000u;

	if (samples_reserve(s, s->n + 1) != 0)
		return -1;
	s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	return 0;
}

int bench_samples_merge(struct bench_samples *to, const struct bench_samples *from)
{
	if (from->n == 0)
		return 0;
	if (samples_reserve(to, to->n + from->n) != 0)
		return -1;
	memcpy(to->v + to->n, from->v, from->n * sizeof *from->v);
	to->n += from->n;
	return 0;
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

double bench_quantile_ms(struct bench_samples *s, double q)
{
	size_t i;

	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof *s->v, cmp_u32);
	i = (size_t)(q * (double)s->n);
	if (i >= s->n)
		i = s->n - 1;
	return s->v[i] / 1000.0;
}

int bench_read_lines(const char *path, char ***lines, size_t *n)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 0;

	*lines = NULL;
	*n = 0;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (*n == cap) {
			char **v = realloc(*lines, (cap = cap ? cap * 2 : 1024) * sizeof *v);
			if (v == NULL)
				break;
			*lines = v;
		}
		(*lines)[(*n)++] = strdup(line);
	}
	fclose(f);
	return *n > 0 ? 0 : -1;
}

void bench_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

const char *bench_arg_str(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		bench_usage_error(argv[0], "%s needs a value", argv[*i]);
	*i += 1;
	return argv[*i];
}

long bench_arg_long(int argc, char **argv, int *i, long min, long max)
{
	const char *flag = argv[*i], *text = bench_arg_str(argc, argv, i);
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		bench_usage_error(argv[0], "%s must be a number from %ld to %ld, got '%s'", flag,
				  min, max, text);
	return v;
}
