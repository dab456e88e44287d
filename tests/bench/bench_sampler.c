/* shop-bench-load: POST -> confirmed by polling a sample, and the daemons' metrics.
 *
 * The sampler thread asks the workers for the next order accepted inside the
 * measured window, polls GET /api/v1/orders/{id} on its own connection until
 * the status is final, and records final-seen time - POST start time. The
 * poll interval grows with the wait (1/20 of it, at least 0.5 ms), and the
 * samples are spread evenly over the window, so the sampler costs one
 * connection and a few requests per sample. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_conn.h"
#include "bench_load.h"

void sampler_offer(struct load *l, const struct order_rec *rec)
{
	if (atomic_exchange(&l->slot.wanted, 0) != 1)
		return;
	pthread_mutex_lock(&l->slot.lock);
	l->slot.rec = *rec;
	l->slot.filled = 1;
	pthread_mutex_unlock(&l->slot.lock);
}

/* Waits for a worker to hand over an order; 0, or -1 at the window's end. */
static int take_order(struct load *l, struct order_rec *rec)
{
	pthread_mutex_lock(&l->slot.lock);
	l->slot.filled = 0;
	pthread_mutex_unlock(&l->slot.lock);
	atomic_store(&l->slot.wanted, 1);
	for (;;) {
		pthread_mutex_lock(&l->slot.lock);
		if (l->slot.filled) {
			*rec = l->slot.rec;
			pthread_mutex_unlock(&l->slot.lock);
			return 0;
		}
		pthread_mutex_unlock(&l->slot.lock);
		if (bench_now_ns() >= l->we || atomic_load(&l->stop)) {
			atomic_store(&l->slot.wanted, 0);
			return -1;
		}
		bench_sleep_ns(100000);
	}
}

/* Polls one order until final: 1 confirmed, 0 other final, -1 timeout. */
static int poll_order(struct load *l, struct bench_conn *c, const struct order_rec *rec,
		      uint64_t *seen_ns)
{
	char path[128];
	const char *body;
	size_t len;
	uint64_t limit = rec->posted_ns + 30000000000u;
	uint64_t drain_end = l->we + (uint64_t)l->o.drain_s * 1000000000u;

	if (limit > drain_end)
		limit = drain_end;

	snprintf(path, sizeof path, "/api/v1/orders/%s", rec->id);
	for (;;) {
		int st = bench_conn_request(c, "GET", path, NULL, &body, &len);
		uint64_t now = bench_now_ns(), wait;

		if (st == 200 && strstr(body, "\"status\":\"pending\"") == NULL) {
			*seen_ns = now;
			return strstr(body, "\"status\":\"confirmed\"") != NULL ? 1 : 0;
		}
		if (now >= limit)
			return -1;
		wait = (now - rec->posted_ns) / 20;
		bench_sleep_ns(wait < 500000 ? 500000 : wait > 200000000 ? 200000000 : wait);
	}
}

static void *sampler_main(void *arg)
{
	struct load *l = arg;
	struct bench_conn *c = malloc(sizeof *c);
	uint64_t spacing = (l->we - l->ws) / (uint64_t)l->o.sample, next = l->ws;
	struct order_rec rec;

	if (c == NULL)
		return NULL;
	bench_conn_init(c, l->o.host, (int)l->o.port, (int)l->o.timeout_ms);
	while (l->confirm.n + l->confirm_other + l->confirm_timeouts < (size_t)l->o.sample) {
		uint64_t now = bench_now_ns(), seen = 0;
		if (now < next)
			bench_sleep_ns(next - now);
		next += spacing;
		if (take_order(l, &rec) != 0)
			break;
		switch (poll_order(l, c, &rec, &seen)) {
		case 1: bench_samples_add(&l->confirm, seen - rec.posted_ns); break;
		case 0: l->confirm_other++; break;
		default: l->confirm_timeouts++; break;
		}
	}
	bench_conn_free(c);
	free(c);
	return NULL;
}

int sampler_start(struct load *l, pthread_t *thread)
{
	pthread_mutex_init(&l->slot.lock, NULL);
	return pthread_create(thread, NULL, sampler_main, l) == 0 ? 0 : -1;
}

/* Value of the first sample line `name value` in Prometheus text; -1 if absent. */
static double metric_value(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '{')) {
			const char *v = strchr(p + n, ' ');
			return v ? strtod(v + 1, NULL) : -1;
		}
	return -1;
}

static int fetch_one(const struct load *l, long port, const char **names, double **out)
{
	struct bench_conn *c = malloc(sizeof *c);
	const char *body;
	size_t len;
	int st = -1;

	if (c == NULL)
		return -1;
	bench_conn_init(c, l->o.host, (int)port, 2000);
	st = bench_conn_request(c, "GET", "/metrics", NULL, &body, &len);
	if (st == 200)
		for (int i = 0; names[i]; i++)
			*out[i] = metric_value(body, names[i]);
	bench_conn_free(c);
	free(c);
	return st == 200 ? 0 : -1;
}

/* One integer from a read-only query of the order daemon's database, with
 * arg bound to its one parameter if it has one (a WAL reader never blocks
 * the writer); -1 when it cannot be read. */
static long long order_db_int(const char *path, const char *sql, long long arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (path == NULL)
		return -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(db, 2000) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    (sqlite3_bind_parameter_count(st) == 0 || sqlite3_bind_int64(st, 1, arg) == SQLITE_OK) &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

long long order_db_max_rowid(const char *path)
{
	long long n = order_db_int(path, "SELECT coalesce(max(rowid), 0) FROM orders", 0);

	return n < 0 ? 0 : n;
}

/* Confirmed orders among those the order daemon first recorded after the
 * start (status 1 is confirmed, order/order_store.h): a new row gets a rowid
 * above the start's, so the count stays cheap with 10^6 older orders in the
 * table. Orders already pending at the start are not counted (an upsert
 * keeps their rowid); the shell prints how many there were. */
static long count_confirmed(const struct load *l)
{
	return (long)order_db_int(l->o.order_db,
				  "SELECT count(*) FROM orders WHERE rowid > ? AND status = 1",
				  l->base_rowid);
}

void metrics_fetch(const struct load *l, struct daemon_metrics *m)
{
	const char *on[] = { "shop_order_messages_applied_total", "shop_order_outbox_backlog", NULL };
	const char *in[] = { "shop_inventory_messages_applied_total",
			     "shop_inventory_outbox_backlog", "shop_inventory_outbox_published_total",
			     NULL };
	double *oo[] = { &m->order_applied, &m->order_backlog };
	double *io[] = { &m->inv_applied, &m->inv_backlog, &m->inv_published };

	memset(m, 0, sizeof *m);
	m->ok = l->o.order_port > 0 && l->o.inventory_port > 0 &&
		fetch_one(l, l->o.order_port, on, oo) == 0 &&
		fetch_one(l, l->o.inventory_port, in, io) == 0;
	m->confirmed = count_confirmed(l);
}
