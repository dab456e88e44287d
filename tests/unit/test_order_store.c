/* Unit tests of the order daemon's store and topic handlers (order/order_store.c,
 * order_apply.c, on_*.c) on in-memory databases, without a broker: the join
 * rules of docs/protocol.md §Order state: convergent, not ordered. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "test_order.h"

#define T_CANCELED "webshop/order/canceled"
#define T_STATUS "webshop/order/status"

/* --- helpers ------------------------------------------------------------ */

/* Loads an order into rec; the caller frees it. */
static enum db_lookup load(struct order *o, const char *id, struct order_record *rec)
{
	return order_store_load(&o->store, id, rec);
}

static long long canceled_rows(struct order *o, const char *id)
{
	return test_sql_int(o->store.db.handle, "SELECT count(*) FROM outbox WHERE topic = '" T_CANCELED "'"
		     " AND json_extract(payload, '$.order_id') = ?", id);
}

/* The statuses the order/status rows of an order say, in outbox order, as
 * "pending,confirmed" ("" when none). */
static void status_trail(struct order *o, const char *id, char *buf, size_t cap)
{
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(o->store.db.handle,
			       "SELECT json_extract(payload, '$.status') FROM outbox WHERE topic = '"
			       T_STATUS "' AND json_extract(payload, '$.order_id') = ? ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t used = strlen(buf);
		snprintf(buf + used, cap - used, "%s%s", used ? "," : "",
			 (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

static void expect_trail_at(const char *file, int line, struct order *o, const char *id,
			    const char *want)
{
	char got[256];

	status_trail(o, id, got, sizeof got);
	CHECK_EQ_STR_AT(file, line, got, want);
}
#define EXPECT_TRAIL(o, id, want) expect_trail_at(__FILE__, __LINE__, o, id, want)

static long long status_rows(struct order *o)
{
	return test_sql_int(o->store.db.handle,
			    "SELECT count(*) FROM outbox WHERE topic = '" T_STATUS "'", NULL);
}

/* The fields a client or the other services can observe. */
static void expect_record_at(const char *file, int line, struct order *o, const char *id,
			     enum order_status status, const char *items, const char *priced,
			     long long total, int released)
{
	struct order_record rec;

	if (CHECK_EQ_INT_AT(file, line, load(o, id, &rec), DB_FOUND)) {
		CHECK_EQ_STR_AT(file, line, order_status_name(rec.status), order_status_name(status));
		CHECK_EQ_STR_AT(file, line, rec.items, items);
		CHECK_EQ_STR_AT(file, line, rec.priced, priced);
		CHECK_EQ_INT_AT(file, line, rec.total_cents, total);
		CHECK_EQ_INT_AT(file, line, rec.released, released);
	}
	order_record_free(&rec);
}
#define EXPECT_RECORD(o, id, status, items, priced, total, released) \
	expect_record_at(__FILE__, __LINE__, o, id, status, items, priced, total, released)

/* Why an order was rejected, as GET shows it: reason and the SKU at fault. */
static void expect_reason_at(const char *file, int line, struct order *o, const char *id,
			     const char *reason, const char *sku)
{
	struct order_record rec;

	if (CHECK_EQ_INT_AT(file, line, load(o, id, &rec), DB_FOUND)) {
		CHECK_EQ_STR_AT(file, line, rec.reason, reason);
		CHECK_EQ_STR_AT(file, line, rec.reason_sku, sku);
	}
	order_record_free(&rec);
}
#define EXPECT_REASON(o, id, reason, sku) expect_reason_at(__FILE__, __LINE__, o, id, reason, sku)

/* --- tests ------------------------------------------------------------- */

static void test_send_then_outcomes(struct order *o)
{
	struct order_record rec;

	CHECK_EQ_INT(load(o, ID1, &rec), DB_MISSING);
	CHECK_EQ_STR(rec.order_id, ID1);
	CHECK_EQ_INT(rec.total_cents, -1);
	order_record_free(&rec);

	/* send -> pending */
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID1), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID1, ORDER_PENDING, ITEMS, NULL, -1, 0);
	if (CHECK_EQ_INT(load(o, ID1, &rec), DB_FOUND)) {
		CHECK_EQ_STR(rec.created_at, "2024-05-01T12:00:00.000Z");
		CHECK_TRUE(rec.next_redrive_ms > service_now_ms());
		CHECK_TRUE(rec.next_redrive_ms <= service_now_ms() + 5000);
		CHECK_EQ_INT(rec.final_ms, 0);
	}
	order_record_free(&rec);
	/* in-stock -> confirmed with prices and total, stamped when */
	{
		int64_t before = service_now_ms(), stamped = -1;
		CHECK_EQ_INT(APPLY(o, EVENT_IN_STOCK, ID1), CONSUMER_APPLIED);
		EXPECT_RECORD(o, ID1, ORDER_CONFIRMED, ITEMS, ITEMS_PRICED, TOTAL, 0);
		if (CHECK_EQ_INT(load(o, ID1, &rec), DB_FOUND)) {
			CHECK_TRUE(rec.final_ms >= before && rec.final_ms <= service_now_ms());
			stamped = rec.final_ms;
		}
		order_record_free(&rec);
		/* a duplicate in-stock later keeps the first stamp */
		service_sleep_ms(5);
		CHECK_EQ_INT(APPLY(o, EVENT_IN_STOCK, ID1), CONSUMER_APPLIED);
		if (CHECK_EQ_INT(load(o, ID1, &rec), DB_FOUND))
			CHECK_EQ_INT(rec.final_ms, stamped);
		order_record_free(&rec);
	}

	/* send -> out-of-stock -> rejected with the reason */
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID2), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(o, EVENT_OUT_OF_STOCK, ID2), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID2, ORDER_REJECTED, ITEMS, NULL, -1, 0);
	EXPECT_REASON(o, ID2, "insufficient_stock", "B");
	/* Neither is owed a re-drive any more; nothing was published. */
	{
		struct order_record due[8];
		int n = order_store_due(&o->store, service_now_ms() + 3600 * 1000, due, 8);
		CHECK_EQ_INT(n, 0);
		for (int i = 0; i < n; i++)
			order_record_free(&due[i]);
	}
	CHECK_EQ_INT(test_sql_int(o->store.db.handle,
				  "SELECT count(*) FROM outbox WHERE topic != '" T_STATUS "'", NULL), 0);
	/* but the fronts were told each status change, once */
	EXPECT_TRAIL(o, ID1, "pending,confirmed");
	EXPECT_TRAIL(o, ID2, "pending,rejected");
	{
		struct event ev;
		char *payload = NULL;
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(o->store.db.handle,
				       "SELECT payload FROM outbox WHERE topic = '" T_STATUS "'"
				       " ORDER BY id DESC LIMIT 1", -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				payload = strdup((const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
		if (CHECK_TRUE(payload != NULL) && TEST_DECODE(EVENT_ORDER_STATUS, payload, &ev)) {
			CHECK_EQ_STR(ev.order_id, ID2);
			CHECK_EQ_STR(ev.status, "rejected");
			CHECK_EQ_STR(ev.reason, "insufficient_stock");
			CHECK_EQ_STR(ev.sku, "B");
			CHECK_EQ_INT(ev.total_cents, -1);
		}
		free(payload);
	}
}

static void test_cancel_wins(struct order *o)
{
	long long rows = test_sql_int(o->store.db.handle, "SELECT count(*) FROM outbox", NULL);
	char *payload = NULL;

	/* over confirmed */
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_CANCEL, ID1), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID1, ORDER_CANCELED, ITEMS, ITEMS_PRICED, TOTAL, 0);
	CHECK_EQ_INT(canceled_rows(o, ID1), 1);
	/* order/canceled for the inventory, order/status for the fronts */
	CHECK_EQ_INT(test_sql_int(o->store.db.handle, "SELECT count(*) FROM outbox", NULL), rows + 2);
	EXPECT_TRAIL(o, ID1, "pending,confirmed,canceled");
	{
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(o->store.db.handle,
				       "SELECT payload FROM outbox WHERE topic = '" T_CANCELED "'"
				       " ORDER BY id DESC LIMIT 1", -1, &st,
				       NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				payload = strdup((const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
	}
	{
		struct event ev;
		if (CHECK_TRUE(payload != NULL) &&
		    TEST_DECODE(EVENT_ORDER_CANCELED, payload, &ev))
			CHECK_EQ_STR(ev.order_id, ID1);
	}
	free(payload);
	/* A late in-stock or out-of-stock does not revive it. */
	CHECK_EQ_INT(APPLY(o, EVENT_IN_STOCK, ID1), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(o, EVENT_OUT_OF_STOCK, ID1), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID1, ORDER_CANCELED, ITEMS, ITEMS_PRICED, TOTAL, 0);
	/* The canceled order is owed order/canceled until released. */
	{
		struct order_record due[8];
		int n = order_store_due(&o->store, service_now_ms() + 3600 * 1000, due, 8);
		if (CHECK_EQ_INT(n, 1))
			CHECK_EQ_STR(due[0].order_id, ID1);
		for (int i = 0; i < n; i++)
			order_record_free(&due[i]);
	}
	/* released -> released = 1, still canceled, nothing owed */
	CHECK_EQ_INT(APPLY(o, EVENT_RELEASED, ID1), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID1, ORDER_CANCELED, ITEMS, ITEMS_PRICED, TOTAL, 1);
	{
		struct order_record due[8];
		int n = order_store_due(&o->store, service_now_ms() + 3600 * 1000, due, 8);
		CHECK_EQ_INT(n, 0);
		for (int i = 0; i < n; i++)
			order_record_free(&due[i]);
	}
	/* A cancel after released publishes nothing more. */
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_CANCEL, ID1), CONSUMER_APPLIED);
	CHECK_EQ_INT(canceled_rows(o, ID1), 1);
	EXPECT_RECORD(o, ID1, ORDER_CANCELED, ITEMS, ITEMS_PRICED, TOTAL, 1);

	/* over rejected */
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_CANCEL, ID2), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID2, ORDER_CANCELED, ITEMS, NULL, -1, 0);
	CHECK_EQ_INT(canceled_rows(o, ID2), 1);
	/* over pending */
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID3), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_CANCEL, ID3), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID3, ORDER_CANCELED, ITEMS, NULL, -1, 0);
	CHECK_EQ_INT(APPLY(o, EVENT_IN_STOCK, ID3), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID3, ORDER_CANCELED, ITEMS, ITEMS_PRICED, TOTAL, 0);
	/* late answers, the release and a second cancel changed no status */
	EXPECT_TRAIL(o, ID1, "pending,confirmed,canceled");
	EXPECT_TRAIL(o, ID2, "pending,rejected,canceled");
	EXPECT_TRAIL(o, ID3, "pending,canceled");
}

static void test_cancel_before_send(struct order *o)
{
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_CANCEL, ID4), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID4, ORDER_CANCELED, NULL, NULL, -1, 0);
	CHECK_EQ_INT(canceled_rows(o, ID4), 1);
	/* first seen canceled: its one status is canceled, and the send after
	 * it (which fills in the items) is no change */
	EXPECT_TRAIL(o, ID4, "canceled");
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID4), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID4, ORDER_CANCELED, ITEMS, NULL, -1, 0);
	/* and a duplicate of that send changes nothing */
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID4), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID4, ORDER_CANCELED, ITEMS, NULL, -1, 0);
	CHECK_EQ_INT(canceled_rows(o, ID4), 1);
	EXPECT_TRAIL(o, ID4, "canceled");
}

static void test_outcome_before_send(struct order *o)
{
	struct order_record rec;

	/* in-stock first: created confirmed; the send afterwards changes nothing */
	CHECK_EQ_INT(APPLY(o, EVENT_IN_STOCK, ID5), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID5, ORDER_CONFIRMED, ITEMS, ITEMS_PRICED, TOTAL, 0);
	if (CHECK_EQ_INT(load(o, ID5, &rec), DB_FOUND))
		CHECK_EQ_STR(rec.created_at, ""); /* an answer carries no time */
	order_record_free(&rec);
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID5), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID5, ORDER_CONFIRMED, ITEMS, ITEMS_PRICED, TOTAL, 0);
	/* ... the send brings it, once */
	if (CHECK_EQ_INT(load(o, ID5, &rec), DB_FOUND))
		CHECK_EQ_STR(rec.created_at, "2024-05-01T12:00:00.000Z");
	order_record_free(&rec);

	/* out-of-stock first: created rejected, with the items it carries */
	CHECK_EQ_INT(APPLY(o, EVENT_OUT_OF_STOCK, ID6), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID6, ORDER_REJECTED, ITEMS, NULL, -1, 0);
	EXPECT_REASON(o, ID6, "insufficient_stock", "B");
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID6), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID6, ORDER_REJECTED, ITEMS, NULL, -1, 0);
	if (CHECK_EQ_INT(load(o, ID6, &rec), DB_FOUND))
		CHECK_EQ_STR(rec.created_at, "2024-05-01T12:00:00.000Z");
	order_record_free(&rec);

	/* out-of-stock without items first, then the send fills them in */
	{
		const char *json = "{\"v\":1,\"order_id\":\"" ID7 "\",\"reason\":\"unknown_sku\",\"sku\":\"Z\"}";
		CHECK_EQ_INT(APPLY_JSON(o, EVENT_OUT_OF_STOCK, json), CONSUMER_APPLIED);
		EXPECT_RECORD(o, ID7, ORDER_REJECTED, NULL, NULL, -1, 0);
		CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID7), CONSUMER_APPLIED);
		EXPECT_RECORD(o, ID7, ORDER_REJECTED, ITEMS, NULL, -1, 0);
		EXPECT_REASON(o, ID7, "unknown_sku", "Z");
	}

	/* released first (an answer to a cancel whose record we lost): canceled */
	CHECK_EQ_INT(APPLY(o, EVENT_RELEASED, ID8), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID8, ORDER_CANCELED, NULL, NULL, -1, 1);
	CHECK_EQ_INT(APPLY(o, EVENT_ORDER_SEND, ID8), CONSUMER_APPLIED);
	EXPECT_RECORD(o, ID8, ORDER_CANCELED, ITEMS, NULL, -1, 1);
}

/* Every record, in a comparable form. */
struct snapshot {
	enum order_status status;
	char items[512];
	char priced[512];
	long long total;
	int released;
	char reason[32];
};

static enum db_lookup snap(struct order *o, const char *id, struct snapshot *s)
{
	struct order_record rec;
	enum db_lookup rc = load(o, id, &rec);

	memset(s, 0, sizeof *s);
	if (rc == DB_FOUND) {
		s->status = rec.status;
		snprintf(s->items, sizeof s->items, "%s", rec.items ? rec.items : "(null)");
		snprintf(s->priced, sizeof s->priced, "%s", rec.priced ? rec.priced : "(null)");
		s->total = rec.total_cents;
		s->released = rec.released;
		snprintf(s->reason, sizeof s->reason, "%s", rec.reason);
	}
	order_record_free(&rec);
	return rc;
}

static void expect_same_snapshot_at(const char *file, int line, const struct snapshot *a,
				    const struct snapshot *b)
{
	CHECK_EQ_STR_AT(file, line, order_status_name(a->status), order_status_name(b->status));
	CHECK_EQ_STR_AT(file, line, a->items, b->items);
	CHECK_EQ_STR_AT(file, line, a->priced, b->priced);
	CHECK_EQ_INT_AT(file, line, a->total, b->total);
	CHECK_EQ_INT_AT(file, line, a->released, b->released);
	CHECK_EQ_STR_AT(file, line, a->reason, b->reason);
}

static void test_duplicates_are_noops(struct order *o)
{
	static const enum event_kind kinds[] = {
		EVENT_ORDER_SEND, EVENT_IN_STOCK, EVENT_OUT_OF_STOCK, EVENT_ORDER_CANCEL, EVENT_RELEASED,
	};
	const char *ids[] = { ID1, ID2, ID3, ID4, ID5, ID6, ID7, ID8 };

	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
			struct snapshot before, after;
			long long pushed;
			/* Apply once so the event is in the set, then again: no
			 * change, and no order/status for the fronts. */
			CHECK_EQ_INT(APPLY(o, kinds[k], ids[i]), CONSUMER_APPLIED);
			CHECK_EQ_INT(snap(o, ids[i], &before), DB_FOUND);
			pushed = status_rows(o);
			CHECK_EQ_INT(APPLY(o, kinds[k], ids[i]), CONSUMER_APPLIED);
			CHECK_EQ_INT(snap(o, ids[i], &after), DB_FOUND);
			expect_same_snapshot_at(__FILE__, __LINE__, &after, &before);
			CHECK_EQ_INT(status_rows(o), pushed);
		}
	}
}

static void test_conflicting_send(void)
{
	struct order o;
	struct event ev;
	struct snapshot before, after;
	const char *other = "{\"v\":1,\"order_id\":\"" ID1 "\",\"items\":[{\"sku\":\"A\",\"qty\":4}],"
			    "\"created_at\":\"2024-05-01T12:00:01.000Z\"}";

	if (!CHECK_EQ_INT(open_order(&o), 0))
		return;
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_SEND, ID1), CONSUMER_APPLIED);
	CHECK_EQ_INT(snap(&o, ID1, &before), DB_FOUND);
	if (TEST_DECODE(EVENT_ORDER_SEND, other, &ev))
		CHECK_EQ_INT(consumer_apply(&o.consumer, &ev, NULL, 0), CONSUMER_CONFLICT);
	CHECK_EQ_INT(snap(&o, ID1, &after), DB_FOUND);
	expect_same_snapshot_at(__FILE__, __LINE__, &after, &before);
	EXPECT_RECORD(&o, ID1, ORDER_PENDING, ITEMS, NULL, -1, 0);
	/* After confirmation too, and the first version stands. */
	CHECK_EQ_INT(APPLY(&o, EVENT_IN_STOCK, ID1), CONSUMER_APPLIED);
	CHECK_EQ_INT(consumer_apply(&o.consumer, &ev, NULL, 0), CONSUMER_CONFLICT);
	EXPECT_RECORD(&o, ID1, ORDER_CONFIRMED, ITEMS, ITEMS_PRICED, TOTAL, 0);
	/* And on a canceled tombstone once its send filled the items. */
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_CANCEL, ID2), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_SEND, ID2), CONSUMER_APPLIED);
	ev.items[0].qty = 4;
	snprintf(ev.order_id, sizeof ev.order_id, "%s", ID2);
	CHECK_EQ_INT(consumer_apply(&o.consumer, &ev, NULL, 0), CONSUMER_CONFLICT);
	EXPECT_RECORD(&o, ID2, ORDER_CANCELED, ITEMS, NULL, -1, 0);
	close_order(&o);
}

/* Two sends of one order with other items: A (the inventory saw it first and
 * decided on it) and B (the order daemon saw it first). */
#define ITEMS_A "[{\"sku\":\"A\",\"qty\":1}]"
#define ITEMS_B "[{\"sku\":\"A\",\"qty\":2}]"
#define SEND_A "{\"v\":1,\"order_id\":\"" ID1 "\",\"items\":" ITEMS_A \
	",\"created_at\":\"2024-05-01T12:00:00.000Z\"}"
#define SEND_B "{\"v\":1,\"order_id\":\"" ID1 "\",\"items\":" ITEMS_B \
	",\"created_at\":\"2024-05-01T12:00:09.000Z\"}"
#define OOS_A "{\"v\":1,\"order_id\":\"" ID1 "\",\"reason\":\"insufficient_stock\"," \
	"\"sku\":\"A\",\"items\":" ITEMS_A "}"
#define IN_STOCK_A "{\"v\":1,\"order_id\":\"" ID1 "\",\"items\":" \
	"[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":250}],\"total_cents\":250}"

/* Runs the payloads in order on a fresh store; the record of ID1 into rec. */
static void run_payloads_at(const char *file, int line, const enum event_kind *kinds,
			    const char *const *payloads, int n, const enum consumer_result *want,
			    struct order_record *rec)
{
	struct order o;

	memset(rec, 0, sizeof *rec);
	if (!CHECK_EQ_INT_AT(file, line, open_order(&o), 0))
		return;
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT_AT(file, line, APPLY_JSON(&o, kinds[i], payloads[i]), want[i]);
	CHECK_EQ_INT_AT(file, line, load(&o, ID1, rec), DB_FOUND);
	close_order(&o);
}

static void expect_decided_a_at(const char *file, int line, const struct order_record *rec,
				enum order_status status)
{
	CHECK_EQ_STR_AT(file, line, order_status_name(rec->status), order_status_name(status));
	CHECK_EQ_STR_AT(file, line, rec->items, ITEMS_A);
	CHECK_EQ_STR_AT(file, line, rec->created_at, "2024-05-01T12:00:00.000Z");
}

static void test_inventory_decides_items(void)
{
	static const enum event_kind k3[] = { EVENT_ORDER_SEND, EVENT_OUT_OF_STOCK, EVENT_ORDER_SEND };
	static const enum event_kind k3b[] = { EVENT_OUT_OF_STOCK, EVENT_ORDER_SEND, EVENT_ORDER_SEND };
	static const enum consumer_result ok_ok_ok[] = { CONSUMER_APPLIED, CONSUMER_APPLIED,
							 CONSUMER_APPLIED };
	static const enum consumer_result ok_conflict_ok[] = { CONSUMER_APPLIED, CONSUMER_CONFLICT,
							       CONSUMER_APPLIED };
	const char *b_oos_a[] = { SEND_B, OOS_A, SEND_A };
	const char *oos_b_a[] = { OOS_A, SEND_B, SEND_A };
	const char *b_in_a[] = { SEND_B, IN_STOCK_A, SEND_A };
	const char *in_b_a[] = { IN_STOCK_A, SEND_B, SEND_A };
	struct order_record rec;

	/* sendB, out-of-stock(A), sendA: rejected with A, A's time */
	run_payloads_at(__FILE__, __LINE__, k3, b_oos_a, 3, ok_ok_ok, &rec);
	expect_decided_a_at(__FILE__, __LINE__, &rec, ORDER_REJECTED);
	CHECK_EQ_STR(rec.reason, "insufficient_stock");
	order_record_free(&rec);
	/* out-of-stock(A), sendB (a conflict), sendA: the same */
	run_payloads_at(__FILE__, __LINE__, k3b, oos_b_a, 3, ok_conflict_ok, &rec);
	expect_decided_a_at(__FILE__, __LINE__, &rec, ORDER_REJECTED);
	order_record_free(&rec);
	/* in-stock likewise */
	{
		const enum event_kind k[] = { EVENT_ORDER_SEND, EVENT_IN_STOCK, EVENT_ORDER_SEND };
		const enum event_kind kb[] = { EVENT_IN_STOCK, EVENT_ORDER_SEND, EVENT_ORDER_SEND };
		run_payloads_at(__FILE__, __LINE__, k, b_in_a, 3, ok_ok_ok, &rec);
		expect_decided_a_at(__FILE__, __LINE__, &rec, ORDER_CONFIRMED);
		CHECK_EQ_INT(rec.total_cents, 250);
		order_record_free(&rec);
		run_payloads_at(__FILE__, __LINE__, kb, in_b_a, 3, ok_conflict_ok, &rec);
		expect_decided_a_at(__FILE__, __LINE__, &rec, ORDER_CONFIRMED);
		order_record_free(&rec);
	}
	/* Once decided, another send of B is a conflict and A stands. */
	{
		const enum event_kind k[] = { EVENT_ORDER_SEND, EVENT_OUT_OF_STOCK, EVENT_ORDER_SEND,
					      EVENT_ORDER_SEND };
		const char *p[] = { SEND_B, OOS_A, SEND_A, SEND_B };
		const enum consumer_result want[] = { CONSUMER_APPLIED, CONSUMER_APPLIED,
						      CONSUMER_APPLIED, CONSUMER_CONFLICT };
		run_payloads_at(__FILE__, __LINE__, k, p, 4, want, &rec);
		expect_decided_a_at(__FILE__, __LINE__, &rec, ORDER_REJECTED);
		order_record_free(&rec);
	}
	/* The answer carries the decided send's time: taken at once, over B's. */
	{
		const enum event_kind k[] = { EVENT_ORDER_SEND, EVENT_OUT_OF_STOCK, EVENT_ORDER_SEND };
		const char *p[] = { SEND_B,
				    "{\"v\":1,\"order_id\":\"" ID1 "\",\"reason\":\"invalid\","
				    "\"items\":" ITEMS_A ",\"created_at\":\"2024-05-01T12:00:00.000Z\"}",
				    SEND_B };
		const enum consumer_result want[] = { CONSUMER_APPLIED, CONSUMER_APPLIED,
						      CONSUMER_CONFLICT };
		run_payloads_at(__FILE__, __LINE__, k, p, 3, want, &rec);
		expect_decided_a_at(__FILE__, __LINE__, &rec, ORDER_REJECTED);
		order_record_free(&rec);
	}
	/* Decided before the send of A arrived: no time yet, and not pending,
	 * so the age of the pending orders does not see it. */
	{
		const enum event_kind k[] = { EVENT_ORDER_SEND, EVENT_OUT_OF_STOCK };
		const char *p[] = { SEND_B, OOS_A };
		const enum consumer_result want[] = { CONSUMER_APPLIED, CONSUMER_APPLIED };
		run_payloads_at(__FILE__, __LINE__, k, p, 2, want, &rec);
		CHECK_EQ_STR(rec.items, ITEMS_A);
		CHECK_EQ_STR(rec.created_at, "");
		order_record_free(&rec);
	}
}

/* --- convergence ------------------------------------------------------- */

/* Applies the events of one order in the given order to a fresh store and
 * snapshots the result; each event `times` times in a row. */
static int run_sequence(const enum event_kind *seq, int n, int times, struct snapshot *out)
{
	struct order o;
	int ok = 1;

	if (!CHECK_EQ_INT(open_order(&o), 0))
		return 0;
	for (int i = 0; i < n; i++)
		for (int t = 0; t < times; t++)
			ok &= CHECK_EQ_INT(APPLY(&o, seq[i], ID1), CONSUMER_APPLIED);
	ok &= CHECK_EQ_INT(snap(&o, ID1, out), DB_FOUND);
	close_order(&o);
	return ok;
}

static void seq_name(const enum event_kind *seq, int n, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "",
					 event_topic_suffix(seq[i]));
}

/* Every permutation of events gives one final state; returns how many. */
static int check_convergence(const enum event_kind *events, int n, const struct snapshot *expected)
{
	int idx[8];
	int count = 0;
	struct snapshot first;
	int have_first = 0;

	for (int i = 0; i < n; i++)
		idx[i] = i;
	do {
		enum event_kind seq[8];
		struct snapshot s, twice;
		char name[256];

		for (int i = 0; i < n; i++)
			seq[i] = events[idx[i]];
		seq_name(seq, n, name, sizeof name);
		count++;
		if (!run_sequence(seq, n, 1, &s)) {
			fprintf(stderr, "  (sequence: %s)\n", name);
			continue;
		}
		if (!have_first) {
			first = s;
			have_first = 1;
		}
		{
			int before = check_failures;
			expect_same_snapshot_at(__FILE__, __LINE__, &s, &first);
			if (expected != NULL)
				expect_same_snapshot_at(__FILE__, __LINE__, &s, expected);
			/* Every event delivered twice gives the same too. */
			if (run_sequence(seq, n, 2, &twice))
				expect_same_snapshot_at(__FILE__, __LINE__, &twice, &s);
			if (check_failures != before)
				fprintf(stderr, "  (sequence: %s)\n", name);
		}
	} while (test_next_permutation(idx, n));
	return count;
}

static void test_convergence(void)
{
	static const enum event_kind confirmed_set[] = {
		EVENT_ORDER_SEND, EVENT_IN_STOCK, EVENT_ORDER_CANCEL, EVENT_RELEASED,
	};
	static const enum event_kind rejected_set[] = {
		EVENT_ORDER_SEND, EVENT_OUT_OF_STOCK, EVENT_ORDER_CANCEL, EVENT_RELEASED,
	};
	static const enum event_kind no_cancel_set[] = { EVENT_ORDER_SEND, EVENT_IN_STOCK };
	struct snapshot expected;

	memset(&expected, 0, sizeof expected);
	expected.status = ORDER_CANCELED;
	snprintf(expected.items, sizeof expected.items, "%s", ITEMS);
	snprintf(expected.priced, sizeof expected.priced, "%s", ITEMS_PRICED);
	expected.total = TOTAL;
	expected.released = 1;
	CHECK_EQ_INT(check_convergence(confirmed_set, 4, &expected), 24);

	snprintf(expected.priced, sizeof expected.priced, "(null)");
	expected.total = -1;
	snprintf(expected.reason, sizeof expected.reason, "insufficient_stock");
	CHECK_EQ_INT(check_convergence(rejected_set, 4, &expected), 24);

	memset(&expected, 0, sizeof expected);
	expected.status = ORDER_CONFIRMED;
	snprintf(expected.items, sizeof expected.items, "%s", ITEMS);
	snprintf(expected.priced, sizeof expected.priced, "%s", ITEMS_PRICED);
	expected.total = TOTAL;
	CHECK_EQ_INT(check_convergence(no_cancel_set, 2, &expected), 2);
}

/* Sends an order accepted at created_ms (the front's created_at). */
static void send_created_at(struct order *o, const char *id, int64_t created_ms)
{
	char json[512], at[40];

	event_rfc3339(created_ms, at);
	snprintf(json, sizeof json,
		 "{\"v\":1,\"order_id\":\"%s\",\"items\":" ITEMS ",\"created_at\":\"%s\"}", id, at);
	CHECK_EQ_INT(APPLY_JSON(o, EVENT_ORDER_SEND, json), CONSUMER_APPLIED);
}

static void test_pending_age(void)
{
	struct order o;
	int64_t now = 1795549245000LL; /* 2026-11-24T19:40:45Z */
	char id[40];

	if (!CHECK_EQ_INT(open_order(&o), 0))
		return;
	CHECK_EQ_INT(order_store_pending_age(&o.store, 3, now), 0);
	/* orders accepted 5, 4, 3, 2 and 1 s before now */
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "aaaaaaaa-aaaa-4aaa-8aaa-%012d", i);
		send_created_at(&o, id, now - 5000 + i * 1000);
	}
	CHECK_EQ_INT(order_store_pending_age(&o.store, 1, now), 5000);
	CHECK_EQ_INT(order_store_pending_age(&o.store, 3, now), 3000);
	CHECK_EQ_INT(order_store_pending_age(&o.store, 6, now), 0);
	/* the oldest two are answered: the third oldest is now the 1 s one */
	CHECK_EQ_INT(APPLY(&o, EVENT_IN_STOCK, "aaaaaaaa-aaaa-4aaa-8aaa-000000000000"), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_OUT_OF_STOCK, "aaaaaaaa-aaaa-4aaa-8aaa-000000000001"), CONSUMER_APPLIED);
	CHECK_EQ_INT(order_store_pending_age(&o.store, 3, now), 1000);
	CHECK_EQ_INT(order_store_pending_age(&o.store, 1, now), 3000);
	/* an order without a time (none should be pending) does not hide the oldest */
	{
		struct order_record rec;
		CHECK_EQ_INT(load(&o, "aaaaaaaa-aaaa-4aaa-8aaa-000000000009", &rec), DB_MISSING);
		CHECK_EQ_INT(order_store_save(&o.store, &rec), 0);
		order_record_free(&rec);
		CHECK_EQ_INT(order_store_pending_age(&o.store, 1, now), 3000);
	}
	/* orders created by an answer, without a time, are not pending */
	CHECK_EQ_INT(APPLY(&o, EVENT_IN_STOCK, "aaaaaaaa-aaaa-4aaa-8aaa-000000000010"), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_OUT_OF_STOCK, "aaaaaaaa-aaaa-4aaa-8aaa-000000000011"), CONSUMER_APPLIED);
	CHECK_EQ_INT(order_store_pending_age(&o.store, 1, now), 3000);
	CHECK_EQ_INT(order_store_pending_age(&o.store, 3, now), 1000);
	close_order(&o);
}

static void test_status_names(void)
{
	CHECK_EQ_STR(order_status_name(ORDER_PENDING), "pending");
	CHECK_EQ_STR(order_status_name(ORDER_CONFIRMED), "confirmed");
	CHECK_EQ_STR(order_status_name(ORDER_REJECTED), "rejected");
	CHECK_EQ_STR(order_status_name(ORDER_CANCELED), "canceled");
}

int main(void)
{
	struct order o;

	log_init("test_order_store", LOG_LEVEL_WARN);
	test_status_names();
	if (CHECK_EQ_INT(open_order(&o), 0)) {
		test_send_then_outcomes(&o);
		test_cancel_wins(&o);
		test_cancel_before_send(&o);
		test_outcome_before_send(&o);
		test_duplicates_are_noops(&o);
		close_order(&o);
	}
	test_conflicting_send();
	test_inventory_decides_items();
	test_pending_age();
	test_convergence();
	return check_summary("test_order_store");
}
