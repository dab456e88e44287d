/* Broker URLs as Paho takes them: one, or a comma-separated list to fail over. */
#include "broker_url.h"

#include <stdio.h>
#include <string.h>

/* Paho's schemes; anything else fails deep inside the first connect. */
static int broker_url_valid(const char *url, size_t len)
{
	static const char *const schemes[] = { "tcp://", "mqtt://", "ssl://", "mqtts://",
					       "ws://", "wss://" };

	for (size_t i = 0; i < len; i++) {
		if (url[i] <= ' ' || url[i] > '~')
			return 0;
	}
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i]);
		if (len > n && strncmp(url, schemes[i], n) == 0)
			return 1;
	}
	return 0;
}

int broker_url_list_check(const char *list, char *bad, size_t bad_len)
{
	const char *entry = list;
	int count = 0;

	if (list == NULL || bad == NULL || bad_len == 0)
		return -1;
	for (;;) {
		size_t len = strcspn(entry, ",");
		if (!broker_url_valid(entry, len) || ++count > BROKER_URL_MAX) {
			if (count > BROKER_URL_MAX)
				snprintf(bad, bad_len, "more than %d brokers", BROKER_URL_MAX);
			else
				snprintf(bad, bad_len, "%.*s", (int)len, entry);
			return -1;
		}
		if (entry[len] == '\0')
			return 0;
		entry += len + 1;
	}
}
