/* What every service binary shares: common settings, signals, clocks, paths. */
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker_url.h"
#include "log.h"

volatile sig_atomic_t service_stopping = 0;

static void on_stop_signal(int sig)
{
	(void)sig;
	service_stopping = 1;
}

void service_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

void service_wait_for_stop(void)
{
	while (!service_stopping)
		service_sleep_ms(100);
}

int64_t service_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t service_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void service_deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void service_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !service_stopping)
		;
}

int service_path(char *buf, size_t len, const char *data_dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", data_dir, name);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

void service_default_url(const char **value, char *buf, size_t len, const char *scheme,
			 int port)
{
	if (*value != NULL)
		return;
	snprintf(buf, len, "%s://127.0.0.1:%d", scheme, port);
	*value = buf;
}

/* The prefix starts every topic the shop publishes and subscribes to: MQTT
 * wildcards there would make its filters match other topics, and no one may
 * publish to a topic with a wildcard. */
static int topic_prefix_valid(const char *prefix)
{
	return strpbrk(prefix, "+#") == NULL && strlen(prefix) <= 100;
}

/* The instance is a topic level and part of the client id. */
static int instance_valid(const char *instance)
{
	size_t n = strlen(instance);

	return n > 0 && n <= 64 &&
	       strspn(instance, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int service_settings_finish(struct service_settings *s, const char *program)
{
	enum log_level level = LOG_LEVEL_INFO;
	char bad[160];

	service_default_url(&s->broker_url, s->broker_url_buf, sizeof s->broker_url_buf,
			    "tcp", s->broker_port);
	if (log_level_parse(s->log_level, &level) != 0) {
		fprintf(stderr, "%s: invalid log level '%s'\n", program, s->log_level);
		return -1;
	}
	if (broker_url_list_check(s->broker_url, bad, sizeof bad) != 0) {
		fprintf(stderr,
			"%s: invalid --broker-url '%s': expected tcp://host:port, or several of them separated by commas\n",
			program, bad);
		return -1;
	}
	if (!topic_prefix_valid(s->prefix)) {
		fprintf(stderr, "%s: invalid --topic-prefix '%s': no '+' or '#', at most 100 bytes\n",
			program, s->prefix);
		return -1;
	}
	if (settings_password_from_file(&s->mqtt_password, s->mqtt_password_file,
					s->mqtt_password_buf, sizeof s->mqtt_password_buf, program,
					"--mqtt-password-file", "--mqtt-password") != 0)
		return -1;
	if (settings_password_from_file(&s->internal_token, s->internal_token_file,
					s->internal_token_buf, sizeof s->internal_token_buf, program,
					"--internal-token-file", "--internal-token") != 0)
		return -1;
	if (s->internal_token != NULL && !settings_token_valid(s->internal_token)) {
		fprintf(stderr, "%s: invalid internal token: 1 to 255 printable ASCII characters, "
			"no spaces (--internal-token, --internal-token-file)\n", program);
		return -1;
	}
	if (!instance_valid(s->instance)) {
		fprintf(stderr, "%s: invalid --instance '%s': 1 to 64 of A-Z a-z 0-9 _ . -\n",
			program, s->instance);
		return -1;
	}
	log_init(program, level);
	return 0;
}

int service_data_dir_create(const struct service_settings *s, const char *program)
{
	if (mkdir(s->data_dir, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create data dir '%s': %s\n", program, s->data_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}
