"""Chaos: a few hundred orders from concurrent clients while the daemons are
SIGKILLed and restarted and the broker is stopped and restarted. Afterwards
every accepted order is final, every accepted cancel won, and the invariants of docs/protocol.md
hold.

Prints one line of figures:
  chaos: accepted=.. refused_503=.. (503s of orders and cancels by code: ..) final=..
         (confirmed/rejected/canceled) redriven=.. orders_redriven=.. quiescence=..s
"redriven" is the sum of the order daemon's shop_order_redriven_total over its
lives (scraped before each kill, and at the end): events the re-drive
published again, the healing the re-drive did. "orders_redriven" is how many
accepted orders the re-drive touched at least once (the redrives column of
the order daemon's database; a cancel starts it again at 0). Every 503, of
an order or a cancel, must be a clean refusal: an error body and a
Retry-After header.
"""

import collections
import random
import signal
import threading
import time

from harness import (FINAL, Shop, assert_eq, assert_error_body, assert_true, http_request,
                     metric, random_items, wait_until)

ORDERS = "/api/v1/orders"
N_ORDERS = 300
N_CLIENTS = 8
CANCEL_SHARE = 0.10
REDRIVE_S = 1

# More stock than the default catalog, so that most orders can be confirmed;
# BAG-005 has none and some lines ask for more than any product has.
CATALOG = [
    {"sku": "MUG-001", "name": "Mug", "price_cents": 1200, "currency": "EUR", "stock": 400},
    {"sku": "TEE-002", "name": "T-shirt", "price_cents": 1999, "currency": "EUR", "stock": 200},
    {"sku": "CAP-003", "name": "Cap", "price_cents": 850, "currency": "EUR", "stock": 60},
    {"sku": "PIN-004", "name": "Pin", "price_cents": 199, "currency": "EUR", "stock": 15},
    {"sku": "BAG-005", "name": "Tote bag", "price_cents": 1550, "currency": "EUR", "stock": 0},
]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.failures = []
        self.refused_at = []       # when each 503 came
        self.to_cancel = []        # (order id, when to cancel)
        self.cancel_accepted = set()

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] += n

    def fail(self, text):
        with self.lock:
            self.failures.append(text)


def check_refusal(r, what, tally):
    """Counts a 503 by its error code; a refusal that is not clean (error
    body, Retry-After) is a failure."""
    try:
        assert_error_body(r, what)
        assert_true(r.headers.get("Retry-After"), "%s: 503 has a Retry-After header" % what,
                    dict(r.headers))
    except AssertionError as e:
        tally.fail(str(e))
        return
    tally.count("refused_%s" % r.body["error"])


def client(shop, rng, n, tally, stop):
    """Places n orders at a pace that spreads them over the chaos; cancels
    about one in ten of its accepted orders a little later."""
    names = [p["sku"] for p in CATALOG]
    pending_cancels = []
    for _ in range(n):
        if stop.is_set():
            return
        items = random_items(rng, CATALOG, max_lines=2, max_qty=3)
        if rng.random() < 0.08:  # more than there is in stock
            items[0]["qty"] = rng.choice([61, 201, 500])
        try:
            r = shop.post(ORDERS, {"items": items}, timeout=15)
        except AssertionError as e:  # a connection error: the front is never killed
            tally.fail("POST order: %s" % e)
            continue
        if r.status == 202:
            tally.count("accepted")
            if rng.random() < CANCEL_SHARE:
                pending_cancels.append((r.body["order_id"], time.monotonic() + rng.uniform(0.2, 2.0)))
        elif r.status == 503:
            tally.count("refused")
            check_refusal(r, "POST order refused", tally)
            with tally.lock:
                tally.refused_at.append(time.monotonic())
        else:
            tally.fail("POST order: HTTP %s %s" % (r.status, r.text[:200]))
        due = [c for c in pending_cancels if c[1] <= time.monotonic()]
        for c in due:
            pending_cancels.remove(c)
            cancel(shop, c[0], tally)
        time.sleep(rng.uniform(0.05, 0.45))
    for oid, when in pending_cancels:
        time.sleep(max(0.0, when - time.monotonic()))
        cancel(shop, oid, tally)


def cancel(shop, oid, tally, timeout=20.0):
    """Cancels until a 202. A 404 (the order daemon has not seen the order
    yet) and a 503 (it or the broker is down) are retried."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = shop.post("%s/%s/cancel" % (ORDERS, oid), timeout=15)
        except AssertionError as e:
            tally.fail("POST cancel: %s" % e)
            return
        if r.status == 202:
            tally.count("cancel_accepted")
            with tally.lock:
                tally.cancel_accepted.add(oid)
            return
        if r.status not in (404, 503):
            tally.fail("POST cancel %s: HTTP %s %s" % (oid, r.status, r.text[:200]))
            return
        tally.count("cancel_retried_%d" % r.status)
        if r.status == 503:
            check_refusal(r, "POST cancel refused", tally)
        if time.monotonic() >= deadline:
            tally.count("cancel_gave_up")
            return
        time.sleep(0.2)


class Chaos:
    def __init__(self, shop):
        self.shop = shop
        self.redriven = 0.0
        self.events = []
        self.error = None
        self.t0 = time.monotonic()

    def scrape_redriven(self):
        try:
            r = http_request(self.shop.order_port, "GET", "/metrics", timeout=2)
            v = metric(r.text, "shop_order_redriven_total") if r.status == 200 else None
        except AssertionError:
            v = None
        return v

    def note(self, what):
        self.events.append("%.1fs %s" % (time.monotonic() - self.t0, what))

    def kill(self, *names):
        """SIGKILL through the harness; several names: all at the same
        instant (one thread each, released together)."""
        if "order" in names:
            v = self.scrape_redriven()
            if v is not None:
                self.redriven += v
        if len(names) == 1:
            self.shop.kill(names[0], signal.SIGKILL)
        else:
            barrier = threading.Barrier(len(names))
            errors = []

            def one(name):
                try:
                    barrier.wait(5)
                    self.shop.kill(name, signal.SIGKILL)
                except Exception as e:
                    errors.append("%s: %s" % (name, e))
            threads = [threading.Thread(target=one, args=(n,)) for n in names]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert_true(not errors, "SIGKILL of %s at once" % "+".join(names), errors)
        self.note("SIGKILL %s" % "+".join(names))

    def run(self, stop):
        shop = self.shop
        try:
            time.sleep(1.0)
            self.kill("inventory")
            time.sleep(1.0)
            shop.start("inventory")
            self.note("inventory back")
            time.sleep(1.0)
            self.kill("order")
            time.sleep(1.0)
            shop.start("order")
            self.note("order back")
            time.sleep(1.0)
            self.kill("inventory", "order")
            time.sleep(1.0)
            shop.start("inventory")
            shop.start("order")
            self.note("both back")
            time.sleep(1.0)
            shop.stop_broker()
            self.note("broker stopped (SIGTERM)")
            time.sleep(1.5)
            shop.start_broker()
            self.note("broker back")
        except Exception as e:  # reported by the test
            self.error = "%s: %s" % (type(e).__name__, e)
            stop.set()


def test_chaos_kills_and_broker_restart(build):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    with Shop(build, catalog=CATALOG,
              extra_args={"order": ["--redrive-s", str(REDRIVE_S)]}) as shop:
        tally = Tally()
        stop = threading.Event()
        chaos = Chaos(shop)
        share = [N_ORDERS // N_CLIENTS + (1 if i < N_ORDERS % N_CLIENTS else 0)
                 for i in range(N_CLIENTS)]
        clients = [threading.Thread(target=client, daemon=True,
                                    args=(shop, random.Random(seed + 1 + i), share[i], tally, stop))
                   for i in range(N_CLIENTS)]
        chaos_thread = threading.Thread(target=chaos.run, args=(stop,), daemon=True)
        t_start = chaos.t0 = time.monotonic()
        chaos_thread.start()
        for t in clients:
            t.start()
        for t in clients:
            t.join(90 * shop.build.slow)
        chaos_thread.join(60 * shop.build.slow)
        t_traffic = time.monotonic()
        assert_true(chaos.error is None, "the chaos thread ran to the end (seed %d)" % seed,
                    "%s; events: %s" % (chaos.error, chaos.events))
        assert_true(not any(t.is_alive() for t in clients), "every client finished")
        assert_true(not tally.failures,
                    "clients saw only 202 and clean 503s and no connection errors (seed %d)" % seed,
                    "%d failures: %s" % (len(tally.failures), tally.failures[:10]))

        accepted = set(shop.accepted)
        assert_eq(len(accepted), tally.counts["accepted"], "accepted orders recorded by the harness")
        assert_true(len(accepted) > N_ORDERS // 2, "most orders accepted", dict(tally.counts))

        # Every accepted order becomes final without anyone touching it.
        def all_final():
            r = shop.ord("/orders", timeout=5)
            if r.status != 200:
                return None
            status = {o["order_id"]: o["status"] for o in r.body["orders"]}
            # a rejected order is final too, but an accepted cancel still
            # has to reach it: wait for that as well
            if (all(status.get(oid) in FINAL for oid in accepted)
                    and all(status.get(oid) == "canceled" for oid in tally.cancel_accepted)):
                return status
            return None
        try:
            status = wait_until(all_final, 60 * shop.build.slow,
                                "every accepted order final, every accepted cancel won", interval=0.1)
        except AssertionError:
            r = shop.ord("/orders", timeout=5)
            status = {o["order_id"]: o["status"] for o in r.body["orders"]} if r.status == 200 else {}
            stuck = sorted((oid, status.get(oid)) for oid in accepted if status.get(oid) not in FINAL)
            if stuck:
                raise AssertionError("%d of %d accepted orders not final 60 s after the chaos "
                                     "(seed %d): %s; chaos: %s"
                                     % (len(stuck), len(accepted), seed, stuck[:10], chaos.events))
            # all final: the check of the cancels below says which did not win
        shop.check_invariants(timeout=30)
        t_quiet = time.monotonic()

        # A cancel the front accepted wins.
        not_canceled = sorted((oid, status.get(oid)) for oid in tally.cancel_accepted
                              if status.get(oid) != "canceled")
        assert_true(not not_canceled, "every order whose cancel got a 202 ends canceled",
                    not_canceled[:10])

        redriven = chaos.redriven + (chaos.scrape_redriven() or 0.0)
        refused = sorted(tally.refused_at)
        window = ("503s from %.1fs to %.1fs" % (refused[0] - t_start, refused[-1] - t_start)
                  if refused else "no 503")
        by_status = collections.Counter(status.get(oid) for oid in accepted)
        redrives = dict(shop.db_rows("order", "SELECT order_id, redrives FROM orders"))
        orders_redriven = sum(1 for oid in accepted if redrives.get(oid, 0) > 0)
        codes = ",".join("%s=%d" % (k[len("refused_"):], v) for k, v in sorted(tally.counts.items())
                         if k.startswith("refused_")) or "none"
        print("chaos: accepted=%d refused_503=%d (503s of orders and cancels by code: %s) final=%d (confirmed=%d rejected=%d"
              " canceled=%d) cancels_accepted=%d redriven=%d orders_redriven=%d quiescence=%.1fs"
              " after the last request (traffic %.1fs, %s; %s; seed %d)"
              % (len(accepted), tally.counts["refused"], codes,
                 sum(by_status[s] for s in FINAL), by_status["confirmed"], by_status["rejected"],
                 by_status["canceled"], len(tally.cancel_accepted), redriven, orders_redriven,
                 t_quiet - t_traffic, t_traffic - t_start, window, ", ".join(chaos.events),
                 seed), flush=True)
