"""Assertion helpers: each failure says what was expected and what was seen."""

import re
import time
import uuid

POLL = 0.02  # seconds between polls


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
