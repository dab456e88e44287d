"""Bad requests to the front: each is a 4xx with the error body, nothing is
accepted, and the shop stays ready."""

import json
import select
import socket
import time

from harness import (Cases, assert_eq, assert_error_body, assert_status, assert_true,
                     new_order_id, read_raw_response)

ORDERS = "/api/v1/orders"


def expect_rejected(shop, resp, status, what):
    assert_status(resp, status, what)
    assert_error_body(resp, what)
    assert_status(shop.get("/readyz"), 200, "/readyz after " + what)


def no_orders_accepted(shop):
    orders = shop.ord("/orders").body.get("orders")
    assert_eq(orders, [], "orders known to the order daemon after bad requests only")
    assert_eq(sorted(shop.accepted), [], "orders the front accepted")


def post_raw(shop, body, what, status=400, content_type="application/json"):
    r = shop.post(ORDERS, body, {"Content-Type": content_type})
    expect_rejected(shop, r, status, what)


def test_malformed_bodies(shop):
    cases = [
        (b'{"items": [', "truncated JSON"),
        (b'{items: []}', "JSON with an unquoted key"),
        (b'', "empty body"),
        (b'[]', "body is an array"),
        (b'"items"', "body is a string"),
        (b'null', "body is null"),
        (b'42', "body is a number"),
        (b'{}', "no items"),
        (b'{"items": null}', "items is null"),
        (b'{"items": {"sku": "MUG-001", "qty": 1}}', "items is an object"),
        (b'{"items": "MUG-001"}', "items is a string"),
        (b'{"items": []}', "items is empty"),
        (b'{"items": [1]}', "an item is a number"),
        (b'{"items": [["MUG-001", 1]]}', "an item is an array"),
        (b'{"items": [{"sku": "MUG-001", "qty": 1}]} trailing', "trailing bytes after the JSON"),
        (b'{"items": [{"sku": "MUG-\xff", "qty": 1}]}', "invalid UTF-8"),
        (b'{"items": [{"sku": "MUG-001", "qty": 1}]}\x00', "a NUL byte after the JSON"),
    ]
    with Cases("malformed bodies") as c:
        for body, what in cases:
            c.check(post_raw, shop, body, what)
    no_orders_accepted(shop)


def test_bad_quantities(shop):
    with Cases("bad quantities") as c:
        for qty in (0, -1, 1.5, "2", 2 ** 31, 2 ** 32, 2 ** 64, None, True, [1], {"n": 1}):
            c.check(post_raw, shop, json.dumps({"items": [{"sku": "MUG-001", "qty": qty}]}).encode(),
                    "qty %r" % (qty,))
        c.check(post_raw, shop, b'{"items": [{"sku": "MUG-001", "qty": 1e999}]}', "qty 1e999")
        c.check(post_raw, shop, b'{"items": [{"sku": "MUG-001"}]}', "qty missing")
        # the second line is bad: the whole order is refused
        c.check(post_raw, shop, json.dumps({"items": [{"sku": "MUG-001", "qty": 1},
                                                      {"sku": "TEE-002", "qty": 0}]}).encode(),
                "second line qty 0")
    no_orders_accepted(shop)


def test_bad_skus(shop):
    with Cases("bad SKUs") as c:
        for sku in ("A" * 65, "A" * 1000, "", "\u0001", "MUG-\u0001", "MUG\n001", "MUG\t001",
                    "\u0000", 123, None, ["MUG-001"]):
            c.check(post_raw, shop, json.dumps({"items": [{"sku": sku, "qty": 1}]}).encode(),
                    "sku %r" % (sku,))
        c.check(post_raw, shop, b'{"items": [{"qty": 1}]}', "sku missing")
    no_orders_accepted(shop)


def test_too_many_items(shop):
    items = [{"sku": "SKU-%05d" % i, "qty": 1} for i in range(5000)]
    r = shop.post(ORDERS, {"items": items})
    expect_rejected(shop, r, (400, 413), "an order of 5000 lines")
    no_orders_accepted(shop)


def test_wrong_content_type(shop):
    body = b'{"items": [{"sku": "MUG-001", "qty": 1}]}'
    with Cases("wrong content types") as c:
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            c.check(post_raw, shop, body, "Content-Type %s" % ctype, status=415, content_type=ctype)
    no_orders_accepted(shop)


def _headers(shop, extra):
    return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n%s\r\n"
            % (ORDERS, shop.front_port, extra)).encode()


def send_until_answered(shop, head, frames, limit, then=None):
    """Sends head, then frames (an iterable of bytes) until the server answers
    or `limit` bytes have gone; returns (response, bytes sent), and with
    then(sock) also what it returned."""
    s = shop.raw_socket()
    sent = 0
    try:
        s.sendall(head)
        s.setblocking(False)
        deadline = time.monotonic() + 10
        pending = b""
        frames = iter(frames)
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([s], [s], [], 0.5)
            if readable:
                break
            if not writable:
                continue
            if not pending:
                if sent >= limit:
                    break
                pending = next(frames, b"")
                if not pending:
                    break
            try:
                n = s.send(pending)
            except (BlockingIOError, InterruptedError):
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += n
            pending = pending[n:]
        s.setblocking(True)
        r = read_raw_response(s, timeout=5)
        return (r, sent) if then is None else (r, sent, then(s))
    finally:
        s.close()


def taken_after_answer(s, frame=b"x" * 65536, limit=64 * 1024 * 1024):
    """Goes on sending after the answer: returns (bytes the server still took,
    whether it closed the connection). A server that stops reading takes at
    most the sockets' buffers, a few MB on loopback."""
    s.settimeout(5)
    taken = 0
    try:
        while taken < limit:
            taken += s.send(frame)
    except (BrokenPipeError, ConnectionResetError):
        return taken, True
    except socket.timeout:
        return taken, False
    return taken, False


def test_body_too_large(shop):
    """Content-Length over the limit: 413 without the server reading the body."""
    s = shop.raw_socket()
    try:
        s.sendall(_headers(shop, "Content-Length: 2000000\r\n"))
        s.sendall(b'{"items": [' + b' ' * 4000)
        r = read_raw_response(s, timeout=5)
    finally:
        s.close()
    expect_rejected(shop, r, 413, "Content-Length 2000000 with only 4 kB of the body sent")
    # a body that is really that big, sent until the server answers
    big = json.dumps({"items": [{"sku": "MUG-001", "qty": 1}], "pad": "x" * 2000000}).encode()
    frames = (big[i:i + 65536] for i in range(0, len(big), 65536))
    r, sent = send_until_answered(shop, _headers(shop, "Content-Length: %d\r\n" % len(big)),
                                  frames, len(big))
    expect_rejected(shop, r, 413, "a 2 MB body (%d bytes sent before the answer)" % sent)
    no_orders_accepted(shop)


def test_no_reading_past_the_limit(shop):
    """After a 413 the front closes the connection and reads no more of the
    body, however much the client goes on sending."""
    chunk = b"x" * 65536
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    for extra, frame, what in (("Content-Length: 200000000\r\n", chunk, "Content-Length 200 MB"),
                               ("Transfer-Encoding: chunked\r\n", framed, "a chunked body")):
        r, sent, (taken, closed) = send_until_answered(
            shop, _headers(shop, extra), iter(lambda: frame, None), 8 * 1024 * 1024,
            then=lambda s: taken_after_answer(s, frame))
        expect_rejected(shop, r, 413, "%s (%d bytes sent before the answer)" % (what, sent))
        assert_eq(r.headers.get("Connection"), "close", what + ": the 413 says Connection: close")
        assert_true(closed and taken < 16 * 1024 * 1024,
                    what + ": the front closes the connection instead of reading on",
                    "%d more bytes taken after the answer, closed=%s" % (taken, closed))
    no_orders_accepted(shop)


def test_chunked_body_too_large(shop):
    chunk = b"x" * 65536
    frames = [b'5\r\n{"a":\r\n'] + [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 48
    r, sent = send_until_answered(shop, _headers(shop, "Transfer-Encoding: chunked\r\n"),
                                  frames, 3 * 1024 * 1024)
    expect_rejected(shop, r, 413, "a chunked body over the limit (%d bytes sent)" % sent)
    no_orders_accepted(shop)


def test_chunked_body_accepted(shop):
    body = b'{"items": [{"sku": "MUG-001", "qty": 2}]}'
    s = shop.raw_socket()
    try:
        s.sendall(_headers(shop, "Transfer-Encoding: chunked\r\n"))
        for part in (body[:10], body[10:25], body[25:]):
            s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        s.sendall(b"0\r\n\r\n")
        r = read_raw_response(s, timeout=10)
    finally:
        s.close()
    assert_status(r, 202, "a small chunked body")
    shop.accepted.add(r.body["order_id"])
    shop.wait_status(r.body["order_id"], "confirmed")
    shop.check_invariants()


def test_unknown_routes_and_methods(shop):
    """An unknown path is a 404 whatever the method; a known path asked with
    the wrong method is a 405 whose Allow header names the right ones."""
    oid = new_order_id()
    for method, path, status, allow in (("GET", "/api/v1/nope", 404, None),
                                        ("POST", "/api/v1/nope", 404, None),
                                        ("DELETE", "/nope", 404, None),
                                        ("GET", "/api/v2/catalog", 404, None),
                                        ("GET", "/api/v1/orders/%s/extra" % oid, 400, None),
                                        ("PUT", ORDERS, 405, "POST"),
                                        ("GET", ORDERS, 405, "POST"),
                                        ("DELETE", "/api/v1/catalog", 405, "GET, HEAD"),
                                        ("POST", "/api/v1/catalog", 405, "GET, HEAD"),
                                        ("POST", "/readyz", 405, "GET, HEAD"),
                                        ("DELETE", "%s/%s" % (ORDERS, oid), 405, "GET, HEAD"),
                                        ("GET", "%s/%s/cancel" % (ORDERS, oid), 405, "POST")):
        r = shop.request(method, path, b"{}" if method in ("PUT", "POST") else None)
        what = "%s %s" % (method, path)
        expect_rejected(shop, r, status, what)
        assert_eq(r.headers.get("Allow"), allow, what + ": Allow header")
    r = shop.request("HEAD", "/api/v1/catalog")
    assert_status(r, 200, "HEAD /api/v1/catalog")
    assert_eq(r.text, "", "HEAD /api/v1/catalog has no body")
    no_orders_accepted(shop)


def test_garbage_request_line(shop):
    """Junk instead of HTTP: the front answers 400 or closes, and stays up."""
    for junk in (b"HELLO\r\n\r\n", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
                 b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 100):
        s = shop.raw_socket()
        try:
            s.sendall(junk)
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the front already answered and closed: allowed, the reply is read below
            s.settimeout(5)
            data = b""
            try:
                while True:  # the front closes after its answer
                    more = s.recv(4096)
                    if not more:
                        break
                    data += more
            except (ConnectionResetError, socket.timeout):
                pass
            if data or not junk.startswith(b"\x16"):
                status = data.split(b" ", 2)[1] if data.startswith(b"HTTP/") else b"?"
                assert_true(status.startswith(b"4"), "junk request %r answered with 4xx" % junk[:20],
                            data[:200])
                head, _, body = data.partition(b"\r\n\r\n")
                assert_true(b"content-length: %d" % len(body) in head.lower(),
                            "junk request %r: Content-Length matches the body" % junk[:20], data[:400])
                err = json.loads(body)
                assert_true(isinstance(err.get("error"), str) and isinstance(err.get("message"), str),
                            "junk request %r: the answer has the JSON error body" % junk[:20], body)
        finally:
            s.close()
        assert_status(shop.get("/readyz"), 200, "/readyz after junk %r" % junk[:20])
    no_orders_accepted(shop)
