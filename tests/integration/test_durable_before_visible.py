"""Durable before visible (docs/protocol.md §Durable before visible): with
SHOP_SQLITE_SYNC=full the inventory commits orders, and the order daemon the
inventory's answers, without an fsync; each outbox makes the log durable
before it publishes what they decided, and the order daemon's HTTP API
before it shows a final status. Every event ever written was covered by such
a sync before it went out; with `normal` none is (the positive control of
the counters). The power-cut test drops every daemon's un-synced tail and
shows that only what nobody saw was lost."""

import os
import random
import shutil
import signal
import sqlite3
import threading
import time

import pytest

from harness import FINAL, Shop, assert_eq, assert_true, run_binary, run_clients, wait_until

ITEMS = [{"sku": "MUG-001", "qty": 1}]


def _flood(shop, n=40, clients=8):
    def client(_):
        return [shop.order(ITEMS) for _ in range(n // clients)]

    ids = [oid for mine in run_clients(clients, client) for oid in mine]
    for oid in ids:
        assert_eq(shop.wait_final(oid)["status"], "confirmed", "order %s" % oid)
    return ids


def _outbox_figures(shop, daemon="inventory"):
    m = {k: shop.metric(daemon, "shop_%s_outbox_%s" % (daemon, k))
         for k in ("published_total", "syncs_total", "unsynced_published_total",
                   "published_at_commit_total")}
    if daemon == "order":
        m["reader_syncs_total"] = shop.metric("order", "shop_order_outbox_reader_syncs_total")
        m["unsynced_final_shown_total"] = shop.metric("order",
                                                      "shop_order_unsynced_final_shown_total")
    return m


def test_full_publishes_only_what_a_sync_covers(build):
    env = {"inventory": {"SHOP_SQLITE_SYNC": "full"}, "order": {"SHOP_SQLITE_SYNC": "full"}}
    with Shop(build, extra_env=env) as shop:
        ids = _flood(shop)
        m = _outbox_figures(shop)
        assert_true(m["published_total"] >= len(ids), "in-stock events published", m)
        assert_true(m["syncs_total"] >= 1, "the outbox synced before publishing", m)
        assert_true(m["syncs_total"] <= m["published_total"], "at most one sync per event", m)
        assert_eq(m["unsynced_published_total"], 0, "events published before a sync covered them")
        # the inventory's commits of orders are relaxed: their outcomes wait
        # for the outbox thread's sync, never go out right at commit
        assert_eq(m["published_at_commit_total"], 0, "inventory events published at commit")
        # On disk, read by another process: the one synced write of the
        # start (the later syncs are fdatasyncs of the log, which write nothing)
        (syncs,), = shop.db_rows("inventory", "SELECT syncs FROM outbox_sync")
        assert_eq(syncs, 1, "synced writes of the outbox at start (one start)")
        # the order daemon: its events (the re-drive's, none here) and the
        # final statuses wait_final was shown over HTTP
        o = _outbox_figures(shop, "order")
        assert_eq(o["unsynced_published_total"], 0, "order events published before a sync")
        assert_eq(o["unsynced_final_shown_total"], 0, "final statuses shown before a sync")
        assert_true(o["syncs_total"] >= 1, "the order daemon synced before publishing", o)
        assert_true(o["reader_syncs_total"] <= o["syncs_total"], "reader syncs are syncs", o)
        # its commit of an order/send syncs, so the pending status it wrote
        # may go out from the commit's thread (docs/protocol.md §Outbox)
        assert_true(o["published_at_commit_total"] >= 1,
                    "order events published right after a synced commit", o)
        shop.check_invariants()


def test_normal_takes_no_sync(build):
    # positive control: without the sync the counter counts every event
    env = {"inventory": {"SHOP_SQLITE_SYNC": "normal"}, "order": {"SHOP_SQLITE_SYNC": "normal"}}
    with Shop(build, extra_env=env) as shop:
        ids = _flood(shop, n=16, clients=4)
        m = _outbox_figures(shop)
        assert_eq(m["syncs_total"], 0, "syncs taken by the outbox with normal")
        assert_true(m["unsynced_published_total"] >= len(ids),
                    "events published with no sync before them, counted", m)
        # no sync owed: the outcomes go out from the commit's thread
        assert_true(m["published_at_commit_total"] >= 1,
                    "inventory events published right after their commit", m)
        o = _outbox_figures(shop, "order")
        assert_eq(o["syncs_total"], 0, "syncs taken by the order daemon with normal")
        assert_true(o["unsynced_final_shown_total"] >= len(ids),
                    "final statuses shown with no sync before them, counted", o)
        shop.check_invariants()


# -- the power cut ------------------------------------------------------------

CUT_CATALOG = [
    {"sku": "MUG-001", "name": "Mug", "price_cents": 1200, "currency": "EUR", "stock": 300},
    {"sku": "TEE-002", "name": "T-shirt", "price_cents": 1999, "currency": "EUR", "stock": 120},
    {"sku": "CAP-003", "name": "Cap", "price_cents": 850, "currency": "EUR", "stock": 20},
    {"sku": "BAG-005", "name": "Tote bag", "price_cents": 1550, "currency": "EUR", "stock": 0},
]
CUT_CLIENTS = 6
CUT_MAX_ORDERS = 250       # per client: enough for CUT_ROUNDS cuts of 100 + 120 orders
CUT_ROUNDS = 4             # cuts until one drops a decision
CUT_AFTER_ACCEPTED = 100   # a cut once this many more orders were accepted
CUT_BACKLOG = 120          # and goes on once this many more wait for it
DB_FILES = {"inventory": "inventory.db", "order": "order.db"}


def _at_least(value, least):
    return value if value >= least else None


def _decisions(path, daemon):
    """What a daemon's database decided, per order: the order daemon's
    status and released flag, the inventory's reservation status."""
    sql = {"order": "SELECT order_id, status, released FROM orders",
           "inventory": "SELECT order_id, status, 0 FROM reservations"}[daemon]
    db = sqlite3.connect(path, timeout=5)
    try:
        return {oid: (st, rel) for oid, st, rel in db.execute(sql)}
    finally:
        db.close()


class _Clients:
    """Client threads that order, cancel some of their orders and poll
    others, remembering every final status they were shown."""

    def __init__(self, shop):
        self.shop = shop
        self.stop = threading.Event()
        # cleared while the inventory is paused: nothing becomes final then,
        # and reads would only queue behind the order daemon's test-only
        # copies of its database, slowing the orders the cut waits for
        self.reading = threading.Event()
        self.reading.set()
        self.lock = threading.Lock()
        self.seen = {}           # order id -> the last final status a client was shown
        self.errors = []
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(CUT_CLIENTS)]

    def _run(self, seed):
        rng = random.Random(seed)
        mine = []
        try:
            for _ in range(CUT_MAX_ORDERS):
                if self.stop.is_set():
                    return
                items = [{"sku": s, "qty": rng.randint(1, 3)}
                         for s in rng.sample([p["sku"] for p in CUT_CATALOG], rng.randint(1, 2))]
                r = self.shop.post("/api/v1/orders", {"items": items})
                if r.status == 202:
                    mine.append(r.body["order_id"])
                if mine and rng.random() < 0.15:  # the harness notes a 202 for a cancel
                    self.shop.post("/api/v1/orders/%s/cancel" % rng.choice(mine))
                for oid in rng.sample(mine, min(2, len(mine)) if self.reading.is_set() else 0):
                    g = self.shop.get("/api/v1/orders/%s" % oid)
                    if g.status == 200 and g.body.get("status") in FINAL:
                        with self.lock:
                            self.seen[oid] = g.body["status"]
        except Exception as e:  # noqa: BLE001 - reported by the test
            with self.lock:
                self.errors.append("client %d: %r" % (seed, e))

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def _wait_final(shop, oid, until):
    """As Shop.wait_final, but a 503 (the order daemon busy re-driving what
    the cut dropped, slower than the front waits) is only asked again."""
    def final():
        r = shop.get("/api/v1/orders/%s" % oid)
        assert_true(r.status in (200, 404, 503), "GET of order %s: HTTP %s" % (oid, r.status), r.text)
        return r.status == 200 and r.body.get("status") in until
    wait_until(final, 40 * shop.build.slow, "order %s %s" % (oid, "/".join(until)))


def _cut(shop, snaps, clients, paused):
    """One power cut: the paused daemon (SIGSTOP) is stopped while orders
    queue at the broker and killed (SIGKILL) with the other once it is at
    them again, when commits come faster than syncs; each database is then
    replaced by its newest copy, what the disk would hold, and both daemons
    restart. With the order daemon paused, each order's send and the
    inventory's answer reach it one right after the other. Returns the
    order ids whose decisions the copies lack, per daemon, and what the cut
    looked like."""
    counter = "shop_%s_messages_applied_total" % paused
    applied = shop.metric(paused, counter)
    queued = len(shop.accepted) + CUT_BACKLOG
    clients.reading.clear()
    shop.kill(paused, signal.SIGSTOP)
    try:
        # (the clients also read orders, which wait behind the order
        # daemon's syncs and their test-only copies: slow on a busy machine)
        wait_until(lambda: len(shop.accepted) >= queued, 30 * shop.build.slow,
                   "%d orders queued for the paused %s" % (CUT_BACKLOG, paused))
    finally:
        shop.kill(paused, signal.SIGCONT)
        clients.reading.set()
    at_cut = wait_until(lambda: _at_least(shop.metric(paused, counter), applied + CUT_BACKLOG // 8),
                        30 * shop.build.slow, "the %s at its backlog again" % paused,
                        interval=0.002)
    figures = _outbox_figures(shop, "order")
    shop.kill_together(list(DB_FILES))  # by the PIDs this Shop started
    assert_eq(figures["unsynced_final_shown_total"], 0, "final statuses shown before a sync")
    assert_eq(figures["unsynced_published_total"], 0, "order events published before a sync")

    lost = {}
    for daemon, name in DB_FILES.items():
        path, copy = os.path.join(shop.dir, name), str(snaps / name)
        assert_true(os.path.exists(copy), "a snapshot of %s was written" % name)
        killed, kept = _decisions(path, daemon), _decisions(copy, daemon)
        lost[daemon] = sorted(oid for oid in killed if kept.get(oid) != killed[oid])
        gained = sorted(oid for oid in kept if oid not in killed)
        assert_eq(gained, [], "%s: orders in the copy the killed database lacks" % daemon)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        shutil.copyfile(copy, path)
    for daemon in DB_FILES:
        shop.start(daemon)
    return lost, "%s cut at %d of %d+%d applied" % (paused, at_cut, applied, CUT_BACKLOG)


@pytest.mark.parametrize("paused", ["inventory", "order"])
def test_power_cut_loses_only_what_nobody_saw(build, tmp_path, paused):
    """A power cut is emulated: each daemon copies its database right after
    every commit that syncs (SHOP_TEST_SNAPSHOT_DIR, test only), so its
    newest copy is what the disk would hold. Cuts mid-flood, each after a
    pause of one daemon (the inventory: the order daemon holds pending
    orders while their answers wait; the order daemon: each order's send
    and answer reach it back to back), until one drops decisions the daemons
    had committed (the positive control: usually the first); then every
    accepted order must become final, every final status a client saw must
    stay, and stock must be conserved."""
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    daemon_env = {"SHOP_SQLITE_SYNC": "full", "SHOP_TEST_SNAPSHOT_DIR": str(snaps)}
    # a re-drive soon, but not of orders only waiting their turn in a slow build
    redrive_s = str(max(1, round(build.slow)))
    env = {"inventory": dict(daemon_env), "order": dict(daemon_env, SHOP_REDRIVE_S=redrive_s)}
    with Shop(build, catalog=CUT_CATALOG, extra_env=env) as shop:
        clients = _Clients(shop)
        clients.start()
        cuts = []
        try:
            while len(cuts) < CUT_ROUNDS and not any(lost[0][d] for lost in cuts for d in DB_FILES):
                wait_until(lambda: len(shop.accepted) >= CUT_AFTER_ACCEPTED * (len(cuts) + 1)
                           or clients.errors, 30 * shop.build.slow, "orders accepted")
                assert_eq(clients.errors, [], "client errors")
                cuts.append(_cut(shop, snaps, clients, paused))
        finally:
            clients.join()
        assert_eq(clients.errors, [], "client errors")
        # positive control: a cut really dropped decisions the daemons had
        # committed (and acknowledged), so what follows could have failed
        assert_true(any(lost[d] for lost, _ in cuts for d in DB_FILES),
                    "the restored copies lack decisions the killed databases had", cuts)

        with clients.lock:
            seen = dict(clients.seen)
        accepted = sorted(shop.accepted)
        canceled = set(shop.cancel_accepted)
        for oid in accepted:
            _wait_final(shop, oid, ("canceled",) if oid in canceled else FINAL)
        final = {x["order_id"]: x["status"] for x in shop.check_invariants()["orders"]}
        changed = ["%s: shown %s, now %s" % (oid, st, final.get(oid))
                   for oid, st in sorted(seen.items())
                   if final.get(oid) != ("canceled" if oid in canceled else st)]
        assert_eq(changed, [], "orders whose final status a client saw and that changed")
        assert_true(len(seen) >= 20, "clients were shown final statuses before the cut", len(seen))
        print("power cut: %d accepted, %d cancels accepted, %d shown final; cuts: %s;"
              " re-driven since the last restart: %s"
              % (len(accepted), len(canceled), len(seen),
                 "; ".join("%s, decisions lost: inventory %d, order %d"
                           % (how, len(lost["inventory"]), len(lost["order"]))
                           for lost, how in cuts),
                 shop.metric("order", "shop_order_redriven_total")))


def test_snapshot_dir_must_be_a_directory(build, tmp_path):
    # the test-only setting refuses a path that is no directory: one line, exit 1
    for name in DB_FILES:
        rc, out, err = run_binary(build, name, ["--data-dir", str(tmp_path / name),
                                                "--test-snapshot-dir", str(tmp_path / "none")])
        lines = [l for l in (out + err).splitlines() if l.strip()]
        assert_eq(rc, 1, "shop-%s with a missing snapshot dir: exit status" % name)
        assert_eq(len(lines), 1, "shop-%s: lines printed (%r)" % (name, lines))
        assert_true("snapshot dir" in lines[0] and "not a directory" in lines[0],
                    "shop-%s: the line says what is wrong" % name, lines[0])
