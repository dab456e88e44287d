/* Shared helpers of the benchmark programs: clocks, latency samples, percentiles, flags. */
#ifndef SHOP_BENCH_UTIL_H
#define SHOP_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);
/* Wall clock in milliseconds since the epoch (to compare with the daemons' timestamps). */
uint64_t bench_epoch_ms(void);
/* CPU time of this process, all its threads, in nanoseconds. */
uint64_t bench_process_cpu_ns(void);
/* Sleeps for ns nanoseconds. */
void bench_sleep_ns(uint64_t ns);

/* A growable array of latencies in microseconds. */
struct bench_samples {
	uint32_t *v;
	size_t n, cap;
};
/* Appends one latency; 0 or -1 (out of memory, the sample is dropped). */
int bench_samples_add(struct bench_samples *s, uint64_t ns);
/* Appends every sample of from to to; 0 or -1. */
int bench_samples_merge(struct bench_samples *to, const struct bench_samples *from);
void bench_samples_free(struct bench_samples *s);
/* Sorts s, then returns the q-quantile (0..1) in milliseconds; 0 if empty. */
double bench_quantile_ms(struct bench_samples *s, double q);

/* Parses argv[i+1] as a number for flag argv[i]; exits with status 2 when
 * missing or invalid. Advances *i past the value. */
long bench_arg_long(int argc, char **argv, int *i, long min, long max);
const char *bench_arg_str(int argc, char **argv, int *i);
/* Reads the non-empty lines of a file into a new array; 0, or -1 when the
 * file cannot be read or has no lines. */
int bench_read_lines(const char *path, char ***lines, size_t *n);
/* One line on stderr naming the program, then exit(2). */
void bench_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
