"""The re-drive heals what the inventory really missed.

The inventory is stopped and comes back under another --instance: another
MQTT client id, so another persistent session, and every order/send and
order/canceled the broker queued for the old session never reaches it. Only
the order daemon's re-drive (SHOP_REDRIVE_S=1 here) can still move those
orders on: pending ones get their order/send again, canceled ones their
order/canceled until the inventory answers released.
"""

import time

from harness import (Shop, assert_eq, assert_status, assert_true, http_request, metric,
                     wait_until)

ORDERS = "/api/v1/orders"
REDRIVE_S = 1

# (items, expected final status) of the orders placed while the inventory is away
WHILE_AWAY = ([([{"sku": "TEE-002", "qty": 1}], "confirmed")] * 8
              + [([{"sku": "PIN-004", "qty": 1}], "confirmed"),
                 ([{"sku": "BAG-005", "qty": 1}], "rejected"),
                 ([{"sku": "CAP-003", "qty": 6}], "rejected")])
N_CANCELED = 3


def redriven(shop):
    r = http_request(shop.order_port, "GET", "/metrics", timeout=5)
    assert_status(r, 200, "order daemon GET /metrics")
    v = metric(r.text, "shop_order_redriven_total")
    assert_true(v is not None, "order daemon /metrics has shop_order_redriven_total", r.text[:500])
    return v


def test_redrive_heals_events_the_inventory_missed(build):
    with Shop(build, extra_args={"order": ["--redrive-s", str(REDRIVE_S)]}) as shop:
        before = {sku: p["available"] for sku, p in shop.catalog_by_sku().items()}
        # orders confirmed while all is well, to be canceled while the inventory is away
        to_cancel = [shop.order([{"sku": "MUG-001", "qty": 2}]) for _ in range(N_CANCELED)]
        for oid in to_cancel:
            shop.wait_status(oid, "confirmed")
        shop.wait_available("MUG-001", before["MUG-001"] - 2 * N_CANCELED)
        redriven_before = redriven(shop)

        shop.stop("inventory")  # SIGTERM: its session (and what is queued for it) stays
        for oid in to_cancel:
            r = shop.post("%s/%s/cancel" % (ORDERS, oid))
            assert_status(r, 202, "cancel of confirmed order %s while the inventory is away" % oid)
        placed = [(shop.order(items), want) for items, want in WHILE_AWAY]
        for oid in to_cancel:  # the order daemon records the cancel at once
            shop.wait_status(oid, "canceled")
        for oid, _ in placed:
            o = shop.wait_final(oid, until=("pending",))
            assert_eq(o["status"], "pending", "order %s with the inventory away" % oid)

        shop.set_instance("inventory", "it-reborn")
        t_back = time.monotonic()
        shop.start("inventory")
        # the front's /readyz reads the retained status topics: the old
        # instance said offline, the new one is online, so it is ready again
        wait_until(lambda: shop.get("/readyz").status == 200, 10 * shop.build.slow,
                   "front /readyz 200 with the inventory under its new instance")

        for oid, want in placed:
            o = shop.wait_final(oid, timeout=30)
            assert_eq(o["status"], want, "final status of order %s (order: %s)" % (oid, o))
        t_final = time.monotonic()
        # the stock of the canceled orders is back: order/canceled was re-driven until released
        for oid in to_cancel:
            wait_until(lambda: shop.inv("/reservations/%s" % oid).body.get("status") == "released",
                       30 * shop.build.slow, "reservation of canceled order %s released" % oid)
        t_released = time.monotonic()
        shop.wait_available("MUG-001", before["MUG-001"])
        shop.wait_available("TEE-002", before["TEE-002"] - 8)
        shop.wait_available("PIN-004", before["PIN-004"] - 1)
        shop.wait_available("CAP-003", before["CAP-003"])
        shop.check_invariants()

        owed = len(placed) + N_CANCELED
        after = redriven(shop)
        assert_true(after - redriven_before >= owed,
                    "shop_order_redriven_total went up by at least the %d orders owed an event"
                    % owed, "before %s, after %s" % (redriven_before, after))
        print("redrive: %d orders and %d cancels healed; redriven %d -> %d; final %.1fs and "
              "released %.1fs after the inventory came back"
              % (len(placed), N_CANCELED, redriven_before, after, t_final - t_back,
                 t_released - t_back), flush=True)
