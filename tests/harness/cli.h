/* shop-replay's command line: the flags every subcommand shares, on/off
 * switches and positional arguments, on top of common/settings.h. */
#ifndef SHOP_REPLAY_CLI_H
#define SHOP_REPLAY_CLI_H

#include <stdio.h>

#include "settings.h"

#define CLI_PROGRAM "shop-replay"

/* The settings of every subcommand: where the broker is and who we are. */
struct cli_common {
	int broker_port;
	const char *broker_url; /* derived from broker_port when not given */
	const char *prefix;
	const char *username;
	const char *password;
	const char *password_file; /* read into password_buf */
	char broker_url_buf[160];
	char password_buf[256];
};

/* The rows every subcommand's settings table starts with (like the services'
 * SERVICE_SETTINGS_ROWS: same flags, same variables). */
#define CLI_COMMON_ROWS(c)                                                                   \
	{ "--broker-port", "SHOP_BROKER_PORT", SETTING_INT, &(c).broker_port, 1, 65535,       \
	  "1883", NULL, "MQTT port, used when --broker-url is not given" },                   \
	{ "--broker-url", "SHOP_BROKER_URL", SETTING_STRING, &(c).broker_url, 0, 0, NULL,     \
	  NULL, "broker(s) to connect to, a comma list tried in order "                       \
	  "(default tcp://127.0.0.1:<broker-port>)" },                                        \
	{ "--topic-prefix", "SHOP_TOPIC_PREFIX", SETTING_STRING, &(c).prefix, 0, 0,           \
	  "webshop/", NULL, "prefix of every shop topic" },                                   \
	{ "--username", "SHOP_MQTT_USERNAME", SETTING_STRING, &(c).username, 0, 0, NULL,      \
	  NULL, "MQTT user name (default: none)" },                                           \
	{ "--password-file", "SHOP_MQTT_PASSWORD_FILE", SETTING_STRING, &(c).password_file,   \
	  0, 0, NULL, NULL, "file holding the MQTT password (one line; default: none)" },     \
	{ "--password", "SHOP_MQTT_PASSWORD", SETTING_STRING, &(c).password, 0, 0, NULL,      \
	  NULL, "MQTT password itself (prefer --password-file: flags show in ps)" }

#define CLI_COMMON_COUNT 6

/* A flag without a value ("--shuffle"); its variable takes 0 or 1. */
struct cli_switch {
	const char *flag;
	const char *env;
	int *value;
	const char *help;
};

/* What one subcommand accepts. */
struct cli_spec {
	const char *name;    /* "replay" */
	const char *args;    /* "FILE [FILE...]", or "" */
	const char *summary; /* one sentence for --help */
	const struct setting *settings; /* CLI_COMMON_ROWS first */
	int n_settings;
	const struct cli_switch *switches;
	int n_switches;
	int min_args, max_args; /* both 0: no positional arguments */
	const char **args_out; /* room for max_args positional arguments, or NULL */
	int *n_args_out;
};

/* The fields of a cli_spec that name its settings table and switches (arrays). */
#define CLI_TABLES(settings_table, switch_table)                                          \
	.settings = (settings_table),                                                     \
	.n_settings = (int)(sizeof(settings_table) / sizeof *(settings_table)),           \
	.switches = (switch_table),                                                       \
	.n_switches = (int)(sizeof(switch_table) / sizeof *(switch_table))

enum cli_result {
	CLI_OK = 0,
	CLI_EXIT_SUCCESS, /* --help or --version printed */
	CLI_ERROR,        /* one line printed to stderr: exit status 2 */
};

/* Parses argv (argv[0] is the subcommand's name): defaults, then the
 * environment, then flags. */
/* The exit status a command returns for a parse that did not end in CLI_OK:
 * 0 after --help or --version, 2 after a bad flag. */
int cli_exit_status(enum cli_result result);

enum cli_result cli_parse(const struct cli_spec *spec, struct cli_common *common, int argc,
			  char **argv);

/* The "  --flag  VARIABLE  help (default x)" lines of a settings table. */
void cli_print_settings(FILE *out, const struct setting *table, int count);

#endif
