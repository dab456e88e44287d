"""Accounts and ACLs (docs/protocol.md §Accounts): broker/configure's files, a real
Mosquitto refusing anonymous clients and holding each account to its row of
the table, the services' password files, and `./shop run` giving each
service its own account. MQTT clients: Debian's python3-paho-mqtt."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid

import paho.mqtt.client as mqtt

from harness import (CONFIGURE, MOSQUITTO, BusClient, assert_eq, assert_in, assert_true, child_env,
                     free_ports, http_request, port_open, run_binary, wait_until)
from shop_run import ShopRun

PREFIX = "webshop/"
ACCOUNTS = ("front", "inventory", "order", "bridge", "harness", "monitor")

# The Accounts table (docs/protocol.md), written out again here: the test holds the
# generator to the contract, not to itself. Filters under the prefix, except $SYS.
MAY_PUBLISH = {
    "front": ["order/send", "order/cancel", "inventory/restock", "inventory/product",
              "status/front/#"],
    "inventory": ["inventory/in-stock", "inventory/out-of-stock", "inventory/released",
                  "status/inventory/#", "status/inventory-outbox/#"],
    "order": ["order/canceled", "order/send", "order/status", "status/order/#",
              "status/order-outbox/#"],
    "bridge": ["#"],
    "harness": ["#"],
    "monitor": [],
}
MAY_READ = {
    "front": ["order/status", "status/#"],
    "inventory": ["order/send", "order/canceled", "inventory/restock", "inventory/product"],
    "order": ["order/send", "order/cancel", "inventory/in-stock", "inventory/out-of-stock",
              "inventory/released"],
    "bridge": ["#"],
    "harness": ["#"],
    "monitor": ["status/#", "$SYS/#"],
}
# Every topic of the Topics table (docs/protocol.md), a status topic of each subtree, and
# one the table does not name.
PROBES = ["order/send", "order/cancel", "inventory/in-stock", "inventory/out-of-stock",
          "order/canceled", "inventory/released", "order/status", "inventory/restock",
          "inventory/product", "status/front/it", "status/inventory/it",
          "status/inventory-outbox/it", "status/order/it", "status/order-outbox/it",
          "status/bridge/it", "status/monitor/it", "unlisted/topic"]


def allowed(filters, topic):
    return any(mqtt.topic_matches_sub(f if f.startswith("$") else PREFIX + f, PREFIX + topic)
               for f in filters)


# --------------------------------------------------------------------------
# MQTT clients (paho): harness.BusClient, and one without a loop thread for
# the connections a broker refuses or closes

def received_until(client, marker, what, timeout=5.0):
    """What a BusClient received since the last call, up to and with a
    message whose payload is marker."""
    got = []
    deadline = time.monotonic() + timeout
    while marker not in [p for _, p in got]:
        assert_true(time.monotonic() < deadline, "timed out after %.0fs waiting for %s"
                    % (timeout, what))
        got += client.messages(0.02)
    return got


def connect_here(port, user, password):
    """Connects on this thread (no loop thread, so no reconnecting to wait
    for); returns (client, CONNACK return code or None)."""
    c = mqtt.Client(client_id="it-once-" + uuid.uuid4().hex[:8], clean_session=True,
                    protocol=mqtt.MQTTv311)
    if user is not None:
        c.username_pw_set(user, password)
    connack = []
    c.on_connect = lambda client, userdata, flags, rc: connack.append(rc)
    c.connect("127.0.0.1", port, keepalive=30)
    deadline = time.monotonic() + 5
    while not connack and time.monotonic() < deadline:
        c.loop(0.05)
    return c, (connack[0] if connack else None)


def publish_once(port, user, password, topic, payload):
    """Connects, publishes at QoS 1, waits for the PUBACK and disconnects."""
    c, rc = connect_here(port, user, password)
    assert_eq(rc, 0, "CONNACK of %s" % user)
    info = c.publish(topic, payload, qos=1)
    deadline = time.monotonic() + 5
    while not info.is_published() and time.monotonic() < deadline:
        c.loop(0.05)
    assert_true(info.is_published(), "PUBACK for %s's publish on %s" % (user, topic))
    c.disconnect()


# --------------------------------------------------------------------------
# a broker of its own, from broker/configure

def configure(data_dir, *args):
    p = subprocess.run([CONFIGURE, "--data-dir", data_dir] + list(args), capture_output=True,
                       text=True, timeout=30, env=child_env())
    return p.returncode, p.stdout.strip(), p.stderr.strip()


class Broker:
    """A Mosquitto started from broker/configure's single config; stopped by PID."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="shop-acl-it-")
        self.port = free_ports(1)[0]
        rc, self.conf, err = configure(self.dir, "--role", "single", "--port", str(self.port))
        assert_eq(rc, 0, "broker/configure exit status (stderr %s)" % err)
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.port) or self.proc.poll() is not None, 10,
                   "Mosquitto listening on %d" % self.port)
        assert_true(self.proc.poll() is None, "Mosquitto started on the generated config",
                    self.log())

    def password(self, account):
        with open(os.path.join(self.dir, "broker", account + ".pw")) as f:
            return f.read().rstrip("\n")

    def client(self, account, name=None):
        return BusClient(self.port, client_id="it-%s-%s" % (name or account, uuid.uuid4().hex[:8]),
                         username=account, password=self.password(account))

    def log(self):
        try:
            with open(os.path.join(self.dir, "log", "broker.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self, failed):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if failed:  # pytest shows it with the failure
            sys.stderr.write("--- broker log %s:\n%s\n" % (self.dir, self.log()[-3000:]))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def with_broker(fn):
    broker = Broker()
    failed = True
    try:
        fn(broker)
        failed = False
    finally:
        broker.close(failed)


# --------------------------------------------------------------------------
# the tests

def test_accounts_generated(build):
    """broker/configure: one 0600 password file per account, the hashes in the
    password_file (no password in clear anywhere else but the edge's bridge
    line), the ACL of the table under the prefix; a second run keeps the
    passwords; bad arguments exit 2."""
    d = tempfile.mkdtemp(prefix="shop-configure-it-")
    try:
        rc, conf, err = configure(d, "--role", "single", "--port", "18999", "--prefix", "shopA/")
        assert_eq(rc, 0, "configure --role single (stderr %s)" % err)
        assert_eq(conf, os.path.join(os.path.realpath(d), "broker", "mosquitto.conf"),
                  "the path configure prints")
        broker_dir = os.path.join(d, "broker")
        passwords = {}
        for account in ACCOUNTS:
            path = os.path.join(broker_dir, account + ".pw")
            assert_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "mode of %s" % path)
            with open(path) as f:
                text = f.read()
            assert_true(text.endswith("\n") and len(text.strip()) >= 24 and text.count("\n") == 1,
                        "%s holds one line, a long password" % path, text)
            passwords[account] = text.strip()
        assert_eq(len(set(passwords.values())), len(ACCOUNTS), "every account its own password")
        with open(os.path.join(broker_dir, "passwd")) as f:
            hashed = dict(line.split(":", 1) for line in f.read().splitlines())
        assert_eq(sorted(hashed), sorted(ACCOUNTS), "users in the password_file")
        for account, value in hashed.items():
            assert_true(value.startswith("$7$"), "%s's password is hashed (PBKDF2)" % account, value)
        with open(conf) as f:
            conf_text = f.read()
        with open(os.path.join(broker_dir, "acl")) as f:
            acl = f.read()
        for password in passwords.values():
            for what, text in (("passwd", str(hashed)), ("acl", acl), ("config", conf_text)):
                assert_true(password not in text, "no password in clear in the %s" % what)
        for line in ("allow_anonymous false", "per_listener_settings false",
                     "password_file %s/passwd" % os.path.realpath(broker_dir),
                     "acl_file %s/acl" % os.path.realpath(broker_dir), "listener 18999 127.0.0.1"):
            assert_in(line, conf_text.splitlines(), "a line of the single config")
        assert_true("allow_anonymous true" not in conf_text, "no allow_anonymous true left")
        # the ACL: exactly the table under the prefix
        rules, user = set(), None
        for line in acl.splitlines():
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "user":
                user = words[1]
                continue
            assert_eq(words[0], "topic", "acl line %r" % line)
            for access in (("read", "write") if words[1] == "readwrite" else (words[1],)):
                rules.add((user, access, words[2]))
        want = set()
        for account in ACCOUNTS:
            for f in MAY_PUBLISH[account]:
                want.add((account, "write", "shopA/" + f))
            for f in MAY_READ[account]:
                want.add((account, "read", f if f.startswith("$") else "shopA/" + f))
        assert_eq(sorted(rules), sorted(want), "the ACL's rules")
        # a second run, and an edge: same passwords; the edge holds the bridge's
        rc, edge_conf, err = configure(d, "--role", "edge", "--port", "18998", "--edge", "edge1",
                                       "--core", "127.0.0.1:18999", "--prefix", "shopA/")
        assert_eq(rc, 0, "configure --role edge (stderr %s)" % err)
        for account in ACCOUNTS:
            with open(os.path.join(broker_dir, account + ".pw")) as f:
                assert_eq(f.read().strip(), passwords[account], "%s's password after a rerun" % account)
        assert_eq(stat.S_IMODE(os.stat(edge_conf).st_mode), 0o600, "mode of the edge's config")
        with open(edge_conf) as f:
            edge_lines = f.read().splitlines()
        for line in ("connection shop-edge1", "address 127.0.0.1:18999", "remote_username bridge",
                     "remote_password " + passwords["bridge"], "cleansession false",
                     "notification_topic shopA/status/bridge/edge1", "topic shopA/# out 1"):
            assert_in(line, edge_lines, "a line of the edge config")
        for args, word in ((["--role", "edge", "--port", "1"], "--core"),
                           (["--role", "single", "--port", "70000"], "port"),
                           (["--role", "single", "--port", "1", "--prefix", "shop/#/"], "prefix"),
                           (["--role", "single", "--port", "1", "--prefix", "noslash"], "prefix"),
                           (["--role", "hub", "--port", "1"], "role")):
            rc, out, err = configure(d, *args)
            assert_eq(rc, 2, "configure %s: exit status" % " ".join(args))
            assert_in(word, err, "configure %s: the error names it" % " ".join(args))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_anonymous_and_wrong_passwords_refused(build):
    """No anonymous client, no wrong password, no unknown user; the right
    password of each account gets in (the positive control)."""
    def body(broker):
        for user, password, what in ((None, None, "anonymous"),
                                     ("front", "wrong", "front with a wrong password"),
                                     ("front", "", "front with an empty password"),
                                     ("nobody", broker.password("harness"), "an unknown user"),
                                     ("front", broker.password("order"), "front with order's password")):
            c, rc = connect_here(broker.port, user, password)
            c.disconnect()
            assert_in(rc, (4, 5), "CONNACK return code for %s" % what)
        for account in ACCOUNTS:
            c, rc = connect_here(broker.port, account, broker.password(account))
            c.disconnect()
            assert_eq(rc, 0, "CONNACK return code for %s with its password" % account)
    with_broker(body)


def test_each_account_publishes_only_its_row(build):
    """Each account publishes every probe topic; a subscriber of the harness
    account on <prefix># receives exactly those its row allows. A refused
    publish is acknowledged (MQTT 3.1.1) and goes nowhere; Debian's Mosquitto
    2.0.11 then closes the connection (seen here), so each publish has its own."""
    def body(broker):
        watcher = broker.client("harness", "watcher")
        watcher.subscribe(PREFIX + "#")
        marker_from = broker.client("harness", "marker")
        for account in ACCOUNTS:
            for topic in PROBES:
                publish_once(broker.port, account, broker.password(account), PREFIX + topic,
                             "%s:%s" % (account, topic))
            # the broker forwards in order: once the marker is here, so is
            # everything published before it
            marker = "marker-after-%s" % account
            marker_from.publish(PREFIX + "unlisted/marker", marker)
            seen = received_until(watcher, marker, "the marker after %s's publishes" % account)
            got = sorted(p.split(":", 1)[1] for _, p in seen if p.startswith(account + ":"))
            want = sorted(t for t in PROBES if allowed(MAY_PUBLISH[account], t))
            assert_eq(got, want, "topics of %s's publishes that reached a subscriber" % account)
        watcher.close()
        marker_from.close()
    with_broker(body)


def test_each_account_receives_only_its_row(build):
    """Each account subscribes to every probe topic and to $SYS; the harness
    account publishes to each; the account receives exactly those its row
    allows (Mosquitto 2.0.11 grants every SUBSCRIBE and filters delivery).
    A wildcard subscription of front gets only front's topics."""
    def body(broker):
        sender = broker.client("harness", "sender")
        for account in ACCOUNTS:
            c = broker.client(account)
            for topic in PROBES:
                c.subscribe(PREFIX + topic)
            c.subscribe("$SYS/broker/version")  # retained: sent at once to whoever may read it
            for topic in PROBES:
                sender.publish(PREFIX + topic, "to-%s:%s" % (account, topic))
            readable = [t for t in PROBES if allowed(MAY_READ[account], t)]
            sender.publish(PREFIX + readable[-1], "marker-for-" + account)
            seen = received_until(c, "marker-for-" + account, "the marker %s may read" % account)
            got = sorted(p.split(":", 1)[1] for _, p in seen if p.startswith("to-"))
            assert_eq(got, sorted(readable), "probe topics %s received" % account)
            # the retained $SYS message is sent right after the SUBACK, before the marker
            sys_topics = [t for t, _ in seen if t.startswith("$SYS/")]
            assert_eq(sys_topics, ["$SYS/broker/version"] if account == "monitor" else [],
                      "$SYS messages %s received" % account)
            c.close()
        # a wildcard subscription: everything is asked for, only front's row comes
        front = broker.client("front", "front-wildcard")
        front.subscribe(PREFIX + "#")
        for topic in PROBES:
            sender.publish(PREFIX + topic, "wild:" + topic)
        sender.publish(PREFIX + "order/status", "marker-wildcard")
        seen = received_until(front, "marker-wildcard", "the marker on order/status")
        got = sorted(p.split(":", 1)[1] for _, p in seen if p.startswith("wild:"))
        assert_eq(got, sorted(t for t in PROBES if allowed(MAY_READ["front"], t)),
                  "what front's subscription to %s# received" % PREFIX)
        front.close()
        sender.close()
    with_broker(body)


def test_password_file_settings(build):
    """--mqtt-password-file / SHOP_MQTT_PASSWORD_FILE of every service and
    shop-replay's --password-file: a missing, empty or unreadable file, or a
    password given twice, is one line naming the file and exit status 2."""
    d = tempfile.mkdtemp(prefix="shop-pwfile-it-")
    try:
        empty = os.path.join(d, "empty.pw")
        open(empty, "w").close()
        good = os.path.join(d, "good.pw")
        with open(good, "w") as f:
            f.write("s3cret\n")
        missing = os.path.join(d, "missing.pw")
        cases = ((missing, None, "No such file"), (empty, None, "empty"), (d, None, "directory"),
                 (good, "also-given", "not both"))
        closed = free_ports(1)[0]
        for name in ("front", "inventory", "order"):
            rc, out, _ = run_binary(build, name, ["--help"])
            assert_in("--mqtt-password-file", out, "shop-%s --help" % name)
            assert_in("SHOP_MQTT_PASSWORD_FILE", out, "shop-%s --help" % name)
            for via_env in (False, True):
                for path, password, words in cases:
                    args = ["--data-dir", os.path.join(d, name), "--broker-port", str(closed)]
                    env = {}
                    if via_env:
                        env["SHOP_MQTT_PASSWORD_FILE"] = path
                    else:
                        args += ["--mqtt-password-file", path]
                    if password:
                        args += ["--mqtt-password", password]
                    rc, out, err = run_binary(build, name, args, env=env)
                    what = "shop-%s with password file %s%s%s" % (
                        name, os.path.basename(path), " (from the environment)" if via_env else "",
                        " and --mqtt-password" if password else "")
                    assert_eq(rc, 2, what + ": exit status")
                    lines = err.strip().splitlines()
                    assert_eq(len(lines), 1, what + ": lines on stderr (%r)" % err)
                    assert_in(words, lines[0], what + ": the line says why")
                    if not password:
                        assert_in(path, lines[0], what + ": the line names the file")
        tool = os.path.join(build.dir, "tests", "harness", "shop-replay")
        for path, password, words in cases:
            args = [tool, "garbage", "--broker-port", str(closed), "--password-file", path]
            if password:
                args += ["--password", password]
            p = subprocess.run(args, capture_output=True, text=True, timeout=10, env=child_env())
            what = "shop-replay with password file %s" % os.path.basename(path)
            assert_eq(p.returncode, 2, what + ": exit status")
            assert_eq(len(p.stderr.strip().splitlines()), 1, what + ": lines on stderr")
            assert_in(words, p.stderr, what + ": the line says why")
        # the positive control: a good file passes the settings, and the
        # failure is then the closed port (exit 1 for shop-replay)
        p = subprocess.run([tool, "garbage", "--broker-port", str(closed), "--password-file", good],
                           capture_output=True, text=True, timeout=10, env=child_env())
        assert_eq(p.returncode, 1, "shop-replay with a good password file and no broker: exit status")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_shop_run_accounts(build):
    """`./shop run` (single topology): each service logs in with its own
    account and orders confirm; a publish the front's account may not make
    changes nothing at the order daemon, while the same event from the
    harness account does; shop-replay logs in with the harness account."""
    with ShopRun(build, edges=0) as run:
        assert_eq(run.topology["topology"], "single", "topology in topology.json")
        r = http_request(run.front_port, "POST", "/api/v1/orders",
                         {"items": [{"sku": "MUG-001", "qty": 1}]})
        assert_eq(r.status, 202, "POST an order through the front")
        oid = r.body["order_id"]
        wait_until(lambda: http_request(run.front_port, "GET", "/api/v1/orders/" + oid)
                   .body.get("status") == "confirmed", 15, "order %s confirmed" % oid)
        log = run.log("broker")
        for client_id, account in (("shop-front-main", "front"),
                                   ("shop-inventory-main", "inventory"),
                                   ("shop-inventory-outbox-main", "inventory"),
                                   ("shop-order-main", "order"),
                                   ("shop-order-outbox-main", "order")):
            assert_true(re.search(r"as %s \(.*u'%s'\)" % (re.escape(client_id), account), log),
                        "broker log: %s connected as %s" % (client_id, account))
        # an in-stock the front's account may not publish
        port = run.broker_port
        forged = str(uuid.uuid4())
        event = json.dumps({"v": 1, "order_id": forged, "total_cents": 1200,
                            "items": [{"sku": "MUG-001", "qty": 1, "unit_price_cents": 1200}]})
        publish_once(port, "front", run.password("front"), PREFIX + "inventory/in-stock", event)
        harness_client = BusClient(port, username="harness", password=run.password("harness"))
        # the order daemon handles events in order: once the harness's own
        # later event is applied, the front's would have been too
        control = str(uuid.uuid4())
        harness_client.publish(PREFIX + "inventory/in-stock", event.replace(forged, control))
        auth = run.internal_auth()
        wait_until(lambda: http_request(run.order_port, "GET", "/orders/" + control,
                                        headers=auth).status == 200,
                   10, "the harness's in-stock creates order %s (positive control)" % control)
        assert_eq(http_request(run.order_port, "GET", "/orders/" + forged, headers=auth).status, 404,
                  "the order daemon never saw the front's forged in-stock")
        harness_client.close()
        # shop-replay with the harness account, and without a password
        tool = os.path.join(build.dir, "tests", "harness", "shop-replay")
        base = [tool, "garbage", "--topics", "order/send", "--broker-port", str(port)]
        env = child_env({"SHOP_MQTT_USERNAME": "harness",
                         "SHOP_MQTT_PASSWORD_FILE": os.path.join(run.dir, "broker", "harness.pw")})
        p = subprocess.run(base, capture_output=True, text=True, timeout=30, env=env)
        assert_eq(p.returncode, 0, "shop-replay garbage as harness (stderr %s)" % p.stderr)
        p = subprocess.run(base + ["--username", "harness"], capture_output=True, text=True,
                           timeout=30, env=child_env())
        assert_eq(p.returncode, 1, "shop-replay garbage as harness without a password")
        assert_in("not authorized", p.stderr + p.stdout, "shop-replay says the broker refused")
        assert_eq(run.stop(), 0, "./shop run's exit status after SIGTERM")
