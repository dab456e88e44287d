/* A minimal HTTP/1.1 keep-alive client over a plain TCP socket, for the load generator. */
#ifndef SHOP_BENCH_CONN_H
#define SHOP_BENCH_CONN_H

#include <stddef.h>

#define BENCH_CONN_BUF 65536
#define BENCH_CONN_MAX_BODY (64u << 20) /* a larger answer is an error */

struct bench_conn {
	int fd; /* -1 while not connected; connects on the next request */
	const char *host;
	int port;
	int timeout_ms; /* per send and per receive */
	int retry_after_s; /* Retry-After of the last answer; 0 without one */
	size_t len;     /* bytes in buf */
	size_t cap;     /* size of buf: small, or a larger heap copy for large answers */
	char *buf;
	char small[BENCH_CONN_BUF];
};

void bench_conn_init(struct bench_conn *c, const char *host, int port, int timeout_ms);
void bench_conn_close(struct bench_conn *c);
/* Closes the connection and frees a buffer grown for large answers. */
void bench_conn_free(struct bench_conn *c);

/* Sends one request and reads the whole response (Content-Length bodies
 * only, as every shop answer has one). body may be NULL. On success returns
 * the status code and points *resp at the NUL-terminated body inside c->buf
 * (valid until the next call). On a connection error or timeout returns -1
 * and closes the connection; the next call reconnects. */
int bench_conn_request(struct bench_conn *c, const char *method, const char *path,
		       const char *body, const char **resp, size_t *resp_len);

#endif
