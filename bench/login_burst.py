#!/usr/bin/python3
"""Authenticated GET /api/v1/device latency (p50/p99, one TLS connection per request) and a new RTSPS viewer's
time to its first frame (ffprobe: RTSP DESCRIBE to the stream's codec read from the first frames, started
--viewer-delay s into the phase) on the whole camera in its default configuration, quiet and during login
bursts, all in one run inside a private network namespace (needs root):
  quiet        the owner's reads alone (--quiet-seconds);
  good x20     20 right-password logins at once from 20 addresses (the same 20 every burst; each logs out
               once in, so that the bursts do not end the owner's session by the cap of 16 per user);
  failed x200  200 wrong-password logins from 50 addresses, 40 at once (50 new addresses every burst).
A burst phase repeats its burst --bursts times, 1 s apart, and times only the GETs that started while a burst
was being answered: a burst lasts about a second, and a p99 needs about 100 GETs (the quiet phase's 8 s give
about 150).
The camera and the owner's client run on BENCH_CPUS (default: every CPU but CPU 0), the attacking client on
BENCH_CLIENT_CPUS (default CPU 0), as in the other benches. The owner reads from 127.0.0.1 (a source it logged
in from). With --login-delay S the owner also logs in once more from there, S seconds into each phase, and the
login's time is shown (a run for that figure: the login's own hash then falls among the timed GETs). Results go
to bench/README.md "Login burst".
Usage: SAFECAM_BUILD=build /usr/bin/python3 bench/login_burst.py [--quiet-seconds 8] [--bursts 8]
       [--viewer-delay 0.5] [--login-delay 0.3]"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "system"))
from conftest import Camera  # noqa: E402

TOOL = os.path.join(REPO, "tests", "system", "login_burst_tool.py")


def bench_cpus():
    """(camera CPUs, attacker CPUs) for taskset, as bench/common.bash's bench_cpus and bench_client_cpus:
    BENCH_CPUS and BENCH_CLIENT_CPUS, else every CPU but CPU 0 for the camera and CPU 0 for the attacking
    client (a one-CPU machine: both on CPU 0)."""
    n = os.cpu_count() or 1
    server = os.environ.get("BENCH_CPUS") or ("0" if n < 2 else "1" if n == 2 else f"1-{n - 1}")
    return server, os.environ.get("BENCH_CLIENT_CPUS") or "0"


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quiet-seconds", type=float, default=8)
    ap.add_argument("--bursts", type=int, default=8, choices=range(1, 21), metavar="1..20",
                    help="bursts per burst phase (8: about 100 GETs timed during them)")
    ap.add_argument("--viewer-delay", type=float, default=0.5)
    # The owner's own login, timed, this many seconds into each phase (< 0: none). Off by default: its hash
    # lands in the window where the GETs are timed, so runs with it measure the login, not the GET tail.
    ap.add_argument("--login-delay", type=float, default=-1)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (ip netns add)", file=sys.stderr)
        return 2
    ns = f"safecam-bench-{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="safecam-bench-")
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    proc = None
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True, timeout=10)
        cam = Camera(tmp)
        cam.curl = lambda *args, timeout=60, **kw: subprocess.run(
            ["ip", "netns", "exec", ns, "curl", "-sS", "--cacert", cam.cacert, "--max-time", str(timeout), *args],
            capture_output=True, timeout=timeout + 10, **kw)
        log = open(cam.log_path, "ab")
        server_cpus, client_cpus = bench_cpus()
        proc = subprocess.Popen(["taskset", "-c", server_cpus, "ip", "netns", "exec", ns, *cam.command()],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 40
        while cam.curl("-o", "/dev/null", "-w", "%{http_code}", f"{cam.base_url}/.well-known/security.txt",
                       timeout=2).stdout != b"200":
            if proc.poll() is not None or time.monotonic() > deadline:
                print(cam.read_log(), file=sys.stderr)
                return 1
            time.sleep(0.2)
        cam.admin()
        base = ["ip", "netns", "exec", ns, "/usr/bin/python3", TOOL, "--port", str(cam.https_port), "--cacert",
                cam.cacert, "--user", cam.label["admin_user"], "--password", cam.admin_password, "--interval", "0.05"]
        # The owner (reads and the viewer) in a process of its own: in the attacker's process its thread would
        # wait for the Python interpreter lock behind 40 flooding threads, a client-side delay. It runs on the
        # camera's CPUs in every phase alike; the attacker on the others, so that the 40 attacking threads' own
        # TLS work delays neither the camera nor the owner's client (a real attacker's CPU is not the camera's).
        owner = ["taskset", "-c", server_cpus] + base + [
            "--no-flood", "--rtsps-port", str(cam.rtsps_port), "--viewer-delay", str(a.viewer_delay),
            "--login-delay", str(a.login_delay)]
        # A phase's burst k (0..bursts-1) as the tool's arguments. The failed bursts come from addresses no other
        # burst used: an address that logged in to the account is a known source, and its checks are the owner's.
        phases = [
            ("quiet", None),
            ("good x20 (20 addresses)",
             lambda k: ["--sources", "20", "--per-source", "1", "--good-every", "1", "--threads", "20",
                        "--log-out"]),
            ("failed x200 (50 addresses, 40 at once)",
             lambda k: ["--sources", "50", "--per-source", "4", "--good-every", "0", "--threads", "40",
                        "--first-block", str(2 + k)]),
        ]
        rows = []
        for name, extra in phases:
            stop_file = os.path.join(tmp, "phase-over")
            if os.path.exists(stop_file):
                os.unlink(stop_file)
            windows = None  # (start, end) of each burst; None: every GET of the phase counts
            if extra is None:
                reader = subprocess.Popen(owner + ["--quiet-seconds", str(a.quiet_seconds)], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
                fl_status, fl_secs = {}, a.quiet_seconds
            else:
                reader = subprocess.Popen(owner + ["--quiet-seconds", "300", "--stop-file", stop_file],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                fl_status, fl_secs, windows = {}, [], []
                for k in range(a.bursts):
                    if k:
                        time.sleep(1)
                    f = subprocess.run(["taskset", "-c", client_cpus] + base + extra(k) + ["--no-reads"],
                                       capture_output=True, timeout=600)
                    if f.returncode != 0:
                        reader.kill()
                        print(f.stdout.decode(), f.stderr.decode(), file=sys.stderr)
                        return 1
                    fo = json.loads(f.stdout)
                    for key, n in fo["status"].items():
                        fl_status[key] = fl_status.get(key, 0) + n
                    fl_secs.append(fo["flood_end"] - fo["flood_start"])
                    windows.append((fo["flood_start"], fo["flood_end"]))
                with open(stop_file, "w"):
                    pass
            ro, re_ = reader.communicate(timeout=600)
            if reader.returncode != 0:
                print(ro.decode(), re_.decode(), file=sys.stderr)
                return 1
            out = json.loads(ro)
            timed_gets = [(st, dt) for st, dt, t0 in out["device"]
                          if windows is None or any(w0 <= t0 <= w1 for w0, w1 in windows)]
            lat = [dt * 1000 for st, dt in timed_gets if st == 200]
            bad = sum(1 for st, _ in timed_gets if st != 200)
            v = out["viewer"]
            view = v[0]["seconds"] if v and v[0]["ok"] else "failed"  # a failed first attempt: the row says so
            lg = out.get("owner_login_during")  # only with --login-delay
            login = None if lg is None else lg["seconds"] if lg.get("status") == 200 else f"HTTP {lg.get('status')}"
            rows.append((name, len(lat), bad, pct(lat, 50), pct(lat, 99), fl_status, fl_secs, view, login))
            time.sleep(1)
        q50, q99, qv, ql = rows[0][3], rows[0][4], rows[0][7], rows[0][8]
        print(f"{'phase':42} {'GETs':>5} {'non-200':>7} {'p50 ms':>8} {'p99 ms':>8} {'p50 x':>6} {'p99 x':>6}"
              f" {'viewer s':>8} {'view x':>6} {'login s':>7} {'login x':>7}  logins (status:count), seconds")

        def timed(x, quiet, w1, w2):
            """Seconds and their ratio to the quiet phase's; else what went wrong ("failed", "HTTP 429"), or "-"
            (not measured)."""
            if not isinstance(x, float):
                return f"{x or '-':>{w1}} {'-':>{w2}}"
            return f"{x:{w1}.2f} " + (f"{x / quiet:{w2}.2f}" if isinstance(quiet, float) and quiet else f"{'-':>{w2}}")

        for name, n, bad, p50, p99, status, secs, view, login in rows:
            vs, ls = timed(view, qv, 8, 6), timed(login, ql, 7, 7)
            took = (f"{len(secs)} bursts of {min(secs):.1f}-{max(secs):.1f}" if isinstance(secs, list) else
                    f"{secs:.1f}")
            print(f"{name:42} {n:5d} {bad:7d} {p50:8.1f} {p99:8.1f} {p50 / q50:6.2f} {p99 / q99:6.2f} {vs} {ls}  "
                  f"{json.dumps(status) if status else '-'}, {took}")
        return 0
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["ip", "netns", "del", ns], timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
