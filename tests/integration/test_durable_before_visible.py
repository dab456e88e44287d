"""Durable before visible (docs/protocol.md §Crash safety): with
SHOP_SQLITE_SYNC=full the inventory commits orders without an fsync and its
outbox makes the log durable before it publishes what they decided. Every
event it ever wrote was covered by such a sync before it went out; with
`normal` none is (the positive control of the counter)."""

import threading

from harness import Shop, assert_eq, assert_true

ITEMS = [{"sku": "MUG-001", "qty": 1}]


def _flood(shop, n=40, clients=8):
    ids, lock = [], threading.Lock()

    def client():
        for _ in range(n // clients):
            oid = shop.order(ITEMS)
            with lock:
                ids.append(oid)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for oid in ids:
        assert_eq(shop.wait_final(oid)["status"], "confirmed", "order %s" % oid)
    return ids


def _outbox_figures(shop):
    m = {k: shop.metric("inventory", "shop_inventory_outbox_%s" % k)
         for k in ("published_total", "syncs_total", "unsynced_published_total")}
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
        # On disk, read by another process: the last sync covers every
        # outbox row ever written (AUTOINCREMENT's sqlite_sequence).
        (synced_id, syncs), = shop.db_rows("inventory", "SELECT synced_id, syncs FROM outbox_sync")
        (seq,), = shop.db_rows("inventory", "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
        assert_eq(synced_id, seq, "outbox rows covered by the last sync (synced_id vs last row id)")
        assert_eq(syncs, m["syncs_total"], "syncs recorded in the database and counted")
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
        shop.check_invariants()
