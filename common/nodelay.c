/* TCP_NODELAY on every TCP socket the process connects, Paho's included.
 *
 * Paho C never sets it, and a PUBACK followed by a PUBLISH then waits for the
 * peer's delayed ACK, about 40 ms a hop (docs/protocol.md §Latency). Paho offers no
 * socket hook, so this file interposes connect(): the executable's symbol
 * wins over libc's for the shared libraries too. */
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

#include "nodelay.h"

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static atomic_int nodelay_on;

void nodelay_enable(void)
{
	atomic_store(&nodelay_on, 1);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	static _Atomic(connect_fn) real_connect;
	connect_fn real = atomic_load(&real_connect);
	int type = 0;
	socklen_t type_len = sizeof type;

	if (real == NULL) {
		real = (connect_fn)dlsym(RTLD_NEXT, "connect");
		atomic_store(&real_connect, real);
	}
	if (atomic_load(&nodelay_on) && addr != NULL &&
	    (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 &&
	    type == SOCK_STREAM) {
		int one = 1;
		/* Best effort: a socket that refuses it still connects. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	return real(fd, addr, len);
}
