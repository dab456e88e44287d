"""A stateful fuzz of the running daemons: `shop-replay garbage --random SEED`
publishes mutants of real recorded messages (bit flips, truncation, field
swaps, splices, huge numbers, deep nesting, type changes, dropped and
duplicated fields) to every shop topic. The daemons must stay up,
dead-letter what does not decode, take the valid orders and cancels among
the mutants like any other, and the invariants of docs/protocol.md must hold after."""

import os
import re

from harness import assert_eq, assert_in, assert_status, assert_true
from test_flows import cancel
from test_replay import (INVENTORY_TOPICS, ORDER_TOPICS, Recorder, bus, counters, finish,
                         recorded_topics, run_tool, wait_counters, write_recording, id_event,
                         send_event)
from harness import new_order_id, wait_until

MUTATIONS = ("bit-flip", "truncate", "bad-bytes", "field-swap", "splice", "huge-number",
             "deep-nesting", "type-change", "drop-field", "duplicate-key")


def garbage_random(shop, seed, count, files=(), *flags):
    """Runs garbage --random; returns (per-topic {topic: (mutants, valid)},
    mutations {name: n}, stdout)."""
    args = ["garbage", "--random", str(seed), "--count", str(count)] + list(files) + list(flags)
    rc, out, err = run_tool(shop.build, args + bus(shop), timeout=60)
    assert_eq(rc, 0, "exit status of shop-replay %s (stderr: %s)" % (" ".join(args), err))
    per_topic = {t: (int(n), int(v)) for t, n, v in
                 re.findall(r"^(\S+): (\d+) mutants, (\d+) valid events$", out, re.M)}
    m = re.search(r"^mutations: (.*)$", out, re.M)
    assert_true(m, "garbage --random prints the mutations it made", out[-600:])
    mutations = {name: int(n) for name, n in re.findall(r"([a-z-]+) (\d+)", m.group(1))}
    total = re.search(r"^(?:sent|listed) (\d+) mutants to (\d+) topics \(seed %d\): (\d+) valid "
                      r"events, (\d+) refused by event_decode" % seed, out, re.M)
    assert_true(total, "garbage --random prints its total line", out[-600:])
    assert_eq(int(total.group(1)), count, "mutants sent")
    assert_eq(sum(n for n, _ in per_topic.values()), count, "mutants per topic add up (%s)" % per_topic)
    return per_topic, mutations, out


def shop_still_works(shop, what):
    """Positive control: the daemons answer and a real order goes through."""
    for name, get in (("inventory", shop.inv), ("order", shop.ord)):
        assert_status(get("/healthz"), 200, "%s /healthz after %s" % (name, what))
    wait_until(lambda: shop.get("/readyz").status == 200, 10 * shop.build.slow,
               "/readyz 200 after %s" % what)
    good = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(good, "confirmed")


def test_fuzz_bus_mutated_recording(shop):
    """Mutants of a recording of real traffic (orders confirmed, rejected and
    canceled): nothing crashes, every refused mutant is dead-lettered by each
    daemon that subscribes to its topic, and the invariants hold."""
    rec = Recorder(shop, os.path.join(shop.dir, "traffic.jsonl"))
    try:
        kept = shop.order([{"sku": "MUG-001", "qty": 2}, {"sku": "TEE-002", "qty": 1}])
        shop.wait_status(kept, "confirmed")
        too_many = shop.order([{"sku": "CAP-003", "qty": 6}])
        shop.wait_status(too_many, "rejected")
        dropped = shop.order([{"sku": "CAP-003", "qty": 1}])
        shop.wait_status(dropped, "confirmed")
        assert_status(cancel(shop, dropped), 202, "cancel through the front")
        shop.wait_status(dropped, "canceled")
        wait_until(lambda: "inventory/released" in recorded_topics(rec.lines()),
                   10 * shop.build.slow, "the recorder to see inventory/released")
        lines = rec.stop()
    finally:
        rec.kill()
    topics = set(recorded_topics(lines))
    for topic in ("order/send", "order/cancel", "inventory/in-stock", "inventory/out-of-stock",
                  "order/canceled", "inventory/released"):
        assert_in(topic, topics, "topics recorded")
    shop.check_invariants()

    dead = counters(shop, "dead_letters_total")
    per_topic, mutations, out = garbage_random(shop, 20240501, 400, [rec.path], "--verbose")
    assert_eq(sorted(per_topic), sorted(set(INVENTORY_TOPICS + ORDER_TOPICS)),
              "topics the mutants went to")
    for name in MUTATIONS:
        assert_true(mutations.get(name, 0) > 0, "mutation %s made at least once" % name, mutations)
    assert_eq(len(re.findall(r"^webshop/\S+\t\d+ bytes\t(?:valid|invalid)\t", out, re.M)), 400,
              "one --verbose line per mutant")
    for topic in ("inventory/in-stock", "inventory/out-of-stock", "order/canceled",
                  "inventory/released"):
        assert_eq(per_topic[topic][1], 0, "valid events sent on %s (a forgery, never sent)" % topic)

    shop_still_works(shop, "400 mutants")
    refused = {t: n - v for t, (n, v) in per_topic.items()}
    want = {"inventory": sum(refused[t] for t in INVENTORY_TOPICS),
            "order": sum(refused[t] for t in ORDER_TOPICS)}
    assert_true(want["inventory"] > 0 and want["order"] > 0, "some mutants are refused", want)
    wait_counters(shop, "dead_letters_total", dead, want, "the refused mutants dead-lettered")
    finish(shop)
    # the orders placed through the front are still what they were, or
    # canceled by a mutant that is a valid order/cancel of theirs
    for oid, was in ((kept, "confirmed"), (too_many, "rejected"), (dropped, "canceled")):
        status = shop.ord("/orders/%s" % oid).body["status"]
        assert_true(status in (was, "canceled"), "order %s was %s" % (oid, was), status)


def test_fuzz_bus_seed_and_builtin_events(shop):
    """The same seed and recording give the same mutants and another seed
    others (--list sends nothing); without a recording the mutants come from
    one built-in event a topic; the command line refuses what it cannot do."""
    oid = new_order_id()
    path = write_recording(shop, "two.jsonl", [
        ("order/send", send_event(oid, [{"sku": "MUG-001", "qty": 1}])),
        ("order/cancel", id_event(oid)),
        ("status/order/it", "online"),
    ])
    first = garbage_random(shop, 7, 100, [path], "--list")[2]
    again = garbage_random(shop, 7, 100, [path], "--list")[2]
    other = garbage_random(shop, 8, 100, [path], "--list")[2]
    assert_eq(again, first, "the mutants of seed 7, listed twice")
    assert_true(other != first, "seed 8 makes other mutants than seed 7")
    only = garbage_random(shop, 7, 50, [path], "--list", "--topics", "order/send")[0]
    assert_eq(sorted(only), ["order/send"], "--topics order/send: the topics mutants go to")

    dead = counters(shop, "dead_letters_total")
    per_topic, _, _ = garbage_random(shop, 99, 200)
    shop_still_works(shop, "200 mutants of built-in events")
    refused = {t: n - v for t, (n, v) in per_topic.items()}
    wait_counters(shop, "dead_letters_total", dead,
                  {"inventory": sum(refused[t] for t in INVENTORY_TOPICS),
                   "order": sum(refused[t] for t in ORDER_TOPICS)},
                  "the refused mutants of built-in events dead-lettered")
    finish(shop)

    status = write_recording(shop, "status-only.jsonl", [("status/order/it", "online")])
    for args, want in ((["--random", "-1"], 2), (["--random", "1", "--count", "0"], 2),
                       ([path], 2), (["--random", "1", status], 1),
                       (["--random", "1", os.path.join(shop.dir, "missing.jsonl")], 1)):
        rc, out, err = run_tool(shop.build, ["garbage"] + args + bus(shop))
        lines = [l for l in err.splitlines() if l.strip()]
        assert_eq(rc, want, "exit status of shop-replay garbage %s (stderr %s)" % (" ".join(args), err))
        assert_eq(len(lines), 1, "garbage %s: one line on stderr (%s)" % (" ".join(args), err))
        assert_eq(out, "", "garbage %s: nothing on stdout" % " ".join(args))
