/* Unit tests of settings_read_secret_file: a password file is its content
 * less one trailing newline, and anything else is one clear error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "settings.h"

static char dir[] = "/tmp/shop-test-settings-XXXXXX";

/* Writes len bytes of content to a file in dir; returns its path (static). */
static const char *secret_file(const char *content, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/secret", dir);
	f = fopen(path, "w");
	if (f == NULL || fwrite(content, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
	return path;
}

/* 0 and the secret read, or -1; buf is 16 bytes. */
static int read_secret(const char *content, size_t len, char *buf)
{
	return settings_read_secret_file(secret_file(content, len), buf, 16, "test_settings",
					 "MQTT password file");
}

#define CHECK_SECRET(content, expected)                                       \
	do {                                                                   \
		char buf_[16];                                                 \
		CHECK_EQ_INT(read_secret(content, sizeof content - 1, buf_), 0); \
		CHECK_EQ_STR(buf_, expected);                                  \
	} while (0)

#define CHECK_REFUSED(content)                                                  \
	do {                                                                    \
		char buf_[16];                                                  \
		CHECK_EQ_INT(read_secret(content, sizeof content - 1, buf_), -1); \
	} while (0)

static void test_one_trailing_newline_is_stripped(void)
{
	CHECK_SECRET("s3cret\n", "s3cret");
	CHECK_SECRET("s3cret", "s3cret");
	CHECK_SECRET("with space\n", "with space");
	CHECK_SECRET("fifteen-chars-x\n", "fifteen-chars-x"); /* just fits in 16 bytes */
}

static void test_bad_files_are_refused(void)
{
	char buf[16];

	CHECK_REFUSED("");
	CHECK_REFUSED("\n");
	CHECK_REFUSED("s3cret\n\n");
	CHECK_REFUSED("two\nlines\n");
	CHECK_REFUSED("nul\0inside\n");
	CHECK_REFUSED("sixteen-chars-xx\n");
	CHECK_EQ_INT(settings_read_secret_file("/nonexistent/secret", buf, sizeof buf,
					       "test_settings", "MQTT password file"),
		     -1);
	CHECK_EQ_INT(settings_read_secret_file(dir, buf, sizeof buf, "test_settings",
					       "MQTT password file"),
		     -1); /* a directory */
}

static void test_password_or_its_file(void)
{
	char buf[16];
	const char *password = NULL;
	const char *given = "itself";
	const char *path = secret_file("from-file\n", 10);

	CHECK_EQ_INT(settings_password_from_file(&password, NULL, buf, sizeof buf, "test_settings",
						 "--f", "--p"),
		     0);
	CHECK_TRUE(password == NULL); /* neither: anonymous */
	CHECK_EQ_INT(settings_password_from_file(&password, path, buf, sizeof buf, "test_settings",
						 "--f", "--p"),
		     0);
	CHECK_EQ_STR(password, "from-file");
	password = given;
	CHECK_EQ_INT(settings_password_from_file(&password, path, buf, sizeof buf, "test_settings",
						 "--f", "--p"),
		     -1); /* both */
	CHECK_EQ_STR(password, "itself");
}

int main(void)
{
	char path[128];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_one_trailing_newline_is_stripped();
	test_bad_files_are_refused();
	test_password_or_its_file();
	snprintf(path, sizeof path, "%s/secret", dir);
	unlink(path);
	rmdir(dir);
	return check_summary("test_settings");
}
