/* Unit tests of the internal token's pieces: which tokens fit a header line
 * (settings_token_valid), the constant-time comparison (http_token_equal) and
 * a heartbeat's payload (heartbeat_parse). */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "heartbeat.h"
#include "http.h"
#include "settings.h"

static void test_token_valid(void)
{
	char long_token[300];

	CHECK_TRUE(settings_token_valid("a1b2c3-._~!"));
	CHECK_FALSE(settings_token_valid(""));
	CHECK_FALSE(settings_token_valid("has space"));
	CHECK_FALSE(settings_token_valid("line\r\nX-Evil: 1"));
	CHECK_FALSE(settings_token_valid("tab\there"));
	CHECK_FALSE(settings_token_valid("caf\xc3\xa9"));
	memset(long_token, 'a', sizeof long_token - 1);
	long_token[255] = '\0';
	CHECK_TRUE(settings_token_valid(long_token));
	long_token[255] = 'a';
	long_token[256] = '\0';
	CHECK_FALSE(settings_token_valid(long_token));
}

static void test_token_equal(void)
{
	CHECK_TRUE(http_token_equal("secret", "secret"));
	CHECK_FALSE(http_token_equal("secret", "secreT"));
	CHECK_FALSE(http_token_equal("secret", "secret2"));
	CHECK_FALSE(http_token_equal("secret2", "secret"));
	CHECK_FALSE(http_token_equal("secret", ""));
	CHECK_FALSE(http_token_equal("", "secret"));
	CHECK_TRUE(http_token_equal("", ""));
	/* a prefix repeated is not the token (b is indexed modulo its length) */
	CHECK_FALSE(http_token_equal("abab", "ab"));
}

static void test_heartbeat_parse(void)
{
	static const char good[] = "{\"v\":1,\"t_ms\":1764633600123,\"seq\":42}";
	static const char *const bad[] = {
		"", "online", "{}", "{\"t_ms\":1}", "{\"seq\":1}", "{\"t_ms\":\"1\",\"seq\":1}",
		"{\"t_ms\":-1,\"seq\":1}", "{\"t_ms\":1,\"seq\":1e300}", "[1,2]",
	};
	int64_t t = 0, seq = 0;

	CHECK_EQ_INT(heartbeat_parse(good, sizeof good - 1, &t, &seq), 0);
	CHECK_EQ_INT(t, 1764633600123LL);
	CHECK_EQ_INT(seq, 42);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ_INT(heartbeat_parse(bad[i], strlen(bad[i]), &t, &seq), -1);
}

int main(void)
{
	test_token_valid();
	test_token_equal();
	test_heartbeat_parse();
	return check_summary("test_tokens");
}
