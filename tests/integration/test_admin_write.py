"""The admin's writes (docs/protocol.md §HTTP API): products and restocks as
events on the bus, applied by the inventory once (a restock per restock_id,
a product change by version); the re-drive of a stuck order; the daemons'
dead letters through the front."""

import json
import time
import uuid

from harness import (Cases, Shop, assert_eq, assert_error_body, assert_in, assert_status,
                     assert_true, wait_until)

ADMIN = "/api/v1/admin/"
PRODUCTS = ADMIN + "products"


def bearer(shop):
    return {"Authorization": "Bearer " + shop.admin_token}


def restock(shop, sku, qty, key=None, expect=202):
    headers = bearer(shop)
    if key is not None:
        headers["Idempotency-Key"] = key
    r = shop.post("%s/%s/restock" % (PRODUCTS, sku), {"qty": qty}, headers)
    assert_status(r, expect, "POST restock of %d %s (key %s)" % (qty, sku, key))
    return r


def put_product(shop, body, expect=202):
    r = shop.post(PRODUCTS, body, bearer(shop))
    assert_status(r, expect, "POST product %s" % json.dumps(body))
    return r


def stock_row(shop, sku):
    r = shop.get(ADMIN + "stock", bearer(shop))
    assert_status(r, 200, "GET admin/stock")
    return {p["sku"]: p for p in r.body["products"]}.get(sku)


def test_admin_writes_need_the_token(shop):
    oid = "11111111-1111-4111-8111-111111111111"
    rows = [(PRODUCTS, {"sku": "X-1", "name": "x", "price_cents": 1}),
            (PRODUCTS + "/MUG-001/restock", {"qty": 1}),
            (ADMIN + "orders/%s/redrive" % oid, {}),
            (ADMIN + "dead-letters", None)]
    with Cases("admin rows without or with a wrong token") as cases:
        for path, body in rows:
            method = "GET" if body is None else "POST"

            def check(path=path, body=body, method=method):
                r = shop.request(method, path, body)
                assert_status(r, 401, "%s %s without a token" % (method, path))
                assert_error_body(r, "%s %s without a token" % (method, path))
                r = shop.request(method, path, body,
                                 {"Authorization": "Bearer wrong-" + shop.admin_token})
                assert_status(r, 403, "%s %s with a wrong token" % (method, path))
                assert_error_body(r, "%s %s with a wrong token" % (method, path))
            cases.check(check)
    # nothing of the above changed anything
    assert_true("X-1" not in shop.catalog_by_sku(), "no product X-1 from refused requests")
    assert_eq(shop.available("MUG-001"), 150, "MUG-001 not restocked by refused requests")
    # positive control: the same restock with the token applies
    restock(shop, "MUG-001", 1)
    shop.wait_available("MUG-001", 151)
    shop.check_invariants()


def test_restock_once_per_idempotency_key(shop):
    before = shop.available("MUG-001")
    key = "restock-" + uuid.uuid4().hex
    first = restock(shop, "MUG-001", 25, key)
    assert_eq(first.body.get("sku"), "MUG-001", "the 202's sku")
    assert_eq(first.body.get("qty"), 25, "the 202's qty")
    shop.wait_available("MUG-001", before + 25)
    again = restock(shop, "MUG-001", 25, key)
    assert_eq(again.body.get("restock_id"), first.body.get("restock_id"),
              "the same Idempotency-Key names the same restock")
    # the same key on another SKU is another restock (keys are per resource)
    other_sku = restock(shop, "TEE-002", 2, key)
    assert_true(other_sku.body.get("restock_id") != first.body.get("restock_id"),
                "the same key on another SKU names another restock", other_sku.body)
    shop.wait_available("TEE-002", 42)
    # by now the duplicate has been handled too: it added nothing
    shop.check_invariants()
    assert_eq(shop.available("MUG-001"), before + 25, "MUG-001 after the same key twice")
    # positive control: a second key restocks again
    restock(shop, "MUG-001", 25, "restock-" + uuid.uuid4().hex)
    shop.wait_available("MUG-001", before + 50)
    row = stock_row(shop, "MUG-001")
    assert_eq(row["restocked"], 50, "admin/stock restocked of MUG-001")
    assert_eq(row["initial"], 150, "admin/stock initial of MUG-001")
    listing = shop.get(ADMIN + "restocks", bearer(shop))
    assert_status(listing, 200, "GET admin/restocks")
    ids = [r["restock_id"] for r in listing.body["restocks"]]
    assert_eq(ids.count(first.body["restock_id"]), 1, "the keyed restock listed once")
    # a restock makes an order that was too big possible
    oid = shop.order([{"sku": "CAP-003", "qty": 7}])
    shop.wait_status(oid, "rejected")
    restock(shop, "CAP-003", 2)
    shop.wait_available("CAP-003", 7)
    oid = shop.order([{"sku": "CAP-003", "qty": 7}])
    shop.wait_status(oid, "confirmed")
    shop.check_invariants()


def test_new_product_and_price_change(shop):
    r = put_product(shop, {"sku": "LAMP-9", "name": "Desk lamp \u2728", "price_cents": 2500})
    assert_eq(r.body.get("sku"), "LAMP-9", "the 202's sku")
    v1 = r.body.get("version")
    assert_true(isinstance(v1, int) and v1 > 0, "the 202 names the version", r.body)
    p = wait_until(lambda: shop.catalog_by_sku().get("LAMP-9"), 10 * shop.build.slow,
                   "LAMP-9 in the catalog")
    assert_eq(p["name"], "Desk lamp \u2728", "name of the new product")
    assert_eq(p["price_cents"], 2500, "price of the new product")
    assert_eq(p["currency"], "EUR", "default currency")
    assert_eq(p["available"], 0, "a new product has no stock")
    restock(shop, "LAMP-9", 3)
    shop.wait_available("LAMP-9", 3)
    before = shop.order([{"sku": "LAMP-9", "qty": 1}])
    assert_eq(shop.wait_status(before, "confirmed")["total_cents"], 2500, "total at the old price")
    time.sleep(0.005)  # versions are ms: the change is newer
    put_product(shop, {"sku": "LAMP-9", "name": "Desk lamp", "price_cents": 3100,
                       "currency": "EUR"})
    wait_until(lambda: shop.catalog_by_sku()["LAMP-9"]["price_cents"] == 3100,
               10 * shop.build.slow, "LAMP-9's new price in the catalog")
    after = shop.order([{"sku": "LAMP-9", "qty": 1}])
    assert_eq(shop.wait_status(after, "confirmed")["total_cents"], 3100, "total at the new price")
    # the earlier order keeps what it was priced at
    assert_eq(shop.wait_status(before, "confirmed")["total_cents"], 2500,
              "the earlier order's total after the price change")
    shop.check_invariants()


def test_older_version_does_not_overwrite(shop):
    put_product(shop, {"sku": "MUG-001", "name": "Big mug", "price_cents": 1300})
    wait_until(lambda: shop.catalog_by_sku()["MUG-001"]["price_cents"] == 1300,
               10 * shop.build.slow, "MUG-001 at 1300")
    version = stock_row(shop, "MUG-001")["version"]
    bus = shop.mqtt()
    try:
        topic = "webshop/inventory/product"
        old = {"v": 1, "sku": "MUG-001", "name": "Old mug", "price_cents": 1, "currency": "EUR",
               "version": version - 1}
        bus.publish(topic, old)
        bus.publish(topic, old)  # and a duplicate
        # positive control, published after the old ones: a newer version applies
        newer = dict(old, name="Newer mug", price_cents=1400, version=version + 1)
        bus.publish(topic, newer)
    finally:
        bus.close()
    wait_until(lambda: shop.catalog_by_sku()["MUG-001"]["price_cents"] == 1400,
               10 * shop.build.slow, "the newer version applied")
    p = shop.catalog_by_sku()["MUG-001"]
    assert_eq(p["name"], "Newer mug", "name after an older and a newer version")
    # the older one again, after the newer: still nothing
    bus = shop.mqtt()
    try:
        bus.publish("webshop/inventory/product", old)
    finally:
        bus.close()
    time.sleep(0.5)
    assert_eq(shop.catalog_by_sku()["MUG-001"]["price_cents"], 1400, "price after a late old version")
    shop.check_invariants()


def test_bad_admin_bodies(shop):
    auth = bearer(shop)
    bad_products = [
        b"not json", b"[]", b'{"sku":"A"}',
        {"sku": "a b", "name": "x", "price_cents": 1},
        {"sku": "A" * 65, "name": "x", "price_cents": 1},
        {"sku": "A", "name": "", "price_cents": 1},
        {"sku": "A", "name": "n" * 201, "price_cents": 1},
        {"sku": "A", "name": "x", "price_cents": -1},
        {"sku": "A", "name": "x", "price_cents": 100000001},
        {"sku": "A", "name": "x", "price_cents": 1.5},
        {"sku": "A", "name": "x", "price_cents": 1, "currency": "eur"},
        {"sku": "A", "name": "x", "price_cents": 1, "currency": "EURO"},
        {"sku": "A", "name": 5, "price_cents": 1},
    ]
    bad_restocks = [b"not json", b"{}", {"qty": 0}, {"qty": 1000001}, {"qty": -5},
                    {"qty": "3"}, {"qty": 2.5}]
    with Cases("bad admin bodies") as cases:
        for body in bad_products:
            def check(body=body):
                r = shop.post(PRODUCTS, body, auth)
                assert_status(r, 400, "POST product %r" % (body,))
                assert_error_body(r, "POST product %r" % (body,))
            cases.check(check)
        for body in bad_restocks:
            def check(body=body):
                r = shop.post(PRODUCTS + "/MUG-001/restock", body, auth)
                assert_status(r, 400, "POST restock %r" % (body,))
                assert_error_body(r, "POST restock %r" % (body,))
            cases.check(check)

        def bad_sku_in_path():
            r = shop.post(PRODUCTS + "/a%20b/restock", {"qty": 1}, auth)
            assert_status(r, 400, "restock of the SKU 'a b'")
            assert_eq(r.body.get("error"), "invalid_sku", "error code")
        cases.check(bad_sku_in_path)

        def bad_key():
            r = shop.post(PRODUCTS + "/MUG-001/restock", {"qty": 1},
                          dict(auth, **{"Idempotency-Key": "k" * 201}))
            assert_status(r, 400, "restock with a 201-character Idempotency-Key")
        cases.check(bad_key)

        def wrong_type():
            r = shop.post(PRODUCTS, '{"sku":"A","name":"x","price_cents":1}',
                          dict(auth, **{"Content-Type": "text/plain"}))
            assert_status(r, 415, "product as text/plain")
        cases.check(wrong_type)
    assert_true("A" not in shop.catalog_by_sku(), "no product from the bad bodies")
    assert_eq(shop.available("MUG-001"), 150, "MUG-001 unchanged by the bad bodies")
    assert_eq(shop.dead_letters("inventory"), [], "nothing bad reached the inventory")
    shop.check_invariants()


def test_admin_writes_503_with_the_broker_down(shop):
    shop.stop_broker()
    try:
        for what, path, body in (("product", PRODUCTS, {"sku": "B-1", "name": "b", "price_cents": 1}),
                                 ("restock", PRODUCTS + "/MUG-001/restock", {"qty": 3})):
            r = shop.post(path, body, dict(bearer(shop), **{"Idempotency-Key": "down-1"}))
            assert_status(r, 503, "POST %s with the broker down" % what)
            assert_error_body(r, "POST %s with the broker down" % what)
            retry = r.headers.get("Retry-After")
            assert_true(retry is not None and retry.strip().isdigit(),
                        "the 503 has a Retry-After of seconds", dict(r.headers))
    finally:
        shop.start_broker()
    wait_until(lambda: shop.get("/readyz").status == 200, 20 * shop.build.slow,
               "front ready after the broker is back")
    # the keyed retry applies once
    r = shop.post(PRODUCTS + "/MUG-001/restock", {"qty": 3},
                  dict(bearer(shop), **{"Idempotency-Key": "down-1"}))
    assert_status(r, 202, "the restock retried with its key")
    shop.wait_available("MUG-001", 153)
    shop.check_invariants()


def test_redrive_of_a_stuck_order(build):
    # a re-drive an hour away: only the admin's button moves a stuck order on
    with Shop(build, extra_args={"order": ["--redrive-s", "3600"]}) as shop:
        shop.stop("inventory")
        oid = shop.order([{"sku": "TEE-002", "qty": 1}])
        # back under another instance: another session, so the order/send
        # queued for the old one never reaches it
        shop.set_instance("inventory", "it-reborn")
        shop.start("inventory")
        wait_until(lambda: shop.get("/readyz").status == 200, 15 * shop.build.slow,
                   "front ready with the inventory back")
        time.sleep(1.0)
        o = shop.wait_final(oid, until=("pending",))
        assert_eq(o["status"], "pending", "the stuck order before the re-drive")
        r = shop.post(ADMIN + "orders/%s/redrive" % oid, None, bearer(shop))
        assert_status(r, 202, "POST redrive of the stuck order")
        assert_eq(shop.wait_final(oid)["status"], "confirmed", "the order after the re-drive")
        r = shop.post(ADMIN + "orders/%s/redrive" % oid, None, bearer(shop))
        assert_status(r, 409, "POST redrive of a confirmed order")
        assert_error_body(r, "POST redrive of a confirmed order")
        r = shop.post(ADMIN + "orders/%s/redrive" % uuid.uuid4(), None, bearer(shop))
        assert_status(r, 404, "POST redrive of an unknown order")
        r = shop.post(ADMIN + "orders/nope/redrive", None, bearer(shop))
        assert_status(r, 400, "POST redrive of a malformed id")
        shop.check_invariants()


def test_dead_letters_through_the_front(shop):
    r = shop.get(ADMIN + "dead-letters", bearer(shop))
    assert_status(r, 200, "GET admin/dead-letters")
    assert_eq(r.body, {"inventory": [], "order": []}, "no dead letters at first")
    bus = shop.mqtt()
    rid = str(uuid.uuid4())
    try:
        bus.publish("webshop/inventory/restock", b"\xff not json")
        bus.publish("webshop/inventory/restock", {"v": 1, "restock_id": rid, "sku": "PIN-004",
                                                  "qty": 2})
        # the same restock_id with another qty: a conflict, the first stands
        bus.publish("webshop/inventory/restock", {"v": 1, "restock_id": rid, "sku": "PIN-004",
                                                  "qty": 9})
        bus.publish("webshop/order/cancel", "{}")
    finally:
        bus.close()
    shop.wait_available("PIN-004", 3)

    def listed():
        got = shop.get(ADMIN + "dead-letters", bearer(shop)).body
        return got if len(got.get("inventory", [])) == 2 and got.get("order") else None
    got = wait_until(listed, 10 * shop.build.slow, "two inventory and one order dead letter")
    reasons = " | ".join(d["reason"] for d in got["inventory"])
    assert_in("restock_id", reasons, "the conflict's reason")
    assert_true(any("payload_base16" in d for d in got["inventory"]),
                "a payload that is not UTF-8 comes as base16", got["inventory"])
    assert_eq(got["order"][0]["topic"], "webshop/order/cancel", "the order daemon's dead letter")
    time.sleep(0.3)
    assert_eq(shop.available("PIN-004"), 3, "PIN-004 restocked once")
    shop.check_invariants()


def test_shop_replay_check_counts_restocks(shop):
    from test_replay import tool_check
    restock(shop, "MUG-001", 4, "k-" + uuid.uuid4().hex)
    # a restock of a SKU no product event created yet is kept, not applied
    restock(shop, "GHOST-1", 6)
    shop.wait_available("MUG-001", 154)
    oid = shop.order([{"sku": "MUG-001", "qty": 3}])
    shop.wait_status(oid, "confirmed")
    shop.check_invariants()
    lines = tool_check(shop)
    stock_line = [l for l in lines if " 2 " in l][0]
    assert_in("2 restocks (1 kept for unknown SKUs)", stock_line, "shop-replay check's invariant 2")
    # the product appears: the kept restock applies, once
    put_product(shop, {"sku": "GHOST-1", "name": "Ghost", "price_cents": 10})
    wait_until(lambda: shop.catalog_by_sku().get("GHOST-1", {}).get("available") == 6,
               10 * shop.build.slow, "GHOST-1 in the catalog with its 6 kept")
    shop.check_invariants()
    lines = tool_check(shop)
    assert_in("2 restocks (0 kept for unknown SKUs)", [l for l in lines if " 2 " in l][0],
              "shop-replay check's invariant 2 once the product exists")
