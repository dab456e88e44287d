/* libFuzzer target: shop-replay's recording reader (tests/harness/recording.c).
 * An input is a recording file. The messages of one it reads have a topic
 * shop-replay may publish to; written back with recording_write_line they
 * read back the same (topic and payload bytes, the time to cJSON's
 * precision); a refused file leaves no allocation behind. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "recording.h"

static void check_message(const struct recorded_message *m, size_t i)
{
	FUZZ_CHECK(m->topic != NULL && m->topic[0] != '\0', "message %zu without a topic", i);
	FUZZ_CHECK(strpbrk(m->topic, "+#") == NULL, "message %zu topic %s has a wildcard", i,
		   m->topic);
	FUZZ_CHECK(m->payload != NULL && m->payload[m->len] == '\0',
		   "message %zu payload not NUL-terminated after its %zu bytes", i, m->len);
	FUZZ_CHECK(m->t_ms >= 0, "message %zu at %g ms", i, m->t_ms);
}

/* cJSON writes a number with 15 significant digits when they read back
 * within DBL_EPSILON of it (its print_number), so a time given with 17
 * digits may come back one bit off: the same time, to a recording. */
static int same_time(double a, double b)
{
	return fabs(a - b) <= fmax(fabs(a), fabs(b)) * DBL_EPSILON;
}

/* Writes rec as a recording and reads it back into again. */
static void write_and_read(const struct recording *rec, struct recording *again)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size), *in;

	FUZZ_CHECK(out != NULL, "open_memstream");
	for (size_t i = 0; i < rec->n; i++) {
		const struct recorded_message *m = &rec->msgs[i];
		FUZZ_CHECK(recording_write_line(out, m->t_ms, m->topic, m->payload, m->len, 0) == 0,
			   "writing message %zu (topic %s, %zu bytes)", i, m->topic, m->len);
	}
	fclose(out);
	if (size == 0) {
		free(text);
		return;
	}
	in = fmemopen(text, size, "r");
	FUZZ_CHECK(in != NULL, "fmemopen of %zu bytes", size);
	FUZZ_CHECK(recording_read(in, "rewritten", again) == 0,
		   "a recording written by recording_write_line is refused: %.300s", text);
	fclose(in);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recording rec = { 0 }, again = { 0 };
	FILE *in;
	int rc;

	if (size == 0)
		return 0;
	fuzz_alloc_begin();
	in = fmemopen((void *)data, size, "r");
	FUZZ_CHECK(in != NULL, "fmemopen of %zu bytes", size);
	rc = recording_read(in, "input", &rec);
	fclose(in);
	if (rc != 0) {
		FUZZ_CHECK(rc == -1, "result %d", rc);
		recording_free(&rec);
		fuzz_alloc_end("a refused recording");
		return 0;
	}
	for (size_t i = 0; i < rec.n; i++)
		check_message(&rec.msgs[i], i);
	write_and_read(&rec, &again);
	FUZZ_CHECK(again.n == rec.n, "%zu messages read back, %zu read", again.n, rec.n);
	for (size_t i = 0; i < rec.n; i++) {
		const struct recorded_message *a = &rec.msgs[i], *b = &again.msgs[i];
		FUZZ_CHECK(same_time(a->t_ms, b->t_ms), "message %zu at %.17g ms, read back %.17g", i,
			   a->t_ms, b->t_ms);
		FUZZ_CHECK(strcmp(a->topic, b->topic) == 0, "message %zu topic %s, read back %s", i,
			   a->topic, b->topic);
		FUZZ_CHECK(a->len == b->len && memcmp(a->payload, b->payload, a->len) == 0,
			   "message %zu payload of %zu bytes, read back %zu bytes", i, a->len, b->len);
	}
	recording_free(&again);
	recording_free(&rec);
	fuzz_alloc_end("a recording read and written");
	return 0;
}
