"""`./shop run` itself, for the tests of accounts and topologies: in a temp
data dir on free loopback ports, with the binaries of the test's build.

    with ShopRun(build, edges=2) as run:
        run.part("balancer")["port"]   # from run/topology.json
        run.stop()                     # SIGTERM to ./shop run, as a user would

    with RunShop(build, edges=2) as shop:  # the harness Shop's helpers on it
        shop.order(...); shop.wait_final(...); shop.check_invariants()

The helper signals only `./shop run` (by PID); what ./shop run started it
stops itself. If ./shop run does not stop in time, the helper SIGKILLs it and
then every process it saw in topology.json (and haproxy's workers) that still
carries this run's data dir in its environment, by PID."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import REPO, Shop, assert_true, child_env, free_ports, sanitizer_findings

START_TIMEOUT = 60.0  # seconds to the shop's URL (a bridged topology takes about 5)


def pid_alive(pid):
    """Running and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


class ShopRun:
    def __init__(self, build, edges=0, extra_env=None):
        self.build = build
        self.edges = edges
        self.extra_env = extra_env or {}
        self.proc = None
        self.dir = None
        self.seen = set()  # every PID topology.json named, and haproxy's workers
        self.start_seconds = None
        self.failed = False

    # -- life cycle -----------------------------------------------------------

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__(AssertionError, None, None)
            raise
        return self

    def _start(self):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="shop-run-it-"))
        (self.front_port, self.broker_port, self.inventory_port,
         self.order_port) = free_ports(4)
        self.env = child_env({
            "SHOP_DATA_DIR": self.dir, "SHOP_EDGES": str(self.edges),
            "SHOP_FRONT_PORT": str(self.front_port), "SHOP_BROKER_PORT": str(self.broker_port),
            "SHOP_INVENTORY_PORT": str(self.inventory_port),
            "SHOP_ORDER_PORT": str(self.order_port), "SHOP_BUILD_DIR": self.build.dir,
        })
        self.env.update(self.extra_env)
        self.out_path = os.path.join(self.dir, "shop-run.out")
        t0 = time.monotonic()
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen([os.path.join(REPO, "shop"), "run"], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, cwd=self.dir, start_new_session=True)
        deadline = t0 + START_TIMEOUT * self.build.slow
        while "The shop is open" not in self.output():
            assert_true(self.proc.poll() is None, "./shop run exited with status %s before the "
                        "shop was open; its output:\n%s" % (self.proc.returncode, self.output()))
            assert_true(time.monotonic() < deadline, "./shop run: no URL after %.0f s; output:\n%s"
                        % (deadline - t0, self.output()))
            time.sleep(0.1)
        self.start_seconds = time.monotonic() - t0
        self.refresh()

    def output(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=40.0):
        """SIGTERM to ./shop run, as Ctrl-C would; returns its exit status."""
        self.refresh_if_running()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout * self.build.slow)
        except subprocess.TimeoutExpired:
            raise AssertionError("./shop run did not stop within %.0f s of SIGTERM; output:\n%s"
                                 % (timeout * self.build.slow, self.output())) from None

    def __exit__(self, exc_type, exc, tb):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except AssertionError:
                self.proc.kill()
                self.proc.wait()
        for pid in self.leftovers():  # only if ./shop run failed to stop them
            os.kill(pid, signal.SIGKILL)
        if exc_type is None and self.dir is not None:
            found = self.sanitizer_findings()
            if found:
                sys.stderr.write(self.report() + "\n")
                raise AssertionError("sanitizer reports in the logs of ./shop run: %s" % found[:3])
        if exc_type is not None and self.dir is not None:
            self.failed = True
            sys.stderr.write(self.report() + "\n")  # pytest shows it with the failure
        elif self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def sanitizer_findings(self):
        logs = os.path.join(self.dir, "log")
        found = []
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            with open(os.path.join(logs, name), errors="replace") as f:
                found += ["%s: %s" % (name, line) for line in sanitizer_findings(f.read())]
        return found

    def report(self):
        lines = ["--- ./shop run output (%s):" % self.out_path]
        try:
            lines += self.output().splitlines()[-30:]
        except OSError:
            pass
        logs = os.path.join(self.dir, "log")
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            with open(os.path.join(logs, name), errors="replace") as f:
                tail = f.read().splitlines()[-10:]
            lines += ["--- %s (last lines):" % name] + ["    " + l for l in tail]
        return "\n".join(lines)

    # -- what runs ------------------------------------------------------------

    @property
    def topology_path(self):
        return os.path.join(self.dir, "run", "topology.json")

    def refresh(self):
        """Reads topology.json; remembers every PID it names."""
        with open(self.topology_path) as f:
            self.topology = json.load(f)
        for part in self.topology["parts"]:
            if part.get("pid"):
                self.seen.add(part["pid"])
                if part["role"] == "balancer":
                    self.seen.update(children(part["pid"]))
        return self.topology

    def refresh_if_running(self):
        if self.proc.poll() is None and os.path.exists(self.topology_path):
            self.refresh()

    def parts(self, role=None):
        return [p for p in self.topology["parts"] if role is None or p["role"] == role]

    def part(self, name):
        found = [p for p in self.topology["parts"] if p["name"] == name]
        assert_true(len(found) == 1, "topology.json names part %r once" % name, self.topology)
        return found[0]

    def ours(self, pid):
        """Still running and started for this run (its environment says so)."""
        if not pid_alive(pid):
            return False
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            return False
        return ("SHOP_DATA_DIR=%s" % self.dir).encode() in env

    def leftovers(self):
        return sorted(pid for pid in self.seen if self.ours(pid))

    def password(self, account):
        with open(os.path.join(self.dir, "broker", account + ".pw")) as f:
            return f.read().rstrip("\n")

    def internal_auth(self):
        """The header the daemons' internal HTTP wants: ./shop run's token."""
        with open(os.path.join(self.dir, "internal-token")) as f:
            return {"Authorization": "Bearer " + f.read().strip()}

    def log(self, name):
        with open(os.path.join(self.dir, "log", name + ".log"), errors="replace") as f:
            return f.read()


class RunShop(Shop):
    """The harness Shop's helpers (HTTP, wait_*, available, metric,
    check_invariants) over a ./shop run, for a test written for both
    topologies: its HTTP goes to SHOP_FRONT_PORT (haproxy when edges >= 1),
    its internal reads to ./shop run's daemons, and the inventory starts from
    the harness's catalog (SHOP_CATALOG) rather than the demo one, so a test
    may rely on the same SKUs, prices and stock as on a Shop. The admin token
    is the Shop's, given to ./shop run as SHOP_ADMIN_TOKEN. Starting and
    stopping single parts (start, stop, kill) is not offered: ./shop run
    supervises them."""

    def __init__(self, build, edges=2, catalog=None, run_env=None):
        super().__init__(build, catalog=catalog)
        self.edges = edges
        self.run_env = run_env or {}  # more SHOP_* for ./shop run (all its parts)
        self.run = None
        self._catalog_dir = None

    def _setup(self):
        self._catalog_dir = tempfile.mkdtemp(prefix="shop-run-catalog-")
        self.catalog_path = os.path.join(self._catalog_dir, "catalog.json")
        with open(self.catalog_path, "w") as f:
            json.dump({"products": self.catalog}, f)
        run = ShopRun(self.build, edges=self.edges,
                      extra_env=dict(self.run_env, SHOP_CATALOG=self.catalog_path,
                                     SHOP_ADMIN_TOKEN=self.admin_token))
        self.run = run.__enter__()  # stops what it started if it fails
        self.dir = self.run.dir
        self.front_port, self.broker_port = self.run.front_port, self.run.broker_port
        self.inventory_port, self.order_port = self.run.inventory_port, self.run.order_port
        with open(os.path.join(self.dir, "internal-token")) as f:
            self.internal_token = f.read().strip()
        self._first_pids = self._pids()

    def _pids(self):
        return {p["name"]: p["pid"] for p in self.run.refresh()["parts"]}

    def front_ports(self):
        """The HTTP ports of the fronts themselves (behind haproxy)."""
        self.run.refresh()
        return [p["port"] for p in self.run.parts("front")]

    def close(self, failed):
        """Stops ./shop run; when failed, its data dir (logs, the browser
        tests' screenshots) is kept and its log tails are printed."""
        try:
            if self.run is not None:
                # what Shop.close checks of its processes: none died (./shop
                # run would have restarted it under a new pid)
                restarted = [] if failed else [
                    "%s (pid %s, now %s)" % (name, self._first_pids.get(name), pid)
                    for name, pid in sorted(self._pids().items())
                    if pid != self._first_pids.get(name)]
                failed = failed or bool(restarted)
                self.failed = failed
                self.run.__exit__(AssertionError if failed else None, None, None)
                if restarted:
                    raise AssertionError("parts of ./shop run restarted during the tests: %s"
                                         % ", ".join(restarted))
        finally:
            if self._catalog_dir is not None:
                shutil.rmtree(self._catalog_dir, ignore_errors=True)
            if failed and self.dir is not None:
                sys.stderr.write("./shop run's data dir kept: %s\n" % self.dir)

    def report(self):
        return self.run.report() if self.run is not None else ""

    def start(self, name, wait=True):
        raise AssertionError("RunShop.start(%s): ./shop run supervises its parts" % name)

    stop = kill = set_instance = start
