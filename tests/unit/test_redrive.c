/* Unit tests of the order daemon's re-drive sweep (order/redrive.c) on an
 * in-memory database: the bound per sweep, the backoff, and which event each
 * owed order gets again (docs/protocol.md §Crash safety, docs/design-notes.md). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "test_order.h"

#define REDRIVE_S TEST_REDRIVE_S
#define MAX_DELAY_MS (300 * 1000) /* docs/design-notes.md: at most 300 s */
#define N_MANY (ORDER_REDRIVE_BATCH + 50)

#define T_SEND "webshop/order/send"
#define T_CANCELED "webshop/order/canceled"

/* --- helpers ------------------------------------------------------------ */

/* A canonical UUID for test order number n. */
static void order_id(int n, char id[EVENT_ORDER_ID_LEN + 1])
{
	snprintf(id, EVENT_ORDER_ID_LEN + 1, "%08x-0000-4000-8000-000000000000", (unsigned)n);
}

/* Rows in the outbox for topic (and order id, when given). */
static long long outbox_rows(struct order *o, const char *topic, const char *id)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE topic = '%s'%s", topic,
		 id ? " AND json_extract(payload, '$.order_id') = ?" : "");
	return test_sql_int(o->store.db.handle, sql, id);
}

static long long outbox_distinct_orders(struct order *o, const char *topic)
{
	char sql[256];

	snprintf(sql, sizeof sql,
		 "SELECT count(DISTINCT json_extract(payload, '$.order_id')) FROM outbox"
		 " WHERE topic = '%s'", topic);
	return test_sql_int(o->store.db.handle, sql, NULL);
}

/* The redrives count and next re-drive time of an order. */
static enum db_lookup redrive_state(struct order *o, const char *id, int *redrives,
				    int64_t *next_ms)
{
	struct order_record rec;
	enum db_lookup rc = order_store_load(&o->store, id, &rec);

	*redrives = rec.redrives;
	*next_ms = rec.next_redrive_ms;
	order_record_free(&rec);
	return rc;
}

/* --- tests ------------------------------------------------------------- */

/* More orders due than the bound: one sweep takes the bound, the next the
 * rest, and a third finds nothing (the first ones wait for their backoff). */
static void test_batch_bound(void)
{
	struct order o;
	char id[EVENT_ORDER_ID_LEN + 1];
	int64_t now;
	int ok = 1;

	if (!CHECK_EQ_INT(open_order(&o), 0))
		return;
	for (int i = 0; i < N_MANY && ok; i++) {
		order_id(i + 1, id);
		ok = CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_SEND, id), CONSUMER_APPLIED);
	}
	/* the handler does not publish order/send itself: the front did */
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, NULL), 0);
	now = service_now_ms();
	CHECK_EQ_INT(order_redrive_sweep(&o, now), 0); /* nothing due before redrive_s */
	now += REDRIVE_S * 1000 + 1000;
	CHECK_EQ_INT(order_redrive_sweep(&o, now), ORDER_REDRIVE_BATCH);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, NULL), ORDER_REDRIVE_BATCH);
	CHECK_EQ_INT(order_redrive_sweep(&o, now), N_MANY - ORDER_REDRIVE_BATCH);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, NULL), N_MANY);
	CHECK_EQ_INT(outbox_distinct_orders(&o, T_SEND), N_MANY); /* each order once */
	CHECK_EQ_INT(order_redrive_sweep(&o, now), 0);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, NULL), N_MANY);
	CHECK_EQ_INT(atomic_load(&o.redriven), N_MANY);
	/* an order/send re-driven carries the order's items */
	order_id(1, id);
	CHECK_EQ_INT(test_sql_int(o.store.db.handle,
			   "SELECT count(*) FROM outbox WHERE json_extract(payload, '$.order_id') = ?"
			   " AND json_extract(payload, '$.items[0].sku') = 'A'"
			   " AND json_extract(payload, '$.items[0].qty') = 3",
			   id),
		     1);
	close_order(&o);
}

/* Each re-drive waits twice as long as the one before, up to the cap. */
static void test_backoff(void)
{
	static const int64_t want_s[] = { 10, 20, 40, 80, 160, 300, 300 };
	struct order o;
	char id[EVENT_ORDER_ID_LEN + 1];
	int64_t now, next = 0;
	int redrives = -1;

	if (!CHECK_EQ_INT(open_order(&o), 0))
		return;
	order_id(7, id);
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_SEND, id), CONSUMER_APPLIED);
	CHECK_EQ_INT(redrive_state(&o, id, &redrives, &next), DB_FOUND);
	CHECK_EQ_INT(redrives, 0);
	now = next;
	for (size_t i = 0; i < sizeof want_s / sizeof *want_s; i++) {
		/* a millisecond early: not yet */
		CHECK_EQ_INT(order_redrive_sweep(&o, now - 1), 0);
		CHECK_EQ_INT(order_redrive_sweep(&o, now), 1);
		if (CHECK_EQ_INT(redrive_state(&o, id, &redrives, &next), DB_FOUND)) {
			CHECK_EQ_INT(redrives, (int)i + 1);
			CHECK_EQ_INT(next - now, want_s[i] * 1000);
			CHECK_TRUE(next - now <= MAX_DELAY_MS);
		}
		now = next;
	}
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, id), (long long)(sizeof want_s / sizeof *want_s));
	close_order(&o);
}

/* A canceled order is owed order/canceled (not order/send) until the
 * inventory answers released; then nothing more. */
static void test_canceled_until_released(void)
{
	struct order o;
	char canceled[EVENT_ORDER_ID_LEN + 1], released[EVENT_ORDER_ID_LEN + 1];
	char pending[EVENT_ORDER_ID_LEN + 1];
	int64_t now;

	if (!CHECK_EQ_INT(open_order(&o), 0))
		return;
	order_id(100, canceled);
	order_id(101, released);
	order_id(102, pending);
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_SEND, canceled), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_CANCEL, canceled), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_SEND, released), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_CANCEL, released), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_RELEASED, released), CONSUMER_APPLIED);
	/* a bare cancel (the order itself never arrived) is owed it too */
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_CANCEL, pending), CONSUMER_APPLIED);
	/* the cancel handler published order/canceled once for each */
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, canceled), 1);
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, released), 1);
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, pending), 1);

	now = service_now_ms() + REDRIVE_S * 1000 + 1000;
	CHECK_EQ_INT(order_redrive_sweep(&o, now), 2);
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, canceled), 2);
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, pending), 2);
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, released), 1);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, NULL), 0);
	/* again after the backoff, until released arrives */
	now += 2 * REDRIVE_S * 1000;
	CHECK_EQ_INT(order_redrive_sweep(&o, now), 2);
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, canceled), 3);
	CHECK_EQ_INT(APPLY(&o, EVENT_RELEASED, canceled), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_RELEASED, pending), CONSUMER_APPLIED);
	now += 3600 * 1000;
	CHECK_EQ_INT(order_redrive_sweep(&o, now), 0);
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, canceled), 3);
	CHECK_EQ_INT(outbox_rows(&o, T_CANCELED, pending), 3);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, NULL), 0);
	close_order(&o);
}

/* The admin's re-drive: a pending order gets its order/send again at once,
 * before its time; an unknown one is told apart; a final one owes nothing. */
static void test_redrive_now(void)
{
	struct order o;
	char pending[EVENT_ORDER_ID_LEN + 1], confirmed[EVENT_ORDER_ID_LEN + 1];
	char unknown[EVENT_ORDER_ID_LEN + 1];
	int64_t now = service_now_ms();

	if (!CHECK_EQ_INT(open_order(&o), 0))
		return;
	order_id(200, pending);
	order_id(201, confirmed);
	order_id(202, unknown);
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_SEND, pending), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_ORDER_SEND, confirmed), CONSUMER_APPLIED);
	CHECK_EQ_INT(APPLY(&o, EVENT_IN_STOCK, confirmed), CONSUMER_APPLIED);
	/* not due yet: the sweep alone does nothing (positive control below) */
	CHECK_EQ_INT(order_redrive_sweep(&o, now), 0);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, pending), 0);
	CHECK_EQ_INT(order_redrive_now(&o, pending, now), ORDER_REDRIVE_NOW_DUE);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, pending), 1);
	CHECK_EQ_INT(order_redrive_now(&o, confirmed, now), ORDER_REDRIVE_NOW_NOTHING_OWED);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, confirmed), 0);
	CHECK_EQ_INT(order_redrive_now(&o, unknown, now), ORDER_REDRIVE_NOW_UNKNOWN);
	CHECK_EQ_INT(outbox_rows(&o, T_SEND, unknown), 0);
	close_order(&o);
}

int main(void)
{
	log_init("test_redrive", LOG_LEVEL_WARN);
	test_batch_bound();
	test_backoff();
	test_canceled_until_released();
	test_redrive_now();
	return check_summary("test_redrive");
}
