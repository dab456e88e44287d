"""The integration tests' harness, one module per concern; tests import what
they use from here (`from harness import Shop, assert_eq`).

- checks: assertion helpers (assert_eq, assert_status, Cases, wait_until, ...)
- clients: client threads for load (run_clients)
- http_client: HTTP requests to the front and the daemons
- bus: the tests' MQTT client (paho-mqtt)
- sse: a Server-Sent Events reader (the order status stream)
- processes: the build's binaries, free ports, the children and their signals
- shop: the Shop under test and the invariants of docs/protocol.md
The pytest fixtures `build` and `shop` are in ../conftest.py.
"""

from .bus import BusClient
from .clients import run_clients
from .checks import (POLL, Cases, assert_eq, assert_error_body, assert_in, assert_status,
                     assert_true, is_canonical_uuid, metric, wait_until)
from .http_client import Resp, http_request, read_raw_response
from .processes import (BINARY_FLAGS, BINARY_PATHS, COMMON_FLAGS, CONFIGURE, MOSQUITTO, REPO, SERVICES, Build, Proc,
                        child_env, describe_status, free_ports, port_open, run_binary,
                        sanitizer_findings)
from .sse import SseStream
from .shop import DEFAULT_CATALOG, FINAL, Shop, new_order_id, random_items, rfc3339_now

__all__ = [
    "BusClient",
    "run_clients",
    "POLL", "Cases", "assert_eq", "assert_error_body", "assert_in", "assert_status",
    "assert_true", "is_canonical_uuid", "metric", "wait_until",
    "Resp", "http_request", "read_raw_response",
    "BINARY_FLAGS", "BINARY_PATHS", "COMMON_FLAGS", "CONFIGURE", "MOSQUITTO", "REPO", "SERVICES", "Build", "Proc",
    "child_env", "describe_status", "free_ports", "port_open", "run_binary", "sanitizer_findings",
    "SseStream",
    "DEFAULT_CATALOG", "FINAL", "Shop", "new_order_id", "random_items", "rfc3339_now",
]
