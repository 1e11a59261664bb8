#!/usr/bin/python3
"""Cost of "events" recording (docs/recording.md): the media process's VmRSS and CPU, no viewer, on a still picture
(no motion, so nothing is recorded), in each recording mode, beside mode off (the pipeline idles). The source is a
still 1280x720 clip in the Main profile (the camera streams constrained baseline), so the camera re-encodes it as it would a sensor (a passed-through file
has no encoder to measure). Each mode runs BENCH_SECS (default 15) after a 5 s settle, one run.

Usage: SAFECAM_BUILD=build /usr/bin/python3 bench/recording_motion.py"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "system"))

from conftest import Camera, make_reachable  # noqa: E402

SECS = int(os.environ.get("BENCH_SECS", "15"))
TICK = os.sysconf("SC_CLK_TCK")


def media_pid(parent):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"safecam-media" in cmd:
            return int(pid)
    return None


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    tmp = tempfile.mkdtemp(prefix="safecam-bench-motion-")
    make_reachable(tmp)
    os.chmod(tmp, 0o755)
    clip = os.path.join(tmp, "still.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "smptebars=size=1280x720:rate=25:d=10",
                    "-c:v", "libx264", "-profile:v", "main", "-preset", "fast", "-g", "25", "-pix_fmt", "yuv420p",
                    "-an", clip], check=True, timeout=120)
    os.chmod(clip, 0o644)
    print("| mode (a fresh camera each) | media VmRSS (MiB) | media CPU (cores) | pipeline, encoders running | segments |")
    print("|---|---|---|---|---|")
    try:
        for i, (name, kw) in enumerate((("off", {"mode": "off"}),
                                        ("events, pre_roll_s 0", {"mode": "events", "pre_roll_s": 0}),
                                        ("events, pre_roll_s 5", {"mode": "events", "pre_roll_s": 5}),
                                        ("events, pre_roll_s 30", {"mode": "events", "pre_roll_s": 30}),
                                        ("continuous", {"mode": "continuous", "segment_seconds": 10}))):
            d = os.path.join(tmp, f"cam{i}")
            os.makedirs(d)
            cam = Camera(d, source=f"file:{clip}")
            try:
                cam.start()
                cam.wait_port(cam.rtsps_port)
                admin = cam.admin()
                pid = None
                for _ in range(50):
                    pid = media_pid(cam.proc.pid)
                    if pid:
                        break
                    time.sleep(0.2)
                r = admin.request("PUT", "/api/v1/settings/recording", json_body=kw)
                assert r.status == 200, r
                time.sleep(35 if "30" in name else 8)  # the pipeline idles (off), the ring fills
                c0, t0 = cpu_s(pid), time.monotonic()
                time.sleep(SECS)
                cpu = (cpu_s(pid) - c0) / (time.monotonic() - t0)
                st = admin.request("GET", "/api/v1/settings/stream").json()
                segs = admin.request("GET", "/api/v1/recordings").json()["recordings"]
                print(f"| {name} | {rss_kib(pid) / 1024:.1f} | {cpu:.3f} | {st.get('pipeline')}, "
                      f"{st.get('encoders_running')} | {len(segs)} |", flush=True)
            finally:
                cam.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
