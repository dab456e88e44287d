"""The shop's flows as a client sees them: catalog, order, poll, cancel."""

import http.client
import json
import random
import re
import threading
import time
import uuid

from harness import (DEFAULT_CATALOG, Cases, FINAL, POLL, assert_eq, assert_error_body, assert_in,
                     assert_status, assert_true, is_canonical_uuid, new_order_id, random_items,
                     wait_until)

ORDERS = "/api/v1/orders"


def cancel(shop, order_id, timeout=5.0):
    """POSTs a cancel; a 404 right after the order's 202 is retried for a
    moment (the order daemon may not have recorded the order yet)."""
    deadline = time.monotonic() + timeout
    while True:
        r = shop.post("%s/%s/cancel" % (ORDERS, order_id))
        if r.status != 404 or time.monotonic() >= deadline:
            return r
        time.sleep(POLL)


def assert_cancel_accepted(r, order_id, what):
    assert_status(r, 202, what)
    assert_eq(r.body.get("order_id"), order_id, what + ": order_id")
    assert_eq(r.body.get("status"), "cancel_requested", what + ": status")


def test_catalog(shop):
    r = shop.get("/api/v1/catalog")
    assert_status(r, 200, "GET /api/v1/catalog")
    assert_in("json", r.headers.get("Content-Type") or "", "catalog Content-Type")
    products = r.body.get("products")
    assert_true(isinstance(products, list), "catalog has a products array", r.body)
    got = {p["sku"]: p for p in products}
    assert_eq(sorted(got), sorted(p["sku"] for p in DEFAULT_CATALOG), "catalog SKUs")
    for want in DEFAULT_CATALOG:
        p = got[want["sku"]]
        for key in ("name", "price_cents", "currency"):
            assert_eq(p.get(key), want[key], "catalog %s %s" % (want["sku"], key))
        assert_eq(p.get("available"), want["stock"], "catalog %s available" % want["sku"])


def test_happy_order(shop):
    before = shop.catalog_by_sku()["MUG-001"]
    assert_true(before["available"] >= 2, "MUG-001 is available", before)
    r = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 2}]})
    assert_status(r, 202, "POST order")
    oid = r.body.get("order_id")
    assert_true(is_canonical_uuid(oid), "order_id is a lower-case UUID", oid)
    assert_eq(r.body.get("status"), "pending", "status in the 202 body")
    assert_eq(r.headers.get("Location"), "/api/v1/orders/%s" % oid, "Location header")

    o = shop.wait_status(oid, "confirmed")
    assert_eq(o.get("order_id"), oid, "order_id of GET order")
    assert_eq(o.get("items"), [{"sku": "MUG-001", "qty": 2, "unit_price_cents": 1200}],
              "items of the confirmed order")
    assert_eq(o.get("total_cents"), 2 * 1200, "total_cents")
    assert_true(o.get("reason") is None, "a confirmed order has no reason", o)
    assert_eq(shop.available("MUG-001"), before["available"] - 2, "MUG-001 available after the order")
    shop.check_invariants()


def test_order_ids_are_in_time_order(shop):
    # docs/design-notes.md §HTTP: a UUID v7 carries the time it was made in
    # its first 48 bits, so ids sort as the orders were placed (the
    # daemons' B-trees then grow at their end)
    ids = []
    for _ in range(3):
        r = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}]})
        assert_status(r, 202, "POST order")
        ids.append(r.body.get("order_id"))
        time.sleep(0.003)
    for oid in ids:
        u = uuid.UUID(oid)
        assert_eq(u.version, 7, "UUID version of %s" % oid)
        ms = int(u.hex[:12], 16)
        assert_true(abs(ms / 1000.0 - time.time()) < 60, "the time in %s is now" % oid, ms)
    assert_eq(sorted(ids), ids, "ids of orders placed one after another, sorted")
    # an Idempotency-Key still names its order: a UUID v5, the same each time
    keyed = [shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}]},
                       headers={"Idempotency-Key": "time-order-test"}).body.get("order_id")
             for _ in range(2)]
    assert_eq(keyed[0], keyed[1], "order id of a repeated Idempotency-Key")
    assert_eq(uuid.UUID(keyed[0]).version, 5, "UUID version of a keyed order id")
    for oid in ids + keyed[:1]:
        shop.wait_final(oid)
    shop.check_invariants()


def test_multi_line_order(shop):
    cat = shop.catalog_by_sku()
    items = [{"sku": "MUG-001", "qty": 2}, {"sku": "TEE-002", "qty": 3}, {"sku": "CAP-003", "qty": 5}]
    oid = shop.order(items)
    o = shop.wait_status(oid, "confirmed")
    prices = {i["sku"]: cat[i["sku"]]["price_cents"] for i in items}
    got = sorted((i["sku"], i["qty"], i.get("unit_price_cents")) for i in o["items"])
    assert_eq(got, sorted((i["sku"], i["qty"], prices[i["sku"]]) for i in items), "order items")
    assert_eq(o.get("total_cents"), sum(i["qty"] * prices[i["sku"]] for i in items), "total_cents")
    after = shop.catalog_by_sku()
    for i in items:
        assert_eq(after[i["sku"]]["available"], cat[i["sku"]]["available"] - i["qty"],
                  "%s available after the order" % i["sku"])
    # CAP-003 is now sold out: the next one is rejected.
    oid2 = shop.order([{"sku": "CAP-003", "qty": 1}])
    o2 = shop.wait_status(oid2, "rejected")
    assert_eq(o2.get("reason"), "insufficient_stock", "reason for a sold-out SKU")
    shop.check_invariants()


def test_out_of_stock(shop):
    before = shop.catalog_by_sku()
    oid = shop.order([{"sku": "CAP-003", "qty": before["CAP-003"]["available"] + 1}])
    o = shop.wait_status(oid, "rejected")
    assert_eq(o.get("reason"), "insufficient_stock", "reason")
    # a product with no stock at all
    oid2 = shop.order([{"sku": "BAG-005", "qty": 1}])
    o2 = shop.wait_status(oid2, "rejected")
    assert_eq(o2.get("reason"), "insufficient_stock", "reason for a product with stock 0")
    after = shop.catalog_by_sku()
    for sku in before:
        assert_eq(after[sku]["available"], before[sku]["available"], "%s available unchanged" % sku)
    shop.check_invariants()


def test_unknown_sku(shop):
    r = shop.post(ORDERS, {"items": [{"sku": "NOPE-999", "qty": 1}]})
    assert_status(r, 202, "POST order with an unknown SKU")
    o = shop.wait_status(r.body["order_id"], "rejected")
    assert_eq(o.get("reason"), "unknown_sku", "reason")
    # the longest valid SKU (64 characters) is accepted and is unknown too
    r = shop.post(ORDERS, {"items": [{"sku": "A" * 64, "qty": 1}]})
    assert_status(r, 202, "POST order with a 64-character SKU")
    o = shop.wait_status(r.body["order_id"], "rejected")
    assert_eq(o.get("reason"), "unknown_sku", "reason for the 64-character SKU")
    shop.check_invariants()


def test_all_or_nothing(shop):
    before = shop.catalog_by_sku()
    # second line impossible: too many
    oid = shop.order([{"sku": "MUG-001", "qty": 3}, {"sku": "PIN-004", "qty": 2}])
    o = shop.wait_status(oid, "rejected")
    assert_eq(o.get("reason"), "insufficient_stock", "reason")
    # first line impossible: unknown
    oid2 = shop.order([{"sku": "NOPE-1", "qty": 1}, {"sku": "TEE-002", "qty": 1}])
    o2 = shop.wait_status(oid2, "rejected")
    assert_eq(o2.get("reason"), "unknown_sku", "reason")
    after = shop.catalog_by_sku()
    for sku in ("MUG-001", "PIN-004", "TEE-002"):
        assert_eq(after[sku]["available"], before[sku]["available"],
                  "%s available after rejected orders (all or nothing)" % sku)
    res = shop.inv("/reservations/%s" % oid)
    assert_status(res, 200, "inventory reservation of the rejected order")
    assert_eq(res.body.get("status"), "rejected", "reservation status")
    shop.check_invariants()


def test_cancel_confirmed_order(shop):
    before = shop.available("MUG-001")
    oid = shop.order([{"sku": "MUG-001", "qty": 3}])
    shop.wait_status(oid, "confirmed")
    assert_eq(shop.available("MUG-001"), before - 3, "available after the order")

    assert_cancel_accepted(shop.post("%s/%s/cancel" % (ORDERS, oid)), oid, "first cancel")
    shop.wait_status(oid, "canceled")
    shop.wait_available("MUG-001", before)
    # the second cancel is accepted again and changes nothing
    assert_cancel_accepted(shop.post("%s/%s/cancel" % (ORDERS, oid)), oid, "second cancel")
    shop.check_invariants()
    assert_eq(shop.available("MUG-001"), before, "available after two cancels (returned once)")
    o = shop.get("%s/%s" % (ORDERS, oid))
    assert_eq(o.body.get("status"), "canceled", "status after the second cancel")
    res = shop.inv("/reservations/%s" % oid)
    assert_eq(res.body.get("status"), "released", "inventory reservation after the cancel")


def test_cancel_right_after_order(shop):
    before = shop.catalog_by_sku()
    ids = []
    for _ in range(5):
        oid = shop.order([{"sku": "TEE-002", "qty": 2}, {"sku": "MUG-001", "qty": 1}])
        assert_cancel_accepted(cancel(shop, oid), oid, "cancel right after the order")
        ids.append(oid)
    for oid in ids:
        shop.wait_status(oid, "canceled")
    shop.check_invariants()
    after = shop.catalog_by_sku()
    for sku in ("TEE-002", "MUG-001"):
        assert_eq(after[sku]["available"], before[sku]["available"],
                  "%s available after canceled orders" % sku)


def test_cancel_rejected_order(shop):
    before = shop.available("PIN-004")
    oid = shop.order([{"sku": "PIN-004", "qty": 5}])
    shop.wait_status(oid, "rejected")
    assert_cancel_accepted(shop.post("%s/%s/cancel" % (ORDERS, oid)), oid, "cancel of a rejected order")
    shop.wait_status(oid, "canceled")  # docs/protocol.md: canceled wins over all
    shop.check_invariants()
    assert_eq(shop.available("PIN-004"), before, "PIN-004 available")


def test_unknown_order(shop):
    oid = new_order_id()
    r = shop.get("%s/%s" % (ORDERS, oid))
    assert_status(r, 404, "GET of an unknown order")
    assert_error_body(r, "GET of an unknown order")
    r = shop.post("%s/%s/cancel" % (ORDERS, oid))
    assert_status(r, 404, "cancel of an unknown order")
    assert_error_body(r, "cancel of an unknown order")
    assert_eq(shop.ord("/orders").body.get("orders"), [], "orders after a cancel of an unknown order")


def test_malformed_order_id(shop):
    bad = ["not-a-uuid", "..%2Fx", "..%2F..%2Fetc%2Fpasswd", "1234", "x" * 36,
           "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", new_order_id() + "0",
           new_order_id()[:-1], "%00", "%20" + new_order_id()[3:], "../x"]
    def check(method, path):
        r = shop.request(method, path)
        assert_status(r, 400, "%s %s" % (method, path))
        assert_error_body(r, "%s %s" % (method, path))

    with Cases("malformed order ids") as c:
        for oid in bad:
            c.check(check, "GET", "%s/%s" % (ORDERS, oid))
            c.check(check, "POST", "%s/%s/cancel" % (ORDERS, oid))
    assert_status(shop.get("/readyz"), 200, "readyz after malformed ids")


def test_idempotency_key(shop):
    before = shop.available("MUG-001")
    items = [{"sku": "MUG-001", "qty": 4}]
    key = {"Idempotency-Key": "it-key-%s" % new_order_id()}
    r1 = shop.post(ORDERS, {"items": items}, key)
    assert_status(r1, 202, "first POST with an Idempotency-Key")
    r2 = shop.post(ORDERS, {"items": items}, key)
    assert_status(r2, 202, "retry with the same Idempotency-Key")
    assert_eq(r2.body.get("order_id"), r1.body.get("order_id"), "order id of the retry")
    r3 = shop.post(ORDERS, {"items": items}, {"Idempotency-Key": "it-other-%s" % new_order_id()})
    assert_status(r3, 202, "POST with another Idempotency-Key")
    assert_true(r3.body.get("order_id") != r1.body.get("order_id"),
                "another key gives another order id", r3.body)
    shop.wait_status(r1.body["order_id"], "confirmed")
    shop.wait_status(r3.body["order_id"], "confirmed")
    shop.check_invariants()
    assert_eq(shop.available("MUG-001"), before - 8, "MUG-001 available (the retry took stock once)")
    assert_eq(len(shop.ord("/orders").body["orders"]), 2, "number of orders")


def test_idempotency_key_reused_with_other_items(shop):
    before = shop.available("MUG-001")
    key = {"Idempotency-Key": "it-reuse-%s" % new_order_id()}
    r1 = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 2}]}, key)
    assert_status(r1, 202, "first POST with an Idempotency-Key")
    shop.wait_status(r1.body["order_id"], "confirmed")
    r2 = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 3}]}, key)
    assert_status(r2, 422, "same Idempotency-Key with other items")
    assert_eq(r2.body.get("error"), "idempotency_key_reused", "error code")
    assert_true(isinstance(r2.body.get("message"), str), "error message", r2.body)
    # the same lines in another order are the same order, not a conflict
    two = {"Idempotency-Key": "it-two-%s" % new_order_id()}
    r3 = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}, {"sku": "TEE-002", "qty": 1}]}, two)
    assert_status(r3, 202, "two-line keyed order")
    shop.wait_status(r3.body["order_id"], "confirmed")
    r4 = shop.post(ORDERS, {"items": [{"sku": "TEE-002", "qty": 1}, {"sku": "MUG-001", "qty": 1}]}, two)
    assert_status(r4, 202, "retry with the lines in another order")
    assert_eq(r4.body.get("order_id"), r3.body.get("order_id"), "order id of the retry")
    shop.check_invariants()
    assert_eq(shop.available("MUG-001"), before - 3, "MUG-001 available (first version stands)")


def test_idempotency_key_reused_while_order_daemon_down(shop):
    """The front refuses a reused key with 422 only when it can see the first
    order; with the order daemon down it hands both versions to the bus, and
    the daemons dead-letter the second as a conflict: the first stands."""
    before = shop.available("MUG-001")
    key = {"Idempotency-Key": "it-unseen-%s" % new_order_id()}
    first, second = [{"sku": "MUG-001", "qty": 2}], [{"sku": "MUG-001", "qty": 5}]
    shop.stop("order")
    r1 = shop.post(ORDERS, {"items": first}, key)
    assert_status(r1, 202, "first POST with an Idempotency-Key, order daemon down")
    oid = r1.body["order_id"]
    r2 = shop.post(ORDERS, {"items": second}, key)
    assert_status(r2, 202, "same key with other items, order daemon down (the front cannot see "
                  "the first order)")
    assert_eq(r2.body.get("order_id"), oid, "order id of the second version")
    # the inventory reserved the first version and dead-lettered the second
    wait_until(lambda: shop.metric("inventory", "shop_inventory_conflicts_total") == 1,
               10 * shop.build.slow, "inventory shop_inventory_conflicts_total == 1")

    shop.start("order")
    o = shop.wait_status(oid, "confirmed")
    assert_eq([(i["sku"], i["qty"]) for i in o["items"]], [("MUG-001", 2)],
              "items of the order (the first version stands)")
    wait_until(lambda: shop.metric("order", "shop_order_conflicts_total") == 1,
               10 * shop.build.slow, "order daemon shop_order_conflicts_total == 1")
    for daemon in ("inventory", "order"):
        assert_eq(shop.metric(daemon, "shop_%s_dead_letters_total" % daemon), 1,
                  "%s shop_%s_dead_letters_total" % (daemon, daemon))
        rows = shop.dead_letters(daemon)
        assert_eq(len(rows), 1, "rows in the %s's dead_letters table (%s)" % (daemon, rows))
        topic, reason, payload = rows[0]
        assert_eq(topic, "webshop/order/send", "topic of the %s's dead letter" % daemon)
        assert_true(reason.startswith("conflict"), "reason of the %s's dead letter names a "
                    "conflict" % daemon, reason)
        body = json.loads(payload)
        assert_eq((body.get("order_id"), body.get("items")), (oid, second),
                  "the %s dead-lettered the second version" % daemon)
    shop.check_invariants()
    shop.wait_available("MUG-001", before - 2)  # stock taken once, by the first version
    r3 = shop.post(ORDERS, {"items": second}, key)
    assert_status(r3, 422, "the same key with the second version once the front can see the order")


def test_json_charset_content_type(shop):
    r = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}]},
                  {"Content-Type": "application/json; charset=utf-8"})
    assert_status(r, 202, "POST with Content-Type application/json; charset=utf-8")
    shop.wait_status(r.body["order_id"], "confirmed")
    shop.check_invariants()


def test_keep_alive(shop):
    conn = http.client.HTTPConnection("127.0.0.1", shop.front_port, timeout=10)
    try:
        sock = None
        requests = [("GET", "/api/v1/catalog", None, {}, 200),
                    ("POST", ORDERS, b"{not json", {"Content-Type": "application/json"}, 400),
                    ("GET", "/api/v1/orders/%s" % new_order_id(), None, {}, 404),
                    ("GET", "/healthz", None, {}, 200),
                    ("POST", ORDERS, b'{"items":[{"sku":"MUG-001","qty":1}]}',
                     {"Content-Type": "application/json"}, 202),
                    ("GET", "/metrics", None, {}, 200)]
        for method, path, body, headers, want in requests:
            what = "%s %s on a kept-alive connection" % (method, path)
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            assert_eq(resp.status, want, what)
            length = resp.getheader("Content-Length")
            assert_true(length is not None, what + " has a Content-Length", dict(resp.getheaders()))
            assert_eq(int(length), len(data), what + ": Content-Length")
            assert_true((resp.getheader("Connection") or "").lower() != "close",
                        what + ": server keeps the connection open", dict(resp.getheaders()))
            if sock is None:
                sock = conn.sock
            assert_true(conn.sock is sock and sock is not None, what + ": same TCP connection")
            if want == 202:
                shop.accepted.add(json.loads(data)["order_id"])
    finally:
        conn.close()
    shop.check_invariants()


def _parse_metrics(text):
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                types[parts[2]] = parts[3]
            continue
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        assert_true(m is not None, "a Prometheus sample line", line)
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        samples.append((m.group(1), labels, float(m.group(4))))
    return types, samples


def check_front_metrics(shop, broker_up=True):
    r = shop.get("/metrics")
    assert_status(r, 200, "GET /metrics")
    assert_true((r.headers.get("Content-Type") or "").startswith("text/plain"),
                "/metrics is text/plain", r.headers.get("Content-Type"))
    types, samples = _parse_metrics(r.text)
    # a requests counter by route and status
    counters = [n for n, t in types.items() if t == "counter" and "request" in n]
    assert_true(counters, "a requests counter (# TYPE ..request.. counter)", r.text)
    by_route = [(n, l, v) for n, l, v in samples
                if n in counters or (n.endswith("_total") and n[:-6] in counters)]
    found = [s for s in by_route
             if any("order" in v for v in s[1].values()) and "202" in s[1].values()]
    assert_true(found, "requests counter has a sample for the orders route with status 202",
                [s for s in by_route][:20])
    found = [s for s in by_route
             if any("catalog" in v for v in s[1].values()) and "200" in s[1].values() and s[2] >= 1]
    assert_true(found, "requests counter has a sample for the catalog route with status 200",
                [s for s in by_route][:20])
    # a publish latency histogram
    hists = [n for n, t in types.items() if t == "histogram" and "publish" in n]
    assert_true(hists, "a publish latency histogram (# TYPE ..publish.. histogram)", r.text)
    buckets = [s for s in samples if s[0] == hists[0] + "_bucket" and "le" in s[1]]
    assert_true(buckets, "%s_bucket{le=...} lines" % hists[0], r.text)
    inf = [s for s in buckets if s[1]["le"] == "+Inf"]
    assert_true(inf and inf[0][2] >= 1, "%s has counted the publish of the order" % hists[0], inf)
    assert_eq(broker_gauge(r.text), 1.0 if broker_up else 0.0, "value of the broker connection gauge")


def broker_gauge(text):
    """The value of the front's broker connection gauge."""
    types, samples = _parse_metrics(text)
    gauges = [n for n, t in types.items() if t == "gauge" and ("broker" in n or "mqtt" in n)]
    assert_true(gauges, "a broker connection gauge (# TYPE ..broker.. gauge)", text)
    values = [v for n, l, v in samples if n == gauges[0]]
    assert_true(values, "a sample of %s" % gauges[0], text)
    return values[0]


def test_many_keep_alive_clients(shop):
    """Clients that keep their connections open (browsers, proxies) must not
    starve the ones after them: civetweb gives each connection a thread."""
    n = 64
    conns = [http.client.HTTPConnection("127.0.0.1", shop.front_port, timeout=5) for _ in range(n)]
    try:
        for rnd in range(2):
            t0 = time.monotonic()
            for i, c in enumerate(conns):
                c.request("GET", "/healthz")
                resp = c.getresponse()
                resp.read()
                assert_eq(resp.status, 200, "GET /healthz on kept-alive connection %d, round %d" % (i, rnd))
            took = time.monotonic() - t0
            assert_true(took < 3 * shop.build.slow,
                        "%d open keep-alive clients each answered at once (round %d)" % (n, rnd),
                        "%.1f s" % took)
    finally:
        for c in conns:
            c.close()


def test_health_ready_metrics(shop):
    r = shop.get("/healthz")
    assert_status(r, 200, "GET /healthz")
    r = shop.get("/readyz")
    assert_status(r, 200, "GET /readyz with everything up")
    shop.get("/api/v1/catalog")
    oid = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(oid, "confirmed")
    check_front_metrics(shop)
    for name, get in (("inventory", shop.inv), ("order", shop.ord)):
        r = get("/healthz")
        assert_status(r, 200, "%s /healthz" % name)
        assert_eq(r.body.get("broker"), "connected", "%s /healthz broker" % name)
        r = get("/metrics")
        assert_status(r, 200, "%s /metrics" % name)
        _parse_metrics(r.text)
    shop.check_invariants()


def test_concurrent_orders(shop):
    threads, errors = [], []
    lock = threading.Lock()
    cancels = set()
    n_threads, per_thread = 8, 25

    def worker(seed):
        rng = random.Random(seed)
        try:
            mine = []
            for i in range(per_thread):
                items = random_items(rng)
                if rng.random() < 0.15:  # some far over stock
                    items[0]["qty"] = 50
                r = shop.post(ORDERS, {"items": items})
                assert_status(r, 202, "POST order %s" % items)
                oid = r.body["order_id"]
                mine.append(oid)
                roll = rng.random()
                if roll < 0.1:  # cancel at once, maybe before it is decided
                    assert_cancel_accepted(cancel(shop, oid), oid, "cancel at once")
                    with lock:
                        cancels.add(oid)
                elif roll < 0.2 and len(mine) > 2:  # cancel an earlier one
                    old = mine[rng.randrange(len(mine) - 1)]
                    assert_cancel_accepted(cancel(shop, old), old, "cancel of an earlier order")
                    with lock:
                        cancels.add(old)
        except BaseException as e:  # noqa: B902 - reported by the main thread
            with lock:
                errors.append(e)

    t0 = time.monotonic()
    for k in range(n_threads):
        t = threading.Thread(target=worker, args=(1000 + k,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    assert_eq(len(shop.accepted), n_threads * per_thread, "accepted orders")
    statuses = {}
    for oid in sorted(shop.accepted):
        statuses[oid] = shop.wait_final(oid, timeout=30)["status"]
    # an order may be final (rejected, confirmed) before its accepted cancel
    # is applied; the cancel then wins
    for oid in sorted(cancels):
        statuses[oid] = shop.wait_status(oid, "canceled", timeout=30)["status"]
    counts = {s: sum(1 for v in statuses.values() if v == s) for s in FINAL}
    assert_true(counts["confirmed"] > 0 and counts["rejected"] > 0,
                "a mix of confirmed and rejected orders", counts)
    shop.check_invariants(timeout=30)
    dt = time.monotonic() - t0
    assert_true(dt < 60 * shop.build.slow, "%d orders done within 60 s" % len(statuses), "%.1fs" % dt)
