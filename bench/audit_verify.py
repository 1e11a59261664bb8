#!/usr/bin/python3
"""Audit chain costs on a full log (docs/audit.md): 100,000 rows of an older audit.db chained at the first start,
then GET /api/v1/events/verify and GET /api/v1/events/export timed with curl, beside GET /api/v1/device on the
same camera (the peer: a request that does not walk the log). Also the time /api/v1/device takes while a
verification runs (the vault walks the chain in its request loop).

    SAFECAM_BUILD=build /usr/bin/python3 bench/audit_verify.py [--rows 100000]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "system"))
from conftest import Camera  # noqa: E402


def timed(s, path):
    t = time.monotonic()
    r = s.request("GET", path)
    return time.monotonic() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-audit-")
    cam = Camera(tmp)
    try:
        cam.start()
        cam.admin()
        cam.stop()
        # an older log: rows without hashes, no head, and no copy of the head in vault.db
        db = os.path.join(cam.state_dir, "vault", "audit.db")
        subprocess.run(["sqlite3", db, "DELETE FROM chain; UPDATE events SET hash = NULL;"
                        f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {args.rows})"
                        " INSERT INTO events(time, type, actor, source, detail) SELECT strftime('%s','now') - x,"
                        " 'login_failure', 'admin', '192.0.2.' || (x % 250), 'surface=web reason=bad_password' FROM c"],
                       check=True)
        subprocess.run(["sqlite3", os.path.join(cam.state_dir, "vault", "vault.db"), "DELETE FROM audit_mark"],
                       check=True)
        t = time.monotonic()
        cam.start()
        start_s = time.monotonic() - t
        s = cam.login(cam.label["admin_user"], cam.admin_password)
        dev = sorted(timed(s, "/api/v1/device")[0] for _ in range(20))
        ver = []
        for _ in range(5):
            d, r = timed(s, "/api/v1/events/verify")
            assert r.status == 200 and r.json()["status"] == "intact", r
            ver.append(d)
        events = r.json()["events"]
        d_exp, r = timed(s, "/api/v1/events/export")
        assert r.status == 200, r
        # /api/v1/device while a verification runs
        during = []
        th = threading.Thread(target=lambda: timed(s, "/api/v1/events/verify"))
        th.start()
        time.sleep(0.05)
        during.append(timed(s, "/api/v1/device")[0])
        th.join()
        print(f"rows chained and verified: {events}")
        print(f"start with migration of {args.rows} rows (to HTTPS up): {start_s:.2f} s")
        print(f"GET /api/v1/events/verify: min {min(ver) * 1000:.0f} ms, max {max(ver) * 1000:.0f} ms (5 runs)")
        print(f"GET /api/v1/events/export: {d_exp * 1000:.0f} ms, {len(r.body) / 1e6:.1f} MB")
        print(f"peer GET /api/v1/device: p50 {dev[10] * 1000:.0f} ms")
        print(f"GET /api/v1/device during a verification: {during[0] * 1000:.0f} ms")
        for line in cam.read_log().splitlines():  # the vault's own time for each walk and the export
            if "audit chain walked" in line or "audit export of" in line:
                print("  " + line.strip())
    finally:
        cam.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
