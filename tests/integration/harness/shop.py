"""The Shop under test: Mosquitto and the three services on free loopback
ports in a temporary data directory, started in order and each waited for;
HTTP and bus helpers on it; and the invariants of docs/protocol.md at quiescence.

    shop = Shop(build).open()        # or: with Shop(build) as shop:
    r = shop.post("/api/v1/orders", {"items": [...]})
    shop.wait_final(r.body["order_id"])
    shop.check_invariants()
    shop.close(failed=False)         # the after-test checks; raises on a problem

Every process is started by this module and only those processes (by PID) are
ever signalled. Logs of every process go to <data dir>/logs/; when a test fails
the tail of each log is written to stderr and the data directory is kept.
"""

import collections
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from .bus import BusClient
from .checks import POLL, _short, assert_eq, assert_status, assert_true, metric
from .http_client import http_request
from .processes import (BINARY_PATHS, CONFIGURE, MOSQUITTO, SERVICES, Build, Proc, child_env,
                        describe_status, free_ports, port_open, sanitizer_findings)

FINAL = ("confirmed", "rejected", "canceled")

# The catalog every Shop loads unless a test gives its own.
DEFAULT_CATALOG = [
    {"sku": "MUG-001", "name": "Mug", "price_cents": 1200, "currency": "EUR", "stock": 150},
    {"sku": "TEE-002", "name": "T-shirt", "price_cents": 1999, "currency": "EUR", "stock": 40},
    {"sku": "CAP-003", "name": "Cap", "price_cents": 850, "currency": "EUR", "stock": 5},
    {"sku": "PIN-004", "name": "Pin", "price_cents": 199, "currency": "EUR", "stock": 1},
    {"sku": "BAG-005", "name": "Tote bag", "price_cents": 1550, "currency": "EUR", "stock": 0},
]


def random_items(rng, catalog=DEFAULT_CATALOG, max_lines=3, max_qty=4):
    skus = rng.sample([p["sku"] for p in catalog], rng.randint(1, max_lines))
    return [{"sku": s, "qty": rng.randint(1, max_qty)} for s in skus]


def new_order_id():
    return str(uuid.uuid4())


def rfc3339_now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


class Shop:
    """A whole shop on free loopback ports.

    services: which of "inventory", "order", "front" to start (the broker is
    always started). use_env: pass settings as SHOP_* environment variables
    instead of flags. extra_args / extra_env: per service name."""

    def __init__(self, build, catalog=None, services=SERVICES, use_env=False,
                 extra_args=None, extra_env=None, instance="it"):
        self.build = build if isinstance(build, Build) else Build(build)
        self.catalog = DEFAULT_CATALOG if catalog is None else catalog
        self.services = list(services)
        self.use_env = use_env
        self.extra_args = extra_args or {}
        self.extra_env = extra_env or {}
        self.instance = instance
        self.admin_token = "it-admin-" + uuid.uuid4().hex
        # docs/protocol.md §Settings: the daemons' internal HTTP wants it on
        # all but /healthz and /metrics; every service reads it from a file
        self.internal_token = "it-internal-" + uuid.uuid4().hex
        self.instances = {}        # per-service --instance, where set_instance changed it
        self.procs = {}
        self.accepted = set()      # order ids the front answered 202 for
        self.cancel_accepted = set()  # order ids whose cancel got a 202
        self.restocks_accepted = {}   # restock_id -> (sku, qty) the front answered 202 for
        self.dir = None
        self.broker_log = None     # set with the broker's config
        self.failed = False
        self._terminated = []
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------

    def open(self):
        """Starts the broker and the services, each waited for; returns self.
        If that fails, what was started is stopped and the logs reported."""
        try:
            self._setup()
        except BaseException:
            self.close(failed=True)
            raise
        return self

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc, tb):
        self.close(failed=exc_type is not None)
        return False

    def _setup(self):
        for name in self.services:
            self.build.binary(name)  # fail early, with a clear message
        self.dir = tempfile.mkdtemp(prefix="shop-it-")
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(self.logs)
        os.makedirs(os.path.join(self.dir, "broker"))
        (self.broker_port, self.front_port, self.inventory_port,
         self.order_port) = free_ports(4)
        self.broker_url = "tcp://127.0.0.1:%d" % self.broker_port
        self.catalog_path = os.path.join(self.dir, "catalog.json")
        with open(self.catalog_path, "w") as f:
            json.dump({"products": self.catalog}, f)
        self._write_broker_config()
        self.internal_token_file = os.path.join(self.dir, "internal-token")
        fd = os.open(self.internal_token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.internal_token + "\n")
        self.procs["broker"] = Proc("broker", [MOSQUITTO, "-c", self.broker_conf],
                                    os.path.join(self.logs, "broker.out.log"), child_env())
        for name in SERVICES:
            argv, env = self._service_command(name)
            self.procs[name] = Proc(name, argv, os.path.join(self.logs, name + ".log"), env)
        self.start("broker")
        for name in self.services:
            self.start(name)

    def _write_broker_config(self):
        """The broker's config and the accounts, written by broker/configure
        (role single) as ./shop run has them (docs/protocol.md §Accounts)."""
        self.broker_log = os.path.join(self.logs, "mosquitto.log")
        p = subprocess.run([CONFIGURE, "--data-dir", self.dir, "--role", "single",
                            "--port", str(self.broker_port), "--log-file", self.broker_log],
                           capture_output=True, text=True, timeout=30, env=child_env())
        if p.returncode != 0:
            raise AssertionError("broker/configure failed (exit %d): %s"
                                 % (p.returncode, p.stderr.strip()))
        self.broker_conf = p.stdout.strip()

    def password_file(self, account):
        """Where broker/configure put an account's password."""
        return os.path.join(self.dir, "broker", account + ".pw")

    def password(self, account):
        with open(self.password_file(account)) as f:
            return f.read().rstrip("\n")

    def settings(self, name):
        """The settings of a service as (flag, env var, value) triples."""
        rows = [("--data-dir", "SHOP_DATA_DIR", self.dir),
                ("--broker-url", "SHOP_BROKER_URL", self.broker_url),
                ("--instance", "SHOP_INSTANCE", self.instances.get(name, self.instance))]
        rows += [("--mqtt-username", "SHOP_MQTT_USERNAME", name),
                 ("--mqtt-password-file", "SHOP_MQTT_PASSWORD_FILE", self.password_file(name)),
                 ("--internal-token-file", "SHOP_INTERNAL_TOKEN_FILE", self.internal_token_file)]
        if name == "inventory":
            rows += [("--inventory-port", "SHOP_INVENTORY_PORT", str(self.inventory_port)),
                     ("--catalog", "SHOP_CATALOG", self.catalog_path)]
        elif name == "order":
            rows += [("--order-port", "SHOP_ORDER_PORT", str(self.order_port))]
        elif name == "front":
            rows += [("--front-port", "SHOP_FRONT_PORT", str(self.front_port)),
                     ("--admin-token", "SHOP_ADMIN_TOKEN", self.admin_token),
                     ("--inventory-port", "SHOP_INVENTORY_PORT", str(self.inventory_port)),
                     ("--order-port", "SHOP_ORDER_PORT", str(self.order_port)),
                     ("--inventory-url", "SHOP_INVENTORY_URL", "http://127.0.0.1:%d" % self.inventory_port),
                     ("--order-url", "SHOP_ORDER_URL", "http://127.0.0.1:%d" % self.order_port)]
        return rows

    def _service_command(self, name):
        argv = [self.build.binary(name)] if name in self.services else [
            os.path.join(self.build.dir, BINARY_PATHS[name])]
        # The front's admission control sheds a burst of orders on a busy
        # machine: off in the flows' tests, on where a test turns it on
        # (test_shedding.py); an environment default, so extra_env wins.
        extra_env = {"SHOP_ADMIT_MAX": "0"} if name == "front" else {}
        for flag, var, value in self.settings(name):
            if self.use_env:
                extra_env[var] = value
            else:
                argv += [flag, value]
        extra_env.update(self.extra_env.get(name, {}))
        argv += list(self.extra_args.get(name, []))
        return argv, child_env(extra_env)

    def set_instance(self, name, instance):
        """Gives a stopped service another --instance from its next start on:
        another MQTT client id, so another persistent session at the broker
        (what was queued for the old one never reaches it)."""
        proc = self.procs[name]
        assert_true(not proc.alive(), "set_instance(%s): stop it first" % name)
        self.instances[name] = instance
        proc.argv, proc.env = self._service_command(name)

    def port(self, name):
        return {"broker": self.broker_port, "front": self.front_port,
                "inventory": self.inventory_port, "order": self.order_port}[name]

    def front_ports(self):
        """The HTTP ports of the fronts themselves (one here; behind haproxy
        in shop_run.RunShop)."""
        return [self.front_port]

    def start(self, name, wait=True):
        """Starts (or restarts) a process with its original command line and,
        with wait, waits until it is up (port / healthz / readyz)."""
        proc = self.procs[name]
        if proc.alive():
            raise AssertionError("start(%s): it is already running" % name)
        proc.start()
        if wait:
            self.wait_up(name)

    def wait_up(self, name, timeout=15.0):
        proc = self.procs[name]
        timeout *= self.build.slow
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            if not proc.alive():
                raise AssertionError("%s exited with status %s while starting; log tail:\n%s"
                                     % (name, proc.popen.returncode, self.log_tail(name, 15)))
            if name == "broker":
                if port_open(self.broker_port):
                    return
            else:
                path = "/readyz" if name == "front" else "/healthz"
                try:
                    r = http_request(self.port(name), "GET", path, timeout=2.0)
                    if r.status == 200:
                        return
                    last = "%s %s" % (r.status, r.text[:200])
                except AssertionError as e:
                    last = str(e)
            if time.monotonic() >= deadline:
                raise AssertionError("%s did not come up within %.0fs (last: %s); log tail:\n%s"
                                     % (name, timeout, last, self.log_tail(name, 15)))
            time.sleep(POLL)

    def stop(self, name, timeout=5.0):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit status."""
        proc = self.procs.get(name)
        if proc is None or proc.popen is None:
            return None
        return proc.stop(timeout)

    def _stop_all(self, kill_broker):
        """SIGTERM to every service at once, 5 s for all of them, SIGKILL for
        the rest; then the broker (SIGKILL when nobody will read its log)."""
        running = [p for n, p in self.procs.items() if n != "broker" and p.alive()]
        self._terminated = running
        for proc in running:
            proc.terminate()
        deadline = time.monotonic() + 5.0
        for proc in running:
            proc.reap(deadline)
        broker = self.procs.get("broker")
        if broker is not None and broker.alive():
            if kill_broker:
                broker.kill_now()
            else:
                self.stop("broker")

    def kill(self, name, sig=signal.SIGKILL):
        """Sends a signal to a process this Shop started (by its PID)."""
        proc = self.procs[name]
        assert_true(proc.alive(), "kill(%s): it is not running" % name)
        proc.kill(sig)

    def kill_together(self, names):
        """SIGKILL to several processes this Shop started, one right after
        the other (by their PIDs), then waits for each: no one of them runs
        on alone while another is being reaped."""
        procs = [self.procs[n] for n in names]
        for name, proc in zip(names, procs):
            assert_true(proc.alive(), "kill_together(%s): it is not running" % name)
        for proc in procs:
            proc.expected_running = False
            proc.popen.send_signal(signal.SIGKILL)
        for proc in procs:
            proc.popen.wait()
            proc.exit_codes.append(proc.popen.returncode)

    def stop_broker(self):
        return self.stop("broker")

    def start_broker(self):
        self.start("broker")

    def close(self, failed):
        """Stops everything and checks what every test gets checked: each
        process the test did not stop is still running, each service exits
        with status 0 within 5 s of SIGTERM, and in a sanitizer build no log
        has a finding. failed: the test failed (then only the stopping is
        done). On a failure the log tails go to stderr and the data directory
        is kept; otherwise it is removed. Raises AssertionError naming each
        problem the checks found in a test that had passed."""
        try:
            problems = self._finish(failed)
        except BaseException:
            # interrupted (a time bound, Ctrl-C): nothing may outlive the test
            for proc in self.procs.values():
                proc.kill_now()
            raise
        if problems and not failed:
            raise AssertionError("; ".join(problems))

    def _finish(self, failed):
        problems = []
        if not failed and self.dir:
            problems += self._dead_processes()
        self._stop_all(kill_broker=not failed and not problems)
        if self.dir:
            for name in ("front", "order", "inventory", "broker"):
                proc = self.procs.get(name)
                if not proc or failed or proc not in self._terminated:
                    continue
                if proc.needed_sigkill:
                    problems.append("%s did not exit within 5 s of SIGTERM" % name)
                elif proc.popen.returncode != 0:
                    problems.append("%s: %s when stopped with SIGTERM"
                                    % (name, describe_status(proc.popen.returncode)))
            if self.build.asan:
                problems += self._sanitizer_problems()
        self.failed = failed or bool(problems)
        if self.failed and self.dir:
            sys.stderr.write(self.report() + "\n")
            sys.stderr.flush()
        elif self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems

    def _dead_processes(self):
        out = []
        for name, proc in self.procs.items():
            if proc.expected_running and not proc.alive():
                out.append("%s died unexpectedly (%s)" % (name, describe_status(proc.popen.returncode)))
        return out

    def _sanitizer_problems(self):
        out = []
        for fname in sorted(os.listdir(self.logs)):
            with open(os.path.join(self.logs, fname), errors="replace") as f:
                found = sanitizer_findings(f.read())
            if found:
                out.append("%s: %s" % (fname, found[0].strip()))
        return out

    def log_tail(self, name, lines=30):
        proc = self.procs.get(name)
        path = proc.log_path if proc else os.path.join(self.logs, name)
        try:
            with open(path, errors="replace") as f:
                content = f.read().splitlines()
        except OSError:
            return "    (no log)"
        return "\n".join("    " + l for l in content[-lines:])

    def report(self):
        parts = ["  data dir kept: %s" % self.dir]
        for name in ("broker", "inventory", "order", "front"):
            proc = self.procs.get(name)
            if proc is None or proc.popen is None:
                continue
            parts.append("  --- %s (%s) ---" % (os.path.basename(proc.log_path), name))
            parts.append(self.log_tail(name))
        if self.broker_log and os.path.exists(self.broker_log):
            parts.append("  --- mosquitto.log ---")
            parts.append(self.log_tail("mosquitto.log", 15))
        return "\n".join(parts)

    # -- HTTP ---------------------------------------------------------------

    def _record(self, method, path, resp):
        if method == "POST" and resp.status == 202 and isinstance(resp.body, dict) \
                and path.endswith("/restock") and isinstance(resp.body.get("restock_id"), str):
            with self._lock:
                self.restocks_accepted[resp.body["restock_id"]] = (resp.body.get("sku"),
                                                                   resp.body.get("qty"))
            return
        if method == "POST" and resp.status == 202 and isinstance(resp.body, dict):
            oid = resp.body.get("order_id")
            if isinstance(oid, str):
                with self._lock:
                    if path.rstrip("/") == "/api/v1/orders":
                        self.accepted.add(oid)
                    elif path.endswith("/cancel"):
                        self.cancel_accepted.add(oid)

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        resp = http_request(self.front_port, method, path, body, headers, timeout)
        self._record(method, path, resp)
        return resp

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, body=None, headers=None, timeout=10.0):
        return self.request("POST", path, body, headers, timeout)

    def internal_auth(self, token=None):
        """The header the daemons' internal HTTP wants (token: another one)."""
        return {"Authorization": "Bearer %s" % (token or self.internal_token)}

    def inv(self, path, timeout=10.0):
        """GET on the inventory's internal HTTP, with the internal token."""
        return http_request(self.inventory_port, "GET", path, headers=self.internal_auth(),
                            timeout=timeout)

    def ord(self, path, timeout=10.0):
        """GET on the order daemon's internal HTTP, with the internal token."""
        return http_request(self.order_port, "GET", path, headers=self.internal_auth(),
                            timeout=timeout)

    def metric(self, name, metric_name):
        """A sample of a service's /metrics ("front", "inventory", "order"), or None."""
        r = http_request(self.port(name), "GET", "/metrics", timeout=5)
        assert_status(r, 200, "%s GET /metrics" % name)
        return metric(r.text, metric_name)

    def db_rows(self, name, sql):
        """The rows of a query on a daemon's SQLite file ("inventory" or
        "order"), opened read-only while it runs (WAL mode is fine)."""
        path = os.path.join(self.dir, "%s.db" % name)
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def dead_letters(self, name):
        """The rows (topic, reason, payload bytes) of a daemon's dead_letters table."""
        rows = self.db_rows(name, "SELECT topic, reason, payload FROM dead_letters ORDER BY id")
        return [(t, r, bytes(p) if p is not None else b"") for t, r, p in rows]

    def log_text(self, name):
        """Everything a service has logged so far (all its lives)."""
        with open(self.procs[name].log_path, errors="replace") as f:
            return f.read()

    def raw_socket(self, port=None):
        return socket.create_connection(("127.0.0.1", port or self.front_port), timeout=10)

    # -- shop-level helpers -------------------------------------------------

    def catalog_by_sku(self):
        r = self.get("/api/v1/catalog")
        assert_status(r, 200, "GET /api/v1/catalog")
        return {p["sku"]: p for p in r.body["products"]}

    def available(self, sku):
        return self.catalog_by_sku()[sku]["available"]

    def order(self, items, headers=None):
        """POSTs an order that must be accepted; returns its id."""
        r = self.post("/api/v1/orders", {"items": items}, headers)
        assert_status(r, 202, "POST /api/v1/orders %s" % json.dumps(items))
        return r.body["order_id"]

    def wait_final(self, order_id, timeout=15.0, until=FINAL):
        """Polls GET /api/v1/orders/{id} until the order's status is one of
        `until` (by default: final); returns it. A 404 right after the 202 is
        tolerated (the order daemon may not have seen the order yet)."""
        timeout *= self.build.slow
        deadline = time.monotonic() + timeout
        last = None
        while True:
            r = self.get("/api/v1/orders/%s" % order_id)
            last = r
            if r.status == 200 and isinstance(r.body, dict) and r.body.get("status") in until:
                return r.body
            if r.status not in (200, 404):
                raise AssertionError("GET /api/v1/orders/%s: unexpected HTTP %s %s"
                                     % (order_id, r.status, _short(r.text)))
            if time.monotonic() >= deadline:
                raise AssertionError("order %s not %s after %.0fs: last HTTP %s %s"
                                     % (order_id, "/".join(until), timeout, last.status,
                                        _short(last.text)))
            time.sleep(POLL)

    def wait_status(self, order_id, status, timeout=15.0):
        # canceled wins over all: a confirmed or rejected order still becomes
        # canceled once its cancel arrives, so wait for that status itself
        until = ("canceled",) if status == "canceled" else FINAL
        o = self.wait_final(order_id, timeout, until)
        assert_eq(o.get("status"), status, "final status of order %s (order: %s)" % (order_id, o))
        return o

    def wait_available(self, sku, expected, timeout=10.0):
        """Polls the catalog until sku's available equals expected."""
        timeout *= self.build.slow
        deadline = time.monotonic() + timeout
        while True:
            got = self.available(sku)
            if got == expected:
                return
            if time.monotonic() >= deadline:
                raise AssertionError("available of %s: expected %s, got %s (after %.0fs)"
                                     % (sku, expected, got, timeout))
            time.sleep(POLL)

    def mqtt(self, account="harness"):
        """A BusClient on the broker, logged in with an account of
        docs/protocol.md §Accounts (the harness's by default)."""
        return BusClient(self.broker_port, username=account, password=self.password(account))

    def replay_login(self):
        """shop-replay's flags for the harness account."""
        return ["--username", "harness", "--password-file", self.password_file("harness")]

    # -- invariants ---------------------------------------------------------

    def _snapshot(self):
        s = self.inv("/stock")
        assert_status(s, 200, "inventory GET /stock")
        r = self.inv("/reservations")
        assert_status(r, 200, "inventory GET /reservations")
        o = self.ord("/orders")
        assert_status(o, 200, "order GET /orders")
        k = self.inv("/restocks")
        assert_status(k, 200, "inventory GET /restocks")
        return {"stock": s.body["products"], "reservations": r.body["reservations"],
                "orders": o.body["orders"], "restocks": k.body["restocks"]}

    @staticmethod
    def _canonical(snap):
        def key(d):
            return json.dumps(d, sort_keys=True)
        return json.dumps({k: sorted((key(x) for x in v)) for k, v in snap.items()})

    def _invariant_problems(self, snap):
        problems = []
        stock = {p["sku"]: p for p in snap["stock"]}
        orders = {o["order_id"]: o for o in snap["orders"]}
        res = {r["order_id"]: r for r in snap["reservations"]}
        initial_catalog = {p["sku"]: p["stock"] for p in self.catalog}

        # 1. never oversold
        for sku, p in stock.items():
            if p["available"] < 0:
                problems.append("invariant 1: %s available is %d < 0" % (sku, p["available"]))
        # 2. conservation of stock
        held = collections.Counter()
        for o in orders.values():
            if o.get("status") == "confirmed":
                for it in o.get("items") or []:
                    held[it["sku"]] += it["qty"]
        for sku, p in stock.items():
            total = p["initial"] + p.get("restocked", 0)
            if sku in initial_catalog and p["initial"] != initial_catalog[sku]:
                problems.append("catalog: %s initial is %d, the catalog file says %d"
                                % (sku, p["initial"], initial_catalog[sku]))
            if total != p["available"] + held[sku]:
                problems.append("invariant 2: %s initial+restocked=%d but available=%d + held by "
                                "confirmed orders=%d" % (sku, total, p["available"], held[sku]))
            if total != p["available"] + p["reserved"]:
                problems.append("invariant 2: %s initial+restocked=%d but available=%d + "
                                "reserved=%d (inventory /stock)"
                                % (sku, total, p["available"], p["reserved"]))
        for sku in held:
            if sku not in stock:
                problems.append("invariant 2: confirmed orders hold %d of %s, which the inventory "
                                "does not know" % (held[sku], sku))
        # 2, restocks: each restock the front accepted is applied once (or
        # kept, when its SKU is unknown), and restocked is what they add up to
        restocks = {r["restock_id"]: r for r in snap.get("restocks", [])}
        applied = collections.Counter()
        for r in restocks.values():
            if r.get("applied_at") is not None:
                applied[r["sku"]] += r["qty"]
        for sku, p in stock.items():
            if p.get("restocked", 0) != applied[sku]:
                problems.append("invariant 2: %s restocked=%d but the applied restocks add up to %d"
                                % (sku, p.get("restocked", 0), applied[sku]))
        with self._lock:
            accepted_restocks = dict(self.restocks_accepted)
        for rid, (sku, qty) in sorted(accepted_restocks.items()):
            r = restocks.get(rid)
            if r is None:
                problems.append("invariant 3: accepted restock %s of %s x%s is unknown to the "
                                "inventory" % (rid, sku, qty))
            elif r.get("applied_at") is None and sku in stock:
                problems.append("invariant 3: accepted restock %s of the known %s is not applied"
                                % (rid, sku))
        # 3. every accepted order is final
        with self._lock:
            accepted = set(self.accepted)
        for oid in sorted(accepted):
            o = orders.get(oid)
            if o is None:
                problems.append("invariant 3: accepted order %s is unknown to the order daemon" % oid)
            elif o.get("status") not in FINAL:
                problems.append("invariant 3: accepted order %s is %s" % (oid, o.get("status")))
        # 4. the two views agree
        for oid, o in orders.items():
            st = o.get("status")
            r = res.get(oid)
            rst = r["status"] if r else None
            if st == "confirmed":
                if rst != "reserved":
                    problems.append("invariant 4: order %s confirmed, reservation %s" % (oid, rst))
                else:
                    ours = sorted((i["sku"], i["qty"]) for i in o.get("items") or [])
                    theirs = sorted((i["sku"], i["qty"]) for i in r.get("items") or [])
                    if ours != theirs:
                        problems.append("invariant 4: order %s items %s, reservation items %s"
                                        % (oid, ours, theirs))
            elif st == "rejected":
                if rst != "rejected":
                    problems.append("invariant 4: order %s rejected, reservation %s" % (oid, rst))
            elif st == "canceled":
                if rst not in ("released", "tombstone", "rejected"):
                    problems.append("invariant 4: order %s canceled, reservation %s" % (oid, rst))
        for oid, r in res.items():
            st = orders.get(oid, {}).get("status")
            if r["status"] == "reserved" and st != "confirmed":
                problems.append("invariant 4: reservation %s reserved, order %s" % (oid, st))
            if oid not in orders:
                problems.append("invariant 4: inventory has %s %s, the order daemon does not know it"
                                % (r["status"], oid))
        return problems

    def check_invariants(self, timeout=20.0):
        """Waits for quiescence (invariants hold on two equal snapshots taken
        100 ms apart) and fails with the violations if that never happens."""
        timeout *= self.build.slow
        deadline = time.monotonic() + timeout
        prev = None
        while True:
            snap = self._snapshot()
            problems = self._invariant_problems(snap)
            canon = self._canonical(snap)
            if not problems and canon == prev:
                return snap
            prev = None if problems else canon
            if time.monotonic() >= deadline:
                if not problems:
                    problems = ["state kept changing (no quiescence)"]
                more = "" if len(problems) <= 15 else "\n  ... and %d more" % (len(problems) - 15)
                raise AssertionError("invariants do not hold after %.0fs:\n  %s%s"
                                     % (timeout, "\n  ".join(problems[:15]), more))
            time.sleep(0.1 if not problems else POLL * 2)


