"""bench/seccomp.py — driver of bench/seccomp.sh (inside its network namespace): what the seccomp allowlists
cost. The whole camera (safecamd and its four processes, default configuration, test pattern) of the product
build and of a measurement build without the filters (meson -Dseccomp=false) each stream to the same number of
RTSPS viewers; the media process's CPU is read from /proc over the same window. Builds alternate, ROUNDS times,
and the median ratio is printed. A round whose viewers failed is marked failed, never printed as a figure.
Benchmark harness only; Debian's /usr/bin/python3; every connection goes to 127.0.0.1 of the namespace."""
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "system"))
import media_rtsps  # noqa: E402
from media_rtsps import Viewer, cpu_seconds  # noqa: E402

BUILDS = {"filter": os.environ["BENCH_BUILD_FILTER"], "no filter": os.environ["BENCH_BUILD_NOFILTER"]}
VIEWERS = int(os.environ.get("BENCH_VIEWERS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARM_S = float(os.environ.get("BENCH_WARM_SECS", "3"))
MEASURE_S = float(os.environ.get("BENCH_MEASURE_SECS", "10"))
TMP = os.environ["BENCH_TMP"]
SERVER_CPUS = os.environ.get("BENCH_CPUS", "")


def api(cacert, method, path, body=None, cookie=None, csrf=None):
    ctx = ssl.create_default_context(cafile=cacert)
    c = http.client.HTTPSConnection("127.0.0.1", 8443, context=ctx, timeout=30)
    h = {"Content-Type": "application/json"}
    if cookie:
        h["Cookie"] = cookie
    if csrf:
        h["X-CSRF-Token"] = csrf
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    cookie_out = next((v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie"), None)
    return r.status, (json.loads(data) if data else None), cookie_out


def media_pid(sup_pid):
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat") as f:
                    st = f.read()
                with open(f"/proc/{e}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if comm == "safecam-media" and int(st.rsplit(")", 1)[1].split()[1]) == sup_pid:
                return int(e)
    return None


def one_round(name, build):
    d = tempfile.mkdtemp(prefix="cam-", dir=TMP)
    os.chmod(d, 0o711)
    state, label = os.path.join(d, "state"), os.path.join(d, "label.json")
    subprocess.run([os.path.join(build, "tools", "safecam-provision"), "--state-dir", state, "--label-out", label],
                   check=True, capture_output=True)
    lab = json.load(open(label))
    cacert = os.path.join(state, "factory", "tls.crt")
    log = open(os.path.join(d, "safecamd.log"), "wb")
    wrap = ["taskset", "-c", SERVER_CPUS] if SERVER_CPUS else []
    p = subprocess.Popen(wrap + [os.path.join(build, "daemon", "safecamd"), "--state-dir", state, "--bind",
                                 "127.0.0.1", "--https-port", "8443", "--rtsps-port", "8322"],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                st, j, ck = api(cacert, "POST", "/api/v1/session",
                                {"username": lab["admin_user"], "password": lab["initial_password"]})
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert st == 200, (st, j)
        pw = "Qz7#" + os.urandom(9).hex() + "!9a"
        st, j, _ = api(cacert, "PUT", f"/api/v1/users/{lab['admin_user']}/password",
                       {"current_password": lab["initial_password"], "new_password": pw}, ck, j["csrf_token"])
        assert st == 204, (st, j)
        media_rtsps.USER, media_rtsps.PW = lab["admin_user"], pw
        time.sleep(2)
        mpid = media_pid(p.pid)
        viewers = [Viewer(8322, cacert) for _ in range(VIEWERS)]
        for v in viewers:
            v.start()
        time.sleep(WARM_S)
        c0, b0 = cpu_seconds(mpid), sum(v.bytes for v in viewers)
        time.sleep(MEASURE_S)
        c1, b1 = cpu_seconds(mpid), sum(v.bytes for v in viewers)
        for v in viewers:
            v.stop.set()
        for v in viewers:
            v.join(10)
        failed = [v for v in viewers if v.error or v.bytes == 0]
        rate = (b1 - b0) * 8 / MEASURE_S / 1e6 / VIEWERS
        if failed or mpid != media_pid(p.pid):
            print(f"  {name:9s}: FAILED ({len(failed)} of {VIEWERS} viewers failed or media restarted)", flush=True)
            return None
        cpu = (c1 - c0) / MEASURE_S * 100
        print(f"  {name:9s}: media CPU {cpu:5.1f}%  {rate:4.2f} Mbit/s per viewer", flush=True)
        return cpu
    finally:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
        log.close()


def main():
    print(f"seccomp cost: whole camera, {VIEWERS} RTSPS viewers, {ROUNDS} alternating rounds of "
          f"{MEASURE_S:.0f} s", flush=True)
    res = {k: [] for k in BUILDS}
    for _ in range(ROUNDS):
        for name, build in BUILDS.items():
            res[name].append(one_round(name, build))
    ratios = [a / b for a, b in zip(res["filter"], res["no filter"]) if a is not None and b]
    if not ratios:
        print("ratio: FAILED (no round where both builds served every viewer)")
        return 1
    print(f"media CPU with / without its seccomp filter at {VIEWERS} viewers: median ratio "
          f"{statistics.median(ratios):.3f} (rounds: {', '.join(f'{r:.3f}' for r in ratios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
