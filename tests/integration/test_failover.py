"""Fronts that fail over and fail fast (docs/protocol.md §Settings,
SHOP_BROKER_URL): a front with no broker answers 503 at once, not after the
publish timeout; it is back within seconds of its broker; a comma-separated
SHOP_BROKER_URL is tried in order, at start and at every reconnect."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import (Shop, assert_eq, assert_error_body, assert_in, assert_status, assert_true,
                     free_ports, http_request, run_binary, wait_until)
from shop_run import ShopRun

ORDERS = "/api/v1/orders"
ITEM = [{"sku": "MUG-001", "qty": 1}]
FAST_S = 0.5              # a fail-fast 503 takes less than this
PUBLISH_TIMEOUT_MS = 2000  # the default, said here so the comparison above means something


def timed_post(shop, body=None):
    t0 = time.monotonic()
    r = shop.post(ORDERS, {"items": body or ITEM})
    return r, time.monotonic() - t0


def assert_clean_503(r, what):
    assert_status(r, 503, what)
    assert_error_body(r, what)
    retry = r.headers.get("Retry-After")
    assert_true(retry is not None and retry.strip().isdigit(),
                what + ": the 503 has a Retry-After of seconds", dict(r.headers))


def refused_fast(shop, when):
    """Five orders, each a clean 503 within FAST_S; returns their times."""
    times = []
    for i in range(5):
        r, took = timed_post(shop)
        assert_clean_503(r, "POST order %d %s" % (i, when))
        times.append(took)
    assert_true(max(times) < FAST_S * shop.build.slow,
                "each 503 %s within %.1f s (publish timeout %d ms or less)"
                % (when, FAST_S, PUBLISH_TIMEOUT_MS), ["%.3f" % t for t in times])
    return times


def post_until_accepted(shop, within_s, what):
    """POSTs until a 202 (each refusal must be a clean 503); returns the
    response and the seconds it took."""
    t0 = time.monotonic()
    while True:
        r = shop.post(ORDERS, {"items": ITEM})
        if r.status == 202:
            return r, time.monotonic() - t0
        assert_clean_503(r, what)
        assert_true(time.monotonic() - t0 < within_s * shop.build.slow,
                    "%s: an order accepted within %.0f s" % (what, within_s), r.text)
        time.sleep(0.05)


def test_broker_down_fails_fast_then_back(build):
    with Shop(build, extra_args={"front": ["--publish-timeout-ms", str(PUBLISH_TIMEOUT_MS)]}) as shop:
        # positive control: with the broker up an order goes through
        r, took = timed_post(shop)
        assert_status(r, 202, "POST order with the broker up")
        shop.wait_status(r.body["order_id"], "confirmed")

        shop.stop_broker()
        times = refused_fast(shop, "with the broker stopped")

        shop.start_broker()
        r, back = post_until_accepted(shop, 8, "POST order while the broker comes back")
        shop.wait_status(r.body["order_id"], "confirmed", timeout=20)
        print("failover: 503 in at most %.3f s with the broker down; orders accepted %.2f s "
              "after its restart" % (max(times), back))
        shop.check_invariants()
        known = sorted(o["order_id"] for o in shop.ord("/orders").body["orders"])
        assert_eq(known, sorted(shop.accepted), "orders known to the order daemon (only the 202s)")


def test_frozen_broker_costs_one_timeout(build):
    """A broker that holds the connection but answers nothing (SIGSTOP, a cut
    link) costs the first order its publish timeout; the next ones are refused
    at once until the broker answers again, and /readyz says so meanwhile."""
    timeout_ms = 1000
    with Shop(build, extra_args={"front": ["--publish-timeout-ms", str(timeout_ms)]}) as shop:
        shop.order(ITEM)
        shop.kill("broker", signal.SIGSTOP)
        try:
            r, first = timed_post(shop)
            assert_clean_503(r, "first POST while the broker is frozen")
            assert_true(first >= timeout_ms / 1000.0 * 0.9,
                        "the first order waited for its PUBACK (%d ms)" % timeout_ms, first)
            refused_fast(shop, "after the first while the broker is frozen")
            ready = shop.get("/readyz")
            assert_status(ready, 503, "/readyz while the broker is frozen")
            assert_in("broker", ready.text, "/readyz names the broker")
        finally:
            shop.kill("broker", signal.SIGCONT)
        r, back = post_until_accepted(shop, 5, "POST order once the broker runs again")
        shop.wait_status(r.body["order_id"], "confirmed", timeout=20)
        wait_until(lambda: shop.get("/readyz").status == 200, 10 * shop.build.slow,
                   "/readyz 200 again")
        shop.check_invariants()


def with_broker_list(shop, names, url_list):
    for name in names:
        proc = shop.procs[name]
        assert_in(shop.broker_url, proc.argv, "%s's command line has the broker URL" % name)
        proc.argv = [url_list if a == shop.broker_url else a for a in proc.argv]


def test_first_broker_of_the_list_dead(build):
    dead, = free_ports(1)
    with Shop(build, services=("inventory", "order")) as shop:
        urls = "tcp://127.0.0.1:%d,%s" % (dead, shop.broker_url)
        with_broker_list(shop, ["front"], urls)
        shop.start("front")
        oid = shop.order(ITEM)
        shop.wait_status(oid, "confirmed")
        log = shop.log_text("front")
        assert_in("connected to %s" % shop.broker_url, log,
                  "the front's log names the broker of the list it reached")
        shop.check_invariants()


def test_front_fails_over_to_the_other_edge(build):
    """In SHOP_EDGES=2 ./shop run, a front of the test's own on "edge1,edge2"
    (both bridged to the core): edge1 stops, the front goes on at edge2 and its
    orders confirm."""
    with ShopRun(build, edges=2) as run:
        edge2 = run.part("edge2")["port"]
        front1 = run.part("front1")["pid"]
        with open("/proc/%d/environ" % front1, "rb") as f:
            env = dict(a.decode().partition("=")[::2] for a in f.read().split(b"\0") if a)
        with open("/proc/%d/cmdline" % front1, "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        port, = free_ports(1)
        env.update({"SHOP_FRONT_PORT": str(port), "SHOP_INSTANCE": "failover",
                    "SHOP_BROKER_URL": "tcp://127.0.0.1:%d,tcp://127.0.0.1:%d"
                    % (run.part("edge1")["port"], edge2)})
        log_path = os.path.join(run.dir, "log", "front-failover.log")
        with open(log_path, "ab") as log:
            front = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT)
        try:
            def ready():
                try:
                    return http_request(port, "GET", "/readyz", timeout=2).status == 200
                except AssertionError:  # not listening yet
                    return False
            wait_until(ready, 20 * build.slow, "the test's front ready")
            r = http_request(port, "POST", ORDERS, {"items": ITEM})
            assert_status(r, 202, "POST order at the test's front with both edges up")
            ids = [r.body["order_id"]]
            wait_until(lambda: http_request(port, "GET", "%s/%s" % (ORDERS, ids[0])).body.get("status")
                       == "confirmed", 20 * build.slow, "the first order confirmed", 0.1)
            # ./shop run would restart edge1 within a second or two, and the
            # front would find it again first: its supervision pauses meanwhile
            os.kill(run.proc.pid, signal.SIGSTOP)
            try:
                os.kill(run.part("edge1")["pid"], signal.SIGTERM)
                took = fail_over(run, port, log_path, edge2, ids)
            finally:
                os.kill(run.proc.pid, signal.SIGCONT)
            print("failover: the front took orders through edge2 %.2f s after edge1 stopped" % took)
        finally:
            front.send_signal(signal.SIGTERM)
            assert_eq(front.wait(10 * build.slow), 0, "the test's front's exit status after SIGTERM")


def fail_over(run, f1, log_path, edge2, ids):
    """Orders at front f1 until one is accepted (through edge2) and confirms;
    returns the seconds it took."""
    build = run.build
    t0 = time.monotonic()

    def lost():
        with open(log_path, errors="replace") as f:
            return "lost connection" in f.read()
    wait_until(lost, 10 * build.slow, "the front to see its edge go", 0.05)
    while True:
        r = http_request(f1, "POST", ORDERS, {"items": ITEM})
        if r.status == 202:
            break
        assert_clean_503(r, "POST order at the front while edge1 is down")
        assert_true(time.monotonic() - t0 < 10 * build.slow,
                    "the front accepts orders within 10 s of its edge's stop", r.text)
        time.sleep(0.05)
    took = time.monotonic() - t0
    ids.append(r.body["order_id"])

    def confirmed():
        return all(http_request(f1, "GET", "%s/%s" % (ORDERS, oid)).body.get("status")
                   == "confirmed" for oid in ids)
    wait_until(confirmed, 20 * build.slow, "the front's orders confirmed", 0.2)
    # Paho does not tell the front which broker of its list it reached again;
    # edge2's log does
    assert_true(re.search(r"New client connected from .* as shop-front-failover ", run.log("edge2")),
                "edge2's log: the front connected to it")
    return took


def test_broker_url_list_validated(build):
    closed, = free_ports(1)
    good = "tcp://127.0.0.1:%d" % closed
    for name in ("front", "inventory", "order"):
        for value, bad in (("%s,foo://bar" % good, "foo://bar"), ("%s,,%s" % (good, good), "''"),
                           ("%s," % good, "''"), ("%s, %s" % (good, good), " " + good),
                           (",".join([good] * 9), "more than 8")):
            rc, out, err = run_binary(build, name, ["--broker-url", value, "--data-dir", "/nonexistent"])
            what = "shop-%s --broker-url %r" % (name, value)
            assert_eq(rc, 2, what + " exit status")
            lines = [l for l in err.splitlines() if l.strip()]
            assert_eq(len(lines), 1, what + ": one line on stderr (%r)" % err)
            assert_in("--broker-url", lines[0], what + ": the line names the flag")
            assert_in(bad, lines[0], what + ": the line names the bad entry")
    # positive control: a valid list passes validation and fails only at the connect
    tmp = tempfile.mkdtemp(prefix="shop-it-list-")
    try:
        rc, out, err = run_binary(build, "order", ["--broker-url", "%s,%s" % (good, good),
                                                   "--data-dir", tmp,
                                                   "--order-port", str(free_ports(1)[0])],
                                  timeout=15)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert_true(rc != 0 and "--broker-url" not in err, "a valid list is not refused as a bad flag", err)
    assert_in("refused", err, "the valid list got as far as connecting")
