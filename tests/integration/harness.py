"""Integration test harness: runs a whole shop (Mosquitto + the three services)
on free loopback ports in a temporary data directory.

Standard library only. Used by run.py and the test_*.py modules next to it.

    with Shop(build) as shop:
        status, headers, body = shop.post("/api/v1/orders", {"items": [...]})
        shop.wait_final(body["order_id"])
        shop.check_invariants()

Every process is started by this module and only those processes (by PID) are
ever signalled. Logs of every process go to <data dir>/logs/; when a test fails
the tail of each log is printed and the data directory is kept.
"""

import collections
import http.client
import json
import os
import pwd
import random
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MOSQUITTO = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else "mosquitto"
POLL = 0.02  # seconds between polls

FINAL = ("confirmed", "rejected", "canceled")

# The catalog every Shop loads unless a test gives its own.
DEFAULT_CATALOG = [
    {"sku": "MUG-001", "name": "Mug", "price_cents": 1200, "currency": "EUR", "stock": 150},
    {"sku": "TEE-002", "name": "T-shirt", "price_cents": 1999, "currency": "EUR", "stock": 40},
    {"sku": "CAP-003", "name": "Cap", "price_cents": 850, "currency": "EUR", "stock": 5},
    {"sku": "PIN-004", "name": "Pin", "price_cents": 199, "currency": "EUR", "stock": 1},
    {"sku": "BAG-005", "name": "Tote bag", "price_cents": 1550, "currency": "EUR", "stock": 0},
]

# Flags each binary must document (docs/internals.md, "Settings of each binary").
COMMON_FLAGS = ["--mqtt-username", "--mqtt-password", "--data-dir", "--bind", "--broker-port", "--broker-url", "--topic-prefix",
                "--instance", "--log-level"]
BINARY_FLAGS = {
    "front": COMMON_FLAGS + ["--front-port", "--inventory-port", "--order-port",
                             "--inventory-url", "--order-url", "--publish-timeout-ms",
                             "--admin-token", "--www-dir"],
    "inventory": COMMON_FLAGS + ["--inventory-port", "--sqlite-sync", "--catalog"],
    "order": COMMON_FLAGS + ["--order-port", "--redrive-s", "--sqlite-sync"],
}
BINARY_PATHS = {
    "front": "public_front/shop-front",
    "inventory": "inventory/shop-inventory",
    "order": "order/shop-order",
}
SERVICES = ("inventory", "order", "front")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:")


# --------------------------------------------------------------------------
# assertions that say what was expected and what was seen

def _short(value, limit=600):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def assert_eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %s, got %s" % (what, _short(expected), _short(actual)))


def assert_true(cond, what, detail=None):
    if not cond:
        raise AssertionError(what if detail is None else "%s (%s)" % (what, _short(detail)))


def assert_in(item, container, what):
    if item not in container:
        raise AssertionError("%s: expected %s to be in %s" % (what, _short(item), _short(container)))


def assert_status(resp, expected, what):
    """expected: an int or a tuple of ints."""
    ok = resp.status in expected if isinstance(expected, tuple) else resp.status == expected
    if not ok:
        raise AssertionError("%s: expected HTTP %s, got %s with body %s"
                             % (what, expected, resp.status, _short(resp.text)))


def assert_error_body(resp, what):
    """Every error body is {"error": "<code>", "message": "<text>"}."""
    body = resp.body
    if not isinstance(body, dict):
        raise AssertionError("%s: error body is not a JSON object: %s (Content-Type %s)"
                             % (what, _short(resp.text), resp.headers.get("Content-Type")))
    for key in ("error", "message"):
        if not isinstance(body.get(key), str) or not body.get(key):
            raise AssertionError("%s: error body needs a non-empty string %r: %s"
                                 % (what, key, _short(resp.text)))
    ctype = resp.headers.get("Content-Type") or ""
    if "json" not in ctype:
        raise AssertionError("%s: error body Content-Type should be JSON, got %r" % (what, ctype))


class Cases:
    """Runs many similar checks and reports every one that failed, not just
    the first:  with Cases("bad bodies") as cases: ... cases.check(fn, ...)"""

    def __init__(self, what):
        self.what = what
        self.failures = []

    def check(self, fn, *args, **kwargs):
        try:
            fn(*args, **kwargs)
        except AssertionError as e:
            self.failures.append(str(e))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self.failures:
            raise AssertionError("%d of the %s failed: %s" % (len(self.failures), self.what,
                                                              " | ".join(self.failures)))
        return False


def is_canonical_uuid(text):
    if not isinstance(text, str):
        return False
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def metric(text, name):
    """The value of the first sample named `name` in a Prometheus text, or None."""
    m = re.search(r"^%s(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def wait_until(cond, timeout, what, interval=POLL):
    """Polls cond() until it returns a truthy value; returns it or fails."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = cond()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# --------------------------------------------------------------------------
# HTTP

class Resp(collections.namedtuple("Resp", "status headers body")):
    """(status, headers, body): body is parsed JSON, or the raw text when the
    response is not JSON. .text is always the raw text."""
    text = ""


def _make_resp(status, headers, raw):
    text = raw.decode("utf-8", "replace")
    body = text
    if raw:
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    r = Resp(status, headers, body)
    r.text = text
    return r


def http_request(port, method, path, body=None, headers=None, timeout=10.0, host="127.0.0.1"):
    """One request on a fresh connection. body: dict/list (sent as JSON),
    str or bytes (sent as is) or None."""
    hdrs = {}
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        else:
            data = body
            hdrs["Content-Type"] = "application/json"
    if headers:
        for k, v in headers.items():
            for existing in list(hdrs):
                if existing.lower() == k.lower():
                    del hdrs[existing]
            if v is not None:
                hdrs[k] = v
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise AssertionError("%s %s on port %d failed: %s: %s"
                                 % (method, path, port, type(e).__name__, e)) from None
        return _make_resp(resp.status, resp.headers, raw)
    finally:
        conn.close()


def read_raw_response(sock, timeout=10.0):
    """Reads one HTTP/1.1 response from a socket; returns a Resp. Tolerates the
    server closing the connection right after the response."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise AssertionError("no complete response header within %.1fs; got %r" % (timeout, buf[:300]))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        except socket.timeout:
            raise AssertionError("no response within %.1fs; got %r" % (timeout, buf[:300])) from None
        if not chunk:
            if b"\r\n\r\n" not in buf:
                raise AssertionError("connection closed before a complete response; got %r" % buf[:300])
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    msg = http.client.HTTPMessage()
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            msg[k.strip()] = v.strip()
    length = msg.get("Content-Length")
    body = rest
    if length is not None:
        want = int(length)
        while len(body) < want and time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            body += chunk
        body = body[:want]
    elif (msg.get("Transfer-Encoding") or "").lower() == "chunked":
        while not body.endswith(b"0\r\n\r\n") and time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            body += chunk
        out, p = b"", body
        while p:
            size_line, _, p = p.partition(b"\r\n")
            try:
                n = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if n == 0:
                break
            out += p[:n]
            p = p[n + 2:]
        body = out
    return _make_resp(status, msg, body)


# --------------------------------------------------------------------------
# a tiny MQTT 3.1.1 client (enough to publish test events and read status topics)

def _mqtt_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def _mqtt_packet(ptype_flags, payload):
    n = len(payload)
    rem = b""
    while True:
        byte = n % 128
        n //= 128
        rem += bytes([byte | (0x80 if n else 0)])
        if not n:
            break
    return bytes([ptype_flags]) + rem + payload


class MqttClient:
    def __init__(self, port, client_id=None, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.next_id = 1
        cid = client_id or "it-%s" % uuid.uuid4().hex[:12]
        var = _mqtt_str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 30)
        self.sock.sendall(_mqtt_packet(0x10, var + _mqtt_str(cid)))
        ptype, body = self._read_packet()
        if ptype >> 4 != 2 or body[1] != 0:
            raise AssertionError("MQTT CONNACK refused: %r" % body)

    def _read_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise AssertionError("MQTT connection closed by the broker")
            out += chunk
        return out

    def _read_packet(self):
        first = self._read_exact(1)[0]
        mult, n = 1, 0
        while True:
            b = self._read_exact(1)[0]
            n += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        return first, self._read_exact(n)

    def publish(self, topic, payload, qos=1, retain=False):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        flags = 0x30 | (qos << 1) | (1 if retain else 0)
        var = _mqtt_str(topic)
        pid = None
        if qos:
            pid = self.next_id
            self.next_id += 1
            var += struct.pack("!H", pid)
        self.sock.sendall(_mqtt_packet(flags, var + payload))
        if qos == 1:
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                ptype, body = self._read_packet()
                if ptype >> 4 == 4 and struct.unpack("!H", body[:2])[0] == pid:
                    return
            raise AssertionError("no PUBACK for %s" % topic)

    def subscribe(self, topic_filter, qos=1):
        pid = self.next_id
        self.next_id += 1
        self.sock.sendall(_mqtt_packet(0x82, struct.pack("!H", pid) + _mqtt_str(topic_filter) + bytes([qos])))
        self._pending = []
        while True:
            ptype, body = self._read_packet()
            if ptype >> 4 == 9:
                return
            self._pending.append((ptype, body))

    def messages(self, duration):
        """Collects (topic, payload) of PUBLISH packets for up to `duration` s."""
        out = []
        pending = getattr(self, "_pending", [])
        self._pending = []
        for ptype, body in pending:
            out.append(self._decode_publish(ptype, body))
        deadline = time.monotonic() + duration
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                ptype, body = self._read_packet()
            except socket.timeout:
                break
            finally:
                self.sock.settimeout(self.timeout)
            if ptype >> 4 == 3:
                out.append(self._decode_publish(ptype, body))
        return [m for m in out if m is not None]

    def _decode_publish(self, ptype, body):
        if ptype >> 4 != 3:
            return None
        tlen = struct.unpack("!H", body[:2])[0]
        topic = body[2:2 + tlen].decode()
        rest = body[2 + tlen:]
        qos = (ptype >> 1) & 3
        if qos:
            pid = rest[:2]
            rest = rest[2:]
            self.sock.sendall(_mqtt_packet(0x40, pid))
        return topic, rest.decode("utf-8", "replace")

    def close(self):
        try:
            self.sock.sendall(b"\xe0\x00")
        except OSError:
            pass
        self.sock.close()


# --------------------------------------------------------------------------
# build and processes

class Build:
    """Where the binaries are."""

    def __init__(self, build_dir):
        self.dir = os.path.abspath(build_dir)
        self.asan = "asan" in os.path.basename(self.dir.rstrip("/"))
        # Sanitizer builds are slower to start and to run.
        self.slow = 3.0 if self.asan else 1.0

    def binary(self, name):
        path = os.path.join(self.dir, BINARY_PATHS[name])
        if not os.access(path, os.X_OK):
            raise AssertionError("binary %s is missing (build it first: meson setup %s && ninja -C %s)"
                                 % (path, self.dir, self.dir))
        return path


def free_ports(n):
    """n distinct free loopback TCP ports."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def port_open(port, timeout=0.2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def child_env(extra=None):
    """The environment of a child: ours without any SHOP_* (so a developer's
    settings never leak into a test), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    if extra:
        env.update(extra)
    return env


def describe_status(code):
    if code is not None and code < 0:
        try:
            return "killed by %s" % signal.Signals(-code).name
        except ValueError:
            return "killed by signal %d" % -code
    return "exit status %s" % code


def sanitizer_findings(text):
    return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


def run_binary(build, name, args, env=None, timeout=10.0):
    """Runs a binary to completion; returns (returncode, stdout, stderr).
    Fails if it does not exit within timeout, or on sanitizer reports."""
    path = build.binary(name)
    try:
        p = subprocess.run([path] + list(args), env=child_env(env), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout * build.slow)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s %s did not exit within %.0fs; stderr: %s"
                             % (name, " ".join(args), timeout * build.slow,
                                _short((e.stderr or b"").decode(errors="replace")))) from None
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    found = sanitizer_findings(out + err)
    if found:
        raise AssertionError("%s %s: sanitizer report: %s" % (name, " ".join(args), found[0]))
    return p.returncode, out, err


class Proc:
    def __init__(self, name, argv, log_path, env):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.popen = None
        self.expected_running = False
        self.needed_sigkill = False
        self.exit_codes = []

    def start(self):
        with open(self.log_path, "ab") as log:
            log.write(("=== %s start: %s\n" % (time.strftime("%H:%M:%S"), " ".join(self.argv))).encode())
            log.flush()
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=self.env)
        self.expected_running = True

    def alive(self):
        return self.popen is not None and self.popen.poll() is None


# Shops that are running now, so that the runner can abort them on a timeout.
_live_shops = set()
_live_lock = threading.Lock()


def abort_live_shops(reason):
    with _live_lock:
        shops = list(_live_shops)
    for shop in shops:
        shop.abort(reason)


# Where Shop reports (log tails) go; the runner replaces this to print them
# after its FAIL line.
def _default_report(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


report_sink = _default_report


class Shop:
    """A whole shop on free loopback ports.

    services: which of "inventory", "order", "front" to start (the broker is
    always started). use_env: pass settings as SHOP_* environment variables
    instead of flags. extra_args / extra_env: per service name."""

    def __init__(self, build, catalog=None, services=SERVICES, use_env=False,
                 extra_args=None, extra_env=None, instance="it", broker_password=None):
        self.build = build if isinstance(build, Build) else Build(build)
        self.catalog = DEFAULT_CATALOG if catalog is None else catalog
        self.services = list(services)
        self.use_env = use_env
        self.extra_args = extra_args or {}
        self.extra_env = extra_env or {}
        self.instance = instance
        # with a password the broker refuses anonymous clients and every
        # service logs in as "shop" (SHOP_MQTT_USERNAME / SHOP_MQTT_PASSWORD)
        self.broker_password = broker_password
        self.admin_token = "it-admin-" + uuid.uuid4().hex
        self.instances = {}        # per-service --instance, where set_instance changed it
        self.procs = {}
        self.accepted = set()      # order ids the front answered 202 for
        self.cancel_accepted = set()  # order ids whose cancel got a 202
        self.aborted = None
        self.dir = None
        self.failed = False
        self._terminated = []
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------

    def __enter__(self):
        with _live_lock:
            _live_shops.add(self)
        try:
            self._setup()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

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
        self.procs["broker"] = Proc("broker", [MOSQUITTO, "-c", self.broker_conf],
                                    os.path.join(self.logs, "broker.out.log"), child_env())
        for name in SERVICES:
            argv, env = self._service_command(name)
            self.procs[name] = Proc(name, argv, os.path.join(self.logs, name + ".log"), env)
        self.start("broker")
        for name in self.services:
            self.start(name)

    def _write_broker_config(self):
        data = os.path.join(self.dir, "broker") + "/"
        self.broker_log = os.path.join(self.logs, "mosquitto.log")
        self.broker_conf = os.path.join(self.dir, "broker", "mosquitto.conf")
        template = os.path.join(REPO, "broker", "mosquitto.conf.in")
        if os.path.exists(template):
            with open(template) as f:
                text = f.read()
        else:
            text = ("listener @PORT@ @BIND@\nallow_anonymous true\nuser @USER@\n"
                    "persistence true\npersistence_location @DATA_DIR@\n"
                    "autosave_interval 1\nmax_queued_messages 0\nset_tcp_nodelay true\n"
                    "log_dest file @LOG_FILE@\n")
        user = pwd.getpwuid(os.getuid()).pw_name
        for key, value in (("@PORT@", str(self.broker_port)), ("@BIND@", "127.0.0.1"),
                           ("@DATA_DIR@", data), ("@LOG_FILE@", self.broker_log),
                           ("@USER@", user)):
            text = text.replace(key, value)
        if self.broker_password is not None:
            pw = os.path.join(self.dir, "broker", "passwords")
            open(pw, "w").close()
            subprocess.run(["mosquitto_passwd", "-b", pw, "shop", self.broker_password],
                           check=True, capture_output=True)
            os.chmod(pw, 0o600)
            text = text.replace("allow_anonymous true",
                                "allow_anonymous false\npassword_file %s" % pw)
        left = re.findall(r"@[A-Z_]+@", text)
        if left:
            raise AssertionError("broker template has placeholders the harness does not know: %s" % left)
        with open(self.broker_conf, "w") as f:
            f.write(text)

    def settings(self, name):
        """The settings of a service as (flag, env var, value) triples."""
        rows = [("--data-dir", "SHOP_DATA_DIR", self.dir),
                ("--broker-url", "SHOP_BROKER_URL", self.broker_url),
                ("--instance", "SHOP_INSTANCE", self.instances.get(name, self.instance))]
        if self.broker_password is not None:
            rows += [("--mqtt-username", "SHOP_MQTT_USERNAME", "shop"),
                     ("--mqtt-password", "SHOP_MQTT_PASSWORD", self.broker_password)]
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
        extra_env = {}
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

    def start(self, name, wait=True):
        """Starts (or restarts) a process with its original command line and,
        with wait, waits until it is up (port / healthz / readyz)."""
        self._check_not_aborted()
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
            self._check_not_aborted()
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
        proc.expected_running = False
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.needed_sigkill = True
                proc.popen.kill()
                proc.popen.wait()
        proc.exit_codes.append(proc.popen.returncode)
        return proc.popen.returncode

    def _stop_all(self, kill_broker):
        """SIGTERM to every service at once, 5 s for all of them, SIGKILL for
        the rest; then the broker (SIGKILL when nobody will read its log)."""
        running = [p for n, p in self.procs.items() if n != "broker" and p.alive()]
        self._terminated = running
        for proc in running:
            proc.expected_running = False
            proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for proc in running:
            try:
                proc.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.needed_sigkill = True
                proc.popen.kill()
                proc.popen.wait()
            proc.exit_codes.append(proc.popen.returncode)
        broker = self.procs.get("broker")
        if broker is not None and broker.alive():
            if kill_broker:
                broker.expected_running = False
                broker.popen.kill()
                broker.popen.wait()
            else:
                self.stop("broker")

    def kill(self, name, sig=signal.SIGKILL):
        """Sends a signal to a process this Shop started (by its PID)."""
        proc = self.procs[name]
        assert_true(proc.alive(), "kill(%s): it is not running" % name)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGABRT):
            proc.expected_running = False
        proc.popen.send_signal(sig)
        if sig == signal.SIGKILL:
            proc.popen.wait()
            proc.exit_codes.append(proc.popen.returncode)

    def stop_broker(self):
        return self.stop("broker")

    def start_broker(self):
        self.start("broker")

    def abort(self, reason):
        """Called from another thread (test timeout): kill everything now."""
        self.aborted = reason
        for proc in self.procs.values():
            if proc.alive():
                proc.expected_running = False
                try:
                    proc.popen.kill()
                except OSError:
                    pass

    def _check_not_aborted(self):
        if self.aborted:
            raise AssertionError("aborted: %s" % self.aborted)

    def __exit__(self, exc_type, exc, tb):
        with _live_lock:
            _live_shops.discard(self)
        failed = exc_type is not None
        problems = []
        if not failed and self.dir:
            problems += self._dead_processes()
        self._stop_all(kill_broker=not failed and not problems)
        if self.dir:
            for name in ("front", "order", "inventory", "broker"):
                proc = self.procs.get(name)
                if not proc or failed or self.aborted or proc not in self._terminated:
                    continue
                if proc.needed_sigkill:
                    problems.append("%s did not exit within 5 s of SIGTERM" % name)
                elif proc.popen.returncode != 0:
                    problems.append("%s: %s when stopped with SIGTERM"
                                    % (name, describe_status(proc.popen.returncode)))
            if self.build.asan:
                problems += self._sanitizer_problems()
        if problems:
            failed = True
        self.failed = failed
        if failed and self.dir:
            report_sink(self.report())
        elif self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if problems and exc_type is None:
            raise AssertionError("; ".join(problems))
        return False

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
        if os.path.exists(self.broker_log):
            parts.append("  --- mosquitto.log ---")
            parts.append(self.log_tail("mosquitto.log", 15))
        return "\n".join(parts)

    # -- HTTP ---------------------------------------------------------------

    def _record(self, method, path, resp):
        if method == "POST" and resp.status == 202 and isinstance(resp.body, dict):
            oid = resp.body.get("order_id")
            if isinstance(oid, str):
                with self._lock:
                    if path.rstrip("/") == "/api/v1/orders":
                        self.accepted.add(oid)
                    elif path.endswith("/cancel"):
                        self.cancel_accepted.add(oid)

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        self._check_not_aborted()
        resp = http_request(self.front_port, method, path, body, headers, timeout)
        self._record(method, path, resp)
        return resp

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, body=None, headers=None, timeout=10.0):
        return self.request("POST", path, body, headers, timeout)

    def inv(self, path):
        self._check_not_aborted()
        return http_request(self.inventory_port, "GET", path)

    def ord(self, path):
        self._check_not_aborted()
        return http_request(self.order_port, "GET", path)

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

    def mqtt(self):
        return MqttClient(self.broker_port)

    # -- invariants ---------------------------------------------------------

    def _snapshot(self):
        s = self.inv("/stock")
        assert_status(s, 200, "inventory GET /stock")
        r = self.inv("/reservations")
        assert_status(r, 200, "inventory GET /reservations")
        o = self.ord("/orders")
        assert_status(o, 200, "order GET /orders")
        return {"stock": s.body["products"], "reservations": r.body["reservations"],
                "orders": o.body["orders"]}

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


def random_items(rng, catalog=DEFAULT_CATALOG, max_lines=3, max_qty=4):
    skus = rng.sample([p["sku"] for p in catalog], rng.randint(1, max_lines))
    return [{"sku": s, "qty": rng.randint(1, max_qty)} for s in skus]


def new_order_id():
    return str(uuid.uuid4())


def rfc3339_now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)
