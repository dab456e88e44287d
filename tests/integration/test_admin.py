"""The admin API: read-only listings behind the bearer token."""

from harness import (Shop, assert_eq, assert_error_body, assert_in, assert_status,
                     assert_true)

ADMIN = "/api/v1/admin/"


def test_admin_listings_need_the_token(shop):
    oid = shop.order([{"sku": "MUG-001", "qty": 2}])
    shop.wait_status(oid, "confirmed")
    good = {"Authorization": "Bearer " + shop.admin_token}
    for what in ("orders", "stock", "reservations"):
        path = ADMIN + what
        r = shop.get(path)
        assert_status(r, 401, "GET %s without a token" % path)
        assert_error_body(r, "GET %s without a token" % path)
        assert_in("Bearer", r.headers.get("WWW-Authenticate") or "",
                  "GET %s without a token: WWW-Authenticate" % path)
        r = shop.get(path, {"Authorization": "Bearer wrong-" + shop.admin_token})
        assert_status(r, 403, "GET %s with a wrong token" % path)
        assert_error_body(r, "GET %s with a wrong token" % path)
        r = shop.request("POST", path, b"{}", {"Authorization": good["Authorization"]})
        assert_status(r, 405, "POST %s" % path)
    orders = shop.get(ADMIN + "orders", good)
    assert_status(orders, 200, "GET admin/orders with the token")
    listed = {o["order_id"]: o for o in orders.body["orders"]}
    assert_eq(listed.get(oid, {}).get("status"), "confirmed", "the order in the admin listing")
    stock = shop.get(ADMIN + "stock", good)
    assert_status(stock, 200, "GET admin/stock with the token")
    assert_true("MUG-001" in stock.text, "admin/stock lists MUG-001", stock.text[:300])
    res = shop.get(ADMIN + "reservations", good)
    assert_status(res, 200, "GET admin/reservations with the token")
    assert_in(oid, res.text, "admin/reservations lists the confirmed order")
    assert_status(shop.get(ADMIN + "nope", good), 404, "an unknown admin path")


def test_admin_api_off_without_a_token(build):
    with Shop(build) as shop:
        proc = shop.procs["front"]
        shop.stop("front")
        i = proc.argv.index("--admin-token")
        proc.argv = proc.argv[:i] + proc.argv[i + 2:]
        proc.env.pop("SHOP_ADMIN_TOKEN", None)
        shop.start("front")
        r = shop.get(ADMIN + "orders", {"Authorization": "Bearer anything"})
        assert_status(r, 403, "admin API of a front started without a token")
        assert_eq(r.body.get("error"), "admin_disabled", "error code")
