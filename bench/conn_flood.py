"""bench/conn_flood.py — the owner under a connection flood (docs/connections.md): a real safecamd in a
network namespace this script creates, 10 flooding sources (127.0.0.101-110) each holding 32 idle TCP
connections on the HTTPS and the RTSPS port and re-opening them as soon as the camera closes them, and
from 127.0.0.1:
  - admin login time (curl time_total, median of BENCH_LOGINS) without and with the flood (goal <= 2x);
  - RTSPS time to the first decoded frame (ffmpeg -frames:v 1, median of BENCH_VIEWS) without / with;
  - safecam-media RSS before, at the end of the flood and 30 s after it (goal after <= 1.2x before);
  - bytes the daemon logged during the flood (BENCH_FLOOD_SECS, default 60; goal <= 64 KiB).
Benchmark harness (root, development machine only; Debian's /usr/bin/python3). Exit 0 when every goal is
met, 1 otherwise.   Usage: sudo SAFECAM_BUILD=$PWD/build /usr/bin/python3 bench/conn_flood.py"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "system"))
os.environ.setdefault("SAFECAM_BUILD", os.path.join(os.path.dirname(HERE), "build"))
from conftest import Camera  # noqa: E402
from test_attack_conn import Flood, Netns  # noqa: E402

FLOOD_S = float(os.environ.get("BENCH_FLOOD_SECS", "60"))
LOGINS = int(os.environ.get("BENCH_LOGINS", "5"))
VIEWS = int(os.environ.get("BENCH_VIEWS", "3"))


def login_time(cam):
    r = cam.curl("-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-H", "Content-Type: application/json",
                 "--data-binary", '{"username": "%s", "password": "%s"}' % (cam.label["admin_user"],
                                                                             cam.admin_password),
                 cam.base_url + "/api/v1/session", timeout=60)
    code, _, t = r.stdout.decode().partition(" ")
    return float(t) if code == "200" else None


def first_frame_time(cam):
    url = (f"rtsps://{quote(cam.label['admin_user'], safe='')}:{quote(cam.admin_password, safe='')}"
           f"@127.0.0.1:{cam.rtsps_port}/stream1")
    t0 = time.monotonic()
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", url, "-frames:v", "1",
                        "-f", "null", "-"], capture_output=True, timeout=120)
    return time.monotonic() - t0 if r.returncode == 0 else None


def media_rss_kib(cam):
    pid = cam.pids().get("media")
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def med(xs):
    ok = [x for x in xs if x is not None]
    return (statistics.median(ok) if ok else float("inf")), len(xs) - len(ok)


def main():
    ns = Netns()
    ns.enter()
    tmp = tempfile.mkdtemp(prefix="safecam-bench-")
    cam = Camera(tmp)
    try:
        cam.start(wait_media=True)
        cam.admin()
        time.sleep(5)
        login0 = med([login_time(cam) for _ in range(LOGINS)])
        view0 = med([first_frame_time(cam) for _ in range(VIEWS)])
        time.sleep(3)
        rss0 = media_rss_kib(cam)
        log0 = os.path.getsize(cam.log_path)
        with Flood([cam.https_port, cam.rtsps_port]) as flood:
            time.sleep(5)
            login1 = med([login_time(cam) for _ in range(LOGINS)])
            view1 = med([first_frame_time(cam) for _ in range(VIEWS)])
            while time.monotonic() < flood.started + FLOOD_S:
                time.sleep(0.5)
            rss1 = media_rss_kib(cam)
            log_bytes = os.path.getsize(cam.log_path) - log0
            opened, cut = flood.opened, flood.closed_by_camera
        time.sleep(30)
        rss2 = media_rss_kib(cam)
    finally:
        cam.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        ns.leave()
    print(f"flood: {FLOOD_S:.0f} s, 10 sources x 32 idle connections per port; flood opened {opened} "
          f"connections, the camera closed {cut}")
    print(f"login (median of {LOGINS}): {login0[0]*1000:.0f} ms without, {login1[0]*1000:.0f} ms with "
          f"(failed: {login0[1]} / {login1[1]}), ratio {login1[0]/login0[0]:.2f} (goal <= 2)")
    print(f"RTSPS first frame (median of {VIEWS}): {view0[0]:.2f} s without, {view1[0]:.2f} s with "
          f"(failed: {view0[1]} / {view1[1]}), ratio {view1[0]/view0[0]:.2f}")
    print(f"media RSS: {rss0/1024:.1f} MiB before, {rss1/1024:.1f} MiB at the end of the flood, "
          f"{rss2/1024:.1f} MiB 30 s after, ratio after/before {rss2/rss0:.2f} (goal <= 1.2)")
    print(f"log bytes during the flood: {log_bytes} (goal <= 65536)")
    ok = (login1[0] / login0[0] <= 2 and login1[1] == 0 and view1[1] < VIEWS and rss2 / rss0 <= 1.2
          and log_bytes <= 65536)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
