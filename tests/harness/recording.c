/* The recording file format: one JSON object a line,
 * {"t": ms since start, "topic": "...", "payload": "<UTF-8 text>"} or
 * "payload_b64" for a payload that is not UTF-8 text (or holds a NUL). */
#include "recording.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cli.h"
#include "event.h"

/* Text a JSON string can carry whole: cJSON's strings end at a NUL, so a
 * payload with one goes as base64 like any other binary payload. */
static int payload_is_text(const void *payload, size_t len)
{
	return memchr(payload, '\0', len) == NULL && event_utf8_valid(payload, len);
}

static int add_payload(cJSON *line, const void *payload, size_t len)
{
	char *text;
	int ok;

	if (payload_is_text(payload, len)) {
		text = malloc(len + 1);
		if (text == NULL)
			return -1;
		memcpy(text, payload, len);
		text[len] = '\0';
		ok = cJSON_AddStringToObject(line, "payload", text) != NULL;
	} else {
		text = base64_encode(payload, len);
		ok = text != NULL && cJSON_AddStringToObject(line, "payload_b64", text) != NULL;
	}
	free(text);
	return ok ? 0 : -1;
}

int recording_write_line(FILE *out, double t_ms, const char *topic, const void *payload,
			 size_t len, int retained)
{
	cJSON *line = cJSON_CreateObject();
	char *text = NULL;
	int rc = -1;

	if (line == NULL || cJSON_AddNumberToObject(line, "t", t_ms) == NULL ||
	    cJSON_AddStringToObject(line, "topic", topic) == NULL ||
	    add_payload(line, payload, len) != 0 ||
	    (retained && cJSON_AddTrueToObject(line, "retained") == NULL))
		goto out;
	text = cJSON_PrintUnformatted(line);
	if (text == NULL)
		goto out;
	if (fputs(text, out) == EOF || fputc('\n', out) == EOF || fflush(out) != 0)
		goto out;
	rc = 0;
out:
	free(text);
	cJSON_Delete(line);
	return rc;
}

/* A topic we may publish to: not empty, no wildcards, not too long. */
static const char *topic_problem(const char *topic)
{
	if (topic[0] == '\0')
		return "\"topic\" is empty";
	if (strpbrk(topic, "+#") != NULL)
		return "\"topic\" holds a wildcard (+ or #), which cannot be published to";
	if (strlen(topic) > 65535)
		return "\"topic\" is longer than MQTT allows";
	return NULL;
}

static int grow(struct recording *rec)
{
	size_t cap = rec->cap ? rec->cap * 2 : 64;
	struct recorded_message *bigger;

	if (rec->n < rec->cap)
		return 0;
	bigger = realloc(rec->msgs, cap * sizeof *bigger);
	if (bigger == NULL)
		return -1;
	rec->msgs = bigger;
	rec->cap = cap;
	return 0;
}

/* Fills m from one parsed line; returns NULL or what is wrong. */
static const char *message_from_json(const cJSON *root, struct recorded_message *m)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "t");
	const cJSON *topic = cJSON_GetObjectItemCaseSensitive(root, "topic");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "payload");
	const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(root, "payload_b64");
	const char *problem;

	if (!cJSON_IsObject(root))
		return "not a JSON object";
	/* cJSON reads 1e999 as infinity, which it would write back as null */
	if (t != NULL && (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0))
		return "\"t\" must be a number of milliseconds >= 0";
	if (!cJSON_IsString(topic))
		return "\"topic\" must be a string";
	if ((problem = topic_problem(topic->valuestring)) != NULL)
		return problem;
	if ((text != NULL) == (b64 != NULL))
		return "needs exactly one of \"payload\" and \"payload_b64\"";
	if ((text != NULL && !cJSON_IsString(text)) || (b64 != NULL && !cJSON_IsString(b64)))
		return "the payload must be a JSON string";
	m->t_ms = t ? t->valuedouble : 0;
	m->topic = strdup(topic->valuestring);
	if (m->topic == NULL)
		return "out of memory";
	if (text != NULL) {
		m->len = strlen(text->valuestring);
		m->payload = strdup(text->valuestring);
		return m->payload ? NULL : "out of memory";
	}
	if (base64_decode(b64->valuestring, &m->payload, &m->len) != 0)
		return "\"payload_b64\" is not base64";
	return NULL;
}

static void message_free(struct recorded_message *m)
{
	free(m->topic);
	free(m->payload);
}

/* Parses one non-blank line into the next slot of rec; 0, or -1 with the
 * problem in why. */
static int load_line(struct recording *rec, const char *line, size_t len, char *why,
		     size_t whylen)
{
	char err[160];
	struct recorded_message m = { 0 };
	const char *problem;
	cJSON *root;

	/* event_json_parse's checks are the ones we want: UTF-8, no trailing
	 * bytes, and no \u0000 that would cut a string short. */
	root = event_json_parse(line, len, err, sizeof err);
	if (root == NULL) {
		snprintf(why, whylen, "not a JSON line: %s", err);
		return -1;
	}
	problem = message_from_json(root, &m);
	cJSON_Delete(root);
	if (problem == NULL && grow(rec) != 0)
		problem = "out of memory";
	if (problem != NULL) {
		snprintf(why, whylen, "%s", problem);
		message_free(&m);
		return -1;
	}
	rec->msgs[rec->n++] = m;
	return 0;
}

static int blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
			return 0;
	}
	return 1;
}

int recording_load(const char *path, struct recording *rec)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	int rc;

	if (in == NULL) {
		fprintf(stderr, "%s: cannot open recording %s: %s\n", CLI_PROGRAM, path,
			strerror(errno));
		return -1;
	}
	rc = recording_read(in, path, rec);
	if (in != stdin)
		fclose(in);
	return rc;
}

int recording_read(FILE *in, const char *name, struct recording *rec)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = -1;

	while ((len = getline(&line, &cap, in)) >= 0) {
		char why[200];

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (blank(line, (size_t)len))
			continue;
		if (load_line(rec, line, (size_t)len, why, sizeof why) != 0) {
			fprintf(stderr, "%s: %s:%ld: %s\n", CLI_PROGRAM, name, lineno, why);
			goto out;
		}
	}
	if (ferror(in)) {
		fprintf(stderr, "%s: cannot read recording %s: %s\n", CLI_PROGRAM, name,
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	return rc;
}

void recording_free(struct recording *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		message_free(&rec->msgs[i]);
	free(rec->msgs);
	rec->msgs = NULL;
	rec->n = rec->cap = 0;
}
