/* Helpers several unit tests share: decoding test payloads, one number
 * from SQL, and permutations. */
#ifndef SHOP_TEST_HELPERS_H
#define SHOP_TEST_HELPERS_H

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "event.h"

/* Order ids of the tests: canonical lower-case UUIDs. */
#define ID1 "11111111-1111-4111-8111-111111111111"
#define ID2 "22222222-2222-4222-8222-222222222222"
#define ID3 "33333333-3333-4333-8333-333333333333"
#define ID4 "44444444-4444-4444-8444-444444444444"
#define ID5 "55555555-5555-4555-8555-555555555555"
#define ID6 "66666666-6666-4666-8666-666666666666"
#define ID7 "77777777-7777-4777-8777-777777777777"
#define ID8 "88888888-8888-4888-8888-888888888888"

/* Decodes json as an event of kind into ev; 1 when it does, else a failed
 * check at file:line that names the payload and why. */
static inline int test_decode_at(const char *file, int line, enum event_kind kind,
				 const char *json, struct event *ev)
{
	char err[256] = "";
	int rc = event_decode(kind, json, strlen(json), ev, err, sizeof err);

	if (!CHECK_EQ_INT_AT(file, line, rc, 0)) {
		fprintf(stderr, "  (cannot decode test event: %s: %s)\n", err, json);
		return 0;
	}
	return 1;
}
#define TEST_DECODE(kind, json, ev) test_decode_at(__FILE__, __LINE__, kind, json, ev)

/* The first column of the first row of sql (with param bound to ?1 when not
 * NULL), or -999 when there is none or the query fails. */
static inline long long test_sql_int(sqlite3 *db, const char *sql, const char *param)
{
	sqlite3_stmt *st;
	long long v = -999;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot prepare %s: %s\n", sql, sqlite3_errmsg(db));
		return v;
	}
	if (param != NULL)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Rearranges a[0..n) into the next permutation in lexicographic order;
 * 0 when a was the last one (start from a sorted array to see them all). */
static inline int test_next_permutation(int *a, int n)
{
	int i = n - 2, j = n - 1, t;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return 0;
	while (a[j] <= a[i])
		j--;
	t = a[i];
	a[i] = a[j];
	a[j] = t;
	for (int l = i + 1, r = n - 1; l < r; l++, r--) {
		t = a[l];
		a[l] = a[r];
		a[r] = t;
	}
	return 1;
}

#endif
