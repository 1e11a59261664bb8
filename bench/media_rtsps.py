"""bench/media_rtsps.py — driver of bench/media_rtsps.sh (run inside the script's own network namespace):
CPU and RSS of safecam-media streaming 720p25 to 1, 4 and 16 RTSPS viewers beside bench_rtsps_bare (bare
gst-rtsp-server, same pipeline and TLS), as ratios; time from RTSPS DESCRIBE to the first complete keyframe;
live-view (fMP4) latency read from the test pattern's timecode after decoding with ffmpeg.
Benchmark harness only; Debian's /usr/bin/python3; every connection goes to 127.0.0.1 of the namespace."""
import os
import statistics
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "system"))
from media_harness import (MEDIA_LIVE_OPEN, MediaProcess, basic, free_port, make_cert,  # noqa: E402
                           rtsp_play_session, rtsp_request, tls_connect)

BUILD = os.environ.get("SAFECAM_BUILD", os.path.join(os.path.dirname(HERE), "build"))
SERVER_CPUS = os.environ.get("BENCH_CPUS", "")
CLIENT_CPUS = os.environ.get("BENCH_CLIENT_CPUS", "")
WARM_S = float(os.environ.get("BENCH_WARM_SECS", "3"))
MEASURE_S = float(os.environ.get("BENCH_MEASURE_SECS", "10"))
LEVELS = [1, 4, 16]
USER, PW = "bench", "Bench-" + os.urandom(6).hex()
TLS_PRIORITY = ("NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"
                "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA")
TICKS = os.sysconf("SC_CLK_TCK")


def wrap():
    return ["taskset", "-c", SERVER_CPUS] if SERVER_CPUS else []


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Viewer(threading.Thread):
    def __init__(self, port, cafile):
        super().__init__(daemon=True)
        self.port, self.cafile = port, cafile
        self.bytes = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            s, sess, url = rtsp_play_session(self.port, self.cafile, basic(USER, PW))
            st, _, _ = rtsp_request(s, "PLAY", url, 3, {"Authorization": basic(USER, PW), "Session": sess})
            assert st == 200, st
            s.settimeout(5)
            while not self.stop.is_set():
                d = s.recv(65536)
                if not d:
                    break
                self.bytes += len(d)
            s.close()
        except Exception as e:  # noqa: BLE001 - reported by the driver
            self.error = e


def first_keyframe_s(port, cafile):
    """Seconds from sending DESCRIBE (TLS already up) to the last RTP packet of the first IDR access unit."""
    s = tls_connect(port, cafile)
    url = f"rtsps://127.0.0.1:{port}/stream1"
    auth = basic(USER, PW)
    t0 = time.monotonic()
    st, _, body = rtsp_request(s, "DESCRIBE", url, 1, {"Authorization": auth})
    assert st == 200
    st, hd, _ = rtsp_request(s, "SETUP", url + "/stream=0", 2, {"Authorization": auth,
                                                                 "Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
    assert st == 200
    sess = hd["session"].split(";")[0]
    s.sendall(f"PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nAuthorization: {auth}\r\nSession: {sess}\r\n\r\n".encode())
    buf = b""
    idr = False
    s.settimeout(5)
    while True:
        d = s.recv(65536)
        if not d:
            raise RuntimeError("closed")
        buf += d
        while True:
            if buf.startswith(b"RTSP/"):
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                buf = buf[end + 4:]
                continue
            if len(buf) < 4 or buf[0:1] != b"$":
                break
            n = struct.unpack(">H", buf[2:4])[0]
            if len(buf) < 4 + n:
                break
            pkt, buf = buf[4:4 + n], buf[4 + n:]
            if pkt[1] & 0x7F != 96:
                continue
            cc = pkt[0] & 0x0F
            off = 12 + 4 * cc
            if pkt[0] & 0x10:
                off += 4 + 4 * struct.unpack(">H", pkt[off + 2:off + 4])[0]
            nal = pkt[off] & 0x1F
            if nal == 5 or (nal == 28 and pkt[off + 1] & 0x1F == 5):
                idr = True
            elif nal == 24:
                i = off + 1
                while i + 2 < len(pkt):
                    ln = struct.unpack(">H", pkt[i:i + 2])[0]
                    if pkt[i + 2] & 0x1F == 5:
                        idr = True
                    i += 2 + ln
            if idr and pkt[1] & 0x80:
                t = time.monotonic() - t0
                s.close()
                return t


def measure(name, pid, port, cafile):
    rows = []
    for n in LEVELS:
        viewers = [Viewer(port, cafile) for _ in range(n)]
        for v in viewers:
            v.start()
        time.sleep(WARM_S)
        c0, b0 = cpu_seconds(pid), sum(v.bytes for v in viewers)
        time.sleep(MEASURE_S)
        c1, b1 = cpu_seconds(pid), sum(v.bytes for v in viewers)
        rss = rss_kib(pid)
        for v in viewers:
            v.stop.set()
        for v in viewers:
            v.join(10)
        errors = [v.error for v in viewers if v.error]
        rate = (b1 - b0) * 8 / MEASURE_S / 1e6 / n
        rows.append((n, (c1 - c0) / MEASURE_S * 100, rss, rate, len(errors)))
        print(f"  {name:6s} {n:2d} viewers: CPU {rows[-1][1]:6.1f}%  RSS {rss / 1024:6.1f} MiB  "
              f"{rate:5.2f} Mbit/s per viewer  errors {len(errors)}", flush=True)
        time.sleep(1)
    return rows


def live_latency_ms(m, seconds=6):
    body, fd = m.web_call(MEDIA_LIVE_OPEN, {"stream": "main"})
    assert body.get("ok"), body
    p = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-fflags", "nobuffer", "-flags",
                          "low_delay", "-probesize", "32", "-analyzeduration", "0", "-f", "mp4", "-i", "pipe:0",
                          "-vf", "crop=iw:16:0:0", "-pix_fmt", "gray", "-f", "rawvideo", "pipe:1"],
                         stdin=fd, stdout=subprocess.PIPE)
    os.close(fd)
    w, bs = 1280, 16
    frame = w * bs
    lat = []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        data = p.stdout.read(frame)
        if len(data) < frame:
            break
        now = int(time.time() * 1000) % (1 << 32)
        row = data[(bs // 2) * w:(bs // 2 + 1) * w]
        if row[bs // 2] < 160 or row[bs + bs // 2] > 96:
            continue
        code = 0
        for b in range(2, 34):
            code = code * 2 + (1 if row[b * bs + bs // 2] > 128 else 0)
        lat.append((now - code) % (1 << 32))
    p.kill()
    p.wait()
    return lat


def main():
    if CLIENT_CPUS:
        os.sched_setaffinity(0, {int(c) for c in CLIENT_CPUS.split(",") if c.isdigit()} or {0})
    os.environ["G_TLS_GNUTLS_PRIORITY"] = TLS_PRIORITY
    results = {}

    # --- the bare gst-rtsp-server peer ---
    tmp = f"/tmp/safecam-bench-media-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    cert, key = make_cert(tmp)
    bport = free_port()
    bare = subprocess.Popen(wrap() + [os.path.join(BUILD, "bench", "bench_rtsps_bare"), str(bport), cert, key, USER,
                                      PW], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                tls_connect(bport, cert, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        print("bare gst-rtsp-server (same pipeline, TLS):", flush=True)
        first = first_keyframe_s(bport, cert)  # cold: builds the shared media
        results["bare"] = measure("bare", bare.pid, bport, cert)
        holder = Viewer(bport, cert)
        holder.start()
        time.sleep(2)
        warm = [first_keyframe_s(bport, cert) for _ in range(5)]
        holder.stop.set()
        results["bare_first"] = (first, statistics.median(warm))
    finally:
        bare.terminate()
        bare.wait()
        os.unlink(key)

    # --- safecam-media (sub stream off: the same single 720p encoder as the peer) ---
    m = MediaProcess(BUILD, users={USER: {"password": PW, "role": "viewer"}}, wrap=wrap(),
                     stream={"sub_enabled": False})
    try:
        m.wait_rtsps()
        m.wait_playing()
        time.sleep(2)
        print("safecam-media (sub stream off):", flush=True)
        first = first_keyframe_s(m.port, m.cacert)
        results["media"] = measure("media", m.proc.pid, m.port, m.cacert)
        holder = Viewer(m.port, m.cacert)
        holder.start()
        time.sleep(2)
        warm = [first_keyframe_s(m.port, m.cacert) for _ in range(5)]
        holder.stop.set()
        results["media_first"] = (first, statistics.median(warm))
        lat = live_latency_ms(m)
        results["live"] = lat
    finally:
        m.stop()

    print("\nratios safecam-media / bare gst-rtsp-server (targets: CPU <= 1.10, RSS <= 1.20):")
    ok = True
    for (n, cb, rb, _, eb), (_, cm, rm, _, em) in zip(results["bare"], results["media"]):
        cr, rr = cm / cb if cb else float("inf"), rm / rb if rb else float("inf")
        ok = ok and cr <= 1.10 and rr <= 1.20 and eb == 0 and em == 0
        print(f"  {n:2d} viewers: CPU {cm:6.1f}% / {cb:6.1f}% = {cr:4.2f}   RSS {rm / 1024:6.1f} / {rb / 1024:6.1f} MiB "
              f"= {rr:4.2f}")
    bf, mf = results["bare_first"], results["media_first"]
    print(f"\nDESCRIBE -> first complete keyframe (target <= 1.0 s): media cold {mf[0]:.3f} s, joining a running "
          f"stream {mf[1]:.3f} s (median of 5); bare cold {bf[0]:.3f} s, joining {bf[1]:.3f} s")
    lat = results["live"]
    if lat:
        print(f"live-view fMP4 latency (timecode, decoded by ffmpeg): median {statistics.median(lat):.0f} ms, "
              f"max {max(lat):.0f} ms over {len(lat)} frames (target <= 1000 ms; Chromium's figure is printed by "
              f"tests/browser/live.test.mjs)")
    else:
        print("live-view latency: no timecode frames read")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
