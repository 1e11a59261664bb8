"""qcvn-check DEL-01..DEL-04 (QCVN 135 G9 / EN 303 645 5.11-1, 5.11-4): the deletion tests against small Python
HTTPS devices on loopback with recordings that can be seeded, listed and deleted, and a factory reset that really
restarts the web server with a new TLS key (signed by the test's CA) — one compliant (PASS), one that deletes
without the confirmation field (DEL-04 FAIL), one whose reset keeps the lab's admin password (DEL-03 FAIL).
Against safecamd (captures + factory reset) the four PASS: test_check_safecamd.py::test_safecamd_passes_the_deletion_tests.
Without --allow-destructive or the profile's consent nothing destructive is sent."""
import json
import os
import subprocess
import threading
import time

from conftest import REPO, bin_path, strong_password
from fake_https import SESSION_COOKIE, JsonHandler, TlsServer

PROFILE = os.path.join(REPO, "data", "check", "profiles", "safecamd-demo.json")
INITIAL = "Label-Init-7x#Q"


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


class Device:
    """A camera with a recordings API and a factory reset that restarts it with factory credentials and a new key."""

    def __init__(self, tmp, password, mode):
        self.tmp, self.password, self.mode = tmp, password, mode
        self.recordings, self.next_id, self.resets, self.destructive = [], 1, 0, []
        self.change_required = False
        self.ca_key, self.ca = tmp / "ca.key", tmp / "ca.pem"
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                self.ca_key, "-out", self.ca, "-days", "1", "-subj", "/CN=test-ca")
        self.new_key()
        self.port, self.srv = 0, None
        self.start()

    def new_key(self):
        key, csr, crt, ext = self.tmp / "k.pem", self.tmp / "c.csr", self.tmp / "c.pem", self.tmp / "ext.cnf"
        ext.write_text("subjectAltName=IP:127.0.0.1\n")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", csr, "-subj", "/CN=dev")
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial", "-out", crt,
                "-days", "1", "-extfile", ext)
        self.key, self.crt = key, crt

    def start(self):
        dev = self

        class H(JsonHandler):
            def do_POST(self):
                j = self.json_body()
                if self.path == "/api/v1/session":
                    if j.get("password") != dev.password:
                        return self.send(401, {"error": "invalid_credentials"})
                    return self.send(200, {"csrf_token": "c" * 32, "password_change_required": dev.change_required},
                                     SESSION_COOKIE)
                if not self.authed():
                    return self.send(401, {"error": "unauthenticated"})
                if self.path == "/api/v1/recordings/seed":
                    rid = "rec-%d" % dev.next_id
                    dev.next_id += 1
                    dev.recordings.append(rid)
                    return self.send(201, {"id": rid})
                if self.path == "/api/v1/system/factory-reset":
                    if j.get("confirm") is not True:
                        return self.send(400, {"error": "confirmation_required"})
                    dev.destructive.append("factory-reset")
                    self.send(202, {"state": "erasing"})
                    threading.Thread(target=dev.reset, daemon=True).start()
                    return None
                return self.send(404, {"error": "not_found"})

            def do_PUT(self):
                j = self.json_body()
                if self.path == "/api/v1/users/admin/password" and self.authed():
                    if j.get("current_password") != dev.password:
                        return self.send(403, {"error": "invalid_credentials"})
                    dev.password, dev.change_required = j.get("new_password"), False
                    return self.send(204)
                return self.send(404, {"error": "not_found"})

            def do_DELETE(self):
                j = self.json_body()
                if self.path == "/api/v1/session":
                    return self.send(204)
                if not self.authed():
                    return self.send(401, {"error": "unauthenticated"})
                rid = self.path.rsplit("/", 1)[-1]
                if self.path.startswith("/api/v1/recordings/") and rid in dev.recordings:
                    if j.get("confirm") is not True and dev.mode != "no_confirm":
                        return self.send(400, {"error": "confirmation_required"})
                    dev.recordings.remove(rid)
                    dev.destructive.append("delete " + rid)
                    return self.send(200, {"deleted": rid, "result": "ok"})
                return self.send(404, {"error": "not_found"})

            def do_GET(self):
                if self.path == "/api/v1/recordings" and self.authed():
                    return self.send(200, {"recordings": [{"id": r} for r in dev.recordings]})
                if self.path == "/api/v1/device":
                    return self.send(200, {"firmware_version": "1.0.0"})
                return self.send(404, {"error": "not_found"})

        self.srv = TlsServer(H, self.crt, self.key, self.port)
        self.port = self.srv.start()

    def reset(self):
        time.sleep(0.2)
        self.srv.stop()
        self.recordings = []
        self.new_key()
        if self.mode != "keeps_password":
            self.password, self.change_required = INITIAL, True
        self.resets += 1
        time.sleep(0.5)
        self.start()

    def stop(self):
        self.srv.stop()


def profile(tmp, dev, consent=True, declared=True):
    with open(PROFILE) as f:
        prof = json.load(f)
    prof["services"] = [{"port": dev.port, "protocol": "tcp", "service": "https", "purpose": "admin API"}]
    prof.pop("rtsp", None)
    prof["tls"] = {"cafile": str(dev.ca)}
    prof["credentials"] = {"admin": {"username": "admin", "password_env": "QCVN_ADMIN_PASSWORD"},
                           "initial_password_env": "QCVN_INITIAL_PASSWORD"}
    prof["factory_state"] = False
    prof["consent"] = {"destructive": True, "deletion": consent, "factory_reset": consent}
    if declared:
        prof["deletion"] = {
            "seed": {"method": "POST", "path": "/api/v1/recordings/seed", "body": {"kind": "test"}},
            "list": {"method": "GET", "path": "/api/v1/recordings"},
            "delete_one": {"method": "DELETE", "path": "/api/v1/recordings/{id}"},
            "factory_reset": {"method": "POST", "path": "/api/v1/system/factory-reset"},
            "confirm_field": "confirm"}
    else:
        prof.pop("deletion", None)  # the safecamd profile declares its own
    path = tmp / "profile.json"
    path.write_text(json.dumps(prof))
    return path


def run_del(tmp, dev, prof, *extra, only="SC-01,DEL-01,DEL-02,DEL-03,DEL-04"):
    out = tmp / "out"
    p = subprocess.run([bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--profile", str(prof),
                        "--https-port", str(dev.port), "--ports", "declared", "--out", str(out), "--format", "json",
                        "--only", only, "--max-wait", "15", *extra],
                       capture_output=True, text=True,
                       env=dict(os.environ, QCVN_ADMIN_PASSWORD=dev.password, QCVN_INITIAL_PASSWORD=INITIAL),
                       timeout=120)
    assert (out / "report.json").exists(), p.stderr
    report = (out / "report.json").read_text()
    res = {r["id"]: r for r in json.loads(report)["results"]}
    return p, res


def show(r):
    return r["verdict"] + ": " + r["reason"] + "\n" + "\n".join(r["evidence"])


def test_del_compliant(tmp_path):
    lab_pw = strong_password()
    dev = Device(tmp_path, lab_pw, "compliant")
    try:
        _, res = run_del(tmp_path, dev, profile(tmp_path, dev), "--allow-destructive")
        for t in ("DEL-01", "DEL-02", "DEL-03", "DEL-04"):
            assert res[t]["verdict"] == "PASS", t + " " + show(res[t])
        ev3 = "\n".join(res["DEL-03"]["evidence"])
        assert "new TLS key, seeded data gone" in res["DEL-03"]["reason"] and "TLS public key SHA-256 before: " in ev3, ev3
        assert "DELETE /api/v1/recordings/" in "\n".join(res["DEL-04"]["evidence"])
        assert "without confirmation] -> 400" in "\n".join(res["DEL-04"]["evidence"])
        assert dev.resets == 1 and dev.password == lab_pw  # DEL-03 gave the lab its password back
        assert INITIAL not in json.dumps(res) and lab_pw not in json.dumps(res)
    finally:
        dev.stop()


def test_del04_deletes_without_confirmation(tmp_path):
    dev = Device(tmp_path, strong_password(), "no_confirm")
    try:
        _, res = run_del(tmp_path, dev, profile(tmp_path, dev), "--allow-destructive", only="SC-01,DEL-02,DEL-04")
        assert res["DEL-04"]["verdict"] == "FAIL" and "without the confirmation" in res["DEL-04"]["reason"], \
            show(res["DEL-04"])
        assert res["DEL-02"]["verdict"] == "PASS", show(res["DEL-02"])
    finally:
        dev.stop()


def test_del03_reset_keeps_admin_password(tmp_path):
    dev = Device(tmp_path, strong_password(), "keeps_password")
    try:
        _, res = run_del(tmp_path, dev, profile(tmp_path, dev), "--allow-destructive", only="SC-01,DEL-03")
        r = res["DEL-03"]
        assert r["verdict"] == "FAIL" and "still works" in r["reason"], show(r)
        assert dev.resets == 1
    finally:
        dev.stop()


def test_del_nothing_destructive_without_flag_or_consent(tmp_path):
    dev = Device(tmp_path, strong_password(), "compliant")
    try:
        _, res = run_del(tmp_path, dev, profile(tmp_path, dev))  # no --allow-destructive
        for t in ("DEL-01", "DEL-02", "DEL-03", "DEL-04"):
            assert res[t]["verdict"] == "NEEDS_EVIDENCE" and "--allow-destructive" in res[t]["reason"], show(res[t])
        _, res = run_del(tmp_path, dev, profile(tmp_path, dev, consent=False), "--allow-destructive")
        assert "consent.deletion" in res["DEL-02"]["reason"] and "consent.factory_reset" in res["DEL-03"]["reason"]
        _, res = run_del(tmp_path, dev, profile(tmp_path, dev, declared=False), "--allow-destructive")
        for t in ("DEL-01", "DEL-02", "DEL-03", "DEL-04"):
            assert res[t]["verdict"] == "NEEDS_EVIDENCE" and "deletion." in res[t]["reason"], show(res[t])
        assert dev.resets == 0 and dev.destructive == [] and dev.recordings == []
    finally:
        dev.stop()
