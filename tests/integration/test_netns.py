"""Across hosts (issue 10, Tests): the bridged topology in network namespaces
the test makes, one "host" for the core broker and both daemons and one per
edge with its broker and front, on veth links inside one private /24 that
exists only in these namespaces (and on the test's own veths to the fronts);
no traffic leaves the machine. Root only (ip netns); skipped otherwise.

A 5 s partition of edge1's link to the core under load, then healed: the
front on edge1 goes on accepting (its broker queues on the bridge), and
afterwards every 202 is final and the invariants hold. Then POST -> confirmed
latency across the bridge, with 20 ms of tc netem delay on the bridge links
where the kernel has netem (sch_netem), without it otherwise (said so).

Links, each a /28 of the /24 (.1 is the core's side, .2 the other's):
  core-edge1 .16/28, core-edge2 .32/28, root-edge1 .48/28, root-edge2 .64/28"""

import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from harness import REPO, assert_eq, assert_true, child_env, http_request, port_open, wait_until

ORDERS = "/api/v1/orders"
MQTT_PORT, INVENTORY_PORT, ORDER_PORT, EDGE_PORT, FRONT_PORT = 1883, 8081, 8082, 1884, 8080
PARTITION_S = 5.0
SKUS = ["MUG-001", "MUG-002", "BEAN-ETH-250", "FILT-V60-100", "TEA-SENCHA-100"]
FINAL = ("confirmed", "rejected", "canceled")


def run_ip(*args, ns=None, check=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p


def netns_usable():
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "no ip command (Debian: iproute2)"
    name = "shopprobe%d" % os.getpid()
    p = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if p.returncode != 0:
        return "ip netns add fails here: %s" % p.stderr.strip()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


class Hosts:
    """The namespaces, links and processes of one test run; close() undoes
    all of it, stopping only the PIDs it started."""

    def __init__(self, build):
        self.build = build
        self.tag = "s%d" % (os.getpid() % 100000)
        rng = random.Random()
        self.net = "10.%d.%d" % (rng.randint(200, 250), rng.randint(0, 255))
        self.ns = {h: "shop-%s-%s" % (self.tag, h) for h in ("core", "edge1", "edge2")}
        self.made_ns = []
        self.root_links = []
        self.procs = {}
        self.dir = tempfile.mkdtemp(prefix="shop-netns-it-")
        os.makedirs(os.path.join(self.dir, "log"))
        self.failed = False

    def addr(self, base, side):
        return "%s.%d" % (self.net, base + side)

    # -- network ---------------------------------------------------------------

    def link(self, a_ns, b_ns, base, a_if, b_if):
        """A veth a_if (in a_ns, or the root namespace if None) to b_if (in b_ns)."""
        run_ip("ip", "link", "add", a_if, "type", "veth", "peer", "name", b_if)
        if a_ns is None:
            self.root_links.append(a_if)
        else:
            run_ip("ip", "link", "set", a_if, "netns", a_ns)
        run_ip("ip", "link", "set", b_if, "netns", b_ns)
        for ns, ifname, side in ((a_ns, a_if, 1), (b_ns, b_if, 2)):
            run_ip("ip", "addr", "add", "%s/28" % self.addr(base, side), "dev", ifname, ns=ns)
            run_ip("ip", "link", "set", ifname, "up", ns=ns)

    def build_network(self):
        for host, name in self.ns.items():
            run_ip("ip", "netns", "add", name)
            self.made_ns.append(name)
            run_ip("ip", "link", "set", "lo", "up", ns=name)
        t = self.tag
        self.if_core = {"edge1": ("%sc1" % t, "%se1c" % t), "edge2": ("%sc2" % t, "%se2c" % t)}
        self.link(self.ns["core"], self.ns["edge1"], 16, *self.if_core["edge1"])
        self.link(self.ns["core"], self.ns["edge2"], 32, *self.if_core["edge2"])
        self.link(None, self.ns["edge1"], 48, "%sr1" % t, "%se1r" % t)
        self.link(None, self.ns["edge2"], 64, "%sr2" % t, "%se2r" % t)
        self.core_addr = {"edge1": self.addr(16, 1), "edge2": self.addr(32, 1)}
        self.front_addr = {"edge1": self.addr(48, 2), "edge2": self.addr(64, 2)}

    # -- processes -------------------------------------------------------------

    def configure(self, name, *args):
        p = subprocess.run([os.path.join(REPO, "broker", "configure"), "--data-dir", self.dir,
                            "--prefix", "webshop/", "--log-file",
                            os.path.join(self.dir, "log", name + ".log")] + list(args),
                           capture_output=True, text=True, timeout=30, env=child_env())
        assert_eq(p.returncode, 0, "broker/configure %s: %s" % (" ".join(args), p.stderr))
        return p.stdout.strip()

    def start(self, name, host, argv, env=None):
        log = open(os.path.join(self.dir, "log", name + ".out.log"), "ab")
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns[host]] + argv, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=child_env(env or {}))
        log.close()
        self.procs[name] = proc  # ip netns exec execs the command: same PID
        return proc

    def service_env(self, account, extra):
        env = {"SHOP_MQTT_USERNAME": account,
               "SHOP_MQTT_PASSWORD_FILE": os.path.join(self.dir, "broker", account + ".pw"),
               "SHOP_ADMIN_TOKEN": self.admin_token, "SHOP_INTERNAL_TOKEN": self.internal_token,
               "SHOP_INTERNAL_BIND": "0.0.0.0"}
        env.update(extra)
        return env

    def start_all(self):
        self.admin_token = "netns-admin-" + self.tag
        self.internal_token = "netns-internal-" + self.tag
        core_conf = self.configure("core", "--role", "core", "--port", str(MQTT_PORT),
                                   "--bind", "0.0.0.0")
        self.start("core", "core", ["mosquitto", "-c", core_conf])
        for edge in ("edge1", "edge2"):
            conf = self.configure(edge, "--role", "edge", "--edge", edge, "--port", str(EDGE_PORT),
                                  "--core", "%s:%d" % (self.core_addr[edge], MQTT_PORT))
            self.start(edge, edge, ["mosquitto", "-c", conf])
        for name in ("core", "edge1", "edge2"):
            wait_until(lambda n=name: "running" in self.log_text(n + ".log"), 15 * self.build.slow,
                       "%s broker running" % name, 0.05)
        bins = {n: os.path.join(self.build.dir, d, "shop-" + n)
                for n, d in (("inventory", "inventory"), ("order", "order"), ("front", "public_front"))}
        common = ["--broker-url", "tcp://127.0.0.1:%d" % MQTT_PORT, "--internal-bind", "0.0.0.0",
                  "--instance", "netns"]
        self.start("inventory", "core", [bins["inventory"], "--data-dir", self.dir,
                                         "--inventory-port", str(INVENTORY_PORT),
                                         "--catalog", os.path.join(REPO, "inventory", "demo-catalog.json")]
                   + common, self.service_env("inventory", {}))
        self.start("order", "core", [bins["order"], "--data-dir", self.dir,
                                     "--order-port", str(ORDER_PORT)] + common,
                   self.service_env("order", {}))
        for edge in ("edge1", "edge2"):
            core = self.core_addr[edge]
            self.start("front-" + edge, edge, [
                bins["front"], "--data-dir", self.dir, "--bind", "0.0.0.0",
                "--front-port", str(FRONT_PORT), "--instance", edge,
                "--broker-url", "tcp://127.0.0.1:%d" % EDGE_PORT,
                "--inventory-url", "http://%s:%d" % (core, INVENTORY_PORT),
                "--order-url", "http://%s:%d" % (core, ORDER_PORT)], self.service_env("front", {}))
        for edge in ("edge1", "edge2"):
            wait_until(lambda e=edge: self.ready(e), 30 * self.build.slow,
                       "front on %s ready (/readyz 200 from the root namespace)" % edge, 0.2)

    def ready(self, edge):
        for name, proc in self.procs.items():
            assert_true(proc.poll() is None, "%s exited with %s while starting; log:\n%s"
                        % (name, proc.returncode, self.log_tail(name)))
        try:
            return self.request(edge, "GET", "/readyz", timeout=2).status == 200
        except AssertionError:
            return False

    def request(self, edge, method, path, body=None, headers=None, timeout=5.0):
        return http_request(FRONT_PORT, method, path, body, headers, timeout=timeout,
                            host=self.front_addr[edge])

    def log_text(self, filename):
        try:
            with open(os.path.join(self.dir, "log", filename), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, name, lines=15):
        for path in (os.path.join(self.dir, "log", name + ".out.log"),
                     os.path.join(self.dir, "log", name + ".log")):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    return "\n".join(f.read().splitlines()[-lines:])
        return "(no log)"

    # -- tear down -------------------------------------------------------------

    def close(self):
        for name in ("front-edge1", "front-edge2", "order", "inventory", "edge1", "edge2", "core"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for ifname in self.root_links:
            subprocess.run(["ip", "link", "del", ifname], capture_output=True)
        for name in self.made_ns:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        if self.failed:
            print("netns test data kept in %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def hosts(request):
    why = netns_usable()
    if why:
        pytest.skip("across hosts: " + why)
    from conftest import _BUILD  # the suite's Build, as the build fixture gives it
    h = Hosts(request.config.stash[_BUILD])
    request.addfinalizer(h.close)
    try:
        h.build_network()
        h.start_all()
    except BaseException:
        h.failed = True
        for name in h.procs:
            print("--- %s:\n%s" % (name, h.log_tail(name)))
        raise
    return h


def final_status(h, oid):
    for edge in ("edge2", "edge1"):
        try:
            r = h.request(edge, "GET", "%s/%s" % (ORDERS, oid))
        except AssertionError:
            continue
        if r.status == 200:
            return r.body.get("status")
    return None


def check_invariants(h):
    tool = os.path.join(h.build.dir, "tests", "harness", "shop-replay")
    p = subprocess.run([tool, "check", "--front-url", "http://%s:%d" % (h.front_addr["edge2"], FRONT_PORT),
                        "--admin-token", h.admin_token, "--timeout", "30"],
                       capture_output=True, text=True, timeout=90, env=child_env())
    assert_eq(p.returncode, 0, "shop-replay check: %s %s" % (p.stdout, p.stderr))


def test_partition_of_an_edge_under_load(hosts):
    h = hosts
    lock = threading.Lock()
    accepted, refused, unclean, errors = {}, {}, [], [0]
    phase = ["before"]
    stop = threading.Event()

    def client(n):
        rng = random.Random(n)
        i = 0
        while not stop.is_set() and i < 150:
            i += 1
            edge = ("edge1", "edge2")[(n + i) % 2]
            key = "netns-%d-%d-%d" % (n, i, rng.randrange(1 << 30))
            body = {"items": [{"sku": rng.choice(SKUS), "qty": 1}]}
            p = phase[0]
            try:
                r = h.request(edge, "POST", ORDERS, body, {"Idempotency-Key": key})
            except AssertionError:
                with lock:
                    errors[0] += 1
                continue
            with lock:
                if r.status == 202:
                    accepted[r.body["order_id"]] = (edge, p)
                elif r.status == 503 and isinstance(r.body, dict) and r.body.get("error") and \
                        r.headers.get("Retry-After"):
                    k = (edge, p, r.body["error"])
                    refused[k] = refused.get(k, 0) + 1
                else:
                    unclean.append((edge, p, r.status, r.text[:200]))
            time.sleep(0.1)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(2.0)
        down_if = h.if_core["edge1"][1]
        phase[0] = "partition"
        run_ip("ip", "link", "set", down_if, "down", ns=h.ns["edge1"])
        try:
            time.sleep(PARTITION_S)
        finally:
            run_ip("ip", "link", "set", down_if, "up", ns=h.ns["edge1"])
        healed_at = time.monotonic()
        phase[0] = "healed"
        time.sleep(2.0)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    during = [oid for oid, (e, p) in accepted.items() if e == "edge1" and p == "partition"]
    pending = set(accepted)

    def all_final():
        for oid in list(pending):
            if final_status(h, oid) in FINAL:
                pending.discard(oid)
        return not pending
    wait_until(all_final, 60 * h.build.slow, "every accepted order final after the heal", 0.3)
    heal_s = time.monotonic() - healed_at
    print("\npartition of edge1 for %.0f s under load: accepted %d (%d at edge1 during the "
          "partition), refused %d (clean 503s), no answer %d, final %d of %d, %.1f s from the "
          "heal to all final; refusals by front, phase, error: %s"
          % (PARTITION_S, len(accepted), len(during), sum(refused.values()), errors[0],
             len(accepted) - len(pending), len(accepted), heal_s, refused))
    assert_eq(unclean, [], "answers other than 202 or a clean 503")
    assert_true(len(during) > 0, "edge1's front accepted orders during the partition "
                "(its broker queued them on the bridge)", len(during))
    assert_true(len(accepted) >= 50, "orders accepted (the load ran)", len(accepted))
    check_invariants(h)


def netem_available(h):
    p = run_ip("tc", "qdisc", "add", "dev", h.if_core["edge1"][0], "root", "netem", "delay", "1ms",
               ns=h.ns["core"], check=False)
    if p.returncode == 0:
        run_ip("tc", "qdisc", "del", "dev", h.if_core["edge1"][0], "root", ns=h.ns["core"])
        return None
    return p.stderr.strip() or "tc exit %d" % p.returncode


def test_latency_across_the_bridge(hosts):
    h = hosts
    no_netem = netem_available(h)
    links = [(h.ns["core"], h.if_core[e][0]) for e in ("edge1", "edge2")] + \
            [(h.ns[e], h.if_core[e][1]) for e in ("edge1", "edge2")]
    if no_netem is None:
        for ns, ifname in links:  # 20 ms each way on both bridge links
            run_ip("tc", "qdisc", "add", "dev", ifname, "root", "netem", "delay", "20ms", ns=ns)
    try:
        times = []
        for i in range(60):
            edge = ("edge1", "edge2")[i % 2]
            t0 = time.monotonic()
            r = h.request(edge, "POST", ORDERS, {"items": [{"sku": "FILT-V60-100", "qty": 1}]})
            assert_eq(r.status, 202, "POST order %d at %s (body %s)" % (i, edge, r.text))
            oid = r.body["order_id"]
            while True:
                g = h.request(edge, "GET", "%s/%s" % (ORDERS, oid))
                if g.status == 200 and g.body.get("status") in FINAL:
                    assert_eq(g.body["status"], "confirmed", "order %d's status" % i)
                    break
                assert_true(time.monotonic() - t0 < 10 * h.build.slow,
                            "order %d confirmed within 10 s" % i, g.text)
                time.sleep(0.002)
            times.append(time.monotonic() - t0)
    finally:
        if no_netem is None:
            for ns, ifname in links:
                run_ip("tc", "qdisc", "del", "dev", ifname, "root", ns=ns, check=False)
    times.sort()
    p50 = times[len(times) // 2] * 1000
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
    what = ("with 20 ms netem delay on each bridge link" if no_netem is None else
            "WITHOUT added delay: tc netem is not available here (%s)" % no_netem)
    print("\nPOST -> confirmed across the bridge, %d orders, %s: p50 %.1f ms, p99 %.1f ms"
          % (len(times), what, p50, p99))
    if no_netem is None:
        # order/send crosses edge->core, in-stock and the status come back core->edge:
        # at least two delayed hops each way
        assert_true(p50 >= 40, "p50 shows the delay on the bridge links", p50)
    check_invariants(h)
