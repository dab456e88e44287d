"""Admission control: the front limits the orders it has in flight (accepted,
not final yet, counted from each order's order/status) and answers the
excess 503 overloaded with Retry-After at once, before publishing anything,
so what it accepts is confirmed quickly; light load is never shed."""

import threading
import time

import pytest

from harness import (Shop, assert_eq, assert_error_body, assert_true, http_request, metric,
                     run_clients, wait_until)
from shop_run import RunShop

ORDERS = "/api/v1/orders"
ITEM = [{"sku": "MUG-001", "qty": 1}]
FLOOD_CATALOG = [{"sku": "FLOOD-1", "name": "Flood", "price_cents": 100, "currency": "EUR",
                  "stock": 1000000}]


# the front's own defaults (the harness turns the limit off elsewhere)
ADMISSION_ON = {"front": {"SHOP_ADMIT_MAX": "4096"}}


@pytest.fixture
def shop(build):
    with Shop(build, extra_env=ADMISSION_ON) as s:
        yield s


def _front_metric(shop, name):
    return metric(shop.get("/metrics").text, name)


def _check_shed_answer(r):
    assert_error_body(r, "the shed POST")
    assert_eq(r.body.get("error"), "overloaded", "error code of a shed order")
    retry = r.headers.get("Retry-After")
    assert_true(retry is not None and retry.strip().isdigit(), "a shed order has Retry-After",
                dict(r.headers))


def test_light_load_is_never_shed(shop):
    # positive control of the tests below: orders one after another, each
    # final before the next, are all accepted and nothing counts as shed
    ids = []
    for _ in range(40):
        ids.append(shop.order(ITEM))
        shop.wait_final(ids[-1])
    assert_eq(_front_metric(shop, "shop_front_orders_shed_total"), 0, "orders shed at light load")
    limit = _front_metric(shop, "shop_front_orders_in_flight_limit")
    assert_true(limit is not None and limit >= 8, "the front reports its limit", limit)
    for oid in ids:
        assert_eq(shop.wait_final(oid)["status"], "confirmed", "order %s" % oid)
    shop.check_invariants()


def test_flood_is_shed_and_accepted_orders_confirm(build):
    # A low ceiling, so that the flood of this test is over it whatever the
    # machine: at most 10 orders in flight at any moment.
    limit, seconds, clients = 10, 2.0, 12
    env = {"front": {"SHOP_ADMIT_MAX": str(limit), "SHOP_ADMIT_MIN": "2"}}
    with Shop(build, catalog=FLOOD_CATALOG, extra_env=env) as shop:
        answers, lock = [], threading.Lock()
        in_flight_seen = []
        start = time.monotonic()

        def client(_):
            while time.monotonic() - start < seconds:
                r = shop.post(ORDERS, {"items": [{"sku": "FLOOD-1", "qty": 1}]})
                with lock:
                    answers.append(r)

        def watch():
            while time.monotonic() - start < seconds:
                in_flight_seen.append(_front_metric(shop, "shop_front_orders_in_flight"))
                time.sleep(0.05)

        run_clients(clients, client, during=watch)
        codes = [r.status for r in answers]
        shed = [r for r in answers if r.status == 503]
        assert_eq(sorted(set(codes)), [202, 503], "answers to the flood: some accepted, some shed")
        for r in shed:
            _check_shed_answer(r)
        assert_eq(_front_metric(shop, "shop_front_orders_shed_total"), len(shed),
                  "shop_front_orders_shed_total counts the 503s")
        # the limit is a limit: never more than `limit` orders in flight, and
        # the count is real: some were in flight while the flood ran
        assert_true(max(in_flight_seen) <= limit,
                    "orders in flight within the limit of %d" % limit, max(in_flight_seen))
        assert_true(max(in_flight_seen) > 0, "orders counted in flight during the flood",
                    in_flight_seen)
        for oid in shop.accepted:
            assert_eq(shop.wait_final(oid)["status"], "confirmed", "order %s" % oid)
        shop.check_invariants()
        known = sorted(o["order_id"] for o in shop.ord("/orders").body["orders"])
        assert_eq(known, sorted(shop.accepted), "orders known to the order daemon (only the 202s)")
        # every accepted order's final status reached the front: none is
        # counted in flight any more, so a new order is accepted at once
        wait_until(lambda: _front_metric(shop, "shop_front_orders_in_flight") == 0,
                   5 * shop.build.slow, "no order in flight once all are final")
        oid = shop.order([{"sku": "FLOOD-1", "qty": 1}])
        assert_eq(shop.wait_final(oid)["status"], "confirmed", "an order after the flood")


def test_limit_shrinks_while_orders_wait(shop):
    # With the inventory down the orders only wait: their age (the order
    # daemon's lag_ms) passes the target, the limit shrinks and every
    # accepted order stays in flight, so even one client at a time, never
    # shed at light load (above), is soon answered 503.
    initial = _front_metric(shop, "shop_front_orders_in_flight_limit")
    shop.stop("inventory")
    shed = []

    def shed_seen():
        r = shop.post(ORDERS, {"items": ITEM})
        if r.status == 503:
            shed.append(r)
            return r
        assert_eq(r.status, 202, "POST order while the inventory is down: 202 or 503")
        return None
    wait_until(shed_seen, 20 * shop.build.slow, "a 503 overloaded while orders wait", interval=0.02)
    _check_shed_answer(shed[0])
    assert_true(len(shop.accepted) >= 8, "orders accepted before the limit was reached",
                len(shop.accepted))
    wait_until(lambda: _front_metric(shop, "shop_front_orders_in_flight_limit") < initial,
               5 * shop.build.slow, "the limit below its initial %s" % initial)

    shop.start("inventory")

    def accepted():
        r = shop.post(ORDERS, {"items": ITEM})
        return r if r.status == 202 else None
    wait_until(accepted, 15 * shop.build.slow, "orders accepted again once they are confirmed")
    for oid in shop.accepted:
        assert_eq(shop.wait_final(oid)["status"], "confirmed", "order %s" % oid)
    shop.check_invariants()
    known = sorted(o["order_id"] for o in shop.ord("/orders").body["orders"])
    assert_eq(known, sorted(shop.accepted), "orders known to the order daemon (only the 202s)")


def test_two_fronts_each_limit_their_own_orders(build):
    # The bridged topology (SHOP_EDGES=2): each front counts its own orders
    # in flight from the order/status its edge gets over the bridge. Both
    # are flooded at once, straight at their ports, over a low ceiling.
    limit, seconds, clients = 5, 2.0, 6
    env = {"SHOP_ADMIT_MAX": str(limit), "SHOP_ADMIT_MIN": "2"}
    with RunShop(build, edges=2, catalog=FLOOD_CATALOG, run_env=env) as shop:
        ports = shop.front_ports()
        assert_eq(len(ports), 2, "fronts of SHOP_EDGES=2")
        answers, lock = {p: [] for p in ports}, threading.Lock()
        in_flight_seen = {p: [] for p in ports}
        start = time.monotonic()

        def client(i):
            port = ports[i % len(ports)]
            while time.monotonic() - start < seconds:
                r = http_request(port, "POST", ORDERS, {"items": [{"sku": "FLOOD-1", "qty": 1}]})
                with lock:
                    answers[port].append(r)
                    if r.status == 202:
                        shop.accepted.add(r.body["order_id"])

        def watch():
            while time.monotonic() - start < seconds:
                for p in ports:
                    in_flight_seen[p].append(metric(http_request(p, "GET", "/metrics").text,
                                                    "shop_front_orders_in_flight"))
                time.sleep(0.05)

        run_clients(len(ports) * clients, client, during=watch)
        for p in ports:
            codes = sorted(set(r.status for r in answers[p]))
            assert_eq(codes, [202, 503], "answers of the front on port %d" % p)
            for r in answers[p]:
                if r.status == 503:
                    _check_shed_answer(r)
            assert_true(0 < max(in_flight_seen[p]) <= limit,
                        "orders in flight at the front on port %d within its limit of %d"
                        % (p, limit), in_flight_seen[p])
        for oid in sorted(shop.accepted):
            assert_eq(shop.wait_final(oid)["status"], "confirmed", "order %s" % oid)
        for p in ports:
            wait_until(lambda: metric(http_request(p, "GET", "/metrics").text,
                                      "shop_front_orders_in_flight") == 0,
                       5 * shop.build.slow,
                       "no order in flight at the front on port %d once all are final" % p)
        shop.check_invariants()
