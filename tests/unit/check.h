/* A tiny assertion kit for the unit tests: no framework, one header.
 *
 * Every CHECK_* macro counts one check; a failing one prints file:line, the
 * expression and both values, counts the failure and goes on. A test's main
 * ends with `return check_summary("name");`, which prints one line and gives
 * the exit status (non-zero on any failure).
 *
 * The *_AT variants take the file and line explicitly, for helpers that check
 * on behalf of their caller (wrap them in a macro passing __FILE__, __LINE__). */
#ifndef SHOP_TEST_CHECK_H
#define SHOP_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_count __attribute__((unused));
static int check_failures __attribute__((unused));

static inline int check_int_at(const char *file, int line, const char *expr_a,
			       const char *expr_b, long long a, long long b)
{
	check_count++;
	if (a == b)
		return 1;
	check_failures++;
	fprintf(stderr, "%s:%d: FAIL %s == %s\n  actual:   %lld\n  expected: %lld\n", file, line,
		expr_a, expr_b, a, b);
	return 0;
}

static inline int check_str_at(const char *file, int line, const char *expr_a,
			       const char *expr_b, const char *a, const char *b, int want_equal)
{
	int equal = (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;

	check_count++;
	if (equal == want_equal)
		return 1;
	check_failures++;
	fprintf(stderr, "%s:%d: FAIL %s %s %s\n", file, line, expr_a, want_equal ? "==" : "!=",
		expr_b);
	if (a != NULL)
		fprintf(stderr, "  actual:   \"%s\"\n", a);
	else
		fprintf(stderr, "  actual:   (null)\n");
	if (b != NULL)
		fprintf(stderr, "  expected: %s\"%s\"\n", want_equal ? "" : "anything but ", b);
	else
		fprintf(stderr, "  expected: %s(null)\n", want_equal ? "" : "anything but ");
	return 0;
}

static inline int check_true_at(const char *file, int line, const char *expr, int value)
{
	check_count++;
	if (value)
		return 1;
	check_failures++;
	fprintf(stderr, "%s:%d: FAIL %s\n  actual:   false\n  expected: true\n", file, line, expr);
	return 0;
}

/* Each returns 1 when the check passed, so that a test can skip what depends on it. */
#define CHECK_EQ_INT(actual, expected) \
	check_int_at(__FILE__, __LINE__, #actual, #expected, (long long)(actual), (long long)(expected))
#define CHECK_EQ_STR(actual, expected) \
	check_str_at(__FILE__, __LINE__, #actual, #expected, (actual), (expected), 1)
#define CHECK_NE_STR(actual, unexpected) \
	check_str_at(__FILE__, __LINE__, #actual, #unexpected, (actual), (unexpected), 0)
#define CHECK_TRUE(expr) check_true_at(__FILE__, __LINE__, #expr, (expr) ? 1 : 0)
#define CHECK_FALSE(expr) check_true_at(__FILE__, __LINE__, "!(" #expr ")", (expr) ? 0 : 1)

#define CHECK_EQ_INT_AT(file, line, actual, expected) \
	check_int_at(file, line, #actual, #expected, (long long)(actual), (long long)(expected))
#define CHECK_EQ_STR_AT(file, line, actual, expected) \
	check_str_at(file, line, #actual, #expected, (actual), (expected), 1)
#define CHECK_TRUE_AT(file, line, expr) check_true_at(file, line, #expr, (expr) ? 1 : 0)

/* Prints "name: N checks, N failed" and returns the exit status. */
static inline int check_summary(const char *name)
{
	printf("%s: %d checks, %d failed%s\n", name, check_count, check_failures,
	       check_failures ? "" : " - OK");
	fflush(stdout);
	return check_failures == 0 ? 0 : 1;
}

#endif
