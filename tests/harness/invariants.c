/* The invariants of docs/protocol.md, evaluated on the daemons' listings (the front's
 * admin API relays them unchanged): one PASS/FAIL line with figures each.
 * The same rules as tests/integration/harness/shop.py's check_invariants. */
#include "invariants.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_PROBLEMS 5

/* The problems found by one invariant: the first few in full, the rest counted. */
struct findings {
	char text[1200];
	int n;
};

static void finding(struct findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(struct findings *f, const char *fmt, ...)
{
	size_t used = strlen(f->text);
	va_list ap;

	if (f->n++ >= SHOWN_PROBLEMS || used + 3 >= sizeof f->text)
		return;
	snprintf(f->text + used, sizeof f->text - used, "; ");
	used += 2;
	va_start(ap, fmt);
	vsnprintf(f->text + used, sizeof f->text - used, fmt, ap);
	va_end(ap);
}

static void finish(struct invariant_result *r, const char *title, const char *figures,
		   const struct findings *f)
{
	char more[48] = "";

	if (f->n > SHOWN_PROBLEMS)
		snprintf(more, sizeof more, "; and %d more", f->n - SHOWN_PROBLEMS);
	r->checked = 1;
	r->pass = f->n == 0;
	snprintf(r->line, sizeof r->line, "%s %s: %s%s%s", r->pass ? "PASS" : "FAIL", title,
		 figures, f->text, more);
}

static const cJSON *list_or(const cJSON *root, const char *name, const cJSON *fallback)
{
	const cJSON *a = root ? cJSON_GetObjectItemCaseSensitive(root, name) : NULL;

	return cJSON_IsArray(a) ? a : fallback;
}

static const char *str_of(const cJSON *obj, const char *name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(s) ? s->valuestring : "";
}

static long long num_of(const cJSON *obj, const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(n) ? (long long)n->valuedouble : 0;
}

/* --- lookups by order id --------------------------------------------------- */

struct index {
	const cJSON **items;
	int n;
};

static int by_order_id(const void *a, const void *b)
{
	return strcmp(str_of(*(const cJSON *const *)a, "order_id"),
		      str_of(*(const cJSON *const *)b, "order_id"));
}

static int index_build(struct index *ix, const cJSON *list)
{
	const cJSON *it;

	ix->n = 0;
	ix->items = malloc(((size_t)cJSON_GetArraySize(list) + 1) * sizeof *ix->items);
	if (ix->items == NULL)
		return -1;
	cJSON_ArrayForEach(it, list)
		ix->items[ix->n++] = it;
	qsort(ix->items, (size_t)ix->n, sizeof *ix->items, by_order_id);
	return 0;
}

static const cJSON *index_find(const struct index *ix, const char *order_id)
{
	int lo = 0, hi = ix->n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(order_id, str_of(ix->items[mid], "order_id"));
		if (c == 0)
			return ix->items[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* --- 1. available >= 0 ----------------------------------------------------- */

static void check_available(const cJSON *products, struct invariant_result *r)
{
	struct findings f = { "", 0 };
	char figures[200];
	const cJSON *p;
	long long lowest = 0;
	const char *lowest_sku = "-";
	int n = 0;

	cJSON_ArrayForEach(p, products) {
		long long avail = num_of(p, "available");
		if (n++ == 0 || avail < lowest) {
			lowest = avail;
			lowest_sku = str_of(p, "sku");
		}
		if (avail < 0)
			finding(&f, "%s available %lld", str_of(p, "sku"), avail);
	}
	snprintf(figures, sizeof figures, "%d products, lowest available %lld (%.64s)", n, lowest,
		 lowest_sku);
	finish(r, "1 available >= 0", figures, &f);
}

/* --- 2. stock adds up ------------------------------------------------------ */

/* What confirmed orders hold of one product. */
struct held {
	const char *sku;
	long long qty;
};

static struct held *held_find(struct held *h, int n, const char *sku)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(h[i].sku, sku) == 0)
			return &h[i];
	}
	return NULL;
}

/* Each product's restocked is what the restocks applied to it add up to
 * (each restock_id once, docs/protocol.md §Topics); kept restocks of a SKU
 * that is no product are counted in *parked. */
static void check_restocks(const cJSON *products, const cJSON *restocks, struct findings *f,
			   long long *parked)
{
	const cJSON *p, *k;

	*parked = 0;
	cJSON_ArrayForEach(k, restocks) {
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(k, "applied_at");
		if (at == NULL || cJSON_IsNull(at))
			(*parked)++;
	}
	cJSON_ArrayForEach(p, products) {
		const char *sku = str_of(p, "sku");
		long long applied = 0;

		cJSON_ArrayForEach(k, restocks) {
			const cJSON *at = cJSON_GetObjectItemCaseSensitive(k, "applied_at");
			if (strcmp(str_of(k, "sku"), sku) != 0)
				continue;
			if (at != NULL && !cJSON_IsNull(at))
				applied += num_of(k, "qty");
			else
				finding(f, "restock %s of the known %s is not applied",
					str_of(k, "restock_id"), sku);
		}
		if (applied != num_of(p, "restocked"))
			finding(f, "%s restocked=%lld but its applied restocks add up to %lld", sku,
				num_of(p, "restocked"), applied);
	}
}

static void check_stock(const cJSON *products, const cJSON *orders, const cJSON *restocks,
			struct invariant_result *r)
{
	long long parked = 0;
	struct findings f = { "", 0 };
	int n = cJSON_GetArraySize(products);
	struct held *held = calloc((size_t)n + 1, sizeof *held);
	long long total = 0, avail = 0, reserved = 0, confirmed = 0;
	char figures[300];
	const cJSON *p, *o, *it;
	int k = 0;

	if (held == NULL) {
		finding(&f, "out of memory");
		finish(r, "2 stock adds up", "", &f);
		return;
	}
	cJSON_ArrayForEach(p, products)
		held[k++].sku = str_of(p, "sku");
	cJSON_ArrayForEach(o, orders) {
		if (strcmp(str_of(o, "status"), "confirmed") != 0)
			continue;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "items")) {
			struct held *h = held_find(held, n, str_of(it, "sku"));
			confirmed += num_of(it, "qty");
			if (h != NULL)
				h->qty += num_of(it, "qty");
			else
				finding(&f, "confirmed order %s holds %lld of %s, which the inventory does not know",
					str_of(o, "order_id"), num_of(it, "qty"), str_of(it, "sku"));
		}
	}
	check_restocks(products, restocks, &f, &parked);
	k = 0;
	cJSON_ArrayForEach(p, products) {
		const char *sku = str_of(p, "sku");
		long long t = num_of(p, "initial") + num_of(p, "restocked");
		long long a = num_of(p, "available"), res = num_of(p, "reserved");

		total += t;
		avail += a;
		reserved += res;
		if (t != a + res)
			finding(&f, "%s initial+restocked=%lld but available=%lld + reserved=%lld", sku,
				t, a, res);
		if (res != held[k].qty)
			finding(&f, "%s reserved=%lld but confirmed orders hold %lld", sku, res,
				held[k].qty);
		k++;
	}
	snprintf(figures, sizeof figures,
		 "%d products, initial+restocked %lld = available %lld + reserved %lld; "
		 "confirmed orders hold %lld; %d restocks (%lld kept for unknown SKUs)", n, total,
		 avail, reserved, confirmed, cJSON_GetArraySize(restocks), parked);
	finish(r, "2 stock adds up", figures, &f);
	free(held);
}

/* --- 3. every order final -------------------------------------------------- */

static void check_final(const cJSON *orders, struct invariant_result *r)
{
	static const char *const final[] = { "confirmed", "rejected", "canceled" };
	struct findings f = { "", 0 };
	int count[4] = { 0 };
	char figures[200];
	const cJSON *o;

	cJSON_ArrayForEach(o, orders) {
		const char *st = str_of(o, "status");
		int k = 0;

		while (k < 3 && strcmp(st, final[k]) != 0)
			k++;
		count[k]++;
		if (k == 3)
			finding(&f, "order %s is %s", str_of(o, "order_id"), st);
	}
	snprintf(figures, sizeof figures, "%d orders: %d confirmed, %d rejected, %d canceled, %d not final",
		 cJSON_GetArraySize(orders), count[0], count[1], count[2], count[3]);
	finish(r, "3 every order final", figures, &f);
}

/* --- 4. the two views agree ------------------------------------------------ */

struct line {
	const char *sku;
	long long qty;
};

static int by_sku(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->sku, ((const struct line *)b)->sku);
}

/* The items as (sku, qty) sorted by sku; NULL when out of memory. */
static struct line *lines_of(const cJSON *obj, int *n)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(obj, "items");
	struct line *l = malloc(((size_t)cJSON_GetArraySize(items) + 1) * sizeof *l);
	const cJSON *it;

	*n = 0;
	if (l == NULL)
		return NULL;
	cJSON_ArrayForEach(it, items) {
		l[*n].sku = str_of(it, "sku");
		l[(*n)++].qty = num_of(it, "qty");
	}
	qsort(l, (size_t)*n, sizeof *l, by_sku);
	return l;
}

static int same_items(const cJSON *a, const cJSON *b)
{
	int na, nb, same;
	struct line *la = lines_of(a, &na), *lb = lines_of(b, &nb);

	same = la != NULL && lb != NULL && na == nb;
	for (int i = 0; same && i < na; i++)
		same = strcmp(la[i].sku, lb[i].sku) == 0 && la[i].qty == lb[i].qty;
	free(la);
	free(lb);
	return same;
}

static void order_agrees(const cJSON *o, const cJSON *res, struct findings *f)
{
	const char *id = str_of(o, "order_id"), *st = str_of(o, "status");
	const char *rst = res ? str_of(res, "status") : "missing";

	if (strcmp(st, "confirmed") == 0) {
		if (strcmp(rst, "reserved") != 0)
			finding(f, "order %s confirmed, reservation %s", id, rst);
		else if (!same_items(o, res))
			finding(f, "order %s confirmed with other items than its reservation", id);
	} else if (strcmp(st, "rejected") == 0) {
		if (strcmp(rst, "rejected") != 0)
			finding(f, "order %s rejected, reservation %s", id, rst);
	} else if (strcmp(st, "canceled") == 0) {
		if (strcmp(rst, "released") != 0 && strcmp(rst, "tombstone") != 0 &&
		    strcmp(rst, "rejected") != 0)
			finding(f, "order %s canceled, reservation %s", id, rst);
	}
}

static void check_agree(const cJSON *orders, const cJSON *reservations,
			struct invariant_result *r)
{
	static const char *const states[] = { "reserved", "rejected", "released", "tombstone" };
	struct findings f = { "", 0 };
	struct index by_res = { 0 }, by_order = { 0 };
	int count[5] = { 0 };
	char figures[300];
	const cJSON *o, *res;

	if (index_build(&by_res, reservations) != 0 || index_build(&by_order, orders) != 0) {
		finding(&f, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(o, orders)
		order_agrees(o, index_find(&by_res, str_of(o, "order_id")), &f);
	cJSON_ArrayForEach(res, reservations) {
		const char *id = str_of(res, "order_id"), *rst = str_of(res, "status");
		const cJSON *ord = index_find(&by_order, id);
		int k = 0;

		while (k < 4 && strcmp(rst, states[k]) != 0)
			k++;
		count[k]++;
		if (ord == NULL)
			finding(&f, "inventory has %s %s, the order daemon does not know it", rst, id);
		else if (k == 0 && strcmp(str_of(ord, "status"), "confirmed") != 0)
			finding(&f, "reservation %s reserved, order %s", id, str_of(ord, "status"));
	}
out:
	snprintf(figures, sizeof figures,
		 "%d orders, %d reservations (%d reserved, %d rejected, %d released, %d tombstone, %d other)",
		 cJSON_GetArraySize(orders), cJSON_GetArraySize(reservations), count[0], count[1],
		 count[2], count[3], count[4]);
	finish(r, "4 order daemon and inventory agree", figures, &f);
	free(by_res.items);
	free(by_order.items);
}

/* --- the front ------------------------------------------------------------- */

static void check_front(const cJSON *catalog, int ready, const cJSON *stock,
			struct invariant_result *r)
{
	struct findings f = { "", 0 };
	char figures[200];
	const cJSON *p, *s;
	int n = 0;

	if (ready != 200)
		finding(&f, "/readyz answers %d", ready);
	cJSON_ArrayForEach(p, catalog) {
		const char *sku = str_of(p, "sku");
		const cJSON *match = NULL;

		n++;
		cJSON_ArrayForEach(s, stock) {
			if (strcmp(str_of(s, "sku"), sku) == 0)
				match = s;
		}
		if (match == NULL)
			finding(&f, "catalog lists %s, the inventory's stock does not", sku);
		else if (num_of(match, "available") != num_of(p, "available"))
			finding(&f, "catalog says %s available %lld, the inventory %lld", sku,
				num_of(p, "available"), num_of(match, "available"));
	}
	if (n != cJSON_GetArraySize(stock))
		finding(&f, "catalog lists %d products, the inventory %d", n, cJSON_GetArraySize(stock));
	snprintf(figures, sizeof figures, "/readyz %d, catalog of %d products as the inventory has them",
		 ready, n);
	finish(r, "front ready and in step", figures, &f);
}

void invariants_evaluate(const struct shop_view *v, struct invariant_result out[INVARIANTS_COUNT])
{
	/* check.c makes sure every body has its list; this only keeps a
	 * missing one from crashing anything. */
	cJSON *none = cJSON_CreateArray();
	const cJSON *products = list_or(v->stock, "products", none);
	const cJSON *orders = list_or(v->orders, "orders", none);
	const cJSON *reservations = list_or(v->reservations, "reservations", none);
	const cJSON *restocks = list_or(v->restocks, "restocks", none);

	memset(out, 0, sizeof *out * INVARIANTS_COUNT);
	check_available(products, &out[INVARIANT_AVAILABLE]);
	check_stock(products, orders, restocks, &out[INVARIANT_STOCK]);
	check_final(orders, &out[INVARIANT_FINAL]);
	check_agree(orders, reservations, &out[INVARIANT_AGREE]);
	if (v->catalog != NULL)
		check_front(list_or(v->catalog, "products", none), v->front_ready, products,
			    &out[INVARIANT_FRONT]);
	cJSON_Delete(none);
}
