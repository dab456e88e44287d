/* shop-bench-http: the HTTP layer's limit, a bare civetweb handler.
 *
 * Starts civetweb through common/http.c (the same options as the shop:
 * keep-alive, TCP_NODELAY, the front's 128 worker threads by default) with one
 * handler answering a fixed 100-byte JSON body to every request, and serves
 * until SIGTERM or SIGINT. Load it with shop-bench-load. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "http.h"
#include "log.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* 100 bytes of JSON, like a small API answer. */
static const char body[] =
	"{\"order_id\":\"00000000-0000-4000-8000-000000000000\",\"status\":\"pending\","
	"\"pad\":\"xxxxxxxxxxxxxxxxxxxxx\"}";

static int handle(struct mg_connection *conn, void *ctx)
{
	(void)ctx;
	return http_reply(conn, 200, "application/json", body, sizeof body - 1, NULL);
}

int main(int argc, char **argv)
{
	const char *bind = "127.0.0.1";
	long port = 0, threads = 128;
	struct mg_context *mg;
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0)
			port = bench_arg_long(argc, argv, &i, 1, 65535);
		else if (strcmp(argv[i], "--bind") == 0)
			bind = bench_arg_str(argc, argv, &i);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = bench_arg_long(argc, argv, &i, 1, 1024);
		else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: %s --port N [--bind ADDR] [--threads N]\n", argv[0]);
			return 0;
		} else
			bench_usage_error(argv[0], "unknown flag '%s'", argv[i]);
	}
	if (port == 0)
		bench_usage_error(argv[0], "--port is required");
	_Static_assert(sizeof body - 1 == 100, "the body is 100 bytes");
	log_init("shop-bench-http", LOG_LEVEL_WARN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	mg = http_start(bind, (int)port, (int)threads, HTTP_KEEP_ALIVE_PUBLIC_MS, handle, NULL);
	if (mg == NULL) {
		fprintf(stderr, "shop-bench-http: cannot listen on %s:%ld\n", bind, port);
		return 1;
	}
	while (!stop_flag)
		bench_sleep_ns(100000000);
	http_stop(mg);
	return 0;
}
