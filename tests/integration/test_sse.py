"""Push: the order daemon's order/status messages and the front's order status
stream, GET /api/v1/orders/{id}/events (docs/protocol.md §HTTP API of the
front, §Topics): the current status at once, then each change, closed at a
final status; at most SHOP_SSE_MAX streams per front; a front that stops
ends its streams cleanly."""

import json
import threading
import time
import uuid

from harness import (Shop, SseStream, free_ports, http_request, metric, run_binary, assert_eq, assert_error_body, assert_in, assert_status,
                     assert_true, wait_until)

ORDERS = "/api/v1/orders"
STATUS_TOPIC = "webshop/order/status"
# public_front/orders_api.c: order ids from Idempotency-Key are UUID v5 in this namespace
IDEMPOTENCY_NAMESPACE = uuid.UUID("6b1d5e3a-9c2f-4e71-8a0b-53d42e67f109")


def events_path(order_id):
    return "%s/%s/events" % (ORDERS, order_id)


def pending_order(shop, items=None):
    """An order that stays pending: the inventory is stopped first (start it
    again to let the order move on). Returns its id once GET says pending."""
    shop.stop("inventory")
    oid = shop.order(items or [{"sku": "MUG-001", "qty": 1}])
    shop.wait_final(oid, until=("pending",))
    return oid


def open_stream(shop, order_id, port=None):
    return SseStream(port or shop.front_port, events_path(order_id), timeout=10 * shop.build.slow)


def assert_stream_head(s, what):
    assert_eq(s.status, 200, what + ": status (%s)" % s.status_line)
    assert_true(s.headers.get("Content-Type", "").startswith("text/event-stream"),
                what + ": Content-Type is text/event-stream", s.headers.get("Content-Type"))
    assert_eq(s.headers.get("Cache-Control"), "no-store", what + ": Cache-Control")
    assert_eq(s.headers.get("X-Accel-Buffering"), "no", what + ": X-Accel-Buffering")
    assert_eq(s.headers.get("Content-Length"), None, what + ": no Content-Length")
    assert_eq(s.headers.get("Transfer-Encoding"), None, what + ": not chunked")
    # the body ends with the connection: it must say so
    assert_eq((s.headers.get("Connection") or "").lower(), "close", what + ": Connection")


def expect_status_event(s, status, what, timeout=10.0):
    ev = s.next_event(timeout)
    assert_true(ev is not None, what + ": an event before the stream ended")
    assert_eq(ev["event"], "status", what + ": event name")
    assert_true(isinstance(ev["json"], dict), what + ": data is a JSON object", ev["data"])
    assert_eq(ev["json"].get("status"), status, what + ": status (data %s)" % ev["data"])
    return ev["json"]


def test_sse_current_status_then_change_then_close(shop):
    oid = pending_order(shop)
    with open_stream(shop, oid) as s:
        assert_stream_head(s, "events of a pending order")
        first = expect_status_event(s, "pending", "first event")
        # the same JSON as GET
        assert_eq(first, shop.get("%s/%s" % (ORDERS, oid)).body, "first event's data vs GET")
        # nothing more while nothing changes (positive control: the change below)
        try:
            extra = s.next_event(1.0)
        except AssertionError:
            extra = "nothing"
        assert_eq(extra, "nothing", "an event while the order did not change")
        shop.start("inventory")
        t0 = time.monotonic()
        done = expect_status_event(s, "confirmed", "the change", timeout=10 * shop.build.slow)
        assert_eq(done.get("total_cents"), 1200, "total in the pushed event")
        assert_eq(done.get("items"), [{"sku": "MUG-001", "qty": 1, "unit_price_cents": 1200}],
                  "items in the pushed event")
        assert_eq(done, shop.get("%s/%s" % (ORDERS, oid)).body, "pushed event's data vs GET")
        assert_true(s.wait_end(5.0), "the stream ends at the final status")
        assert_true(time.monotonic() - t0 < 10 * shop.build.slow, "the push came in time")


def test_sse_final_order_streams_once_and_closes(shop):
    oid = shop.order([{"sku": "MUG-001", "qty": 2}])
    shop.wait_status(oid, "confirmed")
    with open_stream(shop, oid) as s:
        assert_stream_head(s, "events of a confirmed order")
        o = expect_status_event(s, "confirmed", "the one event")
        assert_eq(o.get("total_cents"), 2400, "total")
        assert_true(s.wait_end(3.0), "the stream of a final order ends at once")


def test_sse_canceled_order_streams_pending_then_canceled(shop):
    oid = pending_order(shop)
    with open_stream(shop, oid) as s:
        assert_stream_head(s, "events of a pending order")
        expect_status_event(s, "pending", "first event")
        r = shop.post("%s/%s/cancel" % (ORDERS, oid))
        assert_status(r, 202, "cancel")
        expect_status_event(s, "canceled", "after the cancel", timeout=10 * shop.build.slow)
        assert_true(s.wait_end(5.0), "the stream ends at canceled")
    shop.start("inventory")  # so that the inventory hears the cancel too (invariants)


def test_sse_rejected_order_says_why(shop):
    oid = pending_order(shop, [{"sku": "BAG-005", "qty": 1}])  # no stock
    with open_stream(shop, oid) as s:
        expect_status_event(s, "pending", "first event")
        shop.start("inventory")
        o = expect_status_event(s, "rejected", "the change", timeout=10 * shop.build.slow)
        assert_eq(o.get("reason"), "insufficient_stock", "reason")
        assert_true(s.wait_end(5.0), "the stream ends at rejected")


def test_sse_bad_id_and_unknown_order(shop):
    for bad in ("not-a-uuid", "11111111-1111-4111-8111-11111111111A", "x" * 36):
        with SseStream(shop.front_port, events_path(bad)) as s:
            assert_eq(s.status, 400, "events of id %r" % bad)
            assert_eq(s.body.get("error"), "invalid_order_id", "error of id %r" % bad)
    unknown = "00000000-0000-4000-8000-000000000000"
    with SseStream(shop.front_port, events_path(unknown)) as s:
        assert_eq(s.status, 404, "events of an unknown order")
        assert_true(isinstance(s.body, dict) and s.body.get("error") == "not_found",
                    "404 with the JSON error body", s.body)
    r = shop.post(events_path(unknown))
    assert_status(r, 405, "POST to the events path")
    assert_error_body(r, "POST to the events path")
    # positive control: a known order streams
    oid = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(oid, "confirmed")
    with open_stream(shop, oid) as s:
        assert_eq(s.status, 200, "events of a known order")
    # HEAD: the head of the stream, no body
    r = http_request(shop.front_port, "HEAD", events_path(oid))
    assert_eq((r.status, r.headers.get("Content-Type", "").split(";")[0]),
              (200, "text/event-stream"), "HEAD of the events of a known order")
    assert_true(not r.text, "HEAD has no body", r.text)


def test_sse_waits_a_moment_for_an_order_just_accepted(shop):
    """A stream opened before the order daemon recorded the order (a page
    opens it right after the 202) waits for the order's first order/status
    instead of answering 404. Here the stream even comes first: the order's
    id is the one its Idempotency-Key gives (docs/protocol.md §Crash safety)."""
    key = "sse-early-%s" % uuid.uuid4().hex
    oid = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, key))
    result = {}

    def open_early():
        try:
            result["stream"] = open_stream(shop, oid)
        except BaseException as e:  # reported below
            result["error"] = e

    t = threading.Thread(target=open_early)
    t.start()
    try:
        time.sleep(0.3)
        assert_eq(shop.order([{"sku": "MUG-001", "qty": 1}], {"Idempotency-Key": key}), oid,
                  "the order id of the Idempotency-Key")
    finally:
        t.join(15)
    assert_true("error" not in result, "the early stream", result.get("error"))
    with result["stream"] as s:
        assert_stream_head(s, "a stream opened 0.3 s before its order")
        ev = s.next_event(10)
        assert_in(ev["json"]["status"], ("pending", "confirmed"), "its first status")
        if ev["json"]["status"] == "pending":
            expect_status_event(s, "confirmed", "then the change")
        assert_true(s.wait_end(5.0), "the stream ends at confirmed")


def _fill_streams(shop, oid, n):
    streams = []
    try:
        for i in range(n):
            s = open_stream(shop, oid)
            streams.append(s)
            assert_eq(s.status, 200, "stream %d of %d" % (i + 1, n))
            expect_status_event(s, "pending", "stream %d of %d" % (i + 1, n))
    except BaseException:
        for s in streams:
            s.close()
        raise
    return streams


def _assert_over_limit(shop, oid, n):
    with open_stream(shop, oid) as s:
        assert_eq(s.status, 503, "stream %d, over the limit" % (n + 1))
        assert_true(isinstance(s.body, dict) and s.body.get("error") == "too_many_streams"
                    and s.body.get("message"), "503 with the JSON error body", s.body)
        assert_true(s.headers.get("Retry-After"), "503 with Retry-After", dict(s.headers))


def _limit_case(shop, limit):
    oid = pending_order(shop)
    streams = _fill_streams(shop, oid, limit)
    try:
        assert_eq(shop.metric("front", "shop_front_sse_streams"), float(limit), "open streams metric")
        _assert_over_limit(shop, oid, limit)
        # the other requests still get answers meanwhile
        assert_status(shop.get("/healthz"), 200, "healthz while the streams are full")
        assert_status(shop.get("%s/%s" % (ORDERS, oid)), 200, "GET while the streams are full")
        # one change reaches every stream, and each ends
        assert_status(shop.post("%s/%s/cancel" % (ORDERS, oid)), 202, "cancel")
        for i, s in enumerate(streams):
            expect_status_event(s, "canceled", "stream %d after the cancel" % (i + 1),
                                timeout=10 * shop.build.slow)
            assert_true(s.wait_end(5.0), "stream %d ends" % (i + 1))
    finally:
        for s in streams:
            s.close()
    # the slots are free again
    wait_until(lambda: shop.metric("front", "shop_front_sse_streams") == 0.0, 5.0,
               "the streams' slots freed")
    with open_stream(shop, oid) as s:
        assert_eq(s.status, 200, "a stream once the others ended")
        expect_status_event(s, "canceled", "a stream once the others ended")
    assert_true(shop.metric("front", "shop_front_sse_refused_total") >= 1.0, "refused counted")
    shop.start("inventory")


def test_sse_limit_from_setting(build):
    with Shop(build, extra_args={"front": ["--sse-max", "4"]}) as shop:
        _limit_case(shop, 4)


def test_sse_limit_default_64(shop):
    _limit_case(shop, 64)


def test_sse_max_must_leave_threads(build):
    rc, _, err = run_binary(build, "front", ["--sse-max", "200", "--http-threads", "128"])
    assert_true(rc == 2 and "--sse-max" in err and err.count("\n") == 1,
                "a one-line error naming --sse-max, exit 2", (rc, err))
    # positive control: within the threads the setting passes, and the front
    # gets as far as the broker (none listens on that port)
    port, broker = free_ports(2)
    rc, _, err = run_binary(build, "front", ["--sse-max", "112", "--http-threads", "128",
                                             "--front-port", str(port),
                                             "--broker-url", "tcp://127.0.0.1:%d" % broker],
                            timeout=20)
    assert_true(rc != 0 and "--sse-max" not in err and "broker" in err,
                "--sse-max 112 of 128 threads accepted (then no broker)", (rc, err))


def _front_connected(shop):
    try:
        return shop.metric("front", "shop_front_broker_connected") == 1.0
    except AssertionError:
        return False


def test_sse_front_restart_ends_stream_cleanly(shop):
    oid = pending_order(shop)
    with open_stream(shop, oid) as s:
        expect_status_event(s, "pending", "first event")
        t0 = time.monotonic()
        assert_eq(shop.stop("front"), 0, "the front's exit status with a stream open")
        assert_true(s.wait_end(5.0), "the stream ends (EOF, nothing half-written) when the front stops")
        assert_true(time.monotonic() - t0 < 5.0 * shop.build.slow,
                    "the front stopped without waiting for its streams")
    # not ready while the inventory is down: wait for its health and the
    # broker (its order/status subscription) instead
    shop.start("front", wait=False)
    wait_until(lambda: _front_connected(shop), 15 * shop.build.slow, "the front back on the bus")
    with open_stream(shop, oid) as s:
        expect_status_event(s, "pending", "after the restart: the current status again")
        shop.start("inventory")
        expect_status_event(s, "confirmed", "after the restart: the change",
                            timeout=10 * shop.build.slow)
        assert_true(s.wait_end(5.0), "the stream ends at the final status")


def test_sse_ping_keeps_an_idle_stream(shop):
    """An idle stream gets a comment line every 15 s and stays open; a client
    that left is noticed by the second ping after it left (the first write
    to a closed connection still succeeds) and its slot freed."""
    oid = pending_order(shop)
    with open_stream(shop, oid) as left:
        expect_status_event(left, "pending", "the stream a client leaves")
    with open_stream(shop, oid) as s:
        expect_status_event(s, "pending", "first event")
        assert_eq(shop.metric("front", "shop_front_sse_streams"), 2.0,
                  "open streams, the left one not noticed yet")
        try:
            s.next_event(17.0)
            got = "an event"
        except AssertionError:
            got = "nothing"
        assert_eq(got, "nothing", "an event while the order stayed pending")
        assert_true(any(c.startswith(": ping") or c == ":ping" or c.startswith(":") for c in s.comments),
                    "a comment line within 17 s", s.comments)
        assert_true(not s.eof, "the stream is still open after its ping")
        wait_until(lambda: shop.metric("front", "shop_front_sse_streams") == 1.0, 17.0,
                   "the left stream's slot freed by its second ping")
    shop.start("inventory")


def _statuses(messages, oid):
    out = []
    for topic, payload in messages:
        if topic != STATUS_TOPIC:
            continue
        body = json.loads(payload)
        if body.get("order_id") == oid:
            out.append(body)
    return out


def test_order_status_on_bus_one_per_change(shop):
    bus = shop.mqtt()
    try:
        bus.subscribe(STATUS_TOPIC)
        ok = shop.order([{"sku": "MUG-001", "qty": 3}])
        bad = shop.order([{"sku": "BAG-005", "qty": 1}])
        shop.wait_status(ok, "confirmed")
        shop.wait_status(bad, "rejected")
        got = bus.messages(1.0)
        ok_msgs = _statuses(got, ok)
        assert_eq([m["status"] for m in ok_msgs], ["pending", "confirmed"], "order/status of %s" % ok)
        for m in ok_msgs:
            assert_eq(m.get("v"), 1, "schema version")
        assert_eq(ok_msgs[-1].get("total_cents"), 3600, "total of the confirmed order")
        assert_true("total_cents" not in ok_msgs[0], "no total before it is priced", ok_msgs[0])
        bad_msgs = _statuses(got, bad)
        assert_eq([m["status"] for m in bad_msgs], ["pending", "rejected"], "order/status of %s" % bad)
        assert_eq((bad_msgs[-1].get("reason"), bad_msgs[-1].get("sku")),
                  ("insufficient_stock", "BAG-005"), "why it was rejected")

        # a duplicate order/send changes nothing: no message (the cancel
        # below is the positive control)
        send = {"v": 1, "order_id": ok, "items": [{"sku": "MUG-001", "qty": 3}],
                "created_at": "2026-01-01T00:00:00.000Z"}
        bus.publish("webshop/order/send", send)
        assert_eq(_statuses(bus.messages(1.5), ok), [], "order/status after a duplicate send")

        assert_status(shop.post("%s/%s/cancel" % (ORDERS, ok)), 202, "cancel")
        shop.wait_status(ok, "canceled")
        wait_until(lambda: shop.db_rows("order", "SELECT released FROM orders WHERE order_id = '%s'"
                                        % ok) == [(1,)], 10, "the release")
        msgs = _statuses(bus.messages(1.0), ok)
        assert_eq([m["status"] for m in msgs], ["canceled"], "order/status after the cancel")
        assert_eq(msgs[0].get("total_cents"), 3600, "a canceled order keeps its total")
        assert_in("order_id", msgs[0], "order/status payload")
    finally:
        bus.close()


def _stream_through(port, oid, what, timeout=3.0):
    """A stream of oid through port; a 404 right after the order's 202 is
    retried for a moment (the order daemon may not have recorded it yet)."""
    deadline = time.monotonic() + timeout
    while True:
        s = SseStream(port, events_path(oid))
        if s.status != 404 or time.monotonic() >= deadline:
            assert_stream_head(s, what)
            return s
        s.close()
        time.sleep(0.02)


def test_sse_through_haproxy_bridged(build):
    """SHOP_EDGES=2: streams through haproxy, each front on its own edge,
    the order/status from the core over both bridges. The inventory is held
    (SIGSTOP) so that the order stays pending: the idle streams get their
    ping through haproxy without being cut or buffered, and then the change.
    The order and the streams are placed at once, before haproxy sees the
    fronts unready (their /readyz asks the held inventory); streams already
    open stay, as haproxy does not cut sessions of a server marked down."""
    import os
    import signal
    from shop_run import ShopRun

    with ShopRun(build, edges=2) as run:
        port = run.front_port
        with open(os.path.join(run.dir, "balancer", "haproxy.cfg")) as f:
            assert_in("option http-no-delay", f.read(), "haproxy.cfg")
        inventory = run.part("inventory")["pid"]
        streams = []
        os.kill(inventory, signal.SIGSTOP)
        try:
            r = http_request(port, "POST", ORDERS, {"items": [{"sku": "MUG-001", "qty": 1}]})
            assert_eq(r.status, 202, "POST an order through haproxy (body %s)" % r.text)
            oid = r.body["order_id"]
            for i in range(2):
                s = _stream_through(port, oid, "stream %d through haproxy" % (i + 1))
                streams.append(s)
                expect_status_event(s, "pending", "stream %d's first event" % (i + 1))
            per_front = [metric(http_request(run.part(n)["port"], "GET", "/metrics").text,
                                "shop_front_sse_streams") for n in ("front1", "front2")]
            assert_eq(per_front, [1.0, 1.0], "a stream on each front (round robin)")
            try:
                streams[0].next_event(17.0)
                got = "an event"
            except AssertionError:
                got = "nothing"
            assert_eq(got, "nothing", "an event while the order stayed pending")
            assert_true(streams[0].comments and not streams[0].eof,
                        "a ping through haproxy within 17 s, the stream still open",
                        (streams[0].comments, streams[0].eof))
        finally:
            os.kill(inventory, signal.SIGCONT)
        try:
            for i, s in enumerate(streams):
                o = expect_status_event(s, "confirmed", "stream %d: the change through haproxy"
                                        % (i + 1), timeout=30)
                assert_eq(o.get("total_cents"), 1200, "stream %d: total" % (i + 1))
                assert_true(s.wait_end(5.0), "stream %d ends through haproxy" % (i + 1))
        finally:
            for s in streams:
                s.close()
