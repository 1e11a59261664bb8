"""qcvn-check RS-01 (QCVN 135 G8 / EN 303 645 5.9-1, 5.9-2): the restart test against small Python HTTPS
devices on loopback that really stop listening and come back on the same port after POST /api/v1/system/restart
— one keeps its settings and password (PASS), one comes back with factory settings (FAIL), one forgets the
admin password (FAIL). safecamd has no restart endpoint: with the demo profile RS-01 stays NEEDS_EVIDENCE
(test_check_safecamd.py). Without --allow-destructive or the profile's consent RS-01 never sends the restart."""
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import REPO, bin_path, strong_password
from fake_https import SESSION_COOKIE, JsonHandler, TlsServer

PROFILE = os.path.join(REPO, "data", "check", "profiles", "safecamd-demo.json")
FACTORY = {"lockout_threshold": 5, "idle_timeout_s": 900}


class Device:
    """A device whose web server restarts for real (socket closed, then re-bound after a pause)."""

    def __init__(self, tmp, password, mode):
        self.password, self.mode = password, mode
        self.settings = dict(FACTORY, lockout_threshold=7)  # the lab's configuration
        self.restarts = 0
        self.key, self.crt = tmp / "k.pem", tmp / "c.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", self.key, "-out", self.crt, "-days", "1", "-subj", "/CN=dev",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
        self.port = 0
        self.srv = None
        self.start()

    def start(self):
        dev = self

        class H(JsonHandler):
            def do_POST(self):
                data = self.body()
                if self.path == "/api/v1/session":
                    j = json.loads(data or b"{}")
                    if j.get("password") != dev.password:
                        return self.send(401, {"error": "invalid_credentials"})
                    return self.send(200, {"csrf_token": "c" * 32, "password_change_required": False},
                                     SESSION_COOKIE)
                if self.path == "/api/v1/system/restart":
                    if "sid=" not in (self.headers.get("Cookie") or ""):
                        return self.send(401, {"error": "unauthenticated"})
                    self.send(202, {"state": "restarting"})
                    threading.Thread(target=dev.restart, daemon=True).start()
                    return None
                return self.send(404, {"error": "not_found"})

            def do_DELETE(self):
                self.send(204)

            def do_GET(self):
                if self.path == "/api/v1/settings/security" and "sid=" in (self.headers.get("Cookie") or ""):
                    return self.send(200, dev.settings)
                if self.path == "/api/v1/device":
                    return self.send(200, {"firmware_version": "1.0.0"})
                return self.send(404, {"error": "not_found"})

        self.srv = TlsServer(H, self.crt, self.key, self.port)
        self.port = self.srv.start()

    def restart(self):
        time.sleep(0.2)
        self.srv.stop()
        time.sleep(1.5)
        self.restarts += 1
        if self.mode == "factory_settings":
            self.settings = dict(FACTORY)
        elif self.mode == "forgets_password":
            self.password = "factory-default"
        self.start()

    def stop(self):
        self.srv.stop()


def profile(tmp, dev, consent_restart=True, restart=True):
    with open(PROFILE) as f:
        prof = json.load(f)
    prof["services"] = [{"port": dev.port, "protocol": "tcp", "service": "https", "purpose": "admin API"}]
    prof.pop("rtsp", None)
    prof["tls"] = {"cafile": str(dev.crt)}
    prof["credentials"] = {"admin": {"username": "admin", "password_env": "QCVN_ADMIN_PASSWORD"}}
    prof["factory_state"] = False
    prof["consent"] = {"destructive": True, "restart": consent_restart}
    if restart:
        prof["restart"] = {"method": "POST", "path": "/api/v1/system/restart", "compare": ["/api/v1/settings/security"]}
    path = tmp / "profile.json"
    path.write_text(json.dumps(prof))
    return path


def run_rs01(tmp, dev, prof, *extra):
    out = tmp / "out"
    p = subprocess.run([bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--profile", str(prof),
                        "--https-port", str(dev.port), "--ports", "declared", "--out", str(out), "--format", "json",
                        "--only", "SC-01,RS-01", "--max-wait", "20", *extra],
                       capture_output=True, text=True, env=dict(os.environ, QCVN_ADMIN_PASSWORD=dev.password),
                       timeout=120)
    assert (out / "report.json").exists(), p.stderr
    res = {r["id"]: r for r in json.loads((out / "report.json").read_text())["results"]}
    return p, res["RS-01"]


@pytest.mark.parametrize("mode,verdict,why", [
    ("keeps", "PASS", "kept authentication"),
    ("factory_settings", "FAIL", "changed across the restart"),
    ("forgets_password", "FAIL", "no longer works"),
])
def test_rs01_restart(tmp_path, mode, verdict, why):
    dev = Device(tmp_path, strong_password(), mode)
    try:
        p, r = run_rs01(tmp_path, dev, profile(tmp_path, dev), "--allow-destructive")
        ev = "\n".join(r["evidence"])
        assert r["verdict"] == verdict, r["reason"] + "\n" + ev + "\n" + p.stderr
        assert why in r["reason"], r["reason"]
        assert dev.restarts == 1, ev
        assert "POST /api/v1/system/restart [admin session] -> 202" in ev and "web port closed" in ev, ev
        if mode == "factory_settings":
            assert "/api/v1/settings/security differs after the restart" in ev, ev
    finally:
        dev.stop()


def test_rs01_needs_flag_and_consent(tmp_path):
    dev = Device(tmp_path, strong_password(), "keeps")
    try:
        _, r = run_rs01(tmp_path, dev, profile(tmp_path, dev))  # no --allow-destructive
        assert r["verdict"] == "NEEDS_EVIDENCE", r
        _, r = run_rs01(tmp_path, dev, profile(tmp_path, dev, consent_restart=False), "--allow-destructive")
        assert r["verdict"] == "NEEDS_EVIDENCE" and "consent.restart" in r["reason"], r
        _, r = run_rs01(tmp_path, dev, profile(tmp_path, dev, restart=False), "--allow-destructive")
        assert r["verdict"] == "NEEDS_EVIDENCE" and "restart.path" in r["reason"], r
        assert dev.restarts == 0
    finally:
        dev.stop()
