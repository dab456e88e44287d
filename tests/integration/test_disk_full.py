"""Disk full under the daemons: their commits fail and are retried inside the
MQTT callback (the broker keeps the unacknowledged messages); once space is
back every accepted order is final and the invariants hold.

Needs root (to mount a tmpfs). Without it, or when `mount -t tmpfs` fails,
the test is skipped and says why.

Layout: the harness runs every process with --data-dir <its temp dir>, and a
later flag wins, so the two daemons get an extra `--data-dir <tmpfs>/data`
(extra_args): only inventory.db and order.db (with their -wal and -shm)
live on the small tmpfs; the broker's persistence, the front's data dir and
every log stay in the harness's temp dir, so they still have space.
"""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

from harness import Shop, assert_true, http_request, metric, wait_until

ORDERS = "/api/v1/orders"
TMPFS_SIZE = "6m"
N_ORDERS = 20


def retries(shop, service):
    port = shop.inventory_port if service == "inventory" else shop.order_port
    r = http_request(port, "GET", "/metrics", timeout=5)
    assert_true(r.status == 200, "%s /metrics answers while the disk is full" % service,
                "%s %s" % (r.status, r.text[:200]))
    v = metric(r.text, "shop_%s_commit_retries_total" % service)
    assert_true(v is not None, "%s /metrics has shop_%s_commit_retries_total" % (service, service),
                r.text[:2000])
    return v


def fill(path):
    """Writes a filler file until the file system refuses; returns its size."""
    size = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n = f.write(chunk)
            except OSError:
                break
            if not n:
                break
            size += n
        # the last pages, a byte at a time would be slow: smaller chunks
        for step in (4096, 512, 1):
            while True:
                try:
                    if not f.write(b"\0" * step):
                        break
                    size += step
                except OSError:
                    break
    return size


def log_text(shop, name):
    with open(shop.procs[name].log_path, errors="replace") as f:
        return f.read()


def test_disk_full_daemons_retry(build):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs (running as uid %d)" % os.geteuid())
    mnt = tempfile.mkdtemp(prefix="shop-it-tmpfs-")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % TMPFS_SIZE, "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        os.rmdir(mnt)
        pytest.skip("mount -t tmpfs failed: %s" % (p.stderr.strip() or p.returncode))
    data = os.path.join(mnt, "data")
    filler = os.path.join(mnt, "filler")
    keep_copy = None
    shop_dir = []
    try:
        os.makedirs(data)
        with Shop(build, extra_args={"inventory": ["--data-dir", data],
                                     "order": ["--data-dir", data]}) as shop:
            shop_dir.append(shop.dir)
            try:
                for name in ("inventory.db", "order.db"):
                    assert_true(os.path.exists(os.path.join(data, name)),
                                "%s is on the tmpfs" % name, os.listdir(data))
                # The databases exist and have seen traffic before the disk fills.
                first = shop.order([{"sku": "MUG-001", "qty": 1}])
                shop.wait_status(first, "confirmed")
                before = {s: retries(shop, s) for s in ("inventory", "order")}

                filled = fill(filler)
                st = os.statvfs(mnt)
                assert_true(st.f_bavail * st.f_frsize < 65536, "the tmpfs is full",
                            "%d bytes free" % (st.f_bavail * st.f_frsize))

                accepted = []
                for i in range(N_ORDERS):
                    items = [{"sku": "MUG-001", "qty": 1 + i % 2}]
                    if i % 3 == 0:
                        items.append({"sku": "TEE-002", "qty": 1})
                    if i % 7 == 0:
                        items = [{"sku": "PIN-004", "qty": 1}]
                    r = shop.post(ORDERS, {"items": items})
                    assert_true(r.status == 202, "POST order %d while the daemons' disk is full is a "
                                "202 (the broker has it)" % i, "%s %s" % (r.status, r.text[:200]))
                    accepted.append(r.body["order_id"])

                # The daemons' commits fail and are retried inside the callback:
                # their logs say so, they keep running, and /metrics counts the
                # retries while they happen (an operator watches it during the
                # outage, not after).
                problems = []
                t_full = time.monotonic()
                wait_until(lambda: all("retrying" in log_text(shop, n) for n in ("inventory", "order")),
                           15 * shop.build.slow, "both daemons to log that a commit is retrying",
                           interval=0.2)
                time.sleep(3)
                for name in ("inventory", "order"):
                    assert_true(shop.procs[name].alive(), "%s still runs with its disk full" % name,
                                shop.log_tail(name, 10))
                logged = {n: log_text(shop, n).count("retrying") for n in ("inventory", "order")}
                during = {s: retries(shop, s) for s in ("inventory", "order")}
                for name in ("inventory", "order"):
                    if during[name] <= before[name]:
                        problems.append(
                            "shop_%s_commit_retries_total is still %d after %.0f s of failing commits"
                            " (the log has %d 'retrying' lines): the counter is not updated while"
                            " the retries happen" % (name, during[name], time.monotonic() - t_full,
                                                     logged[name]))
                pending = [oid for oid in accepted
                           if shop.ord("/orders/%s" % oid).body.get("status") not in
                           ("confirmed", "rejected", "canceled")]

                os.unlink(filler)
                t_free = time.monotonic()
                for oid in accepted:
                    shop.wait_final(oid, timeout=30)
                t_final = time.monotonic()
                shop.check_invariants(timeout=30)
                for name in ("inventory", "order"):
                    assert_true(shop.procs[name].alive(), "%s still runs after the disk has space" % name)
                after = {s: retries(shop, s) for s in ("inventory", "order")}
                for name in ("inventory", "order"):
                    if after[name] <= before[name]:
                        problems.append("shop_%s_commit_retries_total did not grow at all (%d)"
                                        % (name, after[name]))
                print("disk full: filler %d KiB, %d orders accepted, %d not final while full;"
                      " 'retrying' log lines inventory %d order %d; commit retries on /metrics"
                      " while full inventory %d order %d, after recovery inventory %d order %d;"
                      " all final %.1fs after the filler was deleted"
                      % (filled // 1024, len(accepted), len(pending), logged["inventory"],
                         logged["order"], during["inventory"] - before["inventory"],
                         during["order"] - before["order"], after["inventory"] - before["inventory"],
                         after["order"] - before["order"], t_final - t_free), flush=True)
                assert_true(not problems, "the commit retries are counted while they happen",
                            "; ".join(problems))
            finally:
                # Space back before the Shop stops the daemons: told to stop
                # while a commit keeps failing they exit with status 3 by design.
                if os.path.exists(filler):
                    os.unlink(filler)
    except BaseException:
        keep_copy = shop_dir[0] if shop_dir else None
        raise
    finally:
        if os.path.exists(filler):
            os.unlink(filler)
        if keep_copy and os.path.isdir(keep_copy):
            # the databases are gone with the tmpfs: keep a copy beside the logs
            shutil.copytree(data, os.path.join(keep_copy, "tmpfs-data"), dirs_exist_ok=True)
        u = subprocess.run(["umount", mnt], capture_output=True, text=True)
        if u.returncode != 0:
            subprocess.run(["umount", "-l", mnt], capture_output=True)
        os.rmdir(mnt)
