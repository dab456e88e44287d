"""The bridged topology of docs/protocol.md ("Topologies"): `SHOP_EDGES=2 ./shop run`
with a core broker, two edge brokers bridged to it, a front on each edge and
haproxy over the fronts, all real; and `./shop check-broker` on the generated
configs and on one bad config per known trap."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import (REPO, assert_eq, assert_in, assert_true, child_env, http_request, port_open,
                     wait_until)
from shop_run import ShopRun, pid_alive

CONFIGURE = os.path.join(REPO, "broker", "configure")
SHOP = os.path.join(REPO, "shop")
ROLES_WITH_BROKER = ("inventory", "order", "front")


def shop_command(args, env=None, cwd=None, timeout=30):
    p = subprocess.run([SHOP] + args, capture_output=True, text=True, timeout=timeout,
                       env=child_env(env), cwd=cwd, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def generated_configs(d):
    """A core and two edges from broker/configure; returns their paths."""
    paths = []
    for args in (["--role", "core", "--port", "18830"],
                 ["--role", "edge", "--port", "18831", "--edge", "edge1", "--core", "127.0.0.1:18830"],
                 ["--role", "edge", "--port", "18832", "--edge", "edge2", "--core", "127.0.0.1:18830"]):
        p = subprocess.run([CONFIGURE, "--data-dir", d] + args, capture_output=True, text=True,
                           timeout=30, env=child_env())
        assert_eq(p.returncode, 0, "broker/configure %s (stderr %s)" % (" ".join(args), p.stderr))
        paths.append(p.stdout.strip())
    return paths


def numbered(path, text):
    """The 1-based number of the line of path that equals text."""
    with open(path) as f:
        lines = f.read().splitlines()
    assert_in(text, lines, "a line of %s" % path)
    return lines.index(text) + 1


# --------------------------------------------------------------------------
# ./shop check-broker

def test_check_broker_generated_configs_clean(build):
    """The configs the shop generates (core, two edges) have no known trap."""
    d = tempfile.mkdtemp(prefix="shop-check-it-")
    try:
        paths = generated_configs(d)
        rel = [os.path.relpath(p, d) for p in paths]  # relative to the caller's directory
        rc, out, err = shop_command(["check-broker"] + rel, cwd=d)
        assert_eq((rc, out.strip()), (0, "0 known traps in 3 files"),
                  "./shop check-broker on the generated configs (stderr %s)" % err)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_check_broker_names_each_trap(build):
    """One bad config per trap: ./shop check-broker names it with FILE:LINE
    (of the bad line) and exits 1; nothing else is named."""
    d = tempfile.mkdtemp(prefix="shop-check-it-")
    try:
        core, edge1, edge2 = generated_configs(d)
        with open(core) as f:
            core_text = f.read()
        with open(edge1) as f:
            edge_text = f.read()
        second_bridge = ("\nconnection shop-edge1-again\naddress 127.0.0.1:18830\n"
                         "notification_topic webshop/status/bridge/again\n"
                         "topic webshop/order/# in 1\n")
        back_bridge = ("\nconnection shop-core-to-edge1\naddress 127.0.0.1:18831\n"
                       "notification_topic webshop/status/bridge/back\n"
                       "topic webshop/order/send out 1\n")
        # (name, file changed, old line, new line or None to remove, line named, words)
        cases = [
            ("QoS 0 topic", edge1, "topic webshop/# out 1", "topic webshop/# out", None, "QoS 0"),
            ("topic without direction", edge1, "topic webshop/order/status in 1",
             "topic webshop/order/status", None, "QoS 0"),
            ("bridge cleansession", edge1, "cleansession false", "cleansession true", None,
             "cleansession true"),
            ("local cleansession", edge1, "local_cleansession false", "local_cleansession true",
             None, "local_cleansession true"),
            ("notifications on $SYS", edge1, "notification_topic webshop/status/bridge/edge1", "",
             "connection shop-edge1", "$SYS"),
            ("queue limit", core, "max_queued_messages 0", "max_queued_messages 1000", None,
             "max_queued_messages 1000"),
            ("byte limit", core, "max_queued_bytes 0", "max_queued_bytes 65536", None,
             "max_queued_bytes 65536"),
            ("no queue setting", core, "max_queued_messages 0", "", 1, "no max_queued_messages"),
            ("persistence off", core, "persistence true", "persistence false", None,
             "persistence is off"),
            ("long autosave", core, "autosave_interval 1", "autosave_interval 60", None,
             "autosave_interval 60"),
            ("autosave off", core, "autosave_interval 1", "autosave_interval 0", None,
             "autosave_interval 0"),
            ("anonymous", core, "allow_anonymous false", "allow_anonymous true", None,
             "allow_anonymous true"),
            ("two bridges to one broker", edge1, "topic webshop/status/# in 1",
             "topic webshop/status/# in 1" + second_bridge, "topic webshop/order/# in 1",
             "round"),
            ("a bridge each way", core, "connection_messages true",
             "connection_messages true" + back_bridge, "topic webshop/order/send out 1", "round"),
        ]
        for name, path, old, new, named, words in cases:
            lines = (core_text if path == core else edge_text).splitlines()
            assert_eq(lines.count(old), 1, "%s: lines %r in the generated config" % (name, old))
            lines[lines.index(old):lines.index(old) + 1] = new.splitlines() if new else []
            bad = os.path.join(d, "bad-" + re.sub(r"\W+", "-", name) + ".conf")
            with open(bad, "w") as f:
                f.write("\n".join(lines) + "\n")
            if named is None:
                line = numbered(bad, new.splitlines()[-1])
            elif isinstance(named, int):
                line = named
            else:
                line = numbered(bad, named)
            others = [edge1, edge2] if path == core else [core, edge2]
            rc, out, err = shop_command(["check-broker", bad] + others)
            what = "./shop check-broker with %s" % name
            assert_eq(rc, 1, what + ": exit status (output %s %s)" % (out, err))
            traps = [l for l in out.splitlines() if not l.endswith("files")]
            assert_true(traps, what + ": a trap is named", out)
            assert_true(any(("%s:%d:" % (bad, line)) in l and words in l for l in traps),
                        what + ": a line names %s:%d with %r" % (bad, line, words), out)
            for l in traps:  # a loop is named at both ends
                assert_true(words in l and (l.startswith(bad + ":") or "(%s:" % bad in l),
                            what + ": only this trap, at the bad file's line", l)
        rc, out, err = shop_command(["check-broker", os.path.join(d, "missing.conf")])
        assert_eq(rc, 2, "./shop check-broker on a missing file: exit status")
        assert_in("missing.conf", err, "the error names the file")
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------
# SHOP_EDGES=2 ./shop run

def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]


def environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        pairs = [a.decode(errors="replace").partition("=") for a in f.read().split(b"\0") if a]
    return {k: v for k, _, v in pairs}


def orders_accepted(front_port, n, what, refusals_allowed=False):
    """POSTs n orders through the balancer, a connection each; returns the ids
    of the 202s. All must be 202, or with refusals_allowed a clean 503 (a
    restarted front may take a request before haproxy saw it down and before
    its broker connection is up)."""
    ids = []
    for i in range(n):
        r = http_request(front_port, "POST", "/api/v1/orders",
                         {"items": [{"sku": "MUG-001", "qty": 1}]})
        if refusals_allowed and r.status == 503:
            assert_true(isinstance(r.body, dict) and r.body.get("error") and
                        r.headers.get("Retry-After"), "%s: a clean 503" % what, r)
            continue
        assert_eq(r.status, 202, "%s: POST order %d of %d through haproxy (body %s)"
                  % (what, i + 1, n, r.text))
        ids.append(r.body["order_id"])
    return ids


def wait_confirmed(front_port, ids, timeout=30):
    def all_confirmed():
        return all(http_request(front_port, "GET", "/api/v1/orders/" + oid).body.get("status")
                   == "confirmed" for oid in ids)
    wait_until(all_confirmed, timeout, "%d orders confirmed through haproxy" % len(ids), 0.3)


def accepted_by(port):
    """Orders this front answered 202 (its /metrics request counter)."""
    r = http_request(port, "GET", "/metrics")
    m = re.search(r'^shop_front_requests_total\{route="/api/v1/orders",status="202"\} (\d+)',
                  r.text, re.M)
    return int(m.group(1)) if m else 0


def wait_restarted(run, name, old_pid, what):
    def restarted():
        run.refresh()
        pid = run.part(name)["pid"]
        return pid if pid and pid != old_pid and pid_alive(pid) else None
    return wait_until(restarted, 20, what, 0.2)


def ready(port):
    """True when the front on port answers /readyz 200; False while it is
    not ready or not listening yet (a restarted part binds its port a
    moment after topology.json names its new pid)."""
    if not port_open(port):
        return False
    try:
        return http_request(port, "GET", "/readyz").status == 200
    except AssertionError:  # the port closed again between the two
        return False


def test_bridged_topology(build):
    """SHOP_EDGES=2 ./shop run: topology.json as docs/protocol.md says; each part runs
    and listens where it says, each front on its own edge; orders placed
    through haproxy confirm and both fronts take some; the invariants
    hold (shop-replay check through haproxy); a front and an edge killed with
    SIGKILL are restarted and topology.json follows; SIGTERM to ./shop run
    stops every process it started."""
    with ShopRun(build, edges=2) as run:
        print("    SHOP_EDGES=2 ./shop run: the URL after %.1f s" % run.start_seconds)
        topo = run.topology
        assert_eq(sorted(topo), ["parts", "topology"], "keys of topology.json")
        assert_eq(topo["topology"], "bridged", "topology")
        assert_eq(sorted((p["role"], p["name"]) for p in topo["parts"]),
                  [("balancer", "balancer"), ("core-broker", "core"), ("edge-broker", "edge1"),
                   ("edge-broker", "edge2"), ("front", "front1"), ("front", "front2"),
                   ("inventory", "inventory"), ("order", "order")], "the parts (role, name)")
        for p in topo["parts"]:
            keys = ["name", "pid", "port", "role"] + (["broker"] if p["role"] in ROLES_WITH_BROKER
                                                      else [])
            assert_eq(sorted(p), sorted(keys), "keys of part %s" % p["name"])
            assert_true(isinstance(p["pid"], int) and pid_alive(p["pid"]),
                        "part %s's pid runs" % p["name"], p)
        ports = [p["port"] for p in topo["parts"]]
        assert_eq(len(set(ports)), len(ports), "every part its own port")
        assert_eq(run.part("core")["port"], run.broker_port, "core port = SHOP_BROKER_PORT")
        assert_eq(run.part("balancer")["port"], run.front_port, "balancer port = SHOP_FRONT_PORT")
        assert_eq(run.part("inventory")["port"], run.inventory_port, "inventory port")
        assert_eq(run.part("order")["port"], run.order_port, "order port")
        for name, broker in (("inventory", "core"), ("order", "core"), ("front1", "edge1"),
                             ("front2", "edge2")):
            assert_eq(run.part(name)["broker"], broker, "the broker of %s" % name)
        # each process is what topology.json says, where it says
        for name, words in (("core", ["mosquitto", "/broker/mosquitto.conf"]),
                            ("edge1", ["mosquitto", "/broker/edge1/mosquitto.conf"]),
                            ("edge2", ["mosquitto", "/broker/edge2/mosquitto.conf"]),
                            ("inventory", ["shop-inventory"]), ("order", ["shop-order"]),
                            ("front1", ["shop-front"]), ("front2", ["shop-front"]),
                            ("balancer", ["haproxy", "-W"])):
            args = " ".join(cmdline(run.part(name)["pid"]))
            for word in words:
                assert_in(word, args, "command line of %s" % name)
        for name in ("core", "edge1", "edge2"):
            assert_true(port_open(run.part(name)["port"]), "%s listens on its port" % name)
        for name in ("front1", "front2"):
            part = run.part(name)
            edge_port = run.part(part["broker"])["port"]
            env = environ(part["pid"])
            assert_eq(env.get("SHOP_BROKER_URL"), "tcp://127.0.0.1:%d" % edge_port,
                      "%s's broker is its edge" % name)
            assert_eq(env.get("SHOP_MQTT_USERNAME"), "front", "%s's account" % name)
            assert_eq(http_request(part["port"], "GET", "/readyz").status, 200,
                      "%s /readyz on its port" % name)
            assert_true(re.search(r"as shop-front-%s \(.*u'front'\)" % part["broker"],
                                  run.log(part["broker"])),
                        "%s's log: the front connected as account front" % part["broker"])
        for edge in ("edge1", "edge2"):
            assert_true(re.search(r"New bridge connected .* as shop-bridge-%s \(.*u'bridge'\)" % edge,
                                  run.log("core")),
                        "core's log: %s's bridge connected as account bridge" % edge)
        with open(os.path.join(run.dir, "balancer", "haproxy.cfg")) as f:
            cfg = f.read()
        for line in ("balance roundrobin", "option httpchk GET /readyz", "timeout tunnel 1h"):
            assert_in(line, cfg, "haproxy.cfg")
        rc, out, err = shop_command(["status"], env={"SHOP_DATA_DIR": run.dir})
        assert_eq(rc, 0, "./shop status exit status (output %s %s)" % (out, err))
        for p in topo["parts"]:
            assert_true(re.search(r"^%s\s+%s\s+%d\s+%d\s.*\bup\b" % (p["role"], p["name"], p["pid"],
                                                                    p["port"]), out, re.M),
                        "./shop status shows %s up" % p["name"], out)

        # orders through haproxy: all confirm, both fronts take some
        ids = orders_accepted(run.front_port, 20, "first orders")
        wait_confirmed(run.front_port, ids)
        taken = {name: accepted_by(run.part(name)["port"]) for name in ("front1", "front2")}
        assert_eq(sum(taken.values()), 20, "orders the fronts' metrics count (%s)" % taken)
        assert_true(all(n > 0 for n in taken.values()), "both fronts took orders", taken)
        token = open(os.path.join(run.dir, "admin-token")).read().strip()
        tool = os.path.join(build.dir, "tests", "harness", "shop-replay")
        p = subprocess.run([tool, "check", "--front-url", "http://127.0.0.1:%d" % run.front_port,
                            "--admin-token", token, "--timeout", "20"],
                           capture_output=True, text=True, timeout=60, env=child_env())
        assert_eq(p.returncode, 0, "shop-replay check through haproxy: %s %s" % (p.stdout, p.stderr))

        # a front killed: restarted, topology.json follows, haproxy keeps serving
        old = run.part("front1")["pid"]
        os.kill(old, signal.SIGKILL)
        # once it is gone (a request in flight as it dies gets haproxy's 502):
        # its port closed too, for the main thread is a zombie while the
        # other threads still exit and the listener still accepts (haproxy's
        # log said SH, connected in 0 ms, after pid_alive was false)
        front1_port = run.part("front1")["port"]
        wait_until(lambda: not pid_alive(old) and not port_open(front1_port), 5,
                   "front1 (pid %d) gone after SIGKILL, its port closed" % old, 0.01)
        ids = orders_accepted(run.front_port, 5, "orders while front1 is down",
                              refusals_allowed=True)
        wait_restarted(run, "front1", old, "front1 restarted with a new pid in topology.json")
        wait_until(lambda: ready(run.part("front1")["port"]),
                   20, "the restarted front1 ready")
        # an edge killed: restarted, its front reconnects
        old = run.part("edge2")["pid"]
        os.kill(old, signal.SIGKILL)
        wait_restarted(run, "edge2", old, "edge2 restarted with a new pid in topology.json")
        wait_until(lambda: ready(run.part("front2")["port"]),
                   30, "front2 ready again through the restarted edge2")
        ids += orders_accepted(run.front_port, 10, "orders after the restarts")
        wait_confirmed(run.front_port, ids)
        started = set(run.seen)

        assert_eq(run.stop(), 0, "./shop run's exit status after SIGTERM")
        assert_eq(run.leftovers(), [], "processes ./shop run started still running")
        assert_true(len(started) >= 9, "pids seen: the 8 parts, haproxy's worker, restarts",
                    sorted(started))
        assert_true(not os.path.exists(run.topology_path), "topology.json removed at the stop")
        for name in ("balancer", "core"):
            assert_true(not port_open(run.part(name)["port"]), "%s's port closed" % name)


def posts_seen(port):
    """POST /api/v1/orders requests this front answered, whatever the status."""
    r = http_request(port, "GET", "/metrics")
    return sum(int(n) for n in re.findall(
        r'^shop_front_requests_total\{route="/api/v1/orders",status="\d+"\} (\d+)', r.text, re.M))


def test_bridge_cut_makes_the_edge_fronts_unready(build):
    """docs/protocol.md §Topologies: with the core stopped (SIGSTOP, at least
    4 s) the edges' bridges carry nothing, though every front still has its
    own broker. The daemons' heartbeats stop arriving, so each front's
    /readyz says 503 naming them, and haproxy stops sending them orders (its
    own 503); SIGCONT brings it all back and every order accepted confirms."""
    with ShopRun(build, edges=2) as run:
        fronts = [run.part(name)["port"] for name in ("front1", "front2")]
        for port in fronts:
            assert_eq(http_request(port, "GET", "/readyz").status, 200,
                      "front on port %d ready before (positive control)" % port)
        ids = orders_accepted(run.front_port, 4, "orders before the cut")
        core = run.part("core")["pid"]
        os.kill(core, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            for port in fronts:
                def both_named():
                    r = http_request(port, "GET", "/readyz")
                    text = r.body.get("message", "") if isinstance(r.body, dict) else ""
                    return r.status == 503 and "inventory" in text and "order" in text
                wait_until(both_named, 8, "front on port %d: /readyz 503 naming both daemons "
                           "with the core stopped" % port, 0.2)
                m = http_request(port, "GET", "/metrics").text
                assert_true(re.search(r'^shop_front_broker_connected 1$', m, re.M),
                            "the front is still connected to its own edge", m[-2000:])
                ages = re.findall(r'^shop_front_daemon_heartbeat_age_seconds\{daemon="\w+"\} '
                                  r'([0-9.]+)$', m, re.M)
                assert_true(len(ages) == 2 and all(float(a) > 3 for a in ages),
                            "both daemons' heartbeat ages above 3 s", ages)

            def haproxy_refuses():
                r = http_request(run.front_port, "POST", "/api/v1/orders",
                                 {"items": [{"sku": "MUG-001", "qty": 1}]})
                if r.status == 202:  # a front haproxy still sent it to
                    ids.append(r.body["order_id"])
                # haproxy's own 503 (its errorfile), not a front's
                return (r.status == 503 and isinstance(r.body, dict)
                        and r.body.get("error") == "no_front_ready")
            wait_until(haproxy_refuses, 8, "haproxy answering 503 no_front_ready itself", 0.2)
            seen = [posts_seen(port) for port in fronts]
            for i in range(5):
                r = http_request(run.front_port, "POST", "/api/v1/orders",
                                 {"items": [{"sku": "MUG-001", "qty": 1}]})
                assert_eq(r.status, 503, "POST %d through haproxy while no front is ready" % i)
            assert_eq([posts_seen(port) for port in fronts], seen,
                      "POSTs the fronts saw while haproxy held them down")
            time.sleep(max(0.0, 4.0 - (time.monotonic() - stopped)))
        finally:
            os.kill(core, signal.SIGCONT)
        for port in fronts:
            wait_until(lambda: http_request(port, "GET", "/readyz").status == 200, 20,
                       "front on port %d ready after SIGCONT" % port, 0.2)
        # haproxy checks every second and takes a front back after one pass
        wait_until(lambda: http_request(run.front_port, "GET", "/readyz").status == 200, 10,
                   "haproxy sending requests to a front again", 0.2)
        ids += orders_accepted(run.front_port, 4, "orders after the heal")
        wait_confirmed(run.front_port, ids)
        assert_eq(run.stop(), 0, "./shop run's exit status after SIGTERM")
