/* What the front knows of the daemons from their retained status topics. */
#include <string.h>

#include "front.h"
#include "log.h"

void front_peers_on_message(void *ctx, const char *topic, const char *payload, size_t len,
			    int retained)
{
	struct front *f = ctx;
	struct front_peers *p = &f->peers;
	size_t plen = strlen(f->svc.prefix);
	const char *name;
	int online = len == 6 && memcmp(payload, "online", 6) == 0;
	int i;

	(void)retained; /* a status is news whether retained or live */
	if (strncmp(topic, f->svc.prefix, plen) != 0 || strncmp(topic + plen, "status/", 7) != 0)
		return;
	name = topic + plen + 7;
	if (strlen(name) >= sizeof p->name[0])
		return;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->n && strcmp(p->name[i], name) != 0; i++)
		;
	if (i == p->n && p->n < FRONT_MAX_PEERS)
		strcpy(p->name[p->n++], name);
	if (i < p->n && p->online[i] != online) {
		p->online[i] = online;
		log_info("front: %s is %s", name, online ? "online" : "offline");
	}
	pthread_mutex_unlock(&p->lock);
}

int front_peers_online(struct front_peers *p, const char *service)
{
	size_t n = strlen(service);
	int any = 0;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->n; i++) {
		if (strncmp(p->name[i], service, n) == 0 && p->name[i][n] == '/' && p->online[i])
			any = 1;
	}
	pthread_mutex_unlock(&p->lock);
	return any;
}
