/* Unit tests of the Prometheus text: sample formatting and the process_*
 * metrics, checked against what the kernel says by other means. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"

/* The text metrics_write_process writes; the caller frees it. */
static char *process_text(int *status)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (out == NULL)
		abort();
	*status = metrics_write_process(out);
	fclose(out);
	return text;
}

/* The value of the unlabelled sample `name` at the start of a line, or -1. */
static double sample(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return -1;
}

/* The open descriptors, counted by asking each one. */
static long fds_by_fcntl(void)
{
	long n = 0;
	long max = sysconf(_SC_OPEN_MAX);

	for (int fd = 0; fd < (max > 0 && max < 65536 ? max : 65536); fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			n++;
	}
	return n;
}

static long open_fds(void)
{
	int status;
	char *text = process_text(&status);
	long n = (long)sample(text, "process_open_fds");

	free(text);
	return n;
}

static double cpu_seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_line(const char *text, const char *line)
{
	if (!CHECK_TRUE(strstr(text, line) != NULL))
		fprintf(stderr, "  looked for: %s  in:\n%s\n", line, text);
}

static void test_sample_format(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	metrics_write_sample(out, "a", NULL, 0.03);
	metrics_write_sample(out, "b", "daemon=\"order\"", 1);
	metrics_write_sample(out, "c", NULL, 1796159430.85);
	metrics_write_sample(out, "d", NULL, 1.0 / 3.0);
	metrics_write_sample(out, "e", NULL, 0.001);
	metrics_write_value(out, "f_total", "counter", "what f counts", 42);
	fclose(out);
	CHECK_EQ_STR(text, "a 0.03\n"
			   "b{daemon=\"order\"} 1\n"
			   "c 1796159430.85\n"
			   "d 0.33333333333333331\n"
			   "e 0.001\n"
			   "# HELP f_total what f counts\n# TYPE f_total counter\nf_total 42\n");
	free(text);
}

static void test_process_metrics(void)
{
	int status, fds[3];
	long fds_before, fds_during;
	double cpu_before, cpu_after, ours_before, spent;
	time_t now = time(NULL);
	char *text = process_text(&status);

	CHECK_EQ_INT(status, 0);
	for (const char *family = "process_cpu_seconds_total counter\0"
				  "process_resident_memory_bytes gauge\0"
				  "process_virtual_memory_bytes gauge\0"
				  "process_start_time_seconds gauge\0"
				  "process_open_fds gauge\0"
				  "process_max_fds gauge\0";
	     *family != '\0'; family += strlen(family) + 1) {
		char line[96];

		snprintf(line, sizeof line, "# TYPE %s\n", family);
		check_line(text, line);
	}
	check_line(text, "\nshop_build_info{version=\"" SHOP_VERSION "\"} 1\n");

	/* started during this test, by the wall clock */
	CHECK_TRUE(sample(text, "process_start_time_seconds") > (double)now - 30);
	CHECK_TRUE(sample(text, "process_start_time_seconds") <= (double)now + 1);
	CHECK_TRUE(sample(text, "process_resident_memory_bytes") > 100 * 1024);
	CHECK_TRUE(sample(text, "process_resident_memory_bytes") <
		   sample(text, "process_virtual_memory_bytes"));
	/* the listing's own descriptor is not counted */
	CHECK_EQ_INT(sample(text, "process_open_fds"), fds_by_fcntl());
	CHECK_TRUE(sample(text, "process_max_fds") >= sample(text, "process_open_fds"));
	cpu_before = sample(text, "process_cpu_seconds_total");
	free(text);

	/* three more descriptors are three more; closed, they are gone */
	fds_before = open_fds();
	for (int i = 0; i < 3; i++)
		fds[i] = dup(1);
	CHECK_TRUE(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
	fds_during = open_fds();
	CHECK_EQ_INT(fds_during, fds_by_fcntl());
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	CHECK_EQ_INT(fds_during - fds_before, 3);
	CHECK_EQ_INT(open_fds(), fds_before);

	/* 0.3 s of CPU shows as about 0.3 s: seconds, not ticks or ms */
	ours_before = cpu_seconds_now();
	while (cpu_seconds_now() - ours_before < 0.3)
		;
	spent = cpu_seconds_now() - ours_before;
	text = process_text(&status);
	cpu_after = sample(text, "process_cpu_seconds_total");
	CHECK_TRUE(cpu_after - cpu_before > spent - 0.05);
	CHECK_TRUE(cpu_after - cpu_before < spent + 0.2);
	if (!CHECK_TRUE(cpu_after <= cpu_seconds_now() + 0.02))
		fprintf(stderr, "  process_cpu_seconds_total %g, the clock says %g\n", cpu_after,
			cpu_seconds_now());
	free(text);
}

/* The command name is field 2 of /proc/self/stat, in parentheses, and may
 * hold spaces and ')' itself: the fields after it must still be found. */
static void test_odd_command_name(void)
{
	char old_name[17] = "";
	int status;
	char *plain, *odd;

	prctl(PR_GET_NAME, old_name, 0, 0, 0);
	plain = process_text(&status);
	prctl(PR_SET_NAME, "a) 1 2 (b) 3", 0, 0, 0);
	odd = process_text(&status);
	prctl(PR_SET_NAME, old_name, 0, 0, 0);
	CHECK_EQ_INT(status, 0);
	CHECK_TRUE(sample(odd, "process_start_time_seconds") ==
		   sample(plain, "process_start_time_seconds"));
	CHECK_TRUE(sample(odd, "process_resident_memory_bytes") > 100 * 1024);
	free(plain);
	free(odd);
}

int main(void)
{
	test_sample_format();
	test_process_metrics();
	test_odd_command_name();
	return check_summary("test_metrics");
}
