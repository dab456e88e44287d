/* What every service binary shares: common settings, signals, clocks, paths. */
#ifndef SHOP_SERVICE_H
#define SHOP_SERVICE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"

struct service_settings {
	const char *data_dir;
	const char *bind;
	int broker_port;
	const char *broker_url; /* derived from broker_port when not given */
	const char *prefix;
	const char *instance;
	const char *log_level;
	const char *mqtt_username, *mqtt_password; /* NULL: anonymous */
	const char *mqtt_password_file; /* read into mqtt_password_buf */
	/* docs/protocol.md §Settings: the bearer token of the daemons' internal
	 * HTTP (they require it, the front sends it); NULL: none */
	const char *internal_token;
	const char *internal_token_file; /* read into internal_token_buf */
	const char *test_snapshot_dir;   /* test only: db_test_snapshots; NULL: none */
	char broker_url_buf[128];
	char mqtt_password_buf[256];
	char internal_token_buf[256];
};

/* The rows every binary's settings table starts with. */
#define SERVICE_SETTINGS_ROWS(s)                                                         \
	{ "--data-dir", "SHOP_DATA_DIR", SETTING_STRING, &(s).data_dir, 0, 0, "./var",    \
	  NULL, "databases, broker data and logs" },                                      \
	{ "--broker-port", "SHOP_BROKER_PORT", SETTING_INT, &(s).broker_port, 1, 65535,  \
	  "1883", NULL, "MQTT port, used when --broker-url is not given" },               \
	{ "--broker-url", "SHOP_BROKER_URL", SETTING_STRING, &(s).broker_url, 0, 0, NULL, \
	  NULL, "broker(s) to connect to, a comma list tried in order "                   \
	  "(default tcp://127.0.0.1:<broker-port>)" },                                    \
	{ "--topic-prefix", "SHOP_TOPIC_PREFIX", SETTING_STRING, &(s).prefix, 0, 0,       \
	  "webshop/", NULL, "prefix of every topic" },                                    \
	{ "--instance", "SHOP_INSTANCE", SETTING_STRING, &(s).instance, 0, 0, "main",     \
	  NULL, "instance name: part of the MQTT client id and status topic" },           \
	{ "--mqtt-username", "SHOP_MQTT_USERNAME", SETTING_STRING, &(s).mqtt_username, 0, \
	  0, NULL, NULL, "user name at the broker (default: anonymous)" },                \
	{ "--mqtt-password-file", "SHOP_MQTT_PASSWORD_FILE", SETTING_STRING,             \
	  &(s).mqtt_password_file, 0, 0, NULL, NULL,                                      \
	  "file holding the password at the broker (one line)" },                         \
	{ "--mqtt-password", "SHOP_MQTT_PASSWORD", SETTING_STRING, &(s).mqtt_password, 0, \
	  0, NULL, NULL, "password itself (prefer --mqtt-password-file: flags show in ps)" }, \
	{ "--internal-token-file", "SHOP_INTERNAL_TOKEN_FILE", SETTING_STRING,           \
	  &(s).internal_token_file, 0, 0, NULL, NULL,                                     \
	  "file holding the bearer token of the daemons' internal HTTP (one line)" },     \
	{ "--internal-token", "SHOP_INTERNAL_TOKEN", SETTING_STRING, &(s).internal_token, \
	  0, 0, NULL, NULL,                                                               \
	  "that token itself (prefer --internal-token-file: flags show in ps)" },         \
	{ "--log-level", "SHOP_LOG_LEVEL", SETTING_CHOICE, &(s).log_level, 0, 0, "info",  \
	  "debug|info|warn", "how much to log" }

/* The listener's row: the front's public HTTP binds SHOP_BIND; the daemons'
 * internal HTTP binds SHOP_INTERNAL_BIND whatever SHOP_BIND says
 * (docs/protocol.md §Settings). */
#define SERVICE_PUBLIC_BIND_ROW(s)                                                       \
	{ "--bind", "SHOP_BIND", SETTING_STRING, &(s).bind, 0, 0, "127.0.0.1", NULL,      \
	  "address the public HTTP listener binds" }
#define SERVICE_INTERNAL_BIND_ROW(s)                                                     \
	{ "--internal-bind", "SHOP_INTERNAL_BIND", SETTING_STRING, &(s).bind, 0, 0,       \
	  "127.0.0.1", NULL,                                                              \
	  "address the internal HTTP listener binds (SHOP_BIND does not apply)" }

/* The daemons' test-only row (docs/protocol.md §Durable before visible):
 * copies of the database at each sync, for the power-cut test. */
#define SERVICE_TEST_SNAPSHOT_ROW(s)                                                     \
	{ "--test-snapshot-dir", "SHOP_TEST_SNAPSHOT_DIR", SETTING_STRING,                \
	  &(s).test_snapshot_dir, 0, 0, NULL, NULL,                                       \
	  "TEST ONLY: copy the database there after every commit that syncs" }

/* Derives defaults, reads the password and token files, checks the broker
 * URL, prefix, instance and token, starts logging; 0 or -1 (one line printed). */
int service_settings_finish(struct service_settings *s, const char *program);
/* Creates the data dir of a service that keeps state; 0 or -1 (line printed). */
int service_data_dir_create(const struct service_settings *s, const char *program);

/* Formats "http://127.0.0.1:<port>" style defaults into buf when *value is NULL. */
void service_default_url(const char **value, char *buf, size_t len, const char *scheme,
			 int port);

/* Signal handling: SIGTERM/SIGINT set service_stopping; SIGPIPE is ignored. */
extern volatile sig_atomic_t service_stopping;
void service_install_signals(void);
/* Sleeps until a stop signal arrives. */
void service_wait_for_stop(void);

int64_t service_now_ms(void);
/* CLOCK_MONOTONIC in ms: for ages and timeouts, which a clock step must not move. */
int64_t service_monotonic_ms(void);
void service_sleep_ms(int ms);
/* The CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
struct timespec;
void service_deadline_after(struct timespec *ts, int ms);

/* Joins data_dir and name into buf; 0 or -1 when it does not fit. */
int service_path(char *buf, size_t len, const char *data_dir, const char *name);

#endif
