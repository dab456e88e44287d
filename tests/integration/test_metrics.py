"""/metrics as Prometheus people expect it: every service's page passes
`promtool check metrics` (Debian's prometheus package; ./shop installs it),
names are in base units (seconds, bytes), and each service exports what the
Prometheus client libraries do (process_*) and shop_build_info, with values
that agree with what the kernel and the binaries say by other means."""

import os
import re
import subprocess
import time

import harness
from harness import assert_eq, assert_true, wait_until
from test_flows import _parse_metrics

SERVICES = ("front", "inventory", "order")
ITEM = [{"sku": "MUG-001", "qty": 1}]
PROCESS_FAMILIES = {
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "shop_build_info": "gauge",
}
# How far behind each service says the shop runs, in seconds.
LAG_FAMILIES = {
    "front": ["shop_front_daemon_lag_seconds"],
    "inventory": ["shop_inventory_lag_seconds"],
    "order": ["shop_order_lag_seconds", "shop_order_pending_age_seconds"],
}
# Units promtool wants spelled out or in base units (its "abbreviated units" lint).
NOT_BASE_UNITS = re.compile(r"_(ms|us|ns|msec|millis|milliseconds|kb|mb|kib|mib)(_|$)")


def scrape(shop, name):
    r = harness.http_request(shop.port(name), "GET", "/metrics", timeout=5)
    harness.assert_status(r, 200, "%s GET /metrics" % name)
    return r.text


def value(text, name, labels=None):
    """The sample of `name` with exactly these labels (a dict), or None."""
    _, samples = _parse_metrics(text)
    found = [v for n, l, v in samples if n == name and l == (labels or {})]
    assert_true(len(found) <= 1, "at most one sample %s%s" % (name, labels or ""), found)
    return found[0] if found else None


def must(text, name, labels=None, who=""):
    v = value(text, name, labels)
    assert_true(v is not None, "%s /metrics has %s%s" % (who, name, labels or ""), text[-1500:])
    return v


def promtool_check(text):
    """(exit status, what promtool printed) of `promtool check metrics` on a page."""
    try:
        p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
    except FileNotFoundError:
        raise AssertionError("promtool is not installed: it is in Debian's prometheus package, "
                             "which ./shop build installs") from None
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace").strip()


def pid(shop, name):
    return shop.procs[name].popen.pid


def vm_rss_bytes(process_id):
    """VmRSS of /proc/PID/status (the kernel's own words, not /proc/PID/stat)."""
    with open("/proc/%d/status" % process_id) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/%d/status" % process_id)


def test_metrics_pass_promtool(shop):
    oid = shop.order(ITEM)
    shop.wait_status(oid, "confirmed")
    for name in SERVICES:
        text = scrape(shop, name)
        status, said = promtool_check(text)
        assert_eq((status, said), (0, ""), "promtool check metrics on %s's /metrics" % name)
        types, samples = _parse_metrics(text)
        odd = sorted(n for n in types if NOT_BASE_UNITS.search(n))
        assert_eq(odd, [], "%s metric names not in base units" % name)
        for family in LAG_FAMILIES[name]:
            assert_eq(types.get(family), "gauge", "%s: # TYPE of %s" % (name, family))
            must(text, family, who=name)
        assert_true(not [n for n in types if n.endswith("_ms")],
                    "%s: no metric name ends in _ms" % name, sorted(types))

        # Positive control: the same page with one millisecond gauge added
        # is refused by promtool and caught by the name check above.
        control = text + "# HELP shop_x_lag_ms a lag\n# TYPE shop_x_lag_ms gauge\nshop_x_lag_ms 3\n"
        status, said = promtool_check(control)
        assert_true(status != 0 and "shop_x_lag_ms" in said,
                    "promtool refuses a page with shop_x_lag_ms (control)", (status, said))
        types, _ = _parse_metrics(control)
        assert_eq(sorted(n for n in types if NOT_BASE_UNITS.search(n)), ["shop_x_lag_ms"],
                  "the name check finds shop_x_lag_ms (control)")


def test_process_metrics_and_build_info(shop):
    now = time.time()
    starts = {}
    for name in SERVICES:
        text = scrape(shop, name)
        types, samples = _parse_metrics(text)
        for family, kind in PROCESS_FAMILIES.items():
            assert_eq(types.get(family), kind, "%s: # TYPE of %s" % (name, family))

        # shop_build_info{version} 1, the version --version prints
        code, out, err = harness.run_binary(shop.build, name, ["--version"])
        assert_eq(code, 0, "%s --version exit status (stderr %r)" % (name, err))
        version = out.split()[-1]
        infos = [(l, v) for n, l, v in samples if n == "shop_build_info"]
        assert_eq(infos, [({"version": version}, 1.0)], "%s shop_build_info samples" % name)

        start = must(text, "process_start_time_seconds", who=name)
        # started by this test's Shop, moments ago (btime has whole seconds)
        assert_true(now - 60 * shop.build.slow < start <= now + 1,
                    "%s process_start_time_seconds is near now" % name,
                    "start %.2f, now %.2f" % (start, now))
        starts[name] = start

        rss = must(text, "process_resident_memory_bytes", who=name)
        kernel_rss = vm_rss_bytes(pid(shop, name))
        assert_true(1024 * 1024 < rss < 4 << 30, "%s resident memory is a plausible size" % name, rss)
        assert_true(kernel_rss / 1.5 < rss < kernel_rss * 1.5,
                    "%s resident memory agrees with VmRSS of /proc/PID/status" % name,
                    "metric %d, VmRSS %d" % (rss, kernel_rss))
        assert_true(rss < must(text, "process_virtual_memory_bytes", who=name),
                    "%s resident memory below its virtual memory" % name, text[-800:])

        fds = must(text, "process_open_fds", who=name)
        listed = len(os.listdir("/proc/%d/fd" % pid(shop, name)))
        # stdin, stdout, stderr, the HTTP listener, the broker connection
        assert_true(fds >= 5, "%s has at least 5 open fds" % name, fds)
        assert_true(abs(fds - listed) <= 3, "%s open fds agree with /proc/PID/fd" % name,
                    "metric %d, listed %d" % (fds, listed))
        assert_true(fds <= must(text, "process_max_fds", who=name), "%s fds within its limit" % name)

        cpu = must(text, "process_cpu_seconds_total", who=name)
        assert_true(0 <= cpu <= (now - start + 1) * (os.cpu_count() or 1),
                    "%s CPU seconds within its wall time since start" % name,
                    "cpu %.2f, up %.2f s" % (cpu, now - start))
    # ./shop run's order, which the harness keeps: daemons first, then the front
    assert_true(starts["inventory"] <= starts["order"] + 0.02 <= starts["front"] + 0.04,
                "process_start_time_seconds in start order inventory, order, front", starts)

    # Open descriptors are counted live: five more idle keep-alive clients
    # of the order daemon are five more fds, and fewer again once they close.
    # The front's polls of /healthz come and go beside them (an fd each while
    # they last), so the fewest of a few scrapes is the count without them
    # and the most of a few scrapes the count with the clients.
    def open_fds(pick):
        seen = []
        for _ in range(5):
            seen.append(must(scrape(shop, "order"), "process_open_fds"))
            time.sleep(0.03)
        return pick(seen)

    before = open_fds(min)
    clients = [shop.raw_socket(shop.port("order")) for _ in range(5)]
    try:
        for c in clients:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            harness.read_raw_response(c)
        during = open_fds(max)
        assert_true(during >= before + 5, "5 open clients are 5 more open fds",
                    "before %d, during %d" % (before, during))
    finally:
        for c in clients:
            c.close()
    wait_until(lambda: must(scrape(shop, "order"), "process_open_fds") <= before + 1,
               5 * shop.build.slow, "the order daemon's open fds back to %d" % before)


def test_lag_in_seconds_and_daemon_online(shop):
    """Idle, every lag is 0 and the front sees both daemons online; with the
    inventory stopped under 25 orders, the order daemon's pending age grows
    past a second, in seconds (what /healthz says in lag_ms, divided by
    1000), the front sees the inventory offline; both recover."""
    for name in SERVICES:
        text = scrape(shop, name)
        for family in LAG_FAMILIES[name]:
            assert_eq(must(text, family, who=name), 0.0, "%s of an idle shop" % family)
    front = scrape(shop, "front")
    for daemon in ("inventory", "order"):
        assert_eq(must(front, "shop_front_daemon_online", {"daemon": daemon}), 1.0,
                  "the front sees %s online" % daemon)
    inventory_start = must(scrape(shop, "inventory"), "process_start_time_seconds")

    shop.stop("inventory")
    # by its heartbeat: silent for over 3 s (docs/protocol.md §Topologies)
    wait_until(lambda: value(scrape(shop, "front"), "shop_front_daemon_online",
                             {"daemon": "inventory"}) == 0.0,
               8 * shop.build.slow, "the front to see the inventory offline")
    assert_eq(must(scrape(shop, "front"), "shop_front_daemon_online", {"daemon": "order"}), 1.0,
              "the front still sees the order daemon online")
    queued = [shop.order(ITEM) for _ in range(25)]
    wait_until(lambda: must(scrape(shop, "order"), "shop_order_pending_age_seconds") > 1.0,
               10 * shop.build.slow, "the 20th oldest pending order older than 1 s")
    early = must(scrape(shop, "order"), "shop_order_pending_age_seconds")
    health = shop.ord("/healthz")
    late = must(scrape(shop, "order"), "shop_order_pending_age_seconds")
    lag_ms = health.body.get("lag_ms")
    assert_true(isinstance(lag_ms, int) and early - 0.002 <= lag_ms / 1000.0 <= late + 0.002,
                "shop_order_pending_age_seconds is /healthz lag_ms in seconds",
                "metric %.3f then %.3f s, lag_ms %s" % (early, late, lag_ms))
    assert_true(late < 60 * shop.build.slow, "a pending age of seconds, not milliseconds", late)
    def front_lag_over_a_second():
        v = must(scrape(shop, "front"), "shop_front_daemon_lag_seconds")
        return v if v > 1.0 else None
    front_lag = wait_until(front_lag_over_a_second, 5 * shop.build.slow,
                           "the front's daemon lag above 1 s")
    assert_true(front_lag < late + 5, "the front's daemon lag is in seconds", front_lag)

    t0 = time.time()
    shop.start("inventory")
    t1 = time.time()
    restarted = must(scrape(shop, "inventory"), "process_start_time_seconds")
    assert_true(restarted > inventory_start and t0 - 1.05 <= restarted <= t1 + 0.05,
                "the restarted inventory's process_start_time_seconds is its new start",
                "before %.2f, now %.2f, started between %.2f and %.2f"
                % (inventory_start, restarted, t0, t1))
    for oid in queued:
        shop.wait_status(oid, "confirmed")
    wait_until(lambda: value(scrape(shop, "front"), "shop_front_daemon_online",
                             {"daemon": "inventory"}) == 1.0,
               5 * shop.build.slow, "the front to see the inventory online again")
    wait_until(lambda: must(scrape(shop, "order"), "shop_order_pending_age_seconds") == 0.0,
               5 * shop.build.slow, "no pending age once every order is final")
    shop.check_invariants()


def test_alert_rules_read_metrics_that_exist(shop):
    """monitoring/rules.yml names only metrics some service exports (a typo
    there passes promtool and rules_test.yml, which use the same names)."""
    with open(os.path.join(harness.REPO, "monitoring", "rules.yml")) as f:
        rules = f.read()
    exported = set()
    for name in SERVICES:
        types, samples = _parse_metrics(scrape(shop, name))
        exported |= set(types) | {n for n, _, _ in samples}
    named = set(re.findall(r"\b((?:shop|process)_[a-z_]+)\b", rules))
    assert_true(len(named) >= 8, "rules.yml names the shop's metrics", sorted(named))
    assert_eq(sorted(named - exported), [], "metrics rules.yml reads that no service exports")
    # control: a name that is not exported is found
    assert_eq(sorted({"shop_order_lag_ms"} - exported), ["shop_order_lag_ms"],
              "an old name is not exported (control)")
