/* The invariants of docs/protocol.md, evaluated on the daemons' listings (read through
 * the front's admin API or their internal HTTP, docs/internals.md): one
 * PASS/FAIL line with figures each. */
#ifndef SHOP_REPLAY_INVARIANTS_H
#define SHOP_REPLAY_INVARIANTS_H

struct cJSON;

/* One snapshot of the shop, as parsed JSON bodies. */
struct shop_view {
	const struct cJSON *stock;        /* inventory GET /stock (front: admin/stock) */
	const struct cJSON *reservations; /* inventory GET /reservations (admin/reservations) */
	const struct cJSON *orders;       /* order daemon GET /orders (admin/orders) */
	const struct cJSON *restocks;     /* inventory GET /restocks (admin/restocks) */
	const struct cJSON *catalog;      /* front GET /api/v1/catalog; NULL: front not checked */
	int front_ready;                  /* HTTP status of the front's /readyz */
};

enum {
	INVARIANT_AVAILABLE = 0, /* 1. available >= 0 */
	INVARIANT_STOCK,         /* 2. initial + restocked = available + reserved = ... */
	INVARIANT_FINAL,         /* 3. every order final */
	INVARIANT_AGREE,         /* 4. the two views agree */
	INVARIANT_FRONT,         /* the front is ready and shows the inventory's stock */
	INVARIANTS_COUNT,
};

struct invariant_result {
	int checked;
	int pass;
	char line[2048]; /* "PASS 1 ...: figures" or "FAIL ...: figures; problems" */
};

void invariants_evaluate(const struct shop_view *v, struct invariant_result out[INVARIANTS_COUNT]);

#endif
