"""The shop page `/` in a real browser (Debian's chromium driven by
playwright-core, tests/browser/), and the front's serving of the pages.

Each browser test runs one scenario of tests/browser/shop_page.mjs against the
shop's front, asserts on what the page showed, then checks the shop's side
through the API. Every scenario also checks that the page asked nothing of
another origin, had no error and broke no Content-Security-Policy rule; the
recorders of those are shown to work by positive controls (a request to
another origin, a console error, an uncaught exception, an inline style).
The shopper's and the admin's scenarios run on both topologies (the
`topology` fixture: a fresh Shop each, or one ./shop run with SHOP_EDGES=2
for the module, the page through haproxy); keyboard, phone and the
stream-limit fallback run on the single one only (the page is the same from
every front; the fallback needs a front with --sse-max 1).
The screenshots go to <data dir>/browser/, kept when a test fails; with
SHOP_UPDATE_SCREENSHOTS=1 the checkout and admin tests also copy their
screenshots of the two pages to docs/screenshots/ (the README shows them).
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from harness import (DEFAULT_CATALOG, REPO, Shop, SseStream, assert_eq, assert_error_body, assert_in,
                     assert_status, assert_true, child_env, http_request, metric, read_raw_response,
                     run_binary)
from shop_run import RunShop

BROWSER_DIR = os.path.join(REPO, "tests", "browser")
WWW_DIR = os.path.join(REPO, "public_front", "www")
CHROMIUM = "/usr/bin/chromium"
ADMIN_ORDERS = "/api/v1/admin/orders"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LOAD_FAILED = r"Failed to load resource: "
# Console errors the page causes on purpose and handles, by (text, path): a
# status stream over SHOP_SSE_MAX is a 503 and the page falls back to polling
# (the front waits for an order just accepted, so a stream opened right after
# the 202 is no 404); and an order the order daemon has not recorded yet
# right after its 202 is a 404 while the page polls.
EXPECTED_CONSOLE = [
    (LOAD_FAILED + r"the server responded with a status of 503 .*",
     r"/api/v1/orders/%s/events" % UUID),
    (LOAD_FAILED + r"the server responded with a status of 404 .*", r"/api/v1/orders/%s" % UUID),
]
ORDER_PATH = r"/api/v1/orders/%s" % UUID


def price_text(cents, currency="EUR"):
    return "%d.%02d %s" % (cents // 100, cents % 100, currency)


def catalog_entry(sku):
    return next(p for p in DEFAULT_CATALOG if p["sku"] == sku)


def run_page(shop, scenario, *skus, token=None):
    """Runs one scenario in chromium; returns its report (a dict)."""
    node = shutil.which("node")
    assert_true(node is not None, "node is not installed (./shop test installs nodejs and npm)")
    assert_true(os.access(CHROMIUM, os.X_OK), "%s is missing (./shop test installs chromium)" % CHROMIUM)
    assert_true(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                "tests/browser/node_modules is missing: run `npm ci` in tests/browser "
                "(./shop test does)")
    out = os.path.join(shop.dir, "browser")
    argv = [node, os.path.join(BROWSER_DIR, "shop_page.mjs"),
            "--url", "http://127.0.0.1:%d/" % shop.port("front"), "--scenario", scenario,
            "--out", out, "--foreign", "http://127.0.0.1:%d/healthz" % shop.port("inventory")]
    for sku in skus:
        argv += ["--sku", sku]
    if token is not None:
        argv += ["--token", token]
    timeout = 120 * shop.build.slow
    try:
        p = subprocess.run(argv, cwd=BROWSER_DIR, env=child_env(), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("browser scenario %s did not end within %.0fs" % (scenario, timeout)) from None
    stdout = p.stdout.decode(errors="replace").strip()
    stderr = p.stderr.decode(errors="replace").strip()
    try:
        report = json.loads(stdout.splitlines()[-1])
    except (IndexError, ValueError):
        raise AssertionError("browser scenario %s printed no report (exit %s); stdout: %s; stderr: %s"
                             % (scenario, p.returncode, stdout[-800:], stderr[-1500:])) from None
    if not report.get("ok"):
        raise AssertionError("browser scenario %s failed: %s\n  screenshots: %s\n  page errors: %s\n"
                             "  console errors: %s\n  stderr: %s"
                             % (scenario, report.get("error"), report.get("screenshots"),
                                report.get("pageErrors"), report.get("console"), stderr[-800:]))
    return report


def page_expect(report, cond, what, detail=None):
    """assert_true that names the scenario's screenshots."""
    assert_true(cond, "%s [screenshots: %s]" % (what, ", ".join(report.get("screenshots", []))),
                detail)


def check_page_behaved(shop, report, expected_console=()):
    """What every scenario must show: only same-origin requests, no page or
    console error (but EXPECTED_CONSOLE and expected_console, pairs of
    regular expressions of text and path), no CSP violation; and the
    recorders do see each of those."""
    origin = "http://127.0.0.1:%d" % shop.port("front")
    urls = [r["url"] for r in report["requests"]]
    foreign = [u for u in urls if not u.startswith(origin + "/")]
    page_expect(report, not foreign, "requests that left the shop's origin %s" % origin, foreign)
    for own in ("/", "/static/shop.js", "/static/shop.css", "/api/v1/catalog"):
        page_expect(report, origin + own in urls,
                    "the request recorder saw the page's own GET %s" % own, urls)
    controls = report["controls"]
    control_urls = [r["url"] for r in controls["requests"]]
    page_expect(report, any(not u.startswith(origin + "/") for u in control_urls),
                "control: the request recorder sees a request to another origin", control_urls)

    page_expect(report, report["pageErrors"] == [], "page errors", report["pageErrors"])
    page_expect(report, any("control: uncaught" in e for e in controls["pageErrors"]),
                "control: the page error recorder sees an uncaught exception", controls["pageErrors"])

    unexpected = []
    for c in report["console"]:
        path = c["url"][len(origin):] if c["url"].startswith(origin) else c["url"]
        if not any(re.fullmatch(t, c["text"]) and re.fullmatch(p, path)
                   for t, p in EXPECTED_CONSOLE + list(expected_console)):
            unexpected.append(c)
    page_expect(report, unexpected == [], "console errors", unexpected)
    page_expect(report, any("control: console error" in c["text"] for c in controls["console"]),
                "control: the console recorder sees console.error", controls["console"])

    page_expect(report, report["csp"] == [], "Content-Security-Policy violations", report["csp"])
    page_expect(report, any(v["directive"].startswith("style-src") for v in controls["csp"]),
                "control: an inline style is blocked and recorded as a CSP violation",
                controls["csp"])


def order_requests(shop, report):
    """(stream opens, polling GETs) of the order status the page made."""
    origin = "http://127.0.0.1:%d" % shop.port("front")
    paths = [r["url"][len(origin):] for r in report["requests"]
             if r["method"] == "GET" and r["url"].startswith(origin + "/")]
    return (sum(1 for p in paths if re.fullmatch(ORDER_PATH + "/events", p)),
            sum(1 for p in paths if re.fullmatch(ORDER_PATH, p)))


def expect_pushed(shop, report, view, status):
    """The page showed status from the order status stream, not from polling."""
    page_expect(report, "%s/stream" % status in view["sources"],
                "the page showed %s from the stream (data-source)" % status, view["sources"])
    streams, polls = order_requests(shop, report)
    page_expect(report, streams >= 1 and polls == 0,
                "the page opened the stream and never polled", (streams, polls))


def admin_orders(shop):
    r = shop.get(ADMIN_ORDERS, {"Authorization": "Bearer " + shop.admin_token})
    assert_status(r, 200, "GET %s" % ADMIN_ORDERS)
    return r.body["orders"]


# --------------------------------------------------------------------------
# in the browser

def keep_screenshot(report, taken, kept):
    """With SHOP_UPDATE_SCREENSHOTS=1, copies the scenario's screenshot named
    taken into docs/screenshots/kept, the picture the README shows."""
    if os.environ.get("SHOP_UPDATE_SCREENSHOTS") != "1":
        return
    shot = [p for p in report["screenshots"] if p.endswith("/" + taken)]
    assert_true(len(shot) == 1, "the scenario took %s" % taken, report["screenshots"])
    os.makedirs(os.path.join(REPO, "docs", "screenshots"), exist_ok=True)
    shutil.copyfile(shot[0], os.path.join(REPO, "docs", "screenshots", kept))


@pytest.fixture(scope="module", params=["edges2", "single"])
def topology(request):
    """The topology a page test runs on. single: each test gets a fresh Shop
    (the `shop` fixture). edges2: one ./shop run with SHOP_EDGES=2 (a core
    broker, two bridged edges with a front each, haproxy in front) serves all
    of the module's edges2 tests, the page going through haproxy; so the
    tests read the stock, orders and restocks before and after rather than
    assume a fresh shop, and each scenario has SKUs of its own where it
    needs stock the others do not touch. Always stopped; its data dir (logs,
    screenshots) is kept when a test failed while it ran. edges2 comes first:
    pytest stops it when the tests move on to single, not at the module's
    end, so it does not idle beside the other tests."""
    if request.param == "single":
        yield None
        return
    from conftest import _BUILD  # the suite's Build, as the build fixture gives it
    failed_before = request.session.testsfailed
    run = RunShop(request.config.stash[_BUILD], edges=2).open()
    try:
        yield run
    finally:
        run.close(failed=request.session.testsfailed > failed_before)


@pytest.fixture
def page_shop(topology, request):
    """The shop of a page test on each topology (see `topology`)."""
    return topology if topology is not None else request.getfixturevalue("shop")


def order_ids(shop):
    return {o["order_id"] for o in admin_orders(shop)}


def orders_taken(shop):
    """Orders the fronts themselves answered 202 (their /metrics), summed."""
    total = 0
    for port in shop.front_ports():
        r = http_request(port, "GET", "/metrics", timeout=5)
        assert_status(r, 200, "GET /metrics of the front on %d" % port)
        total += int(metric(r.text, 'shop_front_requests_total{route="/api/v1/orders",status="202"}')
                     or 0)
    return total


def test_browser_checkout_confirmed_without_reload(page_shop):
    shop = page_shop
    a, b = "MUG-001", "TEE-002"
    before = {a: shop.available(a), b: shop.available(b)}
    taken = orders_taken(shop)
    report = run_page(shop, "checkout", a, b)
    seen = report["seen"]
    view = seen["view"]
    pa, pb = catalog_entry(a)["price_cents"], catalog_entry(b)["price_cents"]
    assert_eq(seen["prices"], {a: price_text(pa), b: price_text(pb)}, "prices the page shows")
    assert_in(price_text(pa + 2 * pb), seen["cartText"], "the cart's total before checkout")
    assert_eq(view["statuses"], ["pending", "confirmed"],
              "the order status texts the page showed, in order")
    page_expect(report, view["sameDocument"], "the status changed without a reload")
    assert_eq(view["total"], price_text(pa + 2 * pb), "[data-test=total]")
    page_expect(report, view["totalVisible"] and not view["reasonVisible"],
                "total shown, no reason, for a confirmed order", view)
    assert_eq(view["statusLive"], "polite", "the status is announced (aria-live)")
    expect_pushed(shop, report, view, "confirmed")
    order = shop.wait_final(view["orderId"])
    assert_eq(order["status"], "confirmed", "the order's status through the API")
    assert_eq(order["total_cents"], pa + 2 * pb, "the order's total through the API")
    assert_eq(sorted((i["sku"], i["qty"]) for i in order["items"]), [(a, 1), (b, 2)],
              "the order's items through the API")
    assert_eq({a: shop.available(a), b: shop.available(b)}, {a: before[a] - 1, b: before[b] - 2},
              "available after the order of %s x1, %s x2 (before: %s)" % (a, b, before))
    # the page's one POST was taken by a front (behind haproxy on edges2:
    # the page's port is none of the fronts')
    assert_eq(orders_taken(shop) - taken, 1, "orders the fronts answered 202 for the page")
    if len(shop.front_ports()) > 1:
        assert_true(shop.port("front") not in shop.front_ports(),
                    "the page went to haproxy, not to a front", shop.front_ports())
    # after a reload: the cart is empty, the order is listed with its status
    after = seen["afterReload"]
    assert_eq(after["listed"], [{"orderId": view["orderId"], "status": "confirmed"}],
              "orders of this browser listed after a reload")
    assert_eq(after["status"], "confirmed", "the current order after a reload")
    page_expect(report, seen["checkoutDisabledAfter"], "the cart is empty after the order")
    check_page_behaved(shop, report)
    if not isinstance(shop, RunShop):
        keep_screenshot(report, "browser-checkout-desktop.png", "shop.png")
    shop.check_invariants()


def test_browser_falls_back_to_polling_over_the_stream_limit(build):
    """A front at its SHOP_SSE_MAX answers the page's stream 503: the page
    polls instead and still shows the change without a reload. The one
    stream slot is held by a stream of an order that stays pending (its
    order/send queued for an inventory session that is gone, no re-drive
    within the test)."""
    with Shop(build, extra_args={"front": ["--sse-max", "1"],
                                 "order": ["--redrive-s", "3600"]}) as shop:
        shop.stop("inventory")
        held = shop.order([{"sku": "MUG-001", "qty": 1}])
        shop.wait_final(held, until=("pending",))
        shop.set_instance("inventory", "it-other")
        shop.start("inventory")
        with SseStream(shop.port("front"), "/api/v1/orders/%s/events" % held) as s:
            assert_eq(s.status, 200, "the stream that holds the one slot")
            a, b = "MUG-001", "TEE-002"
            report = run_page(shop, "checkout", a, b)
            view = report["seen"]["view"]
            assert_eq(view["statuses"], ["pending", "confirmed"], "the statuses the page showed")
            page_expect(report, "confirmed/poll" in view["sources"],
                        "the page showed confirmed from polling (data-source)", view["sources"])
            streams, polls = order_requests(shop, report)
            page_expect(report, streams >= 1 and polls >= 1,
                        "the page tried the stream, then polled", (streams, polls))
            page_expect(report, view["sameDocument"], "the status changed without a reload")
            check_page_behaved(shop, report)
            assert_true(shop.metric("front", "shop_front_sse_refused_total") >= 1.0,
                        "the front refused the page's stream")


def test_browser_double_click_orders_once(page_shop):
    shop = page_shop
    sku = "MUG-001"
    stock, known = shop.available(sku), order_ids(shop)
    report = run_page(shop, "double_click", sku)
    seen = report["seen"]
    keys = set(seen["posts"])
    page_expect(report, len(seen["posts"]) >= 1 and len(keys) == 1 and None not in keys,
                "every POST of the checkout carries the cart's one Idempotency-Key", seen["posts"])
    assert_eq(seen["view"]["status"], "confirmed", "status on the page")
    assert_eq(sorted(order_ids(shop) - known), [seen["view"]["orderId"]],
              "orders the order daemon has after a double click (new ones)")
    assert_eq(shop.available(sku), stock - 1, "%s available after one order of 1" % sku)
    check_page_behaved(shop, report)
    shop.check_invariants()


def test_browser_lost_answer_is_retried_and_orders_once(page_shop):
    shop = page_shop
    known = order_ids(shop)
    report = run_page(shop, "lost_answer", "MUG-001")
    seen = report["seen"]
    assert_eq(seen["dropped"]["status"], 202, "the shop accepted the POST whose answer was lost")
    assert_eq(len(seen["posts"]), 2, "POSTs the page sent (the first answer lost, one retry)")
    assert_eq(seen["posts"][0], seen["posts"][1], "the retry's Idempotency-Key")
    assert_eq(json.loads(seen["dropped"]["body"])["order_id"], seen["view"]["orderId"],
              "the retry names the order of the lost answer")
    assert_eq(seen["view"]["status"], "confirmed", "status on the page")
    assert_eq(sorted(order_ids(shop) - known), [seen["view"]["orderId"]],
              "orders the order daemon has (new ones)")
    # the answer the test cut off
    check_page_behaved(shop, report, [(LOAD_FAILED + "net::ERR_CONNECTION_RESET", "/api/v1/orders")])
    shop.check_invariants()


def test_browser_cancel_shows_canceled_and_stock_returns(page_shop):
    shop = page_shop
    sku = "CAP-003"
    stock = shop.available(sku)
    assert_true(stock >= 2, "%s has the 2 the scenario orders" % sku, stock)
    report = run_page(shop, "cancel", sku)
    seen = report["seen"]
    assert_eq(seen["first"], "confirmed", "status before the cancel")
    assert_eq(seen["last"], "canceled", "status after the cancel")
    assert_eq(seen["before"], stock, "available on the page before the order")
    assert_eq(seen["whileConfirmed"], stock - 2, "available on the page while the order held 2")
    assert_eq(seen["after"], stock, "available on the page after the cancel")
    page_expect(report, not seen["view"]["cancelVisible"], "no cancel button on a canceled order")
    expect_pushed(shop, report, seen["view"], "canceled")
    order = shop.wait_status(seen["view"]["orderId"], "canceled")
    assert_eq(order["status"], "canceled", "the order through the API")
    shop.wait_available(sku, stock)
    check_page_behaved(shop, report)
    shop.check_invariants()


def test_browser_rejected_order_says_why(page_shop):
    shop = page_shop
    sku = "PIN-004"  # 1 in stock, and no other scenario orders it
    stock = shop.available(sku)
    assert_true(stock >= 1, "%s is in stock for the scenario" % sku, stock)
    report = run_page(shop, "rejected", sku)
    seen = report["seen"]
    view = seen["view"]
    assert_eq(seen["inStock"], stock, "available when the cart was filled")
    assert_eq(view["status"], "rejected", "status on the page")
    page_expect(report, view["reasonVisible"] and not view["totalVisible"],
                "a rejected order shows its reason and no total", view)
    assert_in(sku, view["reason"], "[data-test=reason] names the product")
    assert_in("Not enough", view["reason"], "[data-test=reason] says why in words")
    expect_pushed(shop, report, view, "rejected")
    order = shop.wait_final(view["orderId"])
    assert_eq((order["status"], order.get("reason"), order.get("sku")),
              ("rejected", "insufficient_stock", sku), "the order through the API")
    assert_eq(shop.wait_final(seen["otherId"])["status"], "confirmed",
              "the other shopper's order of the last one")
    assert_eq(shop.available(sku), 0, "available of %s" % sku)
    check_page_behaved(shop, report)
    shop.check_invariants()


def test_browser_keyboard_only_checkout(shop):
    report = run_page(shop, "keyboard", "MUG-001")
    seen = report["seen"]
    page_expect(report, seen["tabsToAdd"] > 0, "Tab reaches the product's add button", seen)
    assert_eq(seen["outlineUnfocused"], "none", "control: no outline on the unfocused button")
    page_expect(report, seen["outlineFocused"]["style"] != "none",
                "keyboard focus is visible (outline)", seen["outlineFocused"])
    assert_eq(seen["cartLines"], 1, "cart lines after Enter on the add button")
    page_expect(report, seen["tabsToCheckout"] > 0, "Tab reaches checkout", seen)
    assert_eq(seen["view"]["status"], "confirmed", "status after Enter on checkout")
    assert_eq(seen["focusAfter"], "order-heading", "focus after checkout (the order's heading)")
    assert_eq([o["order_id"] for o in admin_orders(shop)], [seen["view"]["orderId"]],
              "orders the order daemon has")
    check_page_behaved(shop, report)


def test_browser_phone(shop):
    report = run_page(shop, "phone", "MUG-001")
    seen = report["seen"]
    assert_in("width=device-width", seen["layout"]["viewportMeta"] or "", "viewport meta")
    page_expect(report, seen["layout"]["scrollWidth"] <= seen["layout"]["viewport"],
                "nothing wider than a 390 px phone screen", seen["layout"])
    page_expect(report, seen["widthAfter"] <= seen["layout"]["viewport"],
                "nothing wider than the screen with an order shown", seen)
    assert_eq(seen["view"]["status"], "confirmed", "status after tapping checkout")
    check_page_behaved(shop, report)


# --------------------------------------------------------------------------
# serving the files (plain HTTP)

def test_browser_pages_served_with_their_headers(shop):
    files = {"/": "index.html", "/static/shop.js": "shop.js", "/static/shop.css": "shop.css",
             "/static/favicon.svg": "favicon.svg"}
    types = {"/": "text/html; charset=utf-8", "/static/shop.js": "text/javascript; charset=utf-8",
             "/static/shop.css": "text/css; charset=utf-8", "/static/favicon.svg": "image/svg+xml"}
    for path, name in files.items():
        with open(os.path.join(WWW_DIR, name), "rb") as f:
            want = f.read()
        r = shop.get(path)
        assert_status(r, 200, "GET %s" % path)
        assert_eq(r.text.encode(), want, "GET %s: the body is the file %s" % (path, name))
        assert_eq(r.headers.get("Content-Type"), types[path], "GET %s: Content-Type" % path)
        assert_eq(r.headers.get("Content-Length"), str(len(want)), "GET %s: Content-Length" % path)
        assert_eq(r.headers.get("Content-Security-Policy"), CSP, "GET %s: CSP" % path)
        assert_eq(r.headers.get("X-Content-Type-Options"), "nosniff", "GET %s: nosniff" % path)
        h = shop.request("HEAD", path)
        assert_status(h, 200, "HEAD %s" % path)
        assert_eq((h.headers.get("Content-Length"), h.text), (str(len(want)), ""),
                  "HEAD %s: length of the GET and no body" % path)
    r = shop.post("/", b"{}")
    assert_status(r, 405, "POST /")
    assert_eq(r.headers.get("Allow"), "GET, HEAD", "POST /: Allow")
    # keep-alive: the page and its files on one connection
    with shop.raw_socket() as sock:
        for path in ("/", "/static/shop.css", "/static/shop.js"):
            sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
            r = read_raw_response(sock)
            assert_status(r, 200, "GET %s on a kept-alive connection" % path)
    # the page's own references are all same-origin, no inline script or style
    page = shop.get("/").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert_true(refs and all(u.startswith("/") and not u.startswith("//") or u.startswith("#")
                             for u in refs), "the page refers only to its own origin", refs)
    assert_true(not re.search(r"<script(?![^>]*\bsrc=)", page) and "<style" not in page
                and " style=" not in page and not re.search(r"\son[a-z]+=", page),
                "no inline script, style or event handler in index.html")


def test_browser_pages_no_traversal_no_listing(shop):
    secret = os.path.basename(__file__)
    paths = [
        "/static/", "/static", "/static/nope.js", "/static/../meson.build",
        "/static/..%2fmeson.build", "/static/%2e%2e/%2e%2e/meson.build",
        "/static/%2e%2e%2f%2e%2e%2fshop", "/static/..", "/static/%2e%2e",
        "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/.hidden.js",
        "/static/index.html.bak", "/static/shop.js/", "/static/../../tests/integration/" + secret,
        "/index.html", "/www/shop.js", "/public_front/www/shop.js",
    ]
    for path in paths:
        r = shop.get(path)
        assert_status(r, (400, 404), "GET %s" % path)
        assert_error_body(r, "GET %s" % path)
        assert_true("<html" not in r.text and "use strict" not in r.text,
                    "GET %s serves no file" % path, r.text[:200])
    # the same names that do exist are served (the 404s above are not a blanket refusal)
    assert_status(shop.get("/static/shop.js"), 200, "control: GET /static/shop.js")
    assert_status(shop.get("/static/shop.js?v=2"), 200, "control: GET /static/shop.js?v=2")


def test_browser_front_refuses_a_www_dir_without_index(build):
    # a bad --www-dir is one line and a non-zero exit before anything listens
    code, out, err = run_binary(build, "front", ["--www-dir", "/nonexistent/www", "--front-port", "1"])
    assert_true(code not in (0, None), "shop-front with a missing www dir exits non-zero", code)
    lines = [l for l in err.splitlines() if l.strip()]
    assert_eq(len(lines), 1, "lines on stderr for a missing www dir (%s)" % err)
    assert_in("/nonexistent/www", lines[0], "the error names the directory")
    code, out, err = run_binary(build, "front", ["--help"])
    assert_in("--www-dir", out, "--help lists --www-dir")
    assert_in("SHOP_WWW_DIR", out, "--help lists SHOP_WWW_DIR")


def test_browser_admin_restock_shows_in_the_shop(page_shop):
    shop = page_shop
    sku = "CAP-003"
    stock = shop.available(sku)
    auth = {"Authorization": "Bearer " + shop.admin_token}
    restocks = shop.get("/api/v1/admin/restocks", auth)
    assert_status(restocks, 200, "GET /api/v1/admin/restocks")
    known = {r["restock_id"] for r in restocks.body["restocks"]}
    report = run_page(shop, "admin", sku, token=shop.admin_token)
    seen = report["seen"]
    page_expect(report, seen["wrongToken"]["error"] != "" and seen["wrongToken"]["stockShown"] == 0,
                "a wrong token shows an error and no stock", seen["wrongToken"])
    assert_eq(seen["before"], stock, "the admin page's available before")
    assert_eq(seen["afterAdmin"], stock + 7, "the admin page after restocking 7")
    page_expect(report, seen["tokenKept"], "the token is kept in sessionStorage")
    assert_eq(seen["afterReload"], seen["afterAdmin"], "the admin page after a reload of the tab")
    assert_eq(seen["shopShows"], stock + 7, "the shop page's available")
    assert_eq(shop.available(sku), stock + 7, "available of %s through the API" % sku)
    urls = [r["url"] for r in report["requests"]]
    origin = "http://127.0.0.1:%d" % shop.port("front")
    for own in ("/admin", "/static/admin.js", "/static/admin.css", "/api/v1/admin/stock"):
        page_expect(report, origin + own in urls, "the admin page's own GET %s" % own, urls)
    # the wrong token's 403 is the one console error the browser reports
    check_page_behaved(shop, report,
                       expected_console=[(r"Failed to load resource: .*403.*", r"/api/v1/admin/stock")])
    if not isinstance(shop, RunShop):
        keep_screenshot(report, "browser-admin-page.png", "admin.png")
    restocks = shop.get("/api/v1/admin/restocks", auth)
    assert_eq([(r["sku"], r["qty"]) for r in restocks.body["restocks"] if r["restock_id"] not in known],
              [(sku, 7)], "new restocks: one of 7 (one click, one Idempotency-Key)")
    shop.check_invariants()
