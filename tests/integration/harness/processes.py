"""Processes: where the binaries are, free ports, and the children the tests
start, each signalled only by the PID it was started with."""

import os
import signal
import socket
import subprocess
import time

from .checks import _short

# the checkout: tests/integration/harness/ is three levels below it
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MOSQUITTO = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else "mosquitto"
CONFIGURE = os.path.join(REPO, "broker", "configure")

# Flags each binary must document (docs/internals.md, "Settings of each binary").
COMMON_FLAGS = ["--mqtt-username", "--mqtt-password", "--mqtt-password-file", "--data-dir",
                "--broker-port", "--broker-url", "--topic-prefix", "--instance", "--log-level",
                "--internal-token", "--internal-token-file"]
BINARY_FLAGS = {
    "front": COMMON_FLAGS + ["--bind", "--front-port", "--inventory-port", "--order-port",
                             "--inventory-url", "--order-url", "--publish-timeout-ms",
                             "--admin-token", "--www-dir", "--heartbeat-timeout-ms",
                             "--admit-target-ms", "--admit-min", "--admit-max", "--sse-max"],
    "inventory": COMMON_FLAGS + ["--internal-bind", "--inventory-port", "--sqlite-sync",
                                 "--catalog", "--test-snapshot-dir"],
    "order": COMMON_FLAGS + ["--internal-bind", "--order-port", "--redrive-s", "--sqlite-sync",
                             "--test-snapshot-dir"],
}
BINARY_PATHS = {
    "front": "public_front/shop-front",
    "inventory": "inventory/shop-inventory",
    "order": "order/shop-order",
}
SERVICES = ("inventory", "order", "front")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:")


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
    """One child: its command line, log file and environment stay the same
    across restarts (a test may change argv and env between them).
    expected_running says whether the test means it to be running now."""

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

    def terminate(self):
        """Sends SIGTERM if it still runs; reap() collects it."""
        self.expected_running = False
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def reap(self, deadline):
        """Waits until the monotonic deadline, then SIGKILL. Returns the exit status."""
        try:
            self.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.needed_sigkill = True
            self.popen.kill()
            self.popen.wait()
        self.exit_codes.append(self.popen.returncode)
        return self.popen.returncode

    def stop(self, timeout=5.0):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit status."""
        self.terminate()
        return self.reap(time.monotonic() + timeout)

    def kill(self, sig=signal.SIGKILL):
        """Sends a signal; after SIGKILL waits for the exit."""
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGABRT):
            self.expected_running = False
        self.popen.send_signal(sig)
        if sig == signal.SIGKILL:
            self.popen.wait()
            self.exit_codes.append(self.popen.returncode)

    def kill_now(self):
        """SIGKILL without waiting for anything else: the last resort of a
        teardown that was itself interrupted."""
        if self.alive():
            self.expected_running = False
            try:
                self.popen.kill()
                self.popen.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
