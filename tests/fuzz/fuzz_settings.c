/* libFuzzer target: the settings parser (common/settings.c) with a table
 * like the services' (SERVICE_SETTINGS_ROWS and more), then what the
 * binaries check after it (service_settings_finish, http_target_parse), and
 * shop-replay's command line on top of it (tests/harness/cli.c).
 * An input is lines: "SHOP_NAME=value" lines are the environment, the others
 * argv. Accepted settings are in range and the last flag wins over the
 * environment; nothing is allocated that outlives the parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz_util.h"
#include "http_client.h"
#include "service.h"
#include "settings.h"

#define MAX_WORDS 64

extern char **environ;

struct fuzz_settings {
	struct service_settings svc;
	int port, threads, timeout_ms;
	const char *url, *sync, *token;
};

/* The value a flag was last given on the command line: "--flag=v" or
 * "--flag v" (settings_parse's two forms); NULL when not given. */
static const char *last_flag_value(const char *flag, int argc, char **argv)
{
	const char *value = NULL;
	size_t n = strlen(flag);

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], flag, n) == 0 && argv[i][n] == '=')
			value = argv[i] + n + 1;
		else if (strcmp(argv[i], flag) == 0 && i + 1 < argc)
			value = argv[++i];
		else if (strchr(argv[i], '=') == NULL && i + 1 < argc)
			i++; /* another flag's value: "--bind --front-port" binds to that text */
	}
	return value;
}

/* text is one of the words of "a|b|c". */
static int one_of(const char *choices, const char *text)
{
	size_t n = strlen(text);
	const char *at = choices;

	while ((at = strstr(at, text)) != NULL) {
		if ((at == choices || at[-1] == '|') && (at[n] == '|' || at[n] == '\0'))
			return 1;
		at++;
	}
	return 0;
}

/* After SETTINGS_OK: every value in range, and what the last flag said. */
static void check_table(const struct setting *table, int count, int argc, char **argv)
{
	for (int i = 0; i < count; i++) {
		const struct setting *s = &table[i];
		const char *given = last_flag_value(s->flag, argc, argv);
		long v;

		if (s->type == SETTING_INT) {
			int value = *(int *)s->value;
			FUZZ_CHECK(value >= s->min && value <= s->max, "%s = %d", s->flag, value);
			if (given != NULL)
				FUZZ_CHECK(settings_parse_long(given, s->min, s->max, &v) == 0 &&
						   v == value,
					   "%s was given '%s', holds %d", s->flag, given, value);
			continue;
		}
		const char *text = *(const char **)s->value;
		if (text == NULL) {
			FUZZ_CHECK(s->fallback == NULL && given == NULL, "%s is NULL", s->flag);
			continue;
		}
		FUZZ_CHECK(text[0] != '\0', "%s is empty", s->flag);
		if (given != NULL)
			FUZZ_CHECK(strcmp(text, given) == 0, "%s was given '%s', holds '%s'", s->flag,
				   given, text);
		if (s->type == SETTING_CHOICE)
			FUZZ_CHECK(one_of(s->choices, text), "%s = '%s', not one of %s", s->flag, text,
				   s->choices);
	}
}

static void check_url(const char *url)
{
	struct http_target t;

	if (url == NULL || http_target_parse(url, &t) != 0)
		return;
	FUZZ_CHECK(memchr(t.host, '\0', sizeof t.host) != NULL && t.host[0] != '\0',
		   "host of %s", url);
	FUZZ_CHECK(t.port >= 1 && t.port <= 65535, "port %d of %s", t.port, url);
	FUZZ_CHECK(strstr(url, t.host) != NULL, "host '%s' is not in %s", t.host, url);
}

static void parse_service(int argc, char **argv)
{
	static struct fuzz_settings f;
	const struct setting table[] = {
		SERVICE_SETTINGS_ROWS(f.svc),
		{ "--front-port", "SHOP_FRONT_PORT", SETTING_INT, &f.port, 1, 65535, "8080", NULL,
		  "port" },
		{ "--http-threads", "SHOP_FRONT_THREADS", SETTING_INT, &f.threads, 4, 4096, "128",
		  NULL, "threads" },
		{ "--publish-timeout-ms", "SHOP_PUBLISH_TIMEOUT_MS", SETTING_INT, &f.timeout_ms, 1,
		  60000, "2000", NULL, "timeout" },
		{ "--order-url", "SHOP_ORDER_URL", SETTING_STRING, &f.url, 0, 0, NULL, NULL, "url" },
		{ "--sqlite-sync", "SHOP_SQLITE_SYNC", SETTING_CHOICE, &f.sync, 0, 0, "full",
		  "normal|full", "sync" },
		{ "--admin-token", "SHOP_ADMIN_TOKEN", SETTING_STRING, &f.token, 0, 0, NULL, NULL,
		  "token" },
	};
	const int count = sizeof table / sizeof *table;
	enum settings_result r;

	memset(&f, 0, sizeof f);
	r = settings_parse(table, count, argc, argv, "fuzz-settings", "summary");
	FUZZ_CHECK(r == SETTINGS_OK || r == SETTINGS_ERROR || r == SETTINGS_EXIT_SUCCESS,
		   "result %d", r);
	if (r != SETTINGS_OK)
		return;
	check_table(table, count, argc, argv);
	if (service_settings_finish(&f.svc, "fuzz-settings") == 0)
		FUZZ_CHECK(f.svc.broker_url != NULL && strstr(f.svc.broker_url, "://") != NULL,
			   "broker URL %s", f.svc.broker_url ? f.svc.broker_url : "(null)");
	check_url(f.url);
}

/* shop-replay's parse: switches and positional arguments around settings_parse. */
static void parse_cli(int argc, char **argv)
{
	struct cli_common c;
	const char *args[2];
	const char *topics = NULL;
	int n_args = 0, list = 0, verbose = 0;
	const struct setting table[] = {
		CLI_COMMON_ROWS(c),
		{ "--topics", "SHOP_REPLAY_TOPICS", SETTING_STRING, &topics, 0, 0, "all", NULL,
		  "topics" },
	};
	const struct cli_switch switches[] = {
		{ "--list", "SHOP_REPLAY_LIST", &list, "list" },
		{ "--verbose", "SHOP_REPLAY_VERBOSE", &verbose, "verbose" },
	};
	const struct cli_spec spec = {
		.name = "fuzz", .args = "[FILE [FILE]]", .summary = "summary",
		.settings = table, .n_settings = sizeof table / sizeof *table,
		.switches = switches, .n_switches = sizeof switches / sizeof *switches,
		.min_args = 0, .max_args = 2, .args_out = args, .n_args_out = &n_args,
	};
	enum cli_result r;

	memset(&c, 0, sizeof c);
	r = cli_parse(&spec, &c, argc, argv);
	FUZZ_CHECK(r == CLI_OK || r == CLI_ERROR || r == CLI_EXIT_SUCCESS, "result %d", r);
	if (r != CLI_OK)
		return;
	FUZZ_CHECK(n_args >= 0 && n_args <= 2, "%d positional arguments", n_args);
	FUZZ_CHECK(list == 0 || list == 1, "--list %d", list);
	FUZZ_CHECK(verbose == 0 || verbose == 1, "--verbose %d", verbose);
	FUZZ_CHECK(c.broker_url != NULL && c.prefix != NULL && topics != NULL,
		   "a setting with a default is NULL");
	FUZZ_CHECK(c.broker_port >= 1 && c.broker_port <= 65535, "broker port %d", c.broker_port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[4096];
	char *argv[MAX_WORDS + 2], *env[MAX_WORDS + 1];
	char **saved_environ = environ;
	int argc = 1, n_env = 0;

	if (size >= sizeof text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	argv[0] = "fuzz";
	/* The words are lines; an empty argument is an empty line. */
	for (char *line = text, *next; line != NULL && argc <= MAX_WORDS && n_env < MAX_WORDS;
	     line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (strncmp(line, "SHOP_", 5) == 0 && strchr(line, '=') != NULL)
			env[n_env++] = line;
		else if (next != NULL || line[0] != '\0')
			argv[argc++] = line;
	}
	argv[argc] = NULL;
	env[n_env] = NULL;
	/* getenv reads environ: the input's environment, nothing allocated */
	environ = env;
	fuzz_alloc_begin();
	parse_service(argc, argv);
	parse_cli(argc, argv);
	fuzz_alloc_end("parsing settings");
	environ = saved_environ;
	return 0;
}
