"""A login burst against a camera, run inside a network namespace the caller created (ip netns exec NS python3
login_burst_tool.py ...): many source addresses (127.0.N.M, all local in the namespace's loopback) send logins
with wrong (and some right) passwords, while the owner, from 127.0.0.1 (a source it logged in from before),
keeps reading GET /api/v1/device with its session and, optionally, opens an RTSPS viewer (ffprobe).
Prints one JSON object with what each side saw. Used by tests/system/test_attack_login_burst.py and
bench/login_burst.py. Sends traffic only to 127.0.0.1 inside the namespace."""
import argparse
import http.client
import json
import os
import queue
import ssl
import subprocess
import sys
import threading
import time
from urllib.parse import quote


def context(cacert):
    ctx = ssl.create_default_context(cafile=cacert)
    return ctx


def request(ctx, port, method, path, body=None, source="127.0.0.1", cookie=None, timeout=30):
    """One HTTPS request on a fresh connection from `source`. Returns (status, headers dict, body, seconds)."""
    t0 = time.monotonic()
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout, source_address=(source, 0))
    hdrs = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if cookie:
        hdrs["Cookie"] = cookie
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        payload = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, payload, time.monotonic() - t0
    except (OSError, http.client.HTTPException) as e:
        return 0, {}, str(e).encode(), time.monotonic() - t0
    finally:
        conn.close()


def session_cookie(h):
    """The `safecam_session=...` pair of a login's Set-Cookie header (headers h, lower-case names), or None."""
    return next((p.strip() for p in h.get("set-cookie", "").split(";") if p.strip().startswith("safecam_session=")),
                None)


def owner_login(ctx, port, user, pw):
    st, h, body, _ = request(ctx, port, "POST", "/api/v1/session", {"username": user, "password": pw})
    return st, session_cookie(h)


def logout(ctx, port, h, body, source):
    """End the session a login answered with (headers h, body): DELETE /api/v1/session with its cookie and CSRF
    token. Returns the status."""
    cookie = session_cookie(h)
    try:
        csrf = json.loads(body).get("csrf_token")
    except (ValueError, AttributeError):
        csrf = None
    if not cookie or not csrf:
        return 0
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30, source_address=(source, 0))
    try:
        conn.request("DELETE", "/api/v1/session", headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def flood(ctx, port, user, pw, sources, per_source, good_every, threads, out, first_block=1, log_out=False):
    """sources x per_source logins from 127.0.<first_block>.1 on (250 addresses a block), the attempts of one
    source adjacent in the queue (so they overlap). With log_out, a login that succeeded logs out at once (so
    that bursts in a row do not end the owner's session through the cap on one user's sessions)."""
    q = queue.Queue()
    n = 0
    for s in range(sources):
        src = f"127.0.{first_block + s // 250}.{1 + s % 250}"
        for k in range(per_source):
            n += 1
            right = good_every and n % good_every == 0
            q.put((src, pw if right else f"wrong-{s}-{k}", right))
    lock = threading.Lock()

    def work():
        while True:
            try:
                src, p, right = q.get_nowait()
            except queue.Empty:
                return
            st, h, body, dt = request(ctx, port, "POST", "/api/v1/session", {"username": user, "password": p},
                                      source=src)
            if log_out and st == 200:
                logout(ctx, port, h, body, src)
            err = None
            try:
                err = json.loads(body).get("error")
            except (ValueError, AttributeError):
                pass
            with lock:
                key = f"{st}:{err or 'ok'}"
                out["status"][key] = out["status"].get(key, 0) + 1
                if err == "busy" and h.get("retry-after", "").isdigit():
                    out["busy_with_retry_after"] += 1
                if right and st == 200:
                    out["good_ok"] += 1
                out["latencies"].append(dt)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def owner_reads(ctx, port, cookie, stop, out, interval):
    """GET /api/v1/device every `interval` s until stop: out["device"] gets [status, seconds, started] each
    (started: time.monotonic(), the system's CLOCK_MONOTONIC, comparable with another process's)."""
    while not stop.is_set():
        t0 = time.monotonic()
        st, _, _, dt = request(ctx, port, "GET", "/api/v1/device", cookie=cookie)
        out["device"].append([st, dt, t0])
        stop.wait(interval)


def viewer(rtsps_port, user, pw, out, attempts=3):
    """ffprobe through RTSPS (TLS verification: ffmpeg's default, none; the Python checks elsewhere verify)."""
    url = f"rtsps://{quote(user, safe='')}:{quote(pw, safe='')}@127.0.0.1:{rtsps_port}/stream1"
    for i in range(attempts):
        t0 = time.monotonic()
        try:
            r = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
                                "stream=codec_name", "-of", "default=nw=1", url], capture_output=True, timeout=60)
            ok = r.returncode == 0 and b"codec_name=h264" in r.stdout
            err = r.stderr.decode(errors="replace")[-300:]
        except subprocess.TimeoutExpired:
            ok, err = False, "timeout"
        out["viewer"].append({"ok": ok, "seconds": time.monotonic() - t0, "stderr": "" if ok else err})
        if ok:
            return
        time.sleep(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rtsps-port", type=int, default=0)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--sources", type=int, default=50)
    ap.add_argument("--per-source", type=int, default=4)
    ap.add_argument("--first-block", type=int, default=1, choices=range(1, 200),
                    help="flood sources from 127.0.N.1 on (a phase of its own: addresses no other phase used)")
    ap.add_argument("--log-out", action="store_true", help="a flood login that succeeded logs out at once")
    ap.add_argument("--good-every", type=int, default=20,
                    help="every Nth flood login uses the right password (0: none)")
    ap.add_argument("--threads", type=int, default=40)
    ap.add_argument("--no-flood", action="store_true", help="only the owner's reads (a quiet baseline)")
    ap.add_argument("--quiet-seconds", type=float, default=0, help="with --no-flood: how long to read")
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--no-reads", action="store_true",
                    help="the flood only (the owner logs in and reads from another process)")
    ap.add_argument("--stop-file", help="with --no-flood: read until this file exists (at most --quiet-seconds)")
    ap.add_argument("--viewer-delay", type=float, default=1.0,
                    help="with --rtsps-port: seconds after the start before the viewer connects")
    ap.add_argument("--login-delay", type=float, default=-1,
                    help="seconds after the start before the owner logs in once more (timed; < 0: not)")
    a = ap.parse_args()
    ctx = context(a.cacert)
    out = {"status": {}, "busy_with_retry_after": 0, "good_ok": 0, "latencies": [], "device": [], "viewer": []}
    cookie = None
    if not a.no_reads:  # with --no-reads the owner logs in from its own process, not here as well
        st, cookie = owner_login(ctx, a.port, a.user, a.password)  # makes 127.0.0.1 a known source of the owner
        out["owner_login_before"] = st
        if st != 200 or not cookie:
            print(json.dumps(out))
            return 1
    stop = threading.Event()
    reader = threading.Thread(target=owner_reads, args=(ctx, a.port, cookie, stop, out, a.interval))
    t0 = time.monotonic()
    if not a.no_reads:
        reader.start()
    v = None
    if a.rtsps_port:  # with --no-flood too: the same viewer's quiet baseline
        v = threading.Thread(target=lambda: (time.sleep(a.viewer_delay),
                                             viewer(a.rtsps_port, a.user, a.password, out)))
        v.start()
    lg = None
    if a.login_delay >= 0:  # the owner logs in again from its known source, during the flood when there is one
        def timed_login():
            time.sleep(a.login_delay)
            t1 = time.monotonic()
            st1, _ = owner_login(ctx, a.port, a.user, a.password)
            out["owner_login_during"] = {"status": st1, "seconds": time.monotonic() - t1}
        lg = threading.Thread(target=timed_login)
        lg.start()
    if a.no_flood:
        end = t0 + a.quiet_seconds
        while time.monotonic() < end and not (a.stop_file and os.path.exists(a.stop_file)):
            time.sleep(0.01)
    else:
        out["flood_start"] = time.monotonic()
        flood(ctx, a.port, a.user, a.password, a.sources, a.per_source, a.good_every, a.threads, out,
              a.first_block, a.log_out)
        out["flood_end"] = time.monotonic()
    if v:
        v.join()
    out["flood_seconds"] = time.monotonic() - t0
    if lg:
        lg.join()
    stop.set()
    if not a.no_reads:
        reader.join()
    if not a.no_reads:
        out["owner_login_after"], _ = owner_login(ctx, a.port, a.user, a.password)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
