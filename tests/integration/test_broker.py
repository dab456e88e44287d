"""The bus: broker outages, daemons that stop or crash, and what other
programs (duplicates, reordering, garbage) put on the topics."""

import json
import os
import signal
import tempfile
import shutil
import time

from harness import (POLL, Build, Shop, assert_eq, assert_error_body, assert_in, assert_status,
                     assert_true, free_ports, new_order_id, rfc3339_now, run_binary, wait_until)
from test_flows import broker_gauge, check_front_metrics

ORDERS = "/api/v1/orders"
PREFIX = "webshop/"
# The topics each daemon subscribes to (docs/protocol.md §Topics).
DAEMON_TOPICS = {
    "inventory": ("order/send", "order/canceled"),
    "order": ("order/send", "order/cancel", "inventory/in-stock", "inventory/out-of-stock",
              "inventory/released"),
}


def poll_status(shop, path, want, timeout=5.0, get=None):
    """Polls a GET until it answers `want`; returns the response."""
    get = get or shop.get
    last = []

    def ok():
        r = get(path)
        last[:] = [r]
        return r if r.status == want else None
    try:
        return wait_until(ok, timeout * shop.build.slow, "%s to answer %d" % (path, want))
    except AssertionError:
        if not last:  # never answered at all: the connection error says more
            raise
        r = last[0]
        raise AssertionError("%s: expected HTTP %d within %.0fs, got %d %s"
                             % (path, want, timeout, r.status, r.text[:300])) from None


def test_broker_down_while_running(shop):
    first = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(first, "confirmed")

    shop.stop_broker()
    r = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}]})
    assert_status(r, 503, "POST order with the broker down")
    assert_error_body(r, "POST order with the broker down")
    retry = r.headers.get("Retry-After")
    assert_true(retry is not None and retry.strip().isdigit(),
                "the 503 has a Retry-After of seconds", dict(r.headers))
    ready = poll_status(shop, "/readyz", 503)
    assert_in("broker", ready.text.lower(), "/readyz names the broker")
    for name, get in (("inventory", shop.inv), ("order", shop.ord)):
        h = poll_status(shop, "/healthz", 503, get=get)
        assert_eq(h.body.get("broker") if isinstance(h.body, dict) else h.text, "disconnected",
                  "%s /healthz broker with the broker down" % name)
    wait_until(lambda: _gauge_zero(shop), 5 * shop.build.slow, "the broker gauge to drop to 0")
    # what does not need the bus still works
    assert_status(shop.get("/api/v1/catalog"), 200, "catalog with the broker down")
    o = shop.get("%s/%s" % (ORDERS, first))
    assert_status(o, 200, "GET order with the broker down")
    assert_eq(o.body.get("status"), "confirmed", "status of the earlier order")

    shop.start_broker()
    deadline = time.monotonic() + 15 * shop.build.slow
    while True:
        r = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}]})
        if r.status == 202:
            break
        assert_status(r, 503, "POST order while the broker comes back")
        assert_true(time.monotonic() < deadline, "orders accepted within 15 s of the broker's restart")
        time.sleep(0.1)
    shop.wait_status(r.body["order_id"], "confirmed", timeout=20)
    poll_status(shop, "/readyz", 200, timeout=15)
    check_front_metrics(shop, broker_up=True)
    shop.check_invariants()
    # nothing half-accepted: the order daemon knows exactly the orders that got a 202
    known = sorted(o["order_id"] for o in shop.ord("/orders").body["orders"])
    assert_eq(known, sorted(shop.accepted), "orders known to the order daemon (only the 202s)")


def test_frozen_broker_503_orders_nothing(build):
    """A broker that takes the order but does not PUBACK in time (here: frozen
    with SIGSTOP) may still deliver it. The client got a 503, nothing was
    ordered, so the front withdraws the order: once the broker runs again it
    ends canceled and its stock stays in the shop. With an Idempotency-Key
    the retry is the same order, placed once."""
    with Shop(build, extra_args={"front": ["--publish-timeout-ms", "300"]}) as shop:
        before = shop.available("MUG-001")
        shop.kill("broker", signal.SIGSTOP)
        try:
            r = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 2}]})
            assert_status(r, 503, "POST order while the broker is frozen")
            assert_error_body(r, "POST order while the broker is frozen")
            keyed = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}]},
                              headers={"Idempotency-Key": "frozen-broker-1"})
            assert_status(keyed, 503, "keyed POST while the broker is frozen")
            assert_in("Idempotency-Key", keyed.body.get("message", ""),
                      "the keyed 503 tells the client to retry with the same key")
        finally:
            shop.kill("broker", signal.SIGCONT)
        retry = None
        deadline = time.monotonic() + 15 * shop.build.slow
        while retry is None or retry.status != 202:
            assert_true(time.monotonic() < deadline, "the keyed retry is accepted within 15 s",
                        retry and retry.text)
            time.sleep(0.2)
            retry = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}]},
                              headers={"Idempotency-Key": "frozen-broker-1"})
        shop.wait_status(retry.body["order_id"], "confirmed", timeout=20)
        shop.check_invariants()
        orders = {o["order_id"]: o for o in shop.ord("/orders").body["orders"]}
        others = [o["status"] for oid, o in orders.items() if oid != retry.body["order_id"]]
        # the frozen broker's socket took the order/send: it reached the shop
        assert_eq(others, ["canceled"], "statuses of the order that got the 503 (withdrawn)")
        assert_eq(shop.available("MUG-001"), before - 1,
                  "MUG-001 available: only the keyed order's one took stock")


def _gauge_zero(shop):
    r = shop.get("/metrics")
    assert_status(r, 200, "GET /metrics")
    return broker_gauge(r.text) == 0.0


def test_broker_down_at_start(build):
    closed, p1, p2, p3 = free_ports(4)
    url = "tcp://127.0.0.1:%d" % closed
    tmp = tempfile.mkdtemp(prefix="shop-it-nobroker-")
    try:
        runs = {
            "inventory": ["--inventory-port", str(p1)],
            "order": ["--order-port", str(p2)],
            "front": ["--front-port", str(p3), "--inventory-url", "http://127.0.0.1:%d" % p1,
                      "--order-url", "http://127.0.0.1:%d" % p2],
        }
        for name, args in runs.items():
            argv = ["--data-dir", os.path.join(tmp, name), "--broker-url", url, "--instance", "it"] + args
            t0 = time.monotonic()
            rc, out, err = run_binary(build, name, argv, timeout=10)
            what = "shop-%s with no broker at %s" % (name, url)
            assert_true(rc > 0, what + " exits with a non-zero status (not a signal)", rc)
            lines = [l for l in err.splitlines() if l.strip()]
            assert_eq(len(lines), 1, what + ": lines on stderr (%r)" % err)
            assert_in(str(closed), lines[0], what + ": the line names the broker's address")
            assert_in("refused", lines[0], what + ": the line says the connection was refused")
            assert_true(time.monotonic() - t0 < 10 * build.slow, what + " exits within 10 s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_order_daemon_down_and_back(shop):
    first = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(first, "confirmed")
    rc = shop.stop("order")
    assert_eq(rc, 0, "exit status of shop-order after SIGTERM")
    ready = poll_status(shop, "/readyz", 503)
    assert_in("order", ready.text.lower(), "/readyz names the order daemon")
    r = shop.get("%s/%s" % (ORDERS, first))
    assert_status(r, 503, "GET order with the order daemon down")
    assert_error_body(r, "GET order with the order daemon down")
    r = shop.post(ORDERS, {"items": [{"sku": "TEE-002", "qty": 2}]})
    assert_status(r, (202, 503), "POST order with the order daemon down")
    if r.status == 503:
        assert_error_body(r, "POST order with the order daemon down")
    shop.start("order")
    poll_status(shop, "/readyz", 200, timeout=10)
    if r.status == 202:  # it waited at the broker for the daemon
        shop.wait_status(r.body["order_id"], "confirmed", timeout=20)
    o = shop.wait_status(first, "confirmed")
    assert_eq(o.get("total_cents"), 1200, "the earlier order survived the restart")
    shop.check_invariants()


def test_inventory_down_and_back(shop):
    rc = shop.stop("inventory")
    assert_eq(rc, 0, "exit status of shop-inventory after SIGTERM")
    r = shop.get("/api/v1/catalog")
    assert_status(r, 503, "catalog with the inventory down")
    assert_error_body(r, "catalog with the inventory down")
    ready = poll_status(shop, "/readyz", 503)
    assert_in("inventory", ready.text.lower(), "/readyz names the inventory")
    r = shop.post(ORDERS, {"items": [{"sku": "CAP-003", "qty": 2}]})
    assert_status(r, (202, 503), "POST order with the inventory down")
    shop.start("inventory")
    poll_status(shop, "/readyz", 200, timeout=10)
    if r.status == 202:
        shop.wait_status(r.body["order_id"], "confirmed", timeout=20)
    cat = shop.catalog_by_sku()
    assert_eq(cat["CAP-003"]["available"], 5 - (2 if r.status == 202 else 0),
              "CAP-003 available after the restart (catalog loaded once)")
    shop.check_invariants()


def test_daemons_killed_mid_traffic(shop):
    """SIGKILL the daemons while orders flow: after restarts every accepted
    order is final and the stock adds up."""
    def burst(n):
        for i in range(n):
            r = shop.post(ORDERS, {"items": [{"sku": "MUG-001", "qty": 1 + i % 3},
                                             {"sku": "TEE-002", "qty": 1}]})
            assert_status(r, (202, 503), "POST order during crashes")

    burst(10)
    shop.kill("inventory", signal.SIGKILL)
    burst(10)
    shop.start("inventory")
    burst(5)
    shop.kill("order", signal.SIGKILL)
    burst(10)
    shop.start("order")
    burst(5)
    assert_true(len(shop.accepted) >= 20, "most orders accepted", len(shop.accepted))
    for oid in sorted(shop.accepted):
        shop.wait_final(oid, timeout=30)
    shop.check_invariants(timeout=30)


def test_status_topics(shop):
    def statuses():
        c = shop.mqtt()
        try:
            c.subscribe(PREFIX + "status/#")
            return {t: p for t, p in c.messages(0.3)}
        finally:
            c.close()

    def status_of(st, service):
        found = [p for t, p in st.items() if service in t.split("/")[-2] and t.endswith("/it")]
        return found[0] if found else None

    st = statuses()
    for service in ("inventory", "order", "front"):
        assert_eq(status_of(st, service), "online", "retained status of %s (topics %s)" % (service, st))
    shop.stop("order")
    wait_until(lambda: status_of(statuses(), "order") == "offline", 5, "order status offline after SIGTERM")
    shop.kill("inventory", signal.SIGKILL)
    wait_until(lambda: status_of(statuses(), "inventory") == "offline", 10,
               "inventory status offline (Last Will) after SIGKILL")
    shop.start("inventory")
    shop.start("order")
    st = statuses()
    for service in ("inventory", "order"):
        assert_eq(status_of(st, service), "online", "status of %s after the restart" % service)


def _send_event(order_id, items):
    return {"v": 1, "order_id": order_id, "items": items, "created_at": rfc3339_now()}


def test_garbage_on_the_bus(shop):
    """Payloads that fail to parse or validate are dead-lettered and
    acknowledged: they change nothing and stop nothing."""
    before = shop.catalog_by_sku()
    oid = new_order_id()
    send = '{"v":1,"order_id":"%s","items":%s,"created_at":"2024-01-01T00:00:00Z"}'
    invalid_everywhere = [
        b"not json", b"\xff\xfe\xfd", b"", b"[]", b"{}", b'{"v":1}', b"null", b"42",
        b'{"v":1,"order_id":"nope","items":[{"sku":"MUG-001","qty":1}],"created_at":"x"}',
        ('{"v":1,"order_id":"%s"' % oid).encode(),                       # truncated
        ('{"v":2,"order_id":"%s"}' % oid).encode(),                      # unknown schema version
        ('{"order_id":"%s"}' % oid).encode(),                            # no version
        ('{"v":1,"order_id":"%s"}' % oid.upper()).encode(),              # not canonical
        ('{"v":1,"order_id":"%s"} tail' % oid).encode(),                 # trailing bytes
        b'{"v":1,"order_id":"' + b"a" * 200000 + b'"}',                  # huge
        b'{"a":' * 10000,                                                # deeply nested
    ]
    per_topic = {
        "order/send": [(send % (oid, '"MUG-001"')).encode(),
                       (send % (oid, '[{"sku":"MUG-001","qty":-5}]')).encode(),
                       (send % (oid, '[{"sku":"MUG-001","qty":1.5}]')).encode(),
                       (send % (oid, '[]')).encode(),
                       (send % (oid, '[{"sku":"MUG 001","qty":1}]')).encode(),
                       ('{"v":1,"order_id":"%s","items":[{"sku":"MUG-001","qty":1}]}' % oid).encode()],
        "inventory/in-stock": [json.dumps(
            {"v": 1, "order_id": oid, "items": [{"sku": "MUG-001", "qty": 1, "unit_price_cents": 1200}],
             "total_cents": 1}).encode()],
        "inventory/out-of-stock": [json.dumps({"v": 1, "order_id": oid, "reason": "because"}).encode()],
    }
    topics = ["order/send", "order/cancel", "inventory/in-stock", "inventory/out-of-stock",
              "order/canceled", "inventory/released"]
    c = shop.mqtt()
    try:
        for topic in topics:
            for payload in invalid_everywhere + per_topic.get(topic, []):
                c.publish(PREFIX + topic, payload)
        c.publish(PREFIX + "something/else", b"ignored")
    finally:
        c.close()
    # the shop is still up and works
    good = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(good, "confirmed")
    for name, get in (("inventory", shop.inv), ("order", shop.ord)):
        assert_status(get("/healthz"), 200, "%s /healthz after garbage" % name)
    assert_status(shop.get("/readyz"), 200, "/readyz after garbage")
    assert_status(shop.ord("/orders/%s" % oid), 404, "order daemon: the invalid events created no order")
    assert_status(shop.inv("/reservations/%s" % oid), 404,
                  "inventory: the invalid events created no reservation")
    shop.check_invariants()
    assert_eq(shop.available("MUG-001"), before["MUG-001"]["available"] - 1, "MUG-001 available")

    # Each daemon kept every bad message on its topics in its dead-letter
    # table, and its log names the topic of each, for whoever reads them.
    sent = {t: len(invalid_everywhere) + len(per_topic.get(t, [])) for t in topics}
    for daemon, subscribed in DAEMON_TOPICS.items():
        want = {PREFIX + t: sent[t] for t in subscribed}

        def by_topic():
            got = {}
            for topic, _, _ in shop.dead_letters(daemon):
                got[topic] = got.get(topic, 0) + 1
            return got
        try:
            wait_until(lambda: by_topic() == want, 10 * shop.build.slow,
                       "the %s's dead letters" % daemon)
        except AssertionError:
            assert_eq(by_topic(), want, "rows per topic in the %s's dead_letters table" % daemon)
        log = shop.log_text(daemon)
        for topic in want:
            assert_in("dead-lettering a message on %s " % topic, log,
                      "the %s's log (a line naming the topic of a bad message)" % daemon)
        assert_eq(shop.metric(daemon, "shop_%s_dead_letters_total" % daemon), sum(want.values()),
                  "%s shop_%s_dead_letters_total" % (daemon, daemon))


def test_duplicate_and_reordered_events(shop):
    before = shop.catalog_by_sku()
    dup, early_cancel, conflict = new_order_id(), new_order_id(), new_order_id()
    c = shop.mqtt()
    try:
        # the same order/send three times: reserved once
        ev = _send_event(dup, [{"sku": "MUG-001", "qty": 2}])
        for _ in range(3):
            c.publish(PREFIX + "order/send", ev)
        # a cancel before its order: a tombstone, the order is never reserved
        c.publish(PREFIX + "order/cancel", {"v": 1, "order_id": early_cancel})
        c.publish(PREFIX + "order/send", _send_event(early_cancel, [{"sku": "TEE-002", "qty": 3}]))
        # the same id with other items: the first version stands
        c.publish(PREFIX + "order/send", _send_event(conflict, [{"sku": "MUG-001", "qty": 1}]))
        c.publish(PREFIX + "order/send", _send_event(conflict, [{"sku": "CAP-003", "qty": 4}]))
    finally:
        c.close()

    def final(oid):
        r = shop.ord("/orders/%s" % oid)
        return r.body if r.status == 200 and r.body.get("status") in ("confirmed", "rejected", "canceled") else None

    o = wait_until(lambda: final(dup), 15, "order %s final" % dup)
    assert_eq(o["status"], "confirmed", "status of the thrice-sent order")
    o = wait_until(lambda: final(early_cancel), 15, "order %s final" % early_cancel)
    assert_eq(o["status"], "canceled", "status of the order canceled before it was sent")
    o = wait_until(lambda: final(conflict), 15, "order %s final" % conflict)
    assert_eq(o["status"], "confirmed", "status of the conflicting order")
    assert_eq([(i["sku"], i["qty"]) for i in o["items"]], [("MUG-001", 1)], "items of the conflicting order")
    shop.check_invariants()
    r = shop.inv("/reservations/%s" % early_cancel)
    assert_status(r, 200, "reservation of the early-canceled order")
    assert_in(r.body.get("status"), ("tombstone", "released"), "reservation of the early-canceled order")
    # from the inventory itself: nobody asked the front for these orders, so
    # its catalog copy may still be up to FRONT_CATALOG_MAX_AGE_MS old
    after = {p["sku"]: p for p in shop.inv("/catalog").body["products"]}
    assert_eq(after["MUG-001"]["available"], before["MUG-001"]["available"] - 3, "MUG-001 available")
    assert_eq(after["TEE-002"]["available"], before["TEE-002"]["available"], "TEE-002 available")
    assert_eq(after["CAP-003"]["available"], before["CAP-003"]["available"], "CAP-003 available")


def test_broker_with_passwords(build):
    """The harness's broker refuses anonymous clients (broker/configure's
    accounts): the services log in with SHOP_MQTT_USERNAME /
    SHOP_MQTT_PASSWORD_FILE, and a wrong password, from a file or from
    --mqtt-password, is one clear line at start."""
    with Shop(build, use_env=True) as shop:
        oid = shop.order([{"sku": "MUG-001", "qty": 1}])
        shop.wait_status(oid, "confirmed")
        shop.check_invariants()
        wrong_file = os.path.join(shop.dir, "wrong.pw")
        with open(wrong_file, "w") as f:
            f.write("wrong\n")
        os.chmod(wrong_file, 0o600)
        for name in ("inventory", "order", "front"):
            for how, wrong in (("file", ["--mqtt-password-file", wrong_file]),
                               ("flag", ["--mqtt-password", "wrong"])):
                args = []
                for flag, _, value in shop.settings(name):
                    if flag in ("--inventory-port", "--order-port", "--front-port"):
                        value = str(free_ports(1)[0])
                    args += wrong if flag == "--mqtt-password-file" else [flag, value]
                args += ["--instance", "intruder"]
                rc, out, err = run_binary(build, name, args, timeout=10)
                what = "shop-%s with a wrong broker password (%s)" % (name, how)
                assert_eq(rc, 1, what + ": exit status (stderr %r)" % err)
                lines = [l for l in err.splitlines() if " fatal: " in l or " warn: " in l]
                assert_eq(len(lines), 1, what + ": error lines (%r)" % err)
                assert_in("not authorized", lines[0], what + ": the line says the broker refused")
