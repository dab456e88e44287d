/* shop-bench-load: shared state of the closed-loop load generator's parts. */
#ifndef SHOP_BENCH_LOAD_H
#define SHOP_BENCH_LOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bench_util.h"

enum load_mode { MODE_PLAIN, MODE_ORDERS, MODE_GET_ORDERS };

struct load_opts {
	const char *host, *method, *path, *body, *ids_in, *ids_out;
	enum load_mode mode;
	long port, concurrency, seconds, warmup, timeout_ms, sample, drain_s;
	long order_port, inventory_port; /* 0: no metrics */
	const char *order_db; /* order daemon's database: confirmed orders counted there */
	double rate;          /* requests/s over all clients; 0: closed loop */
	char **skus;
	int n_skus;
};

struct order_rec {
	char id[40];
	uint64_t posted_ns;
};

#define MAX_STATUS 600

struct worker {
	struct load *load;
	pthread_t thread;
	unsigned seed;
	unsigned long requests, errors, retry_waits, status[MAX_STATUS];
	struct bench_samples lat;
	struct order_rec *orders; /* orders mode: every 202, warm-up included */
	size_t n_orders, cap_orders;
};

/* The confirmation sampler hands over one freshly accepted order at a time. */
struct sample_slot {
	pthread_mutex_t lock;
	atomic_int wanted; /* 1 while the sampler waits for an order */
	int filled;
	struct order_rec rec;
};

struct load {
	struct load_opts o;
	uint64_t t0, ws, we; /* start, window start, window end */
	uint64_t ws_epoch_ms; /* window start on the wall clock */
	uint64_t cpu_ws, cpu_we; /* this process's CPU time (all threads) at the window's start and end */
	long long base_rowid; /* orders' max rowid at start: rows above it are new orders */
	atomic_int stop;
	atomic_ulong accepted; /* 202s of the whole run */
	unsigned long acc_ws, acc_we; /* accepted at the window's start and end */
	atomic_ulong ticket;   /* paced mode: the next request slot */
	struct worker *workers;
	struct sample_slot slot;
	char **ids; /* get-orders mode */
	size_t n_ids;
	/* sampler results */
	struct bench_samples confirm;
	unsigned long confirm_timeouts, confirm_other;
};

/* Starts the POST -> confirmed sampler thread (orders mode, o.sample > 0). */
int sampler_start(struct load *l, pthread_t *thread);
/* Called by a worker after a 202 inside the window. */
void sampler_offer(struct load *l, const struct order_rec *rec);

/* Metrics of the daemons (Prometheus text over internal HTTP). */
struct daemon_metrics {
	double order_applied, order_backlog, inv_applied, inv_backlog, inv_published;
	long confirmed; /* confirmed orders with rowid > base_rowid; -1 unknown */
	int ok;
};
void metrics_fetch(const struct load *l, struct daemon_metrics *m);
/* The largest rowid of the order database's orders table; 0 if unknown. */
long long order_db_max_rowid(const char *path);

#endif
