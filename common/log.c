/* Logging for every service: one line per event on stderr, with level and time. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "shop";
static enum log_level log_threshold = LOG_LEVEL_INFO;

void log_init(const char *program, enum log_level level)
{
	log_program = program;
	log_threshold = level;
}

int log_level_parse(const char *text, enum log_level *out)
{
	static const char *names[] = { "debug", "info", "warn" };
	for (int i = 0; i < 3; i++) {
		if (strcmp(text, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void log_line(const char *level, const char *fmt, va_list ap)
{
	char stamp[32];
	char line[2048];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(line, sizeof line, fmt, ap);
	/* One fprintf per line so that lines of different threads never mix. */
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, now.tv_nsec / 1000000,
		log_program, level, line);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;
	if (log_threshold > LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	log_line("debug", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	if (log_threshold > LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("warn", fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("fatal", fmt, ap);
	va_end(ap);
	/* A start-up error may come after threads were started (civetweb's
	 * workers, Paho's): exit() would run the libraries' exit handlers and
	 * destructors under them, and one did corrupt the heap of a daemon
	 * that could not log in to the broker ("corrupted double-linked list",
	 * SIGABRT instead of exit status 1). Nothing needs cleaning up here. */
	fflush(NULL);
	_exit(1);
}
