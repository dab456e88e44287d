/* Settings from flags and SHOP_* environment variables, one table per binary. */
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int settings_parse_long(const char *text, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	if (text == NULL || *text == '\0')
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int settings_read_secret_file(const char *path, char *buf, size_t len, const char *program,
			      const char *what)
{
	FILE *f;
	size_t n;
	const char *problem = NULL;

	if (path == NULL || buf == NULL || len < 2)
		return -1;
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: cannot read %s '%s': %s\n", program, what, path,
			strerror(errno));
		return -1;
	}
	n = fread(buf, 1, len, f);
	if (ferror(f))
		problem = strerror(errno);
	fclose(f);
	if (problem == NULL) {
		if (n > 0 && buf[n - 1] == '\n')
			n--;
		if (n == 0)
			problem = "the file is empty";
		else if (n >= len)
			problem = "longer than a password should be";
		else if (memchr(buf, '\n', n) != NULL || memchr(buf, '\0', n) != NULL)
			problem = "more than one line, or a NUL byte";
	}
	if (problem != NULL) {
		fprintf(stderr, "%s: cannot use %s '%s': %s\n", program, what, path, problem);
		memset(buf, 0, len);
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

int settings_password_from_file(const char **password, const char *path, char *buf, size_t len,
				const char *program, const char *file_flag,
				const char *password_flag)
{
	if (path == NULL)
		return 0;
	if (*password != NULL) {
		fprintf(stderr, "%s: give %s or %s, not both\n", program, file_flag, password_flag);
		return -1;
	}
	if (settings_read_secret_file(path, buf, len, program, "MQTT password file") != 0)
		return -1;
	*password = buf;
	return 0;
}

static int choice_allowed(const char *choices, const char *text)
{
	size_t len = strlen(text);
	const char *p = choices;

	while (p != NULL && *p != '\0') {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		if (n == len && strncmp(p, text, n) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

/* Stores one value; prints the one-line error naming where it came from. */
static int setting_assign(const struct setting *s, const char *text,
			  const char *source, const char *program)
{
	long v;

	switch (s->type) {
	case SETTING_INT:
		if (settings_parse_long(text, s->min, s->max, &v) != 0) {
			fprintf(stderr, "%s: invalid %s '%s': expected a whole number from %ld to %ld\n",
				program, source, text, s->min, s->max);
			return -1;
		}
		*(int *)s->value = (int)v;
		return 0;
	case SETTING_CHOICE:
		if (!choice_allowed(s->choices, text)) {
			fprintf(stderr, "%s: invalid %s '%s': expected one of %s\n",
				program, source, text, s->choices);
			return -1;
		}
		*(const char **)s->value = text;
		return 0;
	case SETTING_STRING:
		if (*text == '\0') {
			fprintf(stderr, "%s: invalid %s: empty value\n", program, source);
			return -1;
		}
		*(const char **)s->value = text;
		return 0;
	}
	return -1;
}

static void settings_usage(const struct setting *table, int count,
			   const char *program, const char *summary)
{
	printf("Usage: %s [options]\n%s\n\nOptions (each also from its environment variable; the flag wins):\n",
	       program, summary);
	for (int i = 0; i < count; i++) {
		const struct setting *s = &table[i];
		printf("  %-22s %-24s %s", s->flag, s->env, s->help);
		if (s->fallback != NULL)
			printf(" (default %s)", s->fallback);
		printf("\n");
	}
	printf("  %-22s %-24s %s\n", "--help", "", "show this help and exit");
	printf("  %-22s %-24s %s\n", "--version", "", "print the version and exit");
}

static const struct setting *settings_find(const struct setting *table, int count,
					   const char *flag, size_t len)
{
	for (int i = 0; i < count; i++) {
		if (strlen(table[i].flag) == len && strncmp(table[i].flag, flag, len) == 0)
			return &table[i];
	}
	return NULL;
}

enum settings_result settings_parse(const struct setting *table, int count,
				    int argc, char **argv,
				    const char *program, const char *summary)
{
	char source[96];

	for (int i = 0; i < count; i++) {
		const struct setting *s = &table[i];
		const char *env = getenv(s->env);
		if (s->fallback != NULL &&
		    setting_assign(s, s->fallback, "default", program) != 0)
			return SETTINGS_ERROR;
		if (env != NULL && *env != '\0') {
			snprintf(source, sizeof source, "%s", s->env);
			if (setting_assign(s, env, source, program) != 0)
				return SETTINGS_ERROR;
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		const char *text;
		const struct setting *s;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			settings_usage(table, count, program, summary);
			return SETTINGS_EXIT_SUCCESS;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("%s %s\n", program, SHOP_VERSION);
			return SETTINGS_EXIT_SUCCESS;
		}
		s = settings_find(table, count, arg, len);
		if (s == NULL) {
			fprintf(stderr, "%s: unknown option '%.*s' (see --help)\n",
				program, (int)len, arg);
			return SETTINGS_ERROR;
		}
		if (eq != NULL) {
			text = eq + 1;
		} else if (i + 1 < argc) {
			text = argv[++i];
		} else {
			fprintf(stderr, "%s: option %s needs a value\n", program, s->flag);
			return SETTINGS_ERROR;
		}
		snprintf(source, sizeof source, "%s", s->flag);
		if (setting_assign(s, text, source, program) != 0)
			return SETTINGS_ERROR;
	}
	return SETTINGS_OK;
}

int settings_token_valid(const char *token)
{
	size_t n = strlen(token);

	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (token[i] <= ' ' || token[i] > '~')
			return 0;
	return 1;
}
