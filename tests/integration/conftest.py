"""pytest set-up of the integration suite: the --build-dir option, the
fixtures `build` (where the binaries are) and `shop` (a fresh started Shop,
always torn down with the after-test checks), and each test's time bound."""

import os

import pytest

from harness import REPO, Build, Shop

TIME_BOUND_S = 120.0  # per test; times Build.slow (3 in a sanitizer build)
_BUILD = pytest.StashKey()    # on the config: the Build
_REPORTS = pytest.StashKey()  # on each test item: its reports by phase


def pytest_addoption(parser):
    parser.addoption("--build-dir", default="build",
                     help="meson build directory (default: build); a relative path not found "
                          "from the current directory is taken from the checkout. A name with "
                          "'asan' in it is a sanitizer build: time bounds three times as long, "
                          "logs checked for sanitizer findings")


def pytest_configure(config):
    build_dir = config.getoption("build_dir")
    if not os.path.isabs(build_dir) and not os.path.isdir(build_dir):
        alt = os.path.join(REPO, build_dir)
        if os.path.isdir(alt):
            build_dir = alt
    config.stash[_BUILD] = Build(build_dir)
    if not config.pluginmanager.hasplugin("timeout"):
        raise pytest.UsageError("the time bounds need pytest-timeout "
                                "(Debian: apt-get install python3-pytest-timeout)")


def _time_bound(config):
    """--timeout (default 120 s) times the build's slowness; 0 is none."""
    base = config.getoption("timeout", None)
    return (TIME_BOUND_S if base is None else float(base)) * config.stash[_BUILD].slow


def pytest_report_header(config):
    build = config.stash[_BUILD]
    return "build: %s%s; time bound per test: %.0f s" % (
        build.dir, " (sanitizers)" if build.asan else "", _time_bound(config))


def pytest_collection_modifyitems(config, items):
    """The time bound of every test (pytest-timeout, SIGALRM: the test fails
    and its teardown still runs); a test's own timeout mark wins."""
    bound = _time_bound(config)
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(bound, method="signal"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # keeps each phase's report on the item, for the shop fixture's teardown
    outcome = yield
    report = outcome.get_result()
    item.stash.setdefault(_REPORTS, {})[report.when] = report


@pytest.fixture
def build(pytestconfig):
    """The Build under test; the test starts what it needs."""
    return pytestconfig.stash[_BUILD]


@pytest.fixture
def shop(build, request):
    """A fresh Shop, started. Teardown stops it with the after-test checks:
    a process the test did not stop that died, a service that did not exit
    0 within 5 s of SIGTERM, or a sanitizer finding in a log is an error of
    the test; on any failure the log tails are printed and the data
    directory is kept."""
    s = Shop(build).open()
    yield s
    call = request.node.stash.get(_REPORTS, {}).get("call")
    s.close(failed=call is None or call.failed)
