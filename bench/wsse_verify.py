#!/usr/bin/python3
"""Latency of the vault's WS-UsernameToken check (PROTO_VAULT_WSSE_VERIFY, what the ONVIF service asks per request)
through the real safecam-vault process and its IPC channel: PasswordDigest of an integration account (SHA-1, the
sealed secret unsealed, the nonce cache scanned) with the nonce cache nearly empty and holding N accepted nonces,
beside PasswordText of a person (one Argon2id verify on the hash workers). p50/p99 in ms, sequential.
Usage: SAFECAM_BUILD=build /usr/bin/python3 bench/wsse_verify.py [--n 300]"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import json

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "system"))
from conftest import bin_path, strong_password  # noqa: E402
from test_vault_process import Vault  # noqa: E402
from test_integrations import wsse_token  # noqa: E402

LOGIN, PASSWORD_CHANGE, WSSE_VERIFY, INTEGRATION_CREATE = 100, 104, 130, 132


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def timed(web, body, n):
    out = []
    for _ in range(n):
        b = body() if callable(body) else body
        t = time.perf_counter()
        r = web.call(WSSE_VERIFY, b)
        out.append((time.perf_counter() - t) * 1000)
        assert r.get("ok") is True, r
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-wsse-")
    try:
        state = os.path.join(tmp, "state")
        subprocess.run([bin_path("safecam-provision"), "--state-dir", state, "--label-out", tmp + "/l.json"],
                       check=True, capture_output=True)
        label = json.load(open(tmp + "/l.json"))
        v = Vault(state)
        web = v.channel("web")
        s = web.call(LOGIN, {"username": "admin", "password": label["initial_password"], "source": "127.0.0.1"})
        pw = strong_password()
        assert web.call(PASSWORD_CHANGE, {"session_id": s["session_id"], "username": "admin",
                                          "current_password": label["initial_password"], "new_password": pw,
                                          "source": "127.0.0.1"}) == {"ok": True}
        s = web.call(LOGIN, {"username": "admin", "password": pw, "source": "127.0.0.1"})
        secret = web.call(INTEGRATION_CREATE, {"session_id": s["session_id"], "username": "nvr1"})["secret"]
        dig = lambda: {"username": "nvr1", "source": "127.0.0.1", **wsse_token(secret)}  # noqa: E731
        first = timed(web, dig, a.n)
        fill = timed(web, dig, 3000 - a.n)  # the cache now holds ~3000 unexpired nonces
        full = timed(web, dig, a.n)
        text = timed(web, {"username": "admin", "password_type": "text", "password": pw, "source": "127.0.0.1"},
                     max(20, a.n // 10))
        for name, xs in (("digest, cache ~0..300", first), ("digest, cache ~3000", full), ("text (Argon2id)", text)):
            print(f"{name:24s} n={len(xs):4d}  p50 {pct(xs, 50):7.2f} ms  p99 {pct(xs, 99):7.2f} ms")
        del fill
        v.finish()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
