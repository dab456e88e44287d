/* shop-replay's command line: the flags every subcommand shares, on/off
 * switches and positional arguments, on top of common/settings.h. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "broker_url.h"

void cli_print_settings(FILE *out, const struct setting *table, int count)
{
	for (int i = 0; i < count; i++) {
		const struct setting *s = &table[i];
		fprintf(out, "  %-22s %-26s %s", s->flag, s->env, s->help);
		if (s->fallback != NULL)
			fprintf(out, " (default %s)", s->fallback);
		fprintf(out, "\n");
	}
}

static void print_help(const struct cli_spec *spec)
{
	printf("Usage: %s %s [options]%s%s\n%s\n\n", CLI_PROGRAM, spec->name,
	       spec->args[0] ? " " : "", spec->args, spec->summary);
	printf("Options (each also from its environment variable; the flag wins):\n");
	cli_print_settings(stdout, spec->settings, spec->n_settings);
	for (int i = 0; i < spec->n_switches; i++)
		printf("  %-22s %-26s %s (variable: 0 or 1)\n", spec->switches[i].flag,
		       spec->switches[i].env, spec->switches[i].help);
	printf("  %-22s %-26s %s\n", "--help", "", "show this help and exit");
	printf("  %-22s %-26s %s\n", "--version", "", "print the version and exit");
}

static const struct cli_switch *find_switch(const struct cli_spec *spec, const char *arg)
{
	for (int i = 0; i < spec->n_switches; i++) {
		if (strcmp(spec->switches[i].flag, arg) == 0)
			return &spec->switches[i];
	}
	return NULL;
}

/* True when arg names a flag of the table that takes its value from the next
 * argument (no "=value" of its own). */
static int takes_next(const struct cli_spec *spec, const char *arg)
{
	if (strchr(arg, '=') != NULL)
		return 0;
	for (int i = 0; i < spec->n_settings; i++) {
		if (strcmp(spec->settings[i].flag, arg) == 0)
			return 1;
	}
	return 0;
}

static int switches_from_env(const struct cli_spec *spec, const char *program)
{
	for (int i = 0; i < spec->n_switches; i++) {
		const char *text = getenv(spec->switches[i].env);
		long v;

		*spec->switches[i].value = 0;
		if (text == NULL || *text == '\0')
			continue;
		if (settings_parse_long(text, 0, 1, &v) != 0) {
			fprintf(stderr, "%s: invalid %s '%s': expected 0 or 1\n", program,
				spec->switches[i].env, text);
			return -1;
		}
		*spec->switches[i].value = (int)v;
	}
	return 0;
}

/* Splits argv into what settings_parse understands (flags with values) and
 * what it does not (switches, positional arguments). 0; 1 when positional
 * arguments are missing (said after --help had its chance); or -1 with a line. */
static int split_args(const struct cli_spec *spec, int argc, char **argv, char **flags,
		      int *n_flags, const char *program)
{
	int only_args = 0, n_args = 0;

	flags[0] = argv[0];
	*n_flags = 1;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const struct cli_switch *sw;

		if (!only_args && strcmp(arg, "--") == 0) {
			only_args = 1;
		} else if (!only_args && (sw = find_switch(spec, arg)) != NULL) {
			*sw->value = 1;
		} else if (!only_args && arg[0] == '-' && arg[1] != '\0') {
			flags[(*n_flags)++] = argv[i];
			if (takes_next(spec, arg) && i + 1 < argc)
				flags[(*n_flags)++] = argv[++i];
		} else if (n_args < spec->max_args) {
			spec->args_out[n_args++] = arg;
		} else {
			fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", program, arg);
			return -1;
		}
	}
	flags[*n_flags] = NULL;
	if (spec->n_args_out != NULL)
		*spec->n_args_out = n_args;
	return n_args < spec->min_args ? 1 : 0;
}

/* --help or --version among the flags (not as the value of another flag). */
static enum cli_result help_or_version(const struct cli_spec *spec, int n_flags, char **flags)
{
	for (int i = 1; i < n_flags; i++) {
		if (strcmp(flags[i], "--help") == 0 || strcmp(flags[i], "-h") == 0) {
			print_help(spec);
			return CLI_EXIT_SUCCESS;
		}
		if (strcmp(flags[i], "--version") == 0) {
			printf("%s %s\n", CLI_PROGRAM, SHOP_VERSION);
			return CLI_EXIT_SUCCESS;
		}
		if (takes_next(spec, flags[i]))
			i++;
	}
	return CLI_OK;
}

static int finish_common(struct cli_common *c, const char *program)
{
	char bad[160];

	if (settings_password_from_file(&c->password, c->password_file, c->password_buf,
					sizeof c->password_buf, program, "--password-file",
					"--password") != 0)
		return -1;
	if (c->broker_url == NULL) {
		snprintf(c->broker_url_buf, sizeof c->broker_url_buf, "tcp://127.0.0.1:%d",
			 c->broker_port);
		c->broker_url = c->broker_url_buf;
	}
	/* a typo is better reported as a bad flag (exit 2) than as an
	 * unreachable broker */
	if (broker_url_list_check(c->broker_url, bad, sizeof bad) == 0)
		return 0;
	fprintf(stderr,
		"%s: invalid --broker-url '%s': expected tcp://host:port, or several of them separated by commas\n",
		program, bad);
	return -1;
}

int cli_exit_status(enum cli_result result)
{
	return result == CLI_EXIT_SUCCESS ? 0 : 2;
}

enum cli_result cli_parse(const struct cli_spec *spec, struct cli_common *common, int argc,
			  char **argv)
{
	char program[64];
	char **flags = calloc((size_t)argc + 1, sizeof *flags);
	enum cli_result rc = CLI_ERROR;
	int n_flags = 0, missing_args;

	snprintf(program, sizeof program, "%s %s", CLI_PROGRAM, spec->name);
	if (flags == NULL) {
		fprintf(stderr, "%s: out of memory\n", program);
		return CLI_ERROR;
	}
	if (switches_from_env(spec, program) != 0 ||
	    (missing_args = split_args(spec, argc, argv, flags, &n_flags, program)) < 0)
		goto out;
	rc = help_or_version(spec, n_flags, flags);
	if (rc != CLI_OK)
		goto out;
	rc = CLI_ERROR;
	if (settings_parse(spec->settings, spec->n_settings, n_flags, flags, program,
			   spec->summary) != SETTINGS_OK)
		goto out;
	if (missing_args) {
		fprintf(stderr, "%s: missing %s (see --help)\n", program, spec->args);
		goto out;
	}
	if (finish_common(common, program) != 0)
		goto out;
	rc = CLI_OK;
out:
	free(flags);
	return rc;
}
