"""Load shedding: when the daemons run behind, the front answers new orders
503 overloaded with Retry-After instead of queueing them without bound."""

import time

from harness import (assert_eq, assert_error_body, assert_true, metric, wait_until)

ORDERS = "/api/v1/orders"
ITEM = [{"sku": "MUG-001", "qty": 1}]


def _shed_total(shop):
    return metric(shop.get("/metrics").text, "shop_front_orders_shed_total")


def test_front_sheds_while_daemons_run_behind(shop):
    for name, get in (("inventory", shop.inv), ("order", shop.ord)):
        h = get("/healthz")
        assert_eq(h.body.get("lag_ms"), 0, "%s /healthz lag_ms of an idle shop" % name)
    assert_eq(_shed_total(shop), 0, "orders shed before any load")

    # A backlog the inventory must work through: 40 orders wait at the broker
    # while it is down, then reach it at once, 1.5 s and more after their 202.
    shop.stop("inventory")
    queued = [shop.order(ITEM) for _ in range(40)]
    time.sleep(1.6 * shop.build.slow)
    shop.start("inventory")

    overloaded = []

    def shed_seen():
        r = shop.post(ORDERS, {"items": ITEM})
        if r.status == 503:
            overloaded.append(r)
            return r
        assert_eq(r.status, 202, "POST order while the backlog drains: 202 or 503")
        return None
    wait_until(shed_seen, 5 * shop.build.slow, "a 503 overloaded while the daemons catch up",
               interval=0.05)
    r = overloaded[0]
    assert_error_body(r, "the shed POST")
    assert_eq(r.body.get("error"), "overloaded", "error code of a shed order")
    retry = r.headers.get("Retry-After")
    assert_true(retry is not None and retry.strip().isdigit(), "a shed order has Retry-After", dict(r.headers))
    assert_true(_shed_total(shop) >= 1, "shop_front_orders_shed_total counts it", _shed_total(shop))

    # Caught up, the front takes orders again by itself.
    def accepted():
        r = shop.post(ORDERS, {"items": ITEM})
        return r if r.status == 202 else None
    back = wait_until(accepted, 10 * shop.build.slow, "orders accepted again after the backlog")
    for oid in queued + [back.body["order_id"]]:
        assert_eq(shop.wait_final(oid)["status"], "confirmed", "order %s" % oid)
    shop.check_invariants()
    # nothing half-accepted: the order daemon knows exactly the 202s
    known = sorted(o["order_id"] for o in shop.ord("/orders").body["orders"])
    assert_eq(known, sorted(shop.accepted), "orders known to the order daemon (only the 202s)")
