"""qcvn-check UP-03/UP-04 (QCVN 135 G3 / EN 303 645 5.3-9, 5.3-10) against real targets: the real safecamd
provisioned with a vendor key made at test time (safecam-sign keygen, safecam-provision --update-pubkey) and a
good bundle signed by the real safecam-sign for the camera's model; qcvn-check uploads tampered copies (never
the bundle itself) and must report UP-03 PASS with the camera's slots unchanged. A deliberately broken update
server (a small Python HTTPS server on loopback that answers 200 to any upload) must get UP-03 and UP-04 FAIL."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import REPO, Camera, bin_path, strong_password
from fake_https import SESSION_COOKIE, JsonHandler, TlsServer

PROFILE = os.path.join(REPO, "data", "check", "profiles", "safecamd-demo.json")


def sign_tool(*args):
    return subprocess.run([bin_path("safecam-sign"), *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor")
    r = sign_tool("keygen", "--out", d / "v1")
    assert r.returncode == 0, r.stderr
    (d / "rootfs.tar").write_bytes(os.urandom(200_000))
    return d


def make(d, name, model, version, sv):
    out = d / name
    r = sign_tool("sign", "--key", d / "v1.key", "--model", model, "--version", version, "--security-version", sv,
                  "--payload", d / "rootfs.tar", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def cam(vendor):
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    c = Camera(tmp, provision_args=["--update-pubkey", vendor / "v1.pub"])
    c.start()
    yield c
    c.stop()
    bad = c.sanitizer_report()
    shutil.rmtree(tmp, ignore_errors=True)
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])


def write_profile(path, update, cafile=None, port=None):
    with open(PROFILE) as f:
        prof = json.load(f)
    prof["update"] = update
    prof["factory_state"] = False
    prof["credentials"] = {"admin": {"username": "admin", "password_env": "QCVN_ADMIN_PASSWORD"}}
    if cafile:
        prof["tls"] = {"cafile": str(cafile)}
    if port:
        prof["services"] = [{"port": port, "protocol": "tcp", "service": "https", "purpose": "admin API"}]
        prof.pop("rtsp", None)
    path.write_text(json.dumps(prof))
    return path


def run_check(profile, https_port, out, env, only, rtsps_port=None):
    args = [bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--profile", str(profile),
            "--https-port", str(https_port), "--ports", "declared", "--out", str(out), "--format", "json",
            "--only", only]
    if rtsps_port:
        args += ["--rtsps-port", str(rtsps_port)]
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    rep = out / "report.json"
    assert rep.exists(), p.stdout + p.stderr
    return p, {r["id"]: r for r in json.loads(rep.read_text())["results"]}


def slot_view(sess):
    st, _, body = sess.request("GET", "/api/v1/device")
    assert st == 200, body
    d = json.loads(body)
    return {"running": d.get("running_slot"), "slots": d.get("slots"), "firmware_version": d.get("firmware_version")}


def test_up03_tampered_bundles_refused_by_safecamd(cam, vendor, tmp_path):
    admin = cam.admin()
    before = slot_view(admin)
    assert before["slots"], before
    good = make(vendor, "good.bundle", cam.label["model"], "1.0.1", 1)
    # the good bundle is valid for this camera (so each refusal is due to the tampering alone)
    r = sign_tool("verify", "--pub", vendor / "v1.pub", "--model", cam.label["model"], good)
    assert r.returncode == 0, r.stdout + r.stderr
    prof = write_profile(tmp_path / "profile.json", {"method": "POST", "path": "/api/v1/system/update",
                                                     "bundle_file": str(good),
                                                     "content_type": "application/octet-stream"}, cafile=cam.cacert)
    env = dict(os.environ, QCVN_ADMIN_PASSWORD=cam.admin_password, QCVN_USER_PASSWORD=strong_password())
    p, res = run_check(prof, cam.https_port, tmp_path / "out", env, "SC-01,UP-03,UP-04", cam.rtsps_port)
    up3 = res["UP-03"]
    ev = "\n".join(up3["evidence"])
    assert up3["verdict"] == "PASS", up3["reason"] + "\n" + ev + "\n" + p.stderr
    # evidence: status and the device's stable error code per variant
    assert "-> 422 error=hash_mismatch" in ev, ev
    assert "-> 422 error=bad_signature" in ev, ev
    assert "-> 422 error=truncated" in ev, ev
    assert "device version before" in ev and "device version after" in ev, ev
    assert len(up3["data"]["uploads"]) == 4, up3
    echo = json.loads((tmp_path / "out" / "report.json").read_text())["profile"]["update"]
    assert echo["bundle_file"] == str(good) and echo["content_type"] == "application/octet-stream", echo
    # no older bundle declared: UP-04 asks for one
    assert res["UP-04"]["verdict"] == "NEEDS_EVIDENCE", res["UP-04"]
    # the camera's slots are unchanged and nothing is pending
    assert slot_view(cam.admin()) == before
    st, _, body = cam.admin().request("GET", "/api/v1/system/update")
    assert st == 200 and json.loads(body).get("trying") in (None, "", before["running"]), body
    assert cam.admin_password not in p.stdout + p.stderr + (tmp_path / "out" / "report.json").read_text()


def wait_installed(cam, version, old_web, timeout=90):
    """After a 202 the camera restarts its children into the new slot; returns once GET says installed."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if cam.pids().get("web") not in (None, old_web):
                s = cam.login(cam.label["admin_user"], cam.admin_password, expect=None)
                if s.last.status == 200:
                    st, _, body = s.request("GET", "/api/v1/system/update")
                    last = body
                    if st == 200 and json.loads(body).get("state") == "installed" \
                            and json.loads(body).get("version") == version:
                        return s
        except (RuntimeError, OSError, ValueError) as e:  # the web process restarts
            last = e
        time.sleep(0.3)
    raise AssertionError(f"{version} not installed: {last}\n" + cam.read_log()[-3000:])


def test_up04_downgrade_refused_by_safecamd(vendor, tmp_path):
    """The camera runs a bundle of security version 2 (installed through the API by the test); qcvn-check
    uploads the vendor's older bundle (security version 1): UP-04 PASS with the device's rollback refusal."""
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    c = Camera(tmp, provision_args=["--update-pubkey", vendor / "v1.pub"])
    c.start()
    try:
        admin = c.admin()
        model = c.label["model"]
        newer = make(vendor, "sv2.bundle", model, "1.2.0", 2)
        older = make(vendor, "sv1.bundle", model, "1.1.0", 1)
        old_web = c.pids().get("web")
        st, _, body = admin.request("POST", "/api/v1/system/update", data=newer.read_bytes(),
                                    content_type="application/octet-stream")
        assert st == 202, body
        s = wait_installed(c, "1.2.0", old_web)
        before = slot_view(s)
        prof = write_profile(tmp_path / "profile.json", {"method": "POST", "path": "/api/v1/system/update",
                                                         "older_bundle_file": str(older)}, cafile=c.cacert)
        env = dict(os.environ, QCVN_ADMIN_PASSWORD=c.admin_password)
        p, res = run_check(prof, c.https_port, tmp_path / "out", env, "SC-01,UP-03,UP-04", c.rtsps_port)
        up4 = res["UP-04"]
        ev = "\n".join(up4["evidence"])
        assert up4["verdict"] == "PASS", up4["reason"] + "\n" + ev + "\n" + p.stderr
        assert "-> 422 error=rollback" in ev, ev
        assert res["UP-03"]["verdict"] == "NEEDS_EVIDENCE", res["UP-03"]  # no bundle_file declared
        assert slot_view(c.admin()) == before
    finally:
        c.stop()
        bad = c.sanitizer_report()
        shutil.rmtree(tmp, ignore_errors=True)
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])


def test_up03_bad_profile_field_is_one_line(tmp_path):
    prof = write_profile(tmp_path / "profile.json", {"method": "POST", "path": "/api/v1/system/update",
                                                     "bundle_file": "x.bundle", "content_type": 5})
    p = subprocess.run([bin_path("qcvn-check"), "--target", "127.0.0.1", "--profile", str(prof),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "update.content_type" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


# ---------------------------------------------------------------- a broken device: takes any upload


class Broken(JsonHandler):
    uploads = []

    def do_POST(self):
        data = self.body()
        if self.path == "/api/v1/session":
            self.send(200, {"csrf_token": "t" * 32, "password_change_required": False},
                       SESSION_COOKIE)
        elif self.path == "/api/v1/system/update":
            Broken.uploads.append(hashlib.sha256(data).hexdigest())
            self.send(200, {"state": "installed"})
        else:
            self.send(404, {"error": "not_found"})

    def do_DELETE(self):
        self.send(204, {})

    def do_GET(self):
        if self.path == "/api/v1/device":
            self.send(200, {"firmware_version": "1.0.0"})
        else:
            self.send(404, {"error": "not_found"})


@pytest.fixture
def broken(tmp_path):
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=broken",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    srv = TlsServer(Broken, crt, key)
    Broken.uploads = []
    yield srv.start(), crt
    srv.stop()


def test_up03_up04_fail_on_device_that_takes_any_upload(broken, vendor, tmp_path):
    port, crt = broken
    good = make(vendor, "g.bundle", "SC-100", "1.0.1", 2)
    older = make(vendor, "old.bundle", "SC-100", "1.0.0", 1)
    prof = write_profile(tmp_path / "profile.json", {"method": "POST", "path": "/api/v1/system/update",
                                                     "bundle_file": str(good), "older_bundle_file": str(older)},
                         cafile=crt, port=port)
    env = dict(os.environ, QCVN_ADMIN_PASSWORD=strong_password(), QCVN_USER_PASSWORD=strong_password())
    p, res = run_check(prof, port, tmp_path / "out", env, "SC-01,UP-03,UP-04")
    assert res["UP-03"]["verdict"] == "FAIL", res["UP-03"]
    assert "accepted" in res["UP-03"]["reason"], res["UP-03"]
    assert any("payload byte flipped" in e and "-> 200" in e for e in res["UP-03"]["evidence"]), res["UP-03"]
    assert res["UP-04"]["verdict"] == "FAIL", res["UP-04"]
    # UP-03 stops at the first accepted copy; the good bundle itself was never sent
    assert len(Broken.uploads) == 2, Broken.uploads  # one tampered copy (then stop) + the older bundle
    assert hashlib.sha256(good.read_bytes()).hexdigest() not in Broken.uploads
    assert Broken.uploads[1] == hashlib.sha256(older.read_bytes()).hexdigest()
    assert p.returncode != 0  # a mandatory FAIL
