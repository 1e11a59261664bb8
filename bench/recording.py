#!/usr/bin/python3
"""Recording benchmark (docs/recording.md): one run, each number beside its peer, rows that could not be measured
are marked failed.

1. CPU of the media process over BENCH_SECS (default 20) while it records (encrypted: mp4mux -> appsink -> sealer ->
   file) beside the same camera feeding one live view (the same appsrc ! h264parse ! mp4mux, clear, into a pipe:
   fdsink), and beside a peer: gst-launch-1.0 with the camera's encoder settings writing clear fMP4 with a plain
   filesink. Target: recording / live view <= 1.05.
2. Bytes written per byte of video: the sealed files' sizes over the clear MP4 the vault gives back.
3. GET /api/v1/recordings over 43,200 index rows (a month of 60 s segments inserted into index.db directly):
   p50/p99 of 200 requests for one day (1,440 rows, answered 1,000 at a time) and for the whole month.

Usage: SAFECAM_BUILD=build /usr/bin/python3 bench/recording.py"""
import http.client
import json
import os
import shutil
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "system"))

from conftest import Camera  # noqa: E402

SECS = int(os.environ.get("BENCH_SECS", "20"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICK


def measure(pid, secs):
    c0, t0 = cpu_s(pid), time.monotonic()
    time.sleep(secs)
    return (cpu_s(pid) - c0) / (time.monotonic() - t0)


def row(name, value, peer=None, unit=""):
    if value is None:
        print(f"| {name} | failed | | |")
    elif peer:
        print(f"| {name} | {value:.4g}{unit} | {peer:.4g}{unit} | {value / peer:.3f}x |")
    else:
        print(f"| {name} | {value:.4g}{unit} | | |")


def main():
    tmp = tempfile.mkdtemp(prefix="safecam-bench-rec-")
    cam = Camera(tmp)
    live = None
    try:
        cam.start(wait_media=True)
        admin = cam.admin()
        media = cam.pids()["media"]
        print(f"# recording bench, {SECS} s per row, load average {os.getloadavg()[0]:.2f}")
        print("| what | value | peer | ratio |\n|---|---|---|---|")
        # live view (clear fMP4 into a pipe) as the baseline
        cookie = [f"-b", admin.cookie_jar]
        live = subprocess.Popen(["curl", "-sS", "--cacert", cam.cacert, *cookie, "-o", "/dev/null",
                                 cam.base_url + "/api/v1/video/live.mp4?stream=main"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)
        base = measure(media, SECS)
        live.terminate()
        live.wait()
        live = None
        time.sleep(3)
        r = admin.request("PUT", "/api/v1/settings/recording", json_body={"mode": "continuous", "segment_seconds": 10})
        rec = None
        if r.status == 200:
            time.sleep(3)
            rec = measure(media, SECS)
        row("media CPU (cores): recording, encrypted / one live view, clear fMP4", rec, base)
        # the peer: the same encoder and muxer, clear, plain filesink
        out = os.path.join(tmp, "peer.mp4")
        peer = subprocess.Popen(["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "!",
                                 "video/x-raw,width=1280,height=720,framerate=25/1,format=I420", "!",
                                 "x264enc", "tune=zerolatency", "speed-preset=ultrafast", "bitrate=2000",
                                 "key-int-max=25", "!", "h264parse", "!", "mp4mux", "fragment-duration=1000",
                                 "streamable=true", "!", "filesink", f"location={out}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)
        try:
            pcpu = measure(peer.pid, SECS) if peer.poll() is None else None
        finally:
            peer.terminate()
            peer.wait()
        row("media CPU (cores): recording, encrypted / gst-launch x264enc ! mp4mux ! filesink (clear)", rec, pcpu)
        # bytes written per byte of video
        admin.request("PUT", "/api/v1/settings/recording", json_body={"mode": "off"})
        time.sleep(3)
        segs = admin.request("GET", "/api/v1/recordings?from=0").json()["recordings"]
        sealed = clear = 0
        for s in segs:
            if not s["complete"]:
                continue
            g = admin.request("GET", "/api/v1/recordings/" + s["id"])
            if g.status == 200:
                sealed += os.path.getsize(os.path.join(cam.state_dir, "recordings", s["id"] + ".seg"))
                clear += len(g.body)
        row(f"bytes written per byte of video ({len(segs)} segments, {clear} bytes of MP4)",
            sealed / clear if clear else None)
        # 43,200 index rows, inserted directly
        db = sqlite3.connect(os.path.join(cam.state_dir, "recordings", "index.db"), timeout=10)
        now = int(time.time() * 1000)
        month0 = now - 30 * 86400 * 1000
        db.executemany("INSERT INTO segments(id, start_ms, end_ms, bytes, complete) VALUES(?,?,?,?,1)",
                       ((f"{i:032x}", month0 + i * 60000, month0 + i * 60000 + 60000, 15000000)
                        for i in range(43200)))
        db.commit()
        db.close()
        jar = {}
        with open(admin.cookie_jar) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) == 7:
                    jar[p[5]] = p[6]
        ctx = ssl.create_default_context(cafile=cam.cacert)
        conn = http.client.HTTPSConnection("127.0.0.1", cam.https_port, context=ctx, timeout=30)
        hdr = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}

        def p(path, n=200):
            ts, rows = [], 0
            for _ in range(n):
                t0 = time.perf_counter()
                conn.request("GET", path, headers=hdr)
                resp = conn.getresponse()
                body = resp.read()
                ts.append(time.perf_counter() - t0)
                if resp.status != 200:
                    return None, None, 0
                rows = len(json.loads(body)["recordings"])
            ts.sort()
            return statistics.median(ts) * 1000, ts[int(len(ts) * 0.99) - 1] * 1000, rows

        day_from = (month0 + 15 * 86400 * 1000) // 1000
        for name, path in (("one day", f"/api/v1/recordings?from={day_from}&to={day_from + 86400}"),
                           ("the whole month (first page)", f"/api/v1/recordings?from={month0 // 1000}&to={now // 1000}")):
            p50, p99, rows = p(path)
            if p99 is None:
                row(f"GET /api/v1/recordings over 43,200 rows, {name}: p99 ms", None)
            else:
                print(f"| GET /api/v1/recordings over 43,200 rows, {name}: {rows} rows per answer | p50 {p50:.1f} ms, p99 {p99:.1f} ms | | |")
        conn.close()
    finally:
        if live:
            live.terminate()
            live.wait()
        cam.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
