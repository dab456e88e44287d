/* shop-bench-load: a closed-loop HTTP load generator over keep-alive connections.
 *
 * C client threads each send one request, wait for the answer, and send the
 * next, for --warmup then --seconds; only the measured window counts toward
 * requests/s, status counts and p50/p99/p999. Modes:
 *   plain       one method/path/body (catalog reads, the bare civetweb server)
 *   orders      POST /api/v1/orders of one random SKU (--skus or --skus-file),
 *               qty 1, backing off on a 503 in closed loop (back_off); records
 *               every order id with its POST time, samples POST -> confirmed
 *               (bench_sampler.c) and, with --order-port/--inventory-port,
 *               confirmed orders/s from the daemons' metrics and the drain
 *   get-orders  GET /api/v1/orders/{id} over ids from --ids-file
 * Prints one line of name=value pairs, among them the generator's own CPU over
 * the window (loadgen_cpu_pct, 100 = one core; loadgen_bound=1 from
 * LOADGEN_BOUND_PCT on: the row shows the generator's limit, not the shop's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_conn.h"
#include "bench_load.h"

/* From this share of one core on, the generator itself is the likely limit. */
#define LOADGEN_BOUND_PCT 90.0

static void usage(const char *prog)
{
	printf("usage: %s --port N [--host IP] [--mode plain|orders|get-orders]\n"
	       "  [--method M] [--path P] [--body JSON] [--concurrency C] [--seconds N]\n"
	       "  [--warmup N] [--timeout-ms N] [--skus A,B,...] [--skus-file F] [--sample N]\n"
	       "  [--ids-out FILE] [--ids-file FILE] [--order-port N] [--inventory-port N]\n"
	       "  [--drain-s N] [--order-db FILE] [--rate REQ_PER_S]\n", prog);
}

static void split_skus(struct load_opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	o->skus = calloc(strlen(list) + 1, sizeof *o->skus);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		o->skus[o->n_skus++] = t;
}

static void skus_file(struct load_opts *o, const char *prog, const char *path)
{
	size_t n;

	if (bench_read_lines(path, &o->skus, &n) != 0)
		bench_usage_error(prog, "--skus-file: no SKUs in '%s'", path);
	o->n_skus = (int)n;
}

static void parse(int argc, char **argv, struct load_opts *o)
{
	*o = (struct load_opts){ .host = "127.0.0.1", .method = "GET", .path = "/",
				 .concurrency = 1, .seconds = 5, .warmup = 1,
				 .timeout_ms = 5000, .sample = 200, .drain_s = 30 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--host") == 0) o->host = bench_arg_str(argc, argv, &i);
		else if (strcmp(a, "--port") == 0) o->port = bench_arg_long(argc, argv, &i, 1, 65535);
		else if (strcmp(a, "--method") == 0) o->method = bench_arg_str(argc, argv, &i);
		else if (strcmp(a, "--path") == 0) o->path = bench_arg_str(argc, argv, &i);
		else if (strcmp(a, "--body") == 0) o->body = bench_arg_str(argc, argv, &i);
		else if (strcmp(a, "--concurrency") == 0) o->concurrency = bench_arg_long(argc, argv, &i, 1, 4096);
		else if (strcmp(a, "--seconds") == 0) o->seconds = bench_arg_long(argc, argv, &i, 1, 3600);
		else if (strcmp(a, "--warmup") == 0) o->warmup = bench_arg_long(argc, argv, &i, 0, 600);
		else if (strcmp(a, "--timeout-ms") == 0) o->timeout_ms = bench_arg_long(argc, argv, &i, 10, 600000);
		else if (strcmp(a, "--sample") == 0) o->sample = bench_arg_long(argc, argv, &i, 0, 100000);
		else if (strcmp(a, "--drain-s") == 0) o->drain_s = bench_arg_long(argc, argv, &i, 0, 3600);
		else if (strcmp(a, "--order-port") == 0) o->order_port = bench_arg_long(argc, argv, &i, 1, 65535);
		else if (strcmp(a, "--inventory-port") == 0) o->inventory_port = bench_arg_long(argc, argv, &i, 1, 65535);
		else if (strcmp(a, "--order-db") == 0) o->order_db = bench_arg_str(argc, argv, &i);
		else if (strcmp(a, "--rate") == 0) o->rate = (double)bench_arg_long(argc, argv, &i, 0, 10000000);
		else if (strcmp(a, "--ids-out") == 0) o->ids_out = bench_arg_str(argc, argv, &i);
		else if (strcmp(a, "--ids-file") == 0) o->ids_in = bench_arg_str(argc, argv, &i);
		else if (strcmp(a, "--skus") == 0) split_skus(o, bench_arg_str(argc, argv, &i));
		else if (strcmp(a, "--skus-file") == 0) skus_file(o, argv[0], bench_arg_str(argc, argv, &i));
		else if (strcmp(a, "--mode") == 0) {
			const char *m = bench_arg_str(argc, argv, &i);
			if (strcmp(m, "plain") == 0) o->mode = MODE_PLAIN;
			else if (strcmp(m, "orders") == 0) o->mode = MODE_ORDERS;
			else if (strcmp(m, "get-orders") == 0) o->mode = MODE_GET_ORDERS;
			else bench_usage_error(argv[0], "--mode must be plain, orders or get-orders");
		} else if (strcmp(a, "--help") == 0) {
			usage(argv[0]);
			exit(0);
		} else
			bench_usage_error(argv[0], "unknown flag '%s'", a);
	}
	if (o->port == 0)
		bench_usage_error(argv[0], "--port is required");
	if (o->mode == MODE_ORDERS && o->n_skus == 0)
		bench_usage_error(argv[0], "--mode orders needs --skus");
	if (o->mode == MODE_GET_ORDERS && o->ids_in == NULL)
		bench_usage_error(argv[0], "--mode get-orders needs --ids-file");
}

static void record_order(struct worker *w, const char *body, uint64_t t)
{
	const char *p = strstr(body, "\"order_id\":\"");
	struct order_rec rec;
	size_t n;

	if (p == NULL)
		return;
	p += 12;
	n = strcspn(p, "\"");
	if (n >= sizeof rec.id)
		return;
	memcpy(rec.id, p, n);
	rec.id[n] = '\0';
	rec.posted_ns = t;
	if (w->n_orders == w->cap_orders) {
		size_t cap = w->cap_orders ? w->cap_orders * 2 : 4096;
		struct order_rec *v = realloc(w->orders, cap * sizeof *v);
		if (v == NULL)
			return;
		w->orders = v;
		w->cap_orders = cap;
	}
	w->orders[w->n_orders++] = rec;
	if (t >= w->load->ws && t < w->load->we && w->load->o.sample > 0)
		sampler_offer(w->load, &rec);
}

/* Builds the next request of a worker; returns the path (body in *body). */
static const char *next_request(struct worker *w, char *path, size_t psize, char *body,
				size_t bsize, const char **method, const char **bodyp)
{
	const struct load_opts *o = &w->load->o;

	*method = o->method;
	*bodyp = o->body;
	if (o->mode == MODE_ORDERS) {
		snprintf(body, bsize, "{\"items\":[{\"sku\":\"%s\",\"qty\":1}]}",
			 o->skus[rand_r(&w->seed) % (unsigned)o->n_skus]);
		*method = "POST";
		*bodyp = body;
		return "/api/v1/orders";
	}
	if (o->mode == MODE_GET_ORDERS) {
		snprintf(path, psize, "/api/v1/orders/%s",
			 w->load->ids[rand_r(&w->seed) % w->load->n_ids]);
		*method = "GET";
		return path;
	}
	return o->path;
}

/* Paced mode: waits for this worker's next slot of the global schedule. */
static void pace(struct load *l)
{
	unsigned long k = atomic_fetch_add(&l->ticket, 1);
	uint64_t at = l->t0 + (uint64_t)((double)k * 1e9 / l->o.rate), now = bench_now_ns();

	if (at > now)
		bench_sleep_ns(at - now);
}

/* Closed loop: a client told to come back later (503 with Retry-After, the
 * front shedding load) waits instead of retrying at once: the rows measure
 * what the shop confirms, not a retry storm. It waits 100 ms, not the whole
 * second Retry-After says (its unit): the front's admission control keeps
 * the wait from 202 to final near 100 ms, and clients asleep for a second
 * each would leave a shop that sheds a little idle, so the closed-loop rows
 * would show the clients' back-off, not the shop. Paced (open-loop)
 * clients keep offering their load. */
#define CLOSED_LOOP_BACK_OFF_MS 100
static void back_off(struct worker *w, int seconds)
{
	uint64_t ms = (uint64_t)seconds * 1000u;

	w->retry_waits++;
	bench_sleep_ns((ms < CLOSED_LOOP_BACK_OFF_MS ? ms : CLOSED_LOOP_BACK_OFF_MS) * 1000000u);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct load *l = w->load;
	struct bench_conn *c = malloc(sizeof *c);
	char path[128], body[256];

	if (c == NULL)
		return NULL;
	bench_conn_init(c, l->o.host, (int)l->o.port, (int)l->o.timeout_ms);
	while (!atomic_load(&l->stop)) {
		const char *method, *bodyp, *resp = NULL;
		const char *p = next_request(w, path, sizeof path, body, sizeof body, &method, &bodyp);
		size_t rlen;
		uint64_t t;

		if (l->o.rate > 0)
			pace(l);
		t = bench_now_ns();
		int st = bench_conn_request(c, method, p, bodyp, &resp, &rlen);
		uint64_t done = bench_now_ns();
		int in_window = t >= l->ws && done <= l->we;

		if (st == 202 && l->o.mode == MODE_ORDERS) {
			atomic_fetch_add(&l->accepted, 1);
			record_order(w, resp, t);
		}
		if (st == 503 && l->o.rate == 0 && c->retry_after_s > 0)
			back_off(w, c->retry_after_s);
		if (!in_window)
			continue;
		w->requests++;
		if (st < 0) {
			w->errors++;
			bench_sleep_ns(1000000);
			continue;
		}
		w->status[st < MAX_STATUS ? st : 0]++;
		bench_samples_add(&w->lat, done - t);
	}
	bench_conn_free(c);
	free(c);
	return NULL;
}

static void write_ids(const struct load *l)
{
	FILE *f = fopen(l->o.ids_out, "w");
	size_t written = 0;

	if (f == NULL)
		return;
	for (long i = 0; i < l->o.concurrency && written < 100000; i++)
		for (size_t j = 0; j < l->workers[i].n_orders && written < 100000; j++, written++)
			fprintf(f, "%s\n", l->workers[i].orders[j].id);
	fclose(f);
}

/* After the load stops: waits until the order daemon has applied both events
 * (order/send and inventory/in-stock) of every accepted order. Returns the
 * time it drained, or 0 when it did not within --drain-s. */
static uint64_t wait_drained(const struct load *l, const struct daemon_metrics *base)
{
	uint64_t limit = bench_now_ns() + (uint64_t)l->o.drain_s * 1000000000u;
	struct daemon_metrics m;
	double want = 2.0 * (double)atomic_load(&l->accepted);

	for (;;) {
		metrics_fetch(l, &m);
		int caught_up = m.confirmed >= 0
			? (double)(m.confirmed - base->confirmed) >= want / 2
			: m.order_applied - base->order_applied >= want;
		if (m.ok && caught_up && m.order_backlog == 0 && m.inv_backlog == 0)
			return bench_now_ns();
		if (bench_now_ns() >= limit)
			return 0;
		bench_sleep_ns(50000000);
	}
}

static void report(struct load *l, const struct daemon_metrics *m0, const struct daemon_metrics *ms,
		   const struct daemon_metrics *me, uint64_t drained)
{
	struct bench_samples all = { 0 };
	unsigned long requests = 0, errors = 0, waits = 0, status[MAX_STATUS] = { 0 };
	double secs = (double)(l->we - l->ws) / 1e9;
	double cpu_pct = 100.0 * (double)(l->cpu_we - l->cpu_ws) / (double)(l->we - l->ws);

	for (long i = 0; i < l->o.concurrency; i++) {
		struct worker *w = &l->workers[i];
		requests += w->requests;
		errors += w->errors;
		waits += w->retry_waits;
		for (int s = 0; s < MAX_STATUS; s++)
			status[s] += w->status[s];
		bench_samples_merge(&all, &w->lat);
	}
	printf("load mode=%s c=%ld seconds=%.1f requests=%lu rps=%.0f errors=%lu",
	       l->o.mode == MODE_ORDERS ? "orders" : l->o.mode == MODE_GET_ORDERS ? "get-orders" : "plain",
	       l->o.concurrency, secs, requests, (double)(requests - errors) / secs, errors);
	for (int s = 0; s < MAX_STATUS; s++)
		if (status[s])
			printf(" status_%d=%lu", s, status[s]);
	printf(" p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f", bench_quantile_ms(&all, 0.5),
	       bench_quantile_ms(&all, 0.99), bench_quantile_ms(&all, 0.999));
	printf(" retry_after_waits=%lu", waits);
	printf(" loadgen_cpu_pct=%.0f loadgen_bound=%d", cpu_pct, cpu_pct >= LOADGEN_BOUND_PCT);
	printf(" window_start_ms=%llu window_end_ms=%llu", (unsigned long long)l->ws_epoch_ms,
	       (unsigned long long)(l->ws_epoch_ms + (l->we - l->ws) / 1000000u));
	if (l->o.mode == MODE_ORDERS) {
		unsigned long acc = atomic_load(&l->accepted);
		printf(" accepted_total=%lu accepted_per_s=%.0f", acc, (double)status[202] / secs);
		if (l->o.sample > 0)
			printf(" confirm_samples=%zu confirm_p50_ms=%.3f confirm_p99_ms=%.3f"
			       " confirm_timeouts=%lu confirm_not_confirmed=%lu",
			       l->confirm.n, bench_quantile_ms(&l->confirm, 0.5),
			       bench_quantile_ms(&l->confirm, 0.99), l->confirm_timeouts,
			       l->confirm_other);
		if (m0->ok && ms->ok && me->ok && ms->confirmed >= 0 && me->confirmed >= 0)
			printf(" confirmed_in_window=%ld confirmed_per_s=%.0f lag_start=%ld lag_end=%ld",
			       me->confirmed - ms->confirmed,
			       (double)(me->confirmed - ms->confirmed) / secs,
			       (long)l->acc_ws - (ms->confirmed - m0->confirmed),
			       (long)l->acc_we - (me->confirmed - m0->confirmed));
		if (m0->ok && ms->ok && me->ok)
			printf(" inv_applied_per_s=%.0f inv_published_per_s=%.0f",
			       (me->inv_applied - ms->inv_applied) / secs,
			       (me->inv_published - ms->inv_published) / secs);
		if (m0->ok && ms->ok && me->ok)
			printf(" applied_per_s_div2=%.0f backlog_order_start=%.0f"
			       " backlog_order_end=%.0f backlog_inv_start=%.0f backlog_inv_end=%.0f"
			       " lag_after=%.0f drained=%d drain_s=%.2f end_to_end_confirmed_per_s=%.0f",
			       (me->order_applied - ms->order_applied) / 2 / secs, ms->order_backlog,
			       me->order_backlog, ms->inv_backlog, me->inv_backlog,
			       me->confirmed >= 0 ? (double)acc - (double)(me->confirmed - m0->confirmed)
						  : (double)acc - (me->order_applied - m0->order_applied) / 2,
			       drained != 0, drained ? (double)(drained - l->we) / 1e9 : -1.0,
			       drained ? (double)acc / ((double)(drained - l->t0) / 1e9) : 0.0);
	}
	printf("\n");
	bench_samples_free(&all);
}

static void sleep_until(uint64_t t)
{
	uint64_t now = bench_now_ns();

	if (t > now)
		bench_sleep_ns(t - now);
}

int main(int argc, char **argv)
{
	static struct load l;
	struct daemon_metrics m0, ms, me;
	pthread_t sampler;
	int sampling = 0;
	uint64_t drained = 0;

	parse(argc, argv, &l.o);
	if (l.o.mode == MODE_GET_ORDERS && bench_read_lines(l.o.ids_in, &l.ids, &l.n_ids) != 0) {
		fprintf(stderr, "shop-bench-load: no order ids in %s\n", l.o.ids_in);
		return 1;
	}
	if (l.o.mode != MODE_ORDERS)
		l.o.sample = 0;
	l.workers = calloc((size_t)l.o.concurrency, sizeof *l.workers);
	if (l.workers == NULL)
		return 1;
	l.base_rowid = order_db_max_rowid(l.o.order_db);
	metrics_fetch(&l, &m0);
	l.t0 = bench_now_ns();
	l.ws_epoch_ms = bench_epoch_ms() + (uint64_t)l.o.warmup * 1000u;
	l.ws = l.t0 + (uint64_t)l.o.warmup * 1000000000u;
	l.we = l.ws + (uint64_t)l.o.seconds * 1000000000u;
	for (long i = 0; i < l.o.concurrency; i++) {
		l.workers[i].load = &l;
		l.workers[i].seed = (unsigned)(i * 7919 + 17);
		if (pthread_create(&l.workers[i].thread, NULL, worker_main, &l.workers[i]) != 0) {
			fprintf(stderr, "shop-bench-load: cannot start thread %ld\n", i);
			return 1;
		}
	}
	if (l.o.sample > 0 && sampler_start(&l, &sampler) == 0)
		sampling = 1;
	sleep_until(l.ws);
	l.cpu_ws = bench_process_cpu_ns();
	l.acc_ws = atomic_load(&l.accepted);
	metrics_fetch(&l, &ms);
	sleep_until(l.we);
	l.cpu_we = bench_process_cpu_ns();
	l.acc_we = atomic_load(&l.accepted);
	metrics_fetch(&l, &me);
	atomic_store(&l.stop, 1);
	for (long i = 0; i < l.o.concurrency; i++)
		pthread_join(l.workers[i].thread, NULL);
	if (l.o.mode == MODE_ORDERS && m0.ok)
		drained = wait_drained(&l, &m0);
	if (sampling)
		pthread_join(sampler, NULL);
	if (l.o.ids_out)
		write_ids(&l);
	report(&l, &m0, &ms, &me, drained);
	return 0;
}
