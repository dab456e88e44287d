"""shop-replay (tests/harness/) against a real shop: duplicated, reordered,
conflicting, garbage and recorded-then-replayed traffic on the bus. Each test
ends with the invariants of docs/protocol.md, checked by the harness and by
`shop-replay check` (through the front's admin API with the admin token, and
with --direct on the daemons' internal HTTP with the internal token)."""

import json
import os
import random
import re
import select
import signal
import subprocess
import tempfile
import shutil
import time

import harness
from harness import (FINAL, Shop, assert_eq, assert_in, assert_status, assert_true, child_env,
                     free_ports, new_order_id, rfc3339_now, sanitizer_findings, wait_until)
from test_flows import cancel

PREFIX = "webshop/"
TOOL = "tests/harness/shop-replay"
# What each daemon subscribes to (docs/internals.md, consumer apply tables).
INVENTORY_TOPICS = ("order/send", "order/canceled", "inventory/restock", "inventory/product")
ORDER_TOPICS = ("order/send", "order/cancel", "inventory/in-stock", "inventory/out-of-stock",
                "inventory/released")


# --------------------------------------------------------------------------
# running the tool

def tool_path(build):
    path = os.path.join(build.dir, TOOL)
    assert_true(os.access(path, os.X_OK), "shop-replay is built (ninja -C %s)" % build.dir, path)
    return path


def run_tool(build, args, timeout=20.0, env=None):
    """Runs shop-replay to completion; returns (returncode, stdout, stderr).
    env: SHOP_* variables to add to the child's environment."""
    argv = [tool_path(build)] + list(args)
    try:
        p = subprocess.run(argv, env=child_env(env), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout * build.slow)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("shop-replay %s did not exit within %.0fs; stderr: %s"
                             % (" ".join(args), timeout * build.slow,
                                (e.stderr or b"").decode(errors="replace")[-600:])) from None
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    found = sanitizer_findings(out + err)
    assert_true(not found, "shop-replay %s: no sanitizer report" % args[0], found[:1])
    return p.returncode, out, err


def bus(shop):
    """The broker and the harness account (docs/protocol.md §Accounts)."""
    return ["--broker-url", shop.broker_url] + shop.replay_login()


def front(shop):
    return ["--front-url", "http://127.0.0.1:%d" % shop.front_port]


def direct(shop):
    """check's fallback: the daemons' internal HTTP instead of the admin API."""
    return front(shop) + ["--direct", "--internal-token", shop.internal_token,
                          "--inventory-url", "http://127.0.0.1:%d" % shop.inventory_port,
                          "--order-url", "http://127.0.0.1:%d" % shop.order_port]


def replay(shop, files, *flags):
    files = files if isinstance(files, list) else [files]
    rc, out, err = run_tool(shop.build, ["replay"] + files + list(flags) + bus(shop))
    assert_eq(rc, 0, "exit status of shop-replay replay %s (stderr: %s)" % (" ".join(flags), err))
    m = re.search(r"^published (\d+) messages$", out, re.M)
    assert_true(m, "shop-replay replay prints 'published N messages'", out)
    return int(m.group(1)), err


def tool_check(shop, args=None, env=None):
    """shop-replay check must agree with the harness: every line PASS, exit 0.
    By default it reads the front with the admin token from SHOP_ADMIN_TOKEN."""
    if args is None:
        args, env = front(shop), {"SHOP_ADMIN_TOKEN": shop.admin_token}
    rc, out, err = run_tool(shop.build, ["check", "--timeout", "20"] + args, timeout=40, env=env)
    lines = [l for l in out.splitlines() if l.strip()]
    assert_eq(rc, 0, "exit status of shop-replay check %s (output: %s %s)"
              % (" ".join(a for a in args if a != shop.admin_token), out, err))
    assert_true(len(lines) >= 5 and all(l.startswith("PASS ") for l in lines),
                "shop-replay check: every line PASS", out)
    return lines


def finish(shop):
    snap = shop.check_invariants()
    tool_check(shop)
    return snap


# --------------------------------------------------------------------------
# recordings and events

def send_event(order_id, items, created_at=None):
    return {"v": 1, "order_id": order_id, "items": items, "created_at": created_at or rfc3339_now()}


def id_event(order_id):
    return {"v": 1, "order_id": order_id}


def write_recording(shop, name, events):
    """A hand-written recording: events are (topic without prefix, payload dict)."""
    path = os.path.join(shop.dir, name)
    with open(path, "w") as f:
        for i, (topic, payload) in enumerate(events):
            f.write(json.dumps({"t": i, "topic": PREFIX + topic,
                                "payload": json.dumps(payload)}) + "\n")
    return path


def read_recording(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Recorder:
    """shop-replay record running in the background (only this PID is ever
    signalled)."""

    def __init__(self, shop, path):
        self.path = path
        self.build = shop.build
        self.proc = subprocess.Popen([tool_path(shop.build), "record", "--out", path] + bus(shop),
                                     env=child_env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = b""
        deadline = time.monotonic() + 10 * shop.build.slow
        while b"recording" not in self.err:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.kill()
                raise AssertionError("shop-replay record did not say it was recording: %s"
                                     % self.err.decode(errors="replace"))
            ready, _, _ = select.select([self.proc.stderr], [], [], left)
            if ready:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                if not chunk:
                    continue
                self.err += chunk

    def lines(self):
        return read_recording(self.path)

    def stop(self):
        """SIGTERM; it must exit 0 and say how many messages it wrote."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=10 * self.build.slow)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("shop-replay record did not exit within 10 s of SIGTERM") from None
        out, err = out.decode(errors="replace"), (self.err + err).decode(errors="replace")
        found = sanitizer_findings(out + err)
        assert_true(not found, "shop-replay record: no sanitizer report", found[:1])
        assert_eq(self.proc.returncode, 0, "exit status of shop-replay record after SIGTERM (%s)" % err)
        m = re.search(r"^recorded (\d+) messages", out, re.M)
        assert_true(m, "shop-replay record prints 'recorded N messages'", out)
        assert_eq(int(m.group(1)), len(self.lines()), "messages recorded vs lines in the file")
        return self.lines()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def recorded_topics(lines):
    return [l["topic"][len(PREFIX):] for l in lines]


# --------------------------------------------------------------------------
# metrics and state

def metric(shop, service, name):
    get = shop.inv if service == "inventory" else shop.ord
    r = get("/metrics")
    assert_status(r, 200, "%s GET /metrics" % service)
    v = harness.metric(r.text, "shop_%s_%s" % (service, name))
    assert_true(v is not None, "%s /metrics has shop_%s_%s" % (service, service, name), r.text[:800])
    return v


def counters(shop, name):
    return {s: metric(shop, s, name) for s in ("inventory", "order")}


def wait_counters(shop, name, base, want, what, timeout=15.0):
    """Waits until each daemon's counter grew by at least want[service]."""
    def grown():
        now = counters(shop, name)
        return now if all(now[s] - base[s] >= want[s] for s in want) else None
    try:
        return wait_until(grown, timeout * shop.build.slow, what)
    except AssertionError:
        now = counters(shop, name)
        raise AssertionError("%s: %s grew by %s, expected at least %s"
                             % (what, name, {s: now[s] - base[s] for s in want}, want)) from None


def order_of(shop, oid):
    r = shop.ord("/orders/%s" % oid)
    return r.body if r.status == 200 else None


def wait_order(shop, oid, status, timeout=15.0):
    def final():
        o = order_of(shop, oid)
        return o if o and o.get("status") in FINAL else None
    o = wait_until(final, timeout * shop.build.slow, "order %s final" % oid)
    assert_eq(o.get("status"), status, "status of order %s (%s)" % (oid, o))
    return o


def reservations_of(shop, oid):
    return [r for r in shop.inv("/reservations").body["reservations"] if r["order_id"] == oid]


def items_of(obj):
    return sorted((i["sku"], i["qty"]) for i in obj.get("items") or [])


def available(shop):
    return {sku: p["available"] for sku, p in shop.catalog_by_sku().items()}


# --------------------------------------------------------------------------
# the tests

def test_replay_cli(build):
    """--help, --version, a bad flag (exit 2, one line), an unreachable broker
    (exit 1, one line) and a broken recording (exit 1, FILE:LINE)."""
    rc, out, _ = run_tool(build, ["--help"])
    assert_eq(rc, 0, "shop-replay --help")
    for word in ("record", "replay", "garbage", "check", "--broker-url", "--username",
                 "--topic-prefix", "SHOP_BROKER_URL", "SHOP_MQTT_PASSWORD"):
        assert_in(word, out, "shop-replay --help")
    rc, out, _ = run_tool(build, ["check", "--help"])
    for word in ("--admin-token", "SHOP_ADMIN_TOKEN", "--direct", "--front-url", "--order-url"):
        assert_in(word, out, "shop-replay check --help")
    rc, out, _ = run_tool(build, ["replay", "--help"])
    for word in ("--dup", "--shuffle", "--reverse", "--delay-ms", "--interleave", "--seed"):
        assert_in(word, out, "shop-replay replay --help")
    rc, out, _ = run_tool(build, ["--version"])
    assert_eq(rc, 0, "shop-replay --version")
    assert_true(out.startswith("shop-replay "), "--version names the program", out)
    closed = free_ports(1)[0]
    for args, want in ((["replay", "x.jsonl", "--dup", "zero"], 2), (["garbage", "--bogus"], 2),
                       (["check", "--direct", "--order-url", "ftp://x"], 2),
                       (["check", "--front-url", "ftp://x", "--admin-token", "t"], 2),
                       (["check"], 2), (["check", "--no-front", "--admin-token", "t"], 2),
                       (["check", "--admin-token", "a\r\nX: y"], 2), (["frobnicate"], 2),
                       (["garbage", "--topics", "order/nope"], 2), (["record"], 2),
                       (["garbage", "--broker-port", str(closed)], 1)):
        rc, out, err = run_tool(build, args)
        lines = [l for l in err.splitlines() if l.strip()]
        assert_eq(rc, want, "exit status of shop-replay %s (stderr %s)" % (" ".join(args), err))
        assert_eq(len(lines), 1, "shop-replay %s: one line on stderr (%s)" % (" ".join(args), err))
        assert_eq(out, "", "shop-replay %s: nothing on stdout" % " ".join(args))
        if args == ["check"]:
            assert_true("--admin-token" in err and "SHOP_ADMIN_TOKEN" in err,
                        "check without a token says how to pass one", err)
    tmp = tempfile.mkdtemp(prefix="shop-it-replay-")
    try:
        bad = os.path.join(tmp, "bad.jsonl")
        with open(bad, "w") as f:
            f.write('{"t":0,"topic":"webshop/order/send","payload":"{}"}\n\n'
                    '{"t":1,"topic":"webshop/#","payload":"{}"}\n')
        rc, _, err = run_tool(build, ["replay", bad, "--broker-port", str(closed)])
        assert_eq(rc, 1, "replay of a recording with a wildcard topic")
        assert_in("bad.jsonl:3:", err, "the error names the file and line")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_replay_check_admin_token(shop):
    """check through the front: the token as a flag works, a wrong one is
    refused at once with one line naming the 403 and the token, and --direct
    (the daemons' internal HTTP, with the internal token) still works."""
    oid = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(oid, "confirmed")
    shop.check_invariants()
    tool_check(shop, front(shop) + ["--admin-token", shop.admin_token])
    for how, args, env in (("flag", ["--admin-token", "wrong-" + shop.admin_token], None),
                           ("variable", [], {"SHOP_ADMIN_TOKEN": "wrong-" + shop.admin_token})):
        start = time.monotonic()
        rc, out, err = run_tool(shop.build, ["check", "--timeout", "20"] + front(shop) + args,
                                env=env)
        lines = [l for l in err.splitlines() if l.strip()]
        assert_eq(rc, 1, "exit status of check with a wrong token (%s; %s)" % (how, err))
        assert_eq(len(lines), 1, "check with a wrong token (%s): one line on stderr (%s)" % (how, err))
        assert_true("403" in lines[0] and "token" in lines[0],
                    "the line names the 403 and the token", lines[0])
        assert_true("wrong-" not in lines[0], "the line does not echo the token", lines[0])
        assert_eq(out, "", "check with a wrong token (%s): nothing on stdout" % how)
        assert_true(time.monotonic() - start < 10 * shop.build.slow,
                    "a refused token ends check at once, not after --timeout",
                    time.monotonic() - start)
    lines = tool_check(shop, direct(shop))
    assert_true(any(l.startswith("PASS front ready") for l in lines),
                "--direct still checks the front's /readyz and catalog", lines)
    # the internal token from SHOP_INTERNAL_TOKEN works as the flag does;
    # a wrong one or none is refused at once, naming the 403 / 401
    no_token = [a for a in direct(shop) if a not in ("--internal-token", shop.internal_token)]
    tool_check(shop, no_token, env={"SHOP_INTERNAL_TOKEN": shop.internal_token})
    for how, env, code in (("wrong", {"SHOP_INTERNAL_TOKEN": "wrong-" + shop.internal_token}, "403"),
                           ("none", None, "401")):
        rc, out, err = run_tool(shop.build, ["check"] + no_token, env=env)
        what = "check --direct with %s internal token" % how
        assert_eq(rc, 1, "exit status of %s (%s %s)" % (what, out, err))
        assert_in(code, out + err, what + ": names the refusal")
        assert_true("wrong-" not in out + err, what + ": does not echo the token", out + err)
    lines = tool_check(shop, direct(shop) + ["--no-front"])
    assert_true(not any("front" in l.split(":")[0] for l in lines), "--no-front skips the front", lines)


def test_replay_five_copies_of_one_send(shop):
    before = available(shop)
    oid = new_order_id()
    rec = write_recording(shop, "dup.jsonl",
                          [("order/send", send_event(oid, [{"sku": "TEE-002", "qty": 3}]))])
    shop.accepted.add(oid)  # invariant 3: it must end final
    n, _ = replay(shop, rec, "--dup", "5")
    assert_eq(n, 5, "messages published with --dup 5")
    wait_order(shop, oid, "confirmed")
    res = reservations_of(shop, oid)
    assert_eq(len(res), 1, "reservations of the order sent five times")
    assert_eq(res[0]["status"], "reserved", "reservation status")
    finish(shop)
    after = available(shop)
    assert_eq(after["TEE-002"], before["TEE-002"] - 3, "TEE-002 available (taken once)")


def test_replay_cancel_before_send(shop):
    before = available(shop)
    oid = new_order_id()
    items = [{"sku": "MUG-001", "qty": 2}, {"sku": "CAP-003", "qty": 1}]
    # What a recorder on the bus sees when a cancel overtakes its order: the
    # cancel, the order daemon's order/canceled, then the late send. With the
    # order/canceled in the recording the inventory sees it before the send,
    # so its outcome is a tombstone, not a reservation released later.
    rec = write_recording(shop, "early-cancel.jsonl", [
        ("order/cancel", id_event(oid)),
        ("order/canceled", id_event(oid)),
        ("order/send", send_event(oid, items)),
    ])
    n, _ = replay(shop, rec)
    assert_eq(n, 3, "messages published")
    o = wait_order(shop, oid, "canceled")
    res = wait_until(lambda: reservations_of(shop, oid), 10 * shop.build.slow,
                     "the inventory to know order %s" % oid)
    finish(shop)
    assert_eq(res[0]["status"], "tombstone", "reservation of the order canceled before its send")
    assert_eq(available(shop), before, "available of every product (stock unchanged)")
    # docs/protocol.md: a later order/send fills in the items but never revives the order
    o = wait_until(lambda: (lambda x: x if x and x.get("items") else None)(order_of(shop, oid)),
                   10 * shop.build.slow, "the late send to fill in the items of %s" % oid)
    assert_eq(items_of(o), sorted((i["sku"], i["qty"]) for i in items), "items of the canceled order")
    assert_eq(o["status"], "canceled", "the late send did not revive the order")


def test_replay_conflicting_send(shop):
    before = available(shop)
    dead = counters(shop, "dead_letters_total")
    oid = new_order_id()
    first = [{"sku": "MUG-001", "qty": 1}]
    rec = write_recording(shop, "conflict.jsonl", [
        ("order/send", send_event(oid, first)),
        ("order/send", send_event(oid, [{"sku": "CAP-003", "qty": 4}])),
    ])
    shop.accepted.add(oid)
    replay(shop, rec)
    o = wait_order(shop, oid, "confirmed")
    wait_counters(shop, "dead_letters_total", dead, {"inventory": 1, "order": 1},
                  "the second send dead-lettered by both daemons")
    finish(shop)
    assert_eq(items_of(o), [("MUG-001", 1)], "the first version stands")
    res = reservations_of(shop, oid)
    assert_eq(items_of(res[0]), [("MUG-001", 1)], "reservation items (the first version)")
    after = available(shop)
    assert_eq(after["MUG-001"], before["MUG-001"] - 1, "MUG-001 available")
    assert_eq(after["CAP-003"], before["CAP-003"], "CAP-003 available")


def test_replay_garbage_on_every_topic(shop):
    before = available(shop)
    dead = counters(shop, "dead_letters_total")
    rc, out, err = run_tool(shop.build, ["garbage", "--verbose"] + bus(shop), timeout=30)
    assert_eq(rc, 0, "exit status of shop-replay garbage (%s)" % err)
    sent = {t: int(n) for t, n in re.findall(r"^(\S+): (\d+) bad payloads$", out, re.M)}
    assert_eq(sorted(sent), sorted(set(INVENTORY_TOPICS + ORDER_TOPICS)), "topics garbled (%s)" % out[-600:])
    total = re.search(r"^sent (\d+) bad payloads to %d topics$" % len(set(INVENTORY_TOPICS + ORDER_TOPICS)), out, re.M)
    assert_true(total and int(total.group(1)) == sum(sent.values()), "the total line", out[-600:])
    # topic, order id and name of every payload sent
    payloads = re.findall(r"^%s(\S+)\t\d+ bytes\t([0-9a-f-]{36})\t(.+)$" % re.escape(PREFIX),
                          out, re.M)
    assert_eq(len(payloads), total and int(total.group(1)), "one --verbose line per payload")
    # the shop is still up and works
    for name, get in (("inventory", shop.inv), ("order", shop.ord)):
        assert_status(get("/healthz"), 200, "%s /healthz after garbage" % name)
    assert_status(shop.get("/readyz"), 200, "/readyz after garbage")
    good = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(good, "confirmed")
    # every bad payload was dead-lettered by every daemon that subscribes to its topic
    want = {"inventory": sum(sent[t] for t in INVENTORY_TOPICS),
            "order": sum(sent[t] for t in ORDER_TOPICS)}
    try:
        wait_counters(shop, "dead_letters_total", dead, want, "garbage dead-lettered")
    except AssertionError as e:
        # name the payloads a daemon took for an event: their order ids show up
        known = {o["order_id"] for o in shop.ord("/orders").body["orders"]}
        known |= {r["order_id"] for r in shop.inv("/reservations").body["reservations"]}
        taken = ["%s: %s" % (topic, name) for topic, oid, name in payloads if oid in known]
        raise AssertionError("%s; payloads applied instead of dead-lettered: %s" % (e, taken)) from None
    finish(shop)
    after = available(shop)
    expected = dict(before, **{"MUG-001": before["MUG-001"] - 1})
    assert_eq(after, expected, "available of every product (only the real order took stock)")


def test_replay_recorded_traffic_reversed(shop):
    rec = Recorder(shop, os.path.join(shop.dir, "traffic.jsonl"))
    try:
        kept = shop.order([{"sku": "MUG-001", "qty": 2}, {"sku": "TEE-002", "qty": 1}])
        shop.wait_status(kept, "confirmed")
        dropped = shop.order([{"sku": "CAP-003", "qty": 3}])
        shop.wait_status(dropped, "confirmed")
        r = cancel(shop, dropped)
        assert_status(r, 202, "cancel through the front")
        shop.wait_status(dropped, "canceled")
        snap = shop.check_invariants()
        wait_until(lambda: "inventory/released" in recorded_topics(rec.lines()),
                   10 * shop.build.slow, "the recorder to see inventory/released")
        lines = rec.stop()
    finally:
        rec.kill()
    topics = recorded_topics(lines)
    for topic, n in (("order/send", 2), ("inventory/in-stock", 2), ("order/cancel", 1),
                     ("order/canceled", 1), ("inventory/released", 1)):
        assert_true(topics.count(topic) >= n, "recording holds %d %s" % (n, topic), topics)
    assert_true(not any(t.startswith("status/") for t in topics),
                "status topics are not recorded without --all", topics)
    assert_true(all(isinstance(l.get("t"), (int, float)) and "payload" in l for l in lines),
                "every line has t and a text payload", lines[:3])

    dead = counters(shop, "dead_letters_total")
    received = counters(shop, "messages_received_total")
    for _ in range(2):
        n, _ = replay(shop, rec.path, "--reverse")
        assert_eq(n, len(lines), "messages published by each reversed replay")
    # wait until the daemons have taken in both replays before comparing
    want = {"inventory": 2 * sum(topics.count(t) for t in INVENTORY_TOPICS),
            "order": 2 * sum(topics.count(t) for t in ORDER_TOPICS)}
    wait_counters(shop, "messages_received_total", received, want, "the replays received")
    after = finish(shop)
    assert_eq(Shop._canonical(after), Shop._canonical(snap),
              "stock, reservations and orders after two reversed replays")
    assert_eq(counters(shop, "dead_letters_total"), dead, "dead letters (nothing conflicts)")


def _thirty_orders(rng):
    """Orders whose outcome does not depend on their order: the ones that fit
    together never exceed the stock (MUG-001 <= 3 x 24, TEE-002 <= 24), the
    others ask for more than a product has at all. So a shuffled replay must
    end with the same statuses as the original run."""
    orders = []
    for i in range(30):
        if i % 5 == 4:
            impossible = rng.choice([{"sku": "CAP-003", "qty": 6}, {"sku": "PIN-004", "qty": 2},
                                     {"sku": "BAG-005", "qty": 1}])
            lines = [impossible] + ([{"sku": "MUG-001", "qty": 1}] if rng.random() < 0.5 else [])
        else:
            lines = [{"sku": "MUG-001", "qty": rng.randint(1, 3)}]
            if rng.random() < 0.5:
                lines.append({"sku": "TEE-002", "qty": 1})
        rng.shuffle(lines)
        orders.append(lines)
    return orders


def test_replay_shuffled_on_a_fresh_shop(build):
    rng = random.Random(7)
    tmp = tempfile.mkdtemp(prefix="shop-it-replay-")
    path = os.path.join(tmp, "thirty.jsonl")
    try:
        with Shop(build) as first:
            rec = Recorder(first, path)
            try:
                ids = [first.order(items) for items in _thirty_orders(rng)]
                final = {oid: first.wait_final(oid)["status"] for oid in ids}
                assert_true("rejected" in final.values() and "confirmed" in final.values(),
                            "some orders confirmed and some rejected", final)
                confirmed = [o for o in ids if final[o] == "confirmed"]
                rejected = [o for o in ids if final[o] == "rejected"]
                canceled = rng.sample(confirmed, 4) + rng.sample(rejected, 2)
                for oid in canceled:
                    assert_status(cancel(first, oid), 202, "cancel of %s" % oid)
                for oid in canceled:
                    final[oid] = first.wait_status(oid, "canceled")["status"]
                finish(first)
                wait_until(lambda: recorded_topics(rec.lines()).count("inventory/released") >= len(canceled),
                           10 * build.slow, "the recorder to see every inventory/released")
                lines = rec.stop()
            finally:
                rec.kill()
        with Shop(build) as second:
            n, err = replay(second, path, "--dup", "3", "--shuffle", "--seed", "7")
            assert_eq(n, 3 * len(lines), "messages published with --dup 3")
            assert_in("seed 7", err, "the seed is printed on stderr")
            second.accepted.update(final)  # invariant 3 covers every replayed order

            def all_final():
                orders = {o["order_id"]: o["status"] for o in second.ord("/orders").body["orders"]}
                return orders if all(orders.get(oid) in FINAL for oid in final) else None
            wait_until(all_final, 20 * build.slow, "every replayed order final on the second shop")
            finish(second)
            statuses = {o["order_id"]: o["status"] for o in second.ord("/orders").body["orders"]}
            assert_eq(statuses, final, "final statuses on the second shop vs the first")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
