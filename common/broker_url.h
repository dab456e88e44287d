/* Broker URLs as Paho takes them: one, or a comma-separated list to fail over. */
#ifndef SHOP_BROKER_URL_H
#define SHOP_BROKER_URL_H

#include <stddef.h>

/* Brokers a comma-separated --broker-url may name (Paho's serverURIs). */
#define BROKER_URL_MAX 8

/* Checks a broker URL or a comma-separated list of them (docs/protocol.md
 * §Broker fail-over and fail-fast): 0 when each is one Paho takes
 * (tcp://host:port and the like), else -1 with the first bad entry copied
 * (cut short) into bad. */
int broker_url_list_check(const char *list, char *bad, size_t bad_len);

#endif
