"""The path from the front to each daemon is observable (docs/protocol.md
§Topologies): each daemon publishes a heartbeat every second under its own
status subtree; the front judges liveness by the newest heartbeat and when it
came, so /readyz fails when a daemon falls silent through the front's broker,
and a stale "offline" or an old heartbeat does not change that."""

import json
import signal
import time

from harness import assert_eq, assert_in, assert_status, assert_true, metric, wait_until

PREFIX = "webshop/"
BOUND_S = 3.0  # the front's --heartbeat-timeout-ms default


def age(shop, daemon):
    r = shop.get("/metrics")
    assert_status(r, 200, "front GET /metrics")
    v = metric(r.text, 'shop_front_daemon_heartbeat_age_seconds{daemon="%s"}' % daemon)
    assert_true(v is not None, "front /metrics has the heartbeat age of %s" % daemon, r.text[-1500:])
    return v


def online(shop, daemon):
    r = shop.get("/metrics")
    return metric(r.text, 'shop_front_daemon_online{daemon="%s"}' % daemon)


def test_heartbeats_on_the_bus(shop):
    """Each daemon beats about once a second on status/<service>/<instance>/
    heartbeat, not retained, with its time in ms and a growing sequence."""
    c = shop.mqtt()
    try:
        c.subscribe(PREFIX + "status/+/+/heartbeat")
        got = c.messages(2.5)
    finally:
        c.close()
    for daemon in ("inventory", "order"):
        topic = PREFIX + "status/%s/it/heartbeat" % daemon
        beats = [json.loads(p) for t, p in got if t == topic]
        assert_true(2 <= len(beats) <= 4, "%s heartbeats in 2.5 s" % daemon, got)
        now_ms = time.time() * 1000
        for b in beats:
            assert_eq(b.get("v"), 1, "schema version of a heartbeat")
            assert_true(abs(now_ms - b["t_ms"]) < 5000, "t_ms is the daemon's time in ms", b)
        seqs = [b["seq"] for b in beats]
        assert_eq(seqs, sorted(set(seqs)), "%s heartbeat sequence grows" % daemon)


def test_stopped_daemon_makes_the_front_unready(shop):
    """SIGSTOP of the order daemon: its heartbeat age grows past the bound and
    /readyz says 503 naming it; SIGCONT brings it back."""
    assert_status(shop.get("/readyz"), 200, "/readyz before (positive control)")
    assert_true(age(shop, "order") < 2, "order's heartbeat age before", age(shop, "order"))
    shop.kill("order", signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        r = wait_until(lambda: (lambda r: r if r.status == 503 else None)(shop.get("/readyz")),
                       BOUND_S + 3, "/readyz 503 while the order daemon is stopped", 0.2)
        assert_in("order", r.body.get("message", ""), "/readyz names the order daemon")
        assert_true("inventory" not in r.body.get("message", ""),
                    "/readyz does not name the inventory, which still beats", r.body)
        # the last beat came up to a second before the stop
        assert_true(time.monotonic() - stopped >= BOUND_S - 1.2,
                    "not before the bound (seconds since SIGSTOP)", time.monotonic() - stopped)
        time.sleep(max(0.0, 4.0 - (time.monotonic() - stopped)))
        stale = age(shop, "order")
        assert_true(stale >= 3.5, "order's heartbeat age after 4 s stopped", stale)
        assert_true(age(shop, "inventory") < 2, "inventory's age meanwhile (control)")
        assert_eq(online(shop, "order"), 0, "shop_front_daemon_online of order while stopped")
    finally:
        shop.kill("order", signal.SIGCONT)
    wait_until(lambda: shop.get("/readyz").status == 200, 10, "/readyz 200 after SIGCONT", 0.2)
    assert_true(age(shop, "order") < 2, "order's heartbeat age after SIGCONT", age(shop, "order"))
    oid = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(oid, "confirmed")


def test_stale_status_and_old_heartbeats_change_nothing(shop):
    """A retained "offline" published after a fresh heartbeat (as a
    persistent bridge session may deliver one late) leaves a live daemon up;
    an old heartbeat does not make a silent daemon look alive, a newer one
    does (positive control)."""
    c = shop.mqtt()
    try:
        c.publish(PREFIX + "status/order/it", "offline", retain=True)
        wait_until(lambda: "order/it says offline" in shop.log_text("front"), 5,
                   "the front got the stale offline (its log says so)")
        deadline = time.monotonic() + BOUND_S + 1
        while time.monotonic() < deadline:
            r = shop.get("/readyz")
            assert_status(r, 200, "/readyz after a stale offline of a live order daemon")
            time.sleep(0.3)
        assert_eq(online(shop, "order"), 1, "shop_front_daemon_online of order")

        shop.kill("order", signal.SIGSTOP)
        try:
            wait_until(lambda: age(shop, "order") >= 2, 5, "order silent for 2 s")
            before = age(shop, "order")
            old = {"v": 1, "t_ms": int(time.time() * 1000) - 60000, "seq": 999999}
            c.publish(PREFIX + "status/order/it/heartbeat", json.dumps(old))
            time.sleep(0.5)
            assert_true(age(shop, "order") >= before, "an old heartbeat does not count",
                        (before, age(shop, "order")))
            new = {"v": 1, "t_ms": int(time.time() * 1000), "seq": 1}
            c.publish(PREFIX + "status/order/it/heartbeat", json.dumps(new))
            wait_until(lambda: age(shop, "order") < 1, 3,
                       "a newer heartbeat counts (positive control)")
        finally:
            shop.kill("order", signal.SIGCONT)
        c.publish(PREFIX + "status/order/it", "online", retain=True)
    finally:
        c.close()
    wait_until(lambda: shop.get("/readyz").status == 200, 10, "/readyz 200 after SIGCONT", 0.2)
