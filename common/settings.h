/* Settings from flags and SHOP_* environment variables, one table per binary. */
#ifndef SHOP_SETTINGS_H
#define SHOP_SETTINGS_H

#include <stddef.h>

enum setting_type {
	SETTING_INT,    /* long within [min, max], stored in an int */
	SETTING_STRING, /* stored as const char *, not copied */
	SETTING_CHOICE, /* a string that must be one of "a|b|c" */
};

struct setting {
	const char *flag;     /* "--front-port" */
	const char *env;      /* "SHOP_FRONT_PORT" */
	enum setting_type type;
	void *value;          /* int * or const char ** */
	long min, max;        /* bounds of SETTING_INT */
	const char *fallback; /* default as text; NULL: none or derived later */
	const char *choices;  /* for SETTING_CHOICE: "normal|full" */
	const char *help;
};

enum settings_result {
	SETTINGS_OK = 0,
	SETTINGS_EXIT_SUCCESS, /* --help or --version was printed */
	SETTINGS_ERROR,        /* one line was printed to stderr */
};

/* Applies defaults, then environment, then flags (flag wins). */
enum settings_result settings_parse(const struct setting *table, int count,
				    int argc, char **argv,
				    const char *program, const char *summary);

/* Parses a decimal integer within bounds; 0 on success. */
int settings_parse_long(const char *text, long min, long max, long *out);

/* Reads a secret (a password) from the file at path into buf, less one
 * trailing newline: secrets never come from argv, where ps shows them.
 * 0, or -1 with one line on stderr naming the file and the setting (`what`):
 * missing, unreadable, empty, a secret that does not fit in buf, or one
 * holding another newline or a NUL byte. */
int settings_read_secret_file(const char *path, char *buf, size_t len, const char *program,
			      const char *what);

/* A password given either as a file (path, from file_flag) or itself
 * (*password, from password_flag): with a file, reads it into buf and points
 * *password at buf. 0, or -1 with one line on stderr (both given, or a file
 * settings_read_secret_file refuses). */
int settings_password_from_file(const char **password, const char *path, char *buf, size_t len,
				const char *program, const char *file_flag,
				const char *password_flag);

/* A bearer token fit for a header line: 1 to 255 printable ASCII
 * characters, no space (so it can neither end the line nor add another). */
int settings_token_valid(const char *token);

#endif
