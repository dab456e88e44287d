/* A minimal HTTP/1.1 keep-alive client over a plain TCP socket, for the load generator. */
#include "bench_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

void bench_conn_init(struct bench_conn *c, const char *host, int port, int timeout_ms)
{
	c->fd = -1;
	c->host = host;
	c->port = port;
	c->timeout_ms = timeout_ms;
	c->len = 0;
	c->buf = c->small;
	c->cap = sizeof c->small;
}

void bench_conn_close(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

void bench_conn_free(struct bench_conn *c)
{
	bench_conn_close(c);
	if (c->buf != c->small)
		free(c->buf);
	c->buf = c->small;
	c->cap = sizeof c->small;
}

/* Makes room for need bytes and a NUL; -1 beyond BENCH_CONN_MAX_BODY. */
static int reserve(struct bench_conn *c, size_t need)
{
	char *v;

	if (need < c->cap)
		return 0;
	if (need > BENCH_CONN_MAX_BODY)
		return -1;
	v = malloc(need + 1);
	if (v == NULL)
		return -1;
	memcpy(v, c->buf, c->len + 1);
	if (c->buf != c->small)
		free(c->buf);
	c->buf = v;
	c->cap = need + 1;
	return 0;
}

static int conn_open(struct bench_conn *c)
{
	struct sockaddr_in addr;
	struct timeval tv = { .tv_sec = c->timeout_ms / 1000,
			      .tv_usec = (c->timeout_ms % 1000) * 1000 };
	int one = 1;

	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)c->port);
	if (inet_pton(AF_INET, c->host, &addr.sin_addr) != 1)
		return -1;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		bench_conn_close(c);
		return -1;
	}
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads more bytes into buf; -1 on close, error, timeout or a full buffer. */
static int read_more(struct bench_conn *c)
{
	ssize_t r;

	if (c->len >= c->cap - 1)
		return -1;
	do
		r = recv(c->fd, c->buf + c->len, c->cap - 1 - c->len, 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	c->buf[c->len] = '\0';
	return 0;
}

/* Value of header name in the header block [start, end), or NULL. */
static const char *find_header(const char *start, const char *end, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = start; p < end; p++) {
		p = strstr(p, "\r\n");
		if (p == NULL || p >= end)
			return NULL;
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
			return p + 3 + n;
	}
	return NULL;
}

static int read_response(struct bench_conn *c, const char **resp, size_t *resp_len)
{
	char *hend;
	const char *cl, *conn;
	size_t head, clen = 0;
	int status, keep;

	c->len = 0;
	c->buf[0] = '\0';
	while ((hend = strstr(c->buf, "\r\n\r\n")) == NULL)
		if (read_more(c) != 0)
			return -1;
	head = (size_t)(hend - c->buf) + 4;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	cl = find_header(c->buf, hend + 2, "Content-Length");
	if (cl != NULL)
		clen = strtoul(cl, NULL, 10);
	cl = find_header(c->buf, hend + 2, "Retry-After");
	c->retry_after_s = cl != NULL ? atoi(cl) : 0;
	conn = find_header(c->buf, hend + 2, "Connection");
	keep = conn == NULL || strncasecmp(conn + strspn(conn, " "), "close", 5) != 0;
	if (reserve(c, head + clen) != 0)
		return -1;
	while (c->len < head + clen)
		if (read_more(c) != 0)
			return -1;
	if (!keep) {
		close(c->fd);
		c->fd = -1;
	}
	c->buf[head + clen] = '\0';
	*resp = c->buf + head;
	*resp_len = clen;
	return status;
}

int bench_conn_request(struct bench_conn *c, const char *method, const char *path,
		       const char *body, const char **resp, size_t *resp_len)
{
	char head[1024];
	size_t blen = body ? strlen(body) : 0;
	int n, status;

	if (c->fd < 0 && conn_open(c) != 0)
		return -1;
	if (body != NULL)
		n = snprintf(head, sizeof head,
			     "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n",
			     method, path, c->host, c->port, blen);
	else
		n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", method,
			     path, c->host, c->port);
	if (n < 0 || (size_t)n >= sizeof head || send_all(c->fd, head, (size_t)n) != 0 ||
	    (blen > 0 && send_all(c->fd, body, blen) != 0)) {
		bench_conn_close(c);
		return -1;
	}
	status = read_response(c, resp, resp_len);
	if (status < 0)
		bench_conn_close(c);
	return status;
}
