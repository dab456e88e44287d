/* What the front knows of the daemons from the bus: their retained status
 * topics and their heartbeats (docs/protocol.md §Topologies). */
#include <string.h>

#include "front.h"
#include "heartbeat.h"
#include "log.h"

#define HEARTBEAT_SUFFIX "/heartbeat"

/* The index of "service/instance" (added when new); -1 when full. Under lock. */
static int peer_index(struct front_peers *p, const char *name, size_t len)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (strlen(p->name[i]) == len && memcmp(p->name[i], name, len) == 0)
			return i;
	if (p->n == FRONT_MAX_PEERS)
		return -1;
	memcpy(p->name[p->n], name, len);
	p->name[p->n][len] = '\0';
	return p->n++;
}

/* Keeps the newest heartbeat by its own time and sequence, not by when it
 * came: one held back somewhere must not make an older one count. */
static void note_heartbeat(struct front_peers *p, int i, const char *payload, size_t len)
{
	int64_t t_ms, seq;

	if (heartbeat_parse(payload, len, &t_ms, &seq) != 0) {
		log_debug("front: a heartbeat of %s that is not one", p->name[i]);
		return;
	}
	if (p->beat_arrived_ms[i] != 0 &&
	    (t_ms < p->beat_t_ms[i] || (t_ms == p->beat_t_ms[i] && seq <= p->beat_seq[i])))
		return;
	if (p->beat_arrived_ms[i] == 0)
		log_info("front: %s is beating", p->name[i]);
	p->beat_t_ms[i] = t_ms;
	p->beat_seq[i] = seq;
	p->beat_arrived_ms[i] = service_monotonic_ms();
}

void front_peers_on_message(void *ctx, const char *topic, const char *payload, size_t len,
			    int retained)
{
	struct front *f = ctx;
	struct front_peers *p = &f->peers;
	size_t plen = strlen(f->svc.prefix), n, suffix = strlen(HEARTBEAT_SUFFIX);
	const char *name;
	int beat, i;

	(void)retained; /* a status is news whether retained or live */
	if (strncmp(topic, f->svc.prefix, plen) != 0 || strncmp(topic + plen, "status/", 7) != 0)
		return;
	name = topic + plen + 7;
	n = strlen(name);
	beat = n > suffix && strcmp(name + n - suffix, HEARTBEAT_SUFFIX) == 0;
	if (beat)
		n -= suffix;
	if (n >= sizeof p->name[0] || memchr(name, '/', n) == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	i = peer_index(p, name, n);
	if (i >= 0 && beat) {
		note_heartbeat(p, i, payload, len);
	} else if (i >= 0) {
		int online = len == 6 && memcmp(payload, "online", 6) == 0;
		/* logged only: liveness is the heartbeat's (a stale "offline"
		 * can arrive after a newer "online" over a bridge) */
		if (p->online[i] != online) {
			p->online[i] = online;
			log_info("front: %s says %s", p->name[i], online ? "online" : "offline");
		}
	}
	pthread_mutex_unlock(&p->lock);
}

int front_peers_heartbeat_age(struct front_peers *p, const char *service, int64_t *age_ms)
{
	size_t n = strlen(service);
	int64_t now = service_monotonic_ms(), newest = 0;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->n; i++) {
		if (strncmp(p->name[i], service, n) == 0 && p->name[i][n] == '/' &&
		    p->beat_arrived_ms[i] > newest)
			newest = p->beat_arrived_ms[i];
	}
	*age_ms = now - (newest != 0 ? newest : p->started_ms);
	pthread_mutex_unlock(&p->lock);
	return newest != 0;
}

int front_peers_alive(struct front_peers *p, const char *service, int max_age_ms)
{
	int64_t age;

	return front_peers_heartbeat_age(p, service, &age) && age <= max_age_ms;
}
