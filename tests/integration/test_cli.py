"""The binaries' command line: --help, --version, bad values, environment
variables, and start-up failures."""

import os
import re
import shutil
import socket
import tempfile

from harness import (BINARY_FLAGS, SERVICES, Shop, assert_eq, assert_in, assert_status,
                     assert_true, free_ports, port_open, run_binary)

PORT_FLAG = {"front": "--front-port", "inventory": "--inventory-port", "order": "--order-port"}
PORT_VAR = {"front": "SHOP_FRONT_PORT", "inventory": "SHOP_INVENTORY_PORT", "order": "SHOP_ORDER_PORT"}


def one_line(err, what):
    lines = [l for l in err.splitlines() if l.strip()]
    assert_eq(len(lines), 1, "%s: number of lines on stderr (stderr: %r)" % (what, err))
    return lines[0]


def test_help(build):
    for name in SERVICES:
        rc, out, err = run_binary(build, name, ["--help"])
        assert_eq(rc, 0, "shop-%s --help exit status" % name)
        for flag in BINARY_FLAGS[name]:
            assert_true(re.search(re.escape(flag) + r"\b", out),
                        "shop-%s --help mentions %s" % (name, flag), out)
        assert_eq(err, "", "shop-%s --help stderr" % name)


def test_version(build):
    for name in SERVICES:
        rc, out, err = run_binary(build, name, ["--version"])
        assert_eq(rc, 0, "shop-%s --version exit status" % name)
        assert_true(re.search(r"\d+\.\d+", out), "shop-%s --version prints a version" % name, out)


def test_bad_values(build):
    for name in SERVICES:
        flag = PORT_FLAG[name]
        for value in ("abc", "70000", "-1", "", "80x"):
            rc, out, err = run_binary(build, name, [flag, value])
            what = "shop-%s %s %r" % (name, flag, value)
            assert_eq(rc, 2, what + " exit status")
            line = one_line(err, what)
            assert_true(flag in line or value in line, what + ": the error names the flag", line)
        for args in (["--log-level", "loud"], ["--broker-port", "65536"], [flag]):
            rc, out, err = run_binary(build, name, args)
            what = "shop-%s %s" % (name, " ".join(args))
            assert_eq(rc, 2, what + " exit status")
            one_line(err, what)
        # values that would otherwise fail only at the first connect, or
        # make the shop's topic filters match other topics
        for bad_flag, value in (("--broker-url", "foo://bar"), ("--broker-url", "127.0.0.1:1883"),
                                ("--topic-prefix", "web#/"), ("--topic-prefix", "shop/+/"),
                                ("--instance", "a/b"), ("--instance", "")):
            rc, out, err = run_binary(build, name, [bad_flag, value])
            what = "shop-%s %s %r" % (name, bad_flag, value)
            assert_eq(rc, 2, what + " exit status")
            assert_in(bad_flag, one_line(err, what), what + ": the error names the flag")
    for name, args in (("inventory", ["--sqlite-sync", "sometimes"]),
                       ("order", ["--sqlite-sync", "off"]),
                       ("order", ["--redrive-s", "soon"]),
                       ("front", ["--publish-timeout-ms", "-5"])):
        rc, out, err = run_binary(build, name, args)
        what = "shop-%s %s" % (name, " ".join(args))
        assert_eq(rc, 2, what + " exit status")
        one_line(err, what)


def test_unknown_flag(build):
    for name in SERVICES:
        for args in (["--no-such-flag"], ["--front-portx", "1"], ["positional"]):
            rc, out, err = run_binary(build, name, args)
            what = "shop-%s %s" % (name, " ".join(args))
            assert_eq(rc, 2, what + " exit status")
            one_line(err, what)


def test_bad_environment_value(build):
    for name in SERVICES:
        var = PORT_VAR[name]
        rc, out, err = run_binary(build, name, [], env={var: "abc"})
        what = "shop-%s with %s=abc" % (name, var)
        assert_eq(rc, 2, what + " exit status")
        line = one_line(err, what)
        assert_in(var, line, what + ": the error names the variable")


def test_port_in_use(build):
    with Shop(build, services=()) as shop:  # the broker only
        for name in SERVICES:
            holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                holder.bind(("127.0.0.1", 0))
                holder.listen(1)
                busy = holder.getsockname()[1]
                args = []
                for flag, _, value in shop.settings(name):
                    args += [flag, str(busy) if flag == PORT_FLAG[name] else value]
                rc, out, err = run_binary(build, name, args, timeout=10)
            finally:
                holder.close()
            what = "shop-%s on port %d which is in use" % (name, busy)
            assert_true(rc > 0, what + ": non-zero exit status (not a signal)", rc)
            # progress lines (info) may come first; the error is one line
            line = one_line("\n".join(l for l in err.splitlines()
                                      if not re.search(r" (info|debug): ", l)), what)
            assert_in(str(busy), line, what + ": the error names the port")
            assert_in("in use", line.lower(), what + ": the error says the address is in use")
        # nothing that failed to start is left looking "online" to monitors
        c = shop.mqtt()
        try:
            c.subscribe("webshop/status/#")
            left = [(t, p) for t, p in c.messages(0.3) if p != "offline"]
        finally:
            c.close()
        assert_eq(left, [], "retained status topics after the failed starts")


def test_settings_from_environment(build):
    """Everything from SHOP_* variables, no flags; then the flag wins over
    the variable."""
    with Shop(build, use_env=True) as shop:
        oid = shop.order([{"sku": "MUG-001", "qty": 1}])
        shop.wait_status(oid, "confirmed")
        assert_true(os.path.exists(os.path.join(shop.dir, "inventory.db")),
                    "inventory.db is in SHOP_DATA_DIR", os.listdir(shop.dir))
        assert_true(os.path.exists(os.path.join(shop.dir, "order.db")),
                    "order.db is in SHOP_DATA_DIR", os.listdir(shop.dir))
        # restart the front with a decoy port in the variable and the real one as a flag
        decoy = free_ports(1)[0]
        shop.stop("front")
        proc = shop.procs["front"]
        proc.env["SHOP_FRONT_PORT"] = str(decoy)
        proc.argv = proc.argv + ["--front-port", str(shop.front_port)]
        shop.start("front")
        assert_status(shop.get("/readyz"), 200, "front on the port of its flag")
        assert_true(not port_open(decoy), "nothing listens on the port of the variable", decoy)
        shop.check_invariants()
