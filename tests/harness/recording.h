/* The recording file format: one JSON object a line,
 * {"t": ms since start, "topic": "...", "payload": "<UTF-8 text>"} or
 * "payload_b64" for a payload that is not UTF-8 text (or holds a NUL). */
#ifndef SHOP_REPLAY_RECORDING_H
#define SHOP_REPLAY_RECORDING_H

#include <stddef.h>
#include <stdio.h>

struct recorded_message {
	double t_ms;   /* 0 when the line has no "t" */
	char *topic;
	char *payload; /* len bytes, NUL-terminated for convenience */
	size_t len;
};

struct recording {
	struct recorded_message *msgs;
	size_t n, cap;
};

/* Writes one line and flushes it, so that a recorder killed at any moment
 * leaves whole lines. 0, or -1 when writing failed. */
int recording_write_line(FILE *out, double t_ms, const char *topic, const void *payload,
			 size_t len, int retained);

/* Appends the messages of a file to rec (blank lines are skipped). 0, or -1
 * with one line "FILE:LINE: reason" on stderr. */
int recording_load(const char *path, struct recording *rec);
/* The same from an open stream; name is the file in the error line. */
int recording_read(FILE *in, const char *name, struct recording *rec);

void recording_free(struct recording *rec);

#endif
