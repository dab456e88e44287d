#!/usr/bin/env python3
"""Runs the integration suite.

    python3 tests/integration/run.py --build-dir build [-k substring] [--list]

Discovers test_*.py next to this file and the test_* functions in them, in the
order they are written. A test function takes one argument: `shop` (it gets a
fresh, started Shop) or `build` (it gets the Build and starts what it needs).
Each test has a time bound; a test over it fails. Prints one line per test and,
as the very last line, `N passed, M failed`. Exit status 1 if anything failed.
"""

import argparse
import importlib.util
import inspect
import os
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def discover():
    tests = []
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        modname = fname[:-3]
        try:
            spec = importlib.util.spec_from_file_location(modname, os.path.join(HERE, fname))
            mod = importlib.util.module_from_spec(spec)
            sys.modules[modname] = mod
            spec.loader.exec_module(mod)
        except Exception:
            tests.append((modname, None, traceback.format_exc()))
            continue
        funcs = [(getattr(f, "__code__").co_firstlineno, n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == modname]
        for _, name, func in sorted(funcs):
            tests.append(("%s.%s" % (modname, name), func, None))
    return tests


def where(tb):
    """The innermost frame of a test module in a traceback."""
    frames = traceback.extract_tb(tb)
    for fr in reversed(frames):
        if os.path.basename(fr.filename).startswith("test_"):
            return "%s:%d" % (os.path.basename(fr.filename), fr.lineno)
    return None


def run_one(func, build, timeout):
    """Returns (ok, message, details, reports)."""
    reports = []
    harness.report_sink = reports.append
    params = list(inspect.signature(func).parameters)
    result = {}

    def body():
        try:
            if params == ["shop"]:
                with harness.Shop(build) as shop:
                    func(shop)
            elif params == ["build"]:
                func(build)
            else:
                raise TypeError("a test takes (shop) or (build), not %s" % params)
            result["ok"] = True
        except AssertionError as e:
            result["error"] = (str(e) or "assertion failed", where(e.__traceback__), None)
        except Exception as e:  # a bug in the test, or an unexpected error
            result["error"] = ("%s: %s" % (type(e).__name__, e), where(e.__traceback__),
                               traceback.format_exc())

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        harness.abort_live_shops("test over its time bound of %ds" % timeout)
        t.join(15)
        return False, "timed out after %ds" % timeout, None, reports
    if result.get("ok"):
        return True, None, None, reports
    msg, loc, tb = result.get("error", ("no result", None, None))
    details = ("at " + loc) if loc else None
    if tb:
        details = (details + "\n" if details else "") + tb
    return False, msg, details, reports


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build",
                    help="meson build directory (default: build)")
    ap.add_argument("-k", dest="pattern", default=None, help="run only tests whose name contains this")
    ap.add_argument("--timeout", type=float, default=120.0, help="time bound per test in seconds")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    args = ap.parse_args()

    build_dir = args.build_dir
    if not os.path.isabs(build_dir) and not os.path.isdir(build_dir):
        # relative to the checkout when not found from here
        alt = os.path.join(os.path.dirname(os.path.dirname(HERE)), build_dir)
        if os.path.isdir(alt):
            build_dir = alt
    build = harness.Build(build_dir)

    tests = discover()
    if args.pattern:
        tests = [t for t in tests if args.pattern in t[0]]
    if args.list:
        for name, _, _ in tests:
            print(name)
        return 0

    timeout = args.timeout * build.slow
    passed = failed = 0
    for name, func, import_error in tests:
        if func is None:
            failed += 1
            print("FAIL %s: cannot import" % name, flush=True)
            print("    " + import_error.replace("\n", "\n    "), flush=True)
            continue
        t0 = time.monotonic()
        ok, msg, details, reports = run_one(func, build, timeout)
        dt = time.monotonic() - t0
        if ok:
            passed += 1
            print("ok   %s (%.1fs)" % (name, dt), flush=True)
        else:
            failed += 1
            first, _, rest = msg.partition("\n")
            print("FAIL %s: %s" % (name, first), flush=True)
            if rest:
                print("    " + rest.replace("\n", "\n    "), flush=True)
            print("    (after %.1fs)" % dt, flush=True)
            if details:
                print("    " + details.rstrip().replace("\n", "\n    "), flush=True)
            for r in reports:
                print(r, flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
