"""Faults under load in the bridged topology (issue 10, Tests): `SHOP_EDGES=2
./shop run`, concurrent clients ordering through haproxy while an edge broker
and the core broker are stopped (SIGTERM) and restarted, a front is SIGKILLed
and an edge is frozen (SIGSTOP) for 3 s. Afterwards every 202 is final, the
invariants hold (shop-replay check), every refusal by a front is a clean 503.

The clients behave as docs/protocol.md §Crash safety asks: each order carries
an Idempotency-Key, and a refused or failed POST is retried with the same
key, so a request a dying front took is placed at most once."""

import os
import random
import signal
import subprocess
import threading
import time

from harness import assert_eq, assert_true, child_env, http_request, wait_until
from shop_run import ShopRun, pid_alive

ORDERS = "/api/v1/orders"
CLIENTS = 6
MAX_ORDERS = 500        # bounded in count ...
PACE_S = 0.25           # per client between orders: the load spans every fault
LOAD_SECONDS = 60.0     # ... and in time
RETRIES = 60            # attempts per order (same key), 0.2 s apart
BALANCER_CODES = ("no_front_ready", "front_failed", "front_timeout")  # ./shop's haproxy errorfiles
SKUS = ["MUG-001", "MUG-002", "BEAN-ETH-250", "BEAN-COL-1000", "FILT-V60-100", "TEA-SENCHA-100"]


class Load:
    """Clients posting keyed orders through the balancer until stopped."""

    def __init__(self, port):
        self.port = port
        self.phase = "warm-up"
        self.lock = threading.Lock()
        self.accepted = {}       # order id -> phase of its 202
        self.refused = 0         # clean 503s of a front
        self.unclean = []        # a front's 503 without the error body or Retry-After
        self.balancer = {}       # (phase, status) -> haproxy's own answers (its errorfiles)
        self.conn_errors = {}    # phase -> requests that got no answer at all
        self.given_up = 0
        self.other = []
        self.started = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True)
                        for i in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _take_slot(self):
        with self.lock:
            if self.started >= MAX_ORDERS:
                return False
            self.started += 1
            return True

    def _count(self, table, phase):
        with self.lock:
            table[phase] = table.get(phase, 0) + 1

    def _client(self, n):
        rng = random.Random(n)
        while not self.stop.is_set() and self._take_slot():
            key = "fault-%d-%d-%d" % (n, self.started, rng.randrange(1 << 30))
            body = {"items": [{"sku": rng.choice(SKUS), "qty": rng.randint(1, 2)}]}
            for attempt in range(RETRIES):
                phase = self.phase
                try:
                    r = http_request(self.port, "POST", ORDERS, body,
                                     headers={"Idempotency-Key": key}, timeout=10)
                except (AssertionError, OSError):
                    self._count(self.conn_errors, phase)
                    time.sleep(0.1)
                    continue
                if r.status == 202:
                    with self.lock:
                        self.accepted.setdefault(r.body["order_id"], phase)
                    break
                error = r.body.get("error") if isinstance(r.body, dict) else None
                if r.status in (502, 503, 504) and error is not None:
                    with self.lock:
                        if error in BALANCER_CODES:
                            self.balancer[(phase, r.status)] = self.balancer.get((phase, r.status), 0) + 1
                        else:
                            self.refused += 1
                        if (r.status != 503 and error not in BALANCER_CODES) or \
                                not r.headers.get("Retry-After") or not r.body.get("message"):
                            self.unclean.append((phase, r.status, r.text[:200], dict(r.headers)))
                else:
                    with self.lock:
                        self.other.append((phase, r.status, r.text[:200]))
                    break
                time.sleep(0.2)
            else:
                with self.lock:
                    self.given_up += 1
            time.sleep(PACE_S)


PHASES = ("warm-up", "edge1-sigterm", "core-sigterm", "front2-sigkill", "edge2-sigstop", "after")


def pid_of(run, name):
    run.refresh()
    return run.part(name)["pid"]


def wait_back(run, name, old_pid, ready):
    """Until ./shop run has restarted name with a new pid and ready() holds."""
    def back():
        run.refresh()
        pid = run.part(name)["pid"]
        return pid and pid != old_pid and pid_alive(pid) and ready()
    wait_until(back, 30 * run.build.slow, "%s restarted and ready" % name, 0.2)


def front_ready(run, name):
    def ready():
        try:
            return http_request(run.part(name)["port"], "GET", "/readyz", timeout=2).status == 200
        except (AssertionError, OSError):
            return False
    return ready


def fronts_ready(run):
    return lambda: front_ready(run, "front1")() and front_ready(run, "front2")()


def test_faults_under_load(build):
    with ShopRun(build, edges=2) as run:
        load = Load(run.front_port).start()
        t_load = time.monotonic()
        try:
            time.sleep(1.5)
            # SIGTERM and restart of an edge broker, of the core broker (where
            # both daemons are), SIGKILL of a front: ./shop run restarts each
            for name, sig in (("edge1", signal.SIGTERM), ("core", signal.SIGTERM),
                              ("front2", signal.SIGKILL)):
                load.phase = "%s-%s" % (name, sig.name.lower())
                old = pid_of(run, name)
                os.kill(old, sig)
                # a stale 'offline' over the bridge after the core's restart
                # no longer keeps a front unready: readiness goes by the
                # daemons' newest heartbeat (docs/protocol.md §Topologies)
                wait_back(run, name, old, fronts_ready(run))
                time.sleep(1.0)
            # SIGSTOP of an edge for 3 s
            load.phase = "edge2-sigstop"
            edge2 = pid_of(run, "edge2")
            os.kill(edge2, signal.SIGSTOP)
            try:
                time.sleep(3.0)
            finally:
                os.kill(edge2, signal.SIGCONT)
            wait_until(fronts_ready(run), 30 * build.slow, "both fronts ready after edge2's SIGCONT")
            load.phase = "after"
            time.sleep(1.5)
        finally:
            load.finish()
        load_s = time.monotonic() - t_load

        # quiescence: every 202 reaches a final status without anyone touching it
        t_quiet = time.monotonic()
        pending = set(load.accepted)

        def all_final():
            for oid in list(pending):
                r = http_request(run.front_port, "GET", "%s/%s" % (ORDERS, oid), timeout=5)
                if r.status == 200 and r.body.get("status") in ("confirmed", "rejected", "canceled"):
                    pending.discard(oid)
            return not pending
        wait_until(all_final, 60 * build.slow, "every accepted order final", 0.5)
        quiesce_s = time.monotonic() - t_quiet

        token = open(os.path.join(run.dir, "admin-token")).read().strip()
        tool = os.path.join(build.dir, "tests", "harness", "shop-replay")
        p = subprocess.run([tool, "check", "--front-url", "http://127.0.0.1:%d" % run.front_port,
                            "--admin-token", token, "--timeout", "30"],
                           capture_output=True, text=True, timeout=90 * build.slow, env=child_env())
        balancer_errors = sum(load.balancer.values())
        per_phase = {}
        for phase in load.accepted.values():
            per_phase[phase] = per_phase.get(phase, 0) + 1
        print("\nfaults under load: %d orders in %.1f s: accepted %d, refused %d (clean 503s, "
              "retried), balancer answers %d %s, no answer %d %s, given up %d, final %d of %d, "
              "quiesced in %.1f s; accepted by phase %s"
              % (load.started, load_s, len(load.accepted), load.refused, balancer_errors,
                 load.balancer, sum(load.conn_errors.values()), load.conn_errors, load.given_up,
                 len(load.accepted) - len(pending), len(load.accepted), quiesce_s, per_phase))
        assert_eq(p.returncode, 0, "shop-replay check (invariants) after the faults: %s %s"
                  % (p.stdout, p.stderr))
        assert_eq(load.unclean, [], "503s of a front without error body or Retry-After")
        assert_eq(load.other, [], "answers other than 202, a clean 503 or haproxy's 5xx")
        # haproxy's 502/504 mostly for requests a dying front had (one per
        # client at most); a stray one in another phase has been seen (once in
        # the core's restart, cause not found), so the bound is on the total.
        # Its 503 only while no front is ready (the core's restart: no front
        # sees the daemons). Every one of them is retried with its key above.
        failed = {k: v for k, v in load.balancer.items() if k[1] != 503}
        assert_true(sum(failed.values()) <= CLIENTS,
                    "haproxy's 502/504 at most one per client", load.balancer)
        assert_true({p for p, st in load.balancer if st == 503} <= {"core-sigterm"},
                    "haproxy's 503 (no front ready) only while the core is out",
                    load.balancer)
        assert_eq(load.given_up, 0, "orders given up after %d attempts" % RETRIES)
        assert_true(len(load.accepted) >= 100, "orders accepted under the faults (a positive "
                    "control: the load really ran)", len(load.accepted))
        assert_true(all(per_phase.get(p, 0) > 0 for p in PHASES),
                    "orders accepted in every phase (the load spanned each fault)", per_phase)
