"""The daemons' internal HTTP is not public (docs/protocol.md §Settings,
SHOP_INTERNAL_BIND and SHOP_INTERNAL_TOKEN): it listens on loopback whatever
SHOP_BIND says, and wants the internal bearer token on all but /healthz and
/metrics; the front sends it on every call."""

import concurrent.futures
import os
import subprocess

from harness import (Shop, assert_eq, assert_error_body, assert_in, assert_status, assert_true,
                     free_ports, http_request, run_binary, wait_until)
from shop_run import ShopRun

# What the daemons' listings hold: every order id, which is all a cancel needs.
LISTINGS = {"inventory": ("/catalog", "/stock", "/reservations"),
            "order": ("/orders",)}


def listening_addresses(port):
    """The local addresses with a TCP socket listening on port, from
    /proc/net/tcp and /proc/net/tcp6 (state 0A is LISTEN)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, hexport = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hexport, 16) == port:
                if len(address) == 8:  # IPv4, little-endian bytes
                    found.append(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.append("ipv6:" + address)
    return sorted(found)


def test_daemons_listen_on_loopback_whatever_shop_bind_says(build):
    """SHOP_BIND=0.0.0.0 for every service: the front listens on every
    address (the setting took), the daemons still only on 127.0.0.1."""
    every = {name: {"SHOP_BIND": "0.0.0.0"} for name in ("inventory", "order", "front")}
    with Shop(build, extra_env=every) as shop:
        assert_eq(listening_addresses(shop.front_port), ["0.0.0.0"],
                  "the front's listener with SHOP_BIND=0.0.0.0 (positive control)")
        for name in ("inventory", "order"):
            assert_eq(listening_addresses(shop.port(name)), ["127.0.0.1"],
                      "shop-%s's listener with SHOP_BIND=0.0.0.0" % name)
        oid = shop.order([{"sku": "MUG-001", "qty": 1}])
        shop.wait_status(oid, "confirmed")


def test_internal_http_wants_the_token(shop):
    oid = shop.order([{"sku": "MUG-001", "qty": 2}])
    shop.wait_status(oid, "confirmed")
    for name, paths in LISTINGS.items():
        port = shop.port(name)
        one = "/orders/" + oid if name == "order" else "/reservations/" + oid
        for path in paths + (one,):
            what = "shop-%s GET %s" % (name, path)
            r = http_request(port, "GET", path)
            assert_status(r, 401, what + " without a token")
            assert_error_body(r, what + " without a token")
            assert_eq(r.body.get("error"), "unauthorized", what + " without a token: error code")
            assert_in("Bearer", r.headers.get("WWW-Authenticate") or "",
                      what + " without a token: WWW-Authenticate")
            assert_true(oid not in r.text, what + " without a token: no order id in the body",
                        r.text)
            for bad in ("wrong-" + shop.internal_token, shop.internal_token[:-1],
                        shop.internal_token + "x"):
                r = http_request(port, "GET", path, headers=shop.internal_auth(bad))
                assert_status(r, 403, what + " with a wrong token %r" % bad)
                assert_error_body(r, what + " with a wrong token")
                assert_eq(r.body.get("error"), "forbidden", what + " with a wrong token: error code")
            r = http_request(port, "GET", path, headers={"Authorization": "Basic " +
                                                         shop.internal_token})
            assert_status(r, 401, what + " with the token as Basic")
            # positive control: the right token
            r = http_request(port, "GET", path, headers=shop.internal_auth())
            assert_status(r, 200, what + " with the token")
            assert_in(oid if path not in ("/catalog", "/stock") else "MUG-001", r.text,
                      what + " with the token")
        for path in ("/healthz", "/metrics"):
            assert_status(http_request(port, "GET", path), 200,
                          "shop-%s GET %s without a token" % (name, path))
    # the front sends the token: its relays and the admin API work
    r = shop.get("/api/v1/orders/" + oid)
    assert_status(r, 200, "GET the order through the front")
    assert_eq(r.body.get("status"), "confirmed", "the order through the front")
    assert_status(shop.get("/api/v1/catalog"), 200, "the catalog through the front")
    r = shop.get("/api/v1/admin/orders", {"Authorization": "Bearer " + shop.admin_token})
    assert_status(r, 200, "admin/orders through the front")
    assert_in(oid, r.text, "admin/orders through the front")
    assert_status(shop.get("/readyz"), 200, "the front's /readyz")


def test_front_with_a_wrong_internal_token(build):
    """A front that does not have the daemons' token gets nothing from their
    listings: its relays answer 503, and the order itself still confirms on
    the bus (the token guards the HTTP only)."""
    with Shop(build) as shop:
        oid = shop.order([{"sku": "MUG-001", "qty": 1}])
        shop.wait_status(oid, "confirmed")
        proc = shop.procs["front"]
        shop.stop("front")
        wrong = os.path.join(shop.dir, "wrong-token")
        with open(wrong, "w") as f:
            f.write("wrong-" + shop.internal_token + "\n")
        i = proc.argv.index("--internal-token-file")
        proc.argv[i + 1] = wrong
        shop.start("front")
        r = shop.get("/api/v1/orders/" + oid)
        assert_status(r, 503, "GET an order through a front with a wrong internal token")
        assert_error_body(r, "GET an order through a front with a wrong internal token")
        assert_in("403", r.body.get("message", ""), "the 503 says the daemon answered 403")
        # positive control: the right token again
        shop.stop("front")
        proc.argv[i + 1] = shop.internal_token_file
        shop.start("front")
        r = shop.get("/api/v1/orders/" + oid)
        assert_status(r, 200, "GET the order through a front with the right token")


def test_internal_token_settings(build):
    """A token and its file at once, a token that cannot go into a header,
    or an empty file: one line naming the setting, exit 2."""
    tmp_port = free_ports(1)[0]
    with Shop(build, services=()) as shop:
        empty = os.path.join(shop.dir, "empty-token")
        open(empty, "w").close()
        good = shop.internal_token_file
        for name in ("inventory", "order", "front"):
            for args, word in ((["--internal-token", "t", "--internal-token-file", good],
                                "--internal-token"),
                               (["--internal-token", "has space"], "internal token"),
                               (["--internal-token-file", empty], empty)):
                argv = ["--data-dir", os.path.join(shop.dir, name), "--broker-url",
                        shop.broker_url, "--%s-port" % name, str(tmp_port)] + args
                rc, out, err = run_binary(build, name, argv, timeout=10)
                what = "shop-%s %s" % (name, " ".join(args))
                lines = [l for l in err.splitlines() if l.strip()]
                assert_eq(rc, 2, what + ": exit status (%s)" % err)
                assert_eq(len(lines), 1, what + ": one line on stderr (%r)" % err)
                assert_in(word, lines[0], what + ": the line names the setting")


def test_shop_run_makes_and_passes_the_token(build):
    """./shop run with SHOP_BIND=0.0.0.0: the daemons still listen on
    127.0.0.1 only; $SHOP_DATA_DIR/internal-token is made (0600) and reaches
    every service as a file, never on a command line or in the environment;
    the listings want it, the shop works through the front."""
    with ShopRun(build, extra_env={"SHOP_BIND": "0.0.0.0"}) as run:
        assert_eq(listening_addresses(run.front_port), ["0.0.0.0"],
                  "./shop run's front with SHOP_BIND=0.0.0.0 (positive control)")
        for name, port in (("inventory", run.inventory_port), ("order", run.order_port)):
            assert_eq(listening_addresses(port), ["127.0.0.1"],
                      "./shop run's %s with SHOP_BIND=0.0.0.0" % name)
        path = os.path.join(run.dir, "internal-token")
        assert_eq(oct(os.stat(path).st_mode & 0o777), "0o600", "mode of internal-token")
        with open(path) as f:
            token = f.read().strip()
        assert_true(len(token) >= 32, "a long random token", len(token))
        for name in ("inventory", "order", "front"):
            pid = run.part(name)["pid"]
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().decode(errors="replace")
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read().decode(errors="replace")
            assert_true(token not in argv and token not in env,
                        "%s has the token neither on its command line nor in its environment"
                        % name)
            assert_in("SHOP_INTERNAL_TOKEN_FILE=" + path, env, "%s gets the token's file" % name)
        r = http_request(run.order_port, "GET", "/orders")
        assert_status(r, 401, "the order daemon's /orders without the token")
        r = http_request(run.front_port, "POST", "/api/v1/orders",
                         {"items": [{"sku": "MUG-001", "qty": 1}]})
        assert_status(r, 202, "an order through ./shop run's front")
        oid = r.body["order_id"]
        wait_until(lambda: http_request(run.front_port, "GET", "/api/v1/orders/" + oid)
                   .body.get("status") == "confirmed", 15, "the order confirmed")
        r = http_request(run.order_port, "GET", "/orders/" + oid, headers=run.internal_auth())
        assert_status(r, 200, "the order daemon's /orders/{id} with ./shop run's token")
        assert_eq(run.stop(), 0, "./shop run's exit status after SIGTERM")


def accepted_connections(shop, name):
    """How many connections the service's HTTP server has accepted, this
    scrape's own included."""
    value = shop.metric(name, "shop_http_connections_accepted_total")
    assert_true(value is not None, "shop-%s /metrics has shop_http_connections_accepted_total"
                % name)
    return int(value)


def front_sockets_to(port, state):
    """How many TCP sockets on this host talk to 127.0.0.1:port in state
    (hex, as /proc/net/tcp writes it: 01 established, 08 close-wait)."""
    with open("/proc/net/tcp") as f:
        rows = f.read().splitlines()[1:]
    return sum(1 for row in rows
               if int(row.split()[2].rsplit(":", 1)[1], 16) == port and row.split()[3] == state)


def test_internal_connections_kept_alive_and_reused(shop):
    """docs/internals.md §Connections to the daemons: 200 GETs of an order
    through the front open at most a handful of connections to the order
    daemon, where 20 GETs each on a new connection count 20."""
    oid = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(oid, "confirmed")
    before = accepted_connections(shop, "order")
    for _ in range(20):
        assert_status(shop.ord("/orders/" + oid), 200, "GET /orders/%s on the order daemon" % oid)
    direct = accepted_connections(shop, "order") - before
    assert_true(direct >= 20, "20 GETs on new connections to the order daemon (positive "
                "control) counted %d connections" % direct)
    before = accepted_connections(shop, "order")
    for i in range(200):
        r = shop.get("/api/v1/orders/" + oid)
        assert_status(r, 200, "GET /api/v1/orders/%s number %d" % (oid, i + 1))
        assert_eq(r.body["order_id"], oid, "the order the front relayed")
    relayed = accepted_connections(shop, "order") - before
    # this scrape, and at most the front's pool of 4 (its load watch shares it)
    assert_true(relayed <= 8, "200 GETs through the front opened %d connections to the order "
                "daemon, expected at most 8" % relayed)


def test_internal_connections_survive_a_daemon_restart(shop):
    """The front's kept connections die with the order daemon; the first GETs
    after it is back answer 200 (libcurl sees a closed connection and opens
    a new one instead of failing the request)."""
    oid = shop.order([{"sku": "MUG-001", "qty": 1}])
    shop.wait_status(oid, "confirmed")
    port = shop.port("order")
    # fill the front's pool: 8 clients at once
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: shop.get("/api/v1/orders/" + oid).status, range(64)))
    assert_eq(codes, [200] * 64, "64 GETs of the order over 8 clients")
    shop.kill("order")
    shop.start("order")
    dead = front_sockets_to(port, "08")
    assert_true(dead >= 1, "the front holds connections the order daemon closed (positive "
                "control: close-wait sockets to port %d: %d)" % (port, dead))
    for i in range(20):
        r = shop.get("/api/v1/orders/" + oid)
        assert_status(r, 200, "GET /api/v1/orders/%s number %d after the order daemon's restart"
                      % (oid, i + 1))


def test_internal_calls_ignore_proxy_settings(build):
    """A proxy in the front's environment does not carry its calls to the
    daemons: with all_proxy (which curl honours for every protocol) pointing
    at a closed port, orders still read. all_proxy, not http_proxy: Paho
    sends the front's MQTT connection through http_proxy itself."""
    closed = free_ports(1)[0]
    proxy = {"all_proxy": "http://127.0.0.1:%d" % closed,
             "ALL_PROXY": "http://127.0.0.1:%d" % closed, "no_proxy": "", "NO_PROXY": ""}
    with Shop(build, extra_env={"front": proxy}) as shop:
        oid = shop.order([{"sku": "MUG-001", "qty": 1}])
        shop.wait_status(oid, "confirmed")
        # positive control: that environment sends curl's own calls to the dead proxy
        env = dict(os.environ, **proxy)
        control = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                  "-m", "5", "http://127.0.0.1:%d/healthz" % shop.port("order")],
                                 env=env, capture_output=True, text=True, timeout=10)
        assert_true(control.returncode != 0, "curl with all_proxy=127.0.0.1:%d reaches the "
                    "order daemon only through that closed port (positive control)" % closed,
                    (control.returncode, control.stdout))
        r = shop.get("/api/v1/orders/" + oid)
        assert_status(r, 200, "GET /api/v1/orders/%s with all_proxy set for the front" % oid)
