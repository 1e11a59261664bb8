"""System tests for firmware updates through the real daemon (safecamd -> safecam-update, fed by
safecam-web): POST /api/v1/system/update (admin, CSRF, streamed octet body) refuses every bad bundle of
issue #4 with the same stable code `safecam-sign verify` prints (both run lib/update's verifier), changes
nothing on refusal and records update_refused; a good bundle answers 202, the camera restarts itself into
the new slot (GET /api/v1/device shows it) with users and settings intact; anti-rollback; the online path
against nginx on loopback with a CA made at test time (self-signed, wrong-name and expired servers
refused); and the health-check rollback: a slot whose files no longer match their signed manifest never
becomes healthy, and the boot counter brings the previous slot back by itself.
QCVN 135 G3 / EN 303 645 5.3-2, 5.3-3, 5.3-7, 5.3-9, 5.3-10; G8. Keys are made at test time (tmp)."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import Camera, bin_path, free_port

CAP = 1024 * 1024  # max_bundle_bytes configured on the camera (config.json "update")
PATH = "/api/v1/system/update"


def sign_tool(*args):
    return subprocess.run([bin_path("safecam-sign"), *map(str, args)], capture_output=True, text=True, timeout=120)


def run(*args):
    subprocess.run(list(map(str, args)), check=True, capture_output=True, timeout=60)


# ---------------------------------------------------------------- the vendor's side


# The tests share one module camera and build on each other's slots (A, then B...): under xdist they stay
# together on one worker, in file order.
pytestmark = pytest.mark.xdist_group("update_api")


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor")
    for name in ("v1", "v2"):
        r = sign_tool("keygen", "--out", d / name)
        assert r.returncode == 0, r.stderr
    (d / "rootfs.tar").write_bytes(os.urandom(300_000))
    (d / "big.tar").write_bytes(os.urandom(CAP + 200_000))
    (d / "mid.tar").write_bytes(os.urandom(900_000))  # more than the relay pipe holds
    return d


def make(d, name, model, version, sv, key="v1", payload="rootfs.tar"):
    out = d / name
    if out.exists():
        out.unlink()
    r = sign_tool("sign", "--key", d / f"{key}.key", "--model", model, "--version", version,
                  "--security-version", sv, "--payload", d / payload, "--out", out)
    assert r.returncode == 0, r.stderr
    return out


# ---------------------------------------------------------------- a vendor update server (nginx)


def make_cert(pki, name, san, ca=None, days=1):
    """A server certificate (EC P-256) for san, signed by ca (or self-signed); days < 0: already expired."""
    key, csr, crt, ext = (pki / f"{name}.{x}" for x in ("key", "csr", "crt", "ext"))
    ext.write_text(f"subjectAltName={san}\n")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
        "-out", csr, "-subj", "/CN=update-server")
    if ca:
        run("openssl", "x509", "-req", "-in", csr, "-CA", pki / f"{ca}.crt", "-CAkey", pki / f"{ca}.key",
            "-set_serial", "7", "-out", crt, "-days", days, "-extfile", ext)
    else:
        run("openssl", "x509", "-req", "-in", csr, "-signkey", key, "-out", crt, "-days", days, "-extfile", ext)


@pytest.fixture(scope="module")
def update_server(tmp_path_factory):
    """One nginx, four HTTPS servers on loopback: good, self-signed, wrong host name, expired."""
    if not os.access("/usr/sbin/nginx", os.X_OK) or not shutil.which("openssl"):
        pytest.skip("nginx or openssl missing (scripts/install-deps)")
    d = tmp_path_factory.mktemp("updsrv")
    os.chmod(d, 0o755)
    pki, www = d / "pki", d / "www"
    pki.mkdir()
    www.mkdir()
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", pki / "ca.key", "-out", pki / "ca.crt", "-days", "1", "-subj", "/CN=test vendor CA")
    make_cert(pki, "good", "IP:127.0.0.1,DNS:localhost", "ca")
    make_cert(pki, "selfsigned", "IP:127.0.0.1,DNS:localhost")
    make_cert(pki, "wrongname", "DNS:updates.example.com", "ca")
    make_cert(pki, "expired", "IP:127.0.0.1,DNS:localhost", "ca", days=-1)
    names = ["good", "selfsigned", "wrongname", "expired"]
    ports = {n: free_port() for n in names}
    servers = "".join(
        f" server {{ listen 127.0.0.1:{ports[n]} ssl; ssl_certificate {pki}/{n}.crt;"
        f" ssl_certificate_key {pki}/{n}.key; root {www}; }}\n" for n in names)
    conf = d / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; client_body_temp_path {d}/t1; proxy_temp_path {d}/t2; fastcgi_temp_path {d}/t3;\n"
        f" uwsgi_temp_path {d}/t4; scgi_temp_path {d}/t5; default_type application/octet-stream;\n{servers}}}\n")
    proc = subprocess.Popen(["/usr/sbin/nginx", "-p", str(d), "-e", "stderr", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    up = set()
    while time.monotonic() < deadline and len(up) < len(names):
        for n in names:
            try:
                with socket.create_connection(("127.0.0.1", ports[n]), timeout=1):
                    up.add(n)
            except OSError:
                pass
        time.sleep(0.05)
    if len(up) < len(names):
        proc.kill()
        pytest.fail("nginx did not start")
    yield {"dir": d, "www": www, "ca": pki / "ca.crt", "ports": ports}
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


# ---------------------------------------------------------------- the camera


def write_config(cam, update):
    """config.json's "update" section (what provisioning would write); read by safecam-update."""
    path = os.path.join(cam.state_dir, "config.json")
    cfg = {"version": 1}
    if os.path.exists(path):
        with open(path) as f:
            cfg = json.load(f)
    cfg["update"] = update
    tmp = path + ".test-tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f)
    os.replace(tmp, path)


@pytest.fixture(scope="module")
def cam(vendor, update_server):
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    # the vendor's CA where a camera keeps it (factory/update-ca.pem, installed by provisioning): the update
    # process's own user and filesystem view reach it there, not in the test's directory
    c = Camera(tmp, provision_args=["--update-pubkey", vendor / "v1.pub", "--update-ca", update_server["ca"]])
    c.online = {"online_enabled": True, "server_url": f"https://127.0.0.1:{update_server['ports']['good']}",
                "ca_file": "", "auto_install": False, "max_bundle_bytes": CAP}
    write_config(c, c.online)
    c.start()
    if "update" not in c.pids():
        c.stop()
        pytest.fail("safecam-update is not running:\n" + c.read_log())
    yield c
    c.stop()
    bad = c.sanitizer_report()
    shutil.rmtree(tmp, ignore_errors=True)
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])


@pytest.fixture(scope="module")
def admin(cam):
    a = cam.admin()
    a.cam = cam
    return a


def relogin(cam):
    """A fresh admin session (after a restart), retried while the camera comes back."""
    deadline = time.monotonic() + 60
    last = None
    while time.monotonic() < deadline:
        try:
            s = cam.login(cam.label["admin_user"], cam.admin_password, expect=None)
            if s.last.status == 200:
                return s
            last = s.last
        except RuntimeError as e:  # connection refused while the web process restarts
            last = e
        time.sleep(0.3)
    raise AssertionError(f"cannot log in again: {last}\n{cam.read_log()[-4000:]}")


# The gate refuses (401/403) from the headers, before any body byte, and closes the connection: a client
# that is already sending its body may then see a broken pipe instead of the answer. Browsers and curl
# ask first for bodies over 1 MiB; the gate tests ask explicitly.
EXPECT = {"Expect": "100-continue"}


def upload(sess, data, csrf=True, content_type="application/octet-stream", headers=None):
    return sess.request("POST", PATH, data=data, content_type=content_type, csrf=csrf, headers=headers)


def device(sess):
    r = sess.request("GET", "/api/v1/device")
    assert r.status == 200, r
    return r.json()


def slot_view(sess):
    d = device(sess)
    assert "slots" in d and "running_slot" in d, d
    return {"running": d["running_slot"], "slots": d["slots"], "firmware_version": d["firmware_version"]}


def status(sess):
    r = sess.request("GET", PATH)
    assert r.status == 200, r
    return r.json()


def last_event(sess, type_):
    r = sess.request("GET", f"/api/v1/events?type={type_}&limit=1")
    assert r.status == 200, r
    ev = r.json()["events"]
    return ev[0] if ev else None


def flip_at(data, where, off):
    mlen = struct.unpack(">I", data[12:16])[0]
    pos = {"sig": 24 + mlen, "payload": 24 + mlen + 64}[where] + off
    return data[:pos] + bytes([data[pos] ^ 1]) + data[pos + 1:]


def verify_code(vendor, path, model, floor, max_bytes=CAP):
    """What the vendor tool says about a file, with the device's rules: 'valid' or the refusal code."""
    r = sign_tool("verify", "--pub", vendor / "v1.pub", "--model", model, "--min-security-version", floor,
                  "--max-bytes", max_bytes, path)
    if r.returncode == 0:
        return "valid"
    assert r.returncode == 1, (r.returncode, r.stderr)
    line = r.stderr.strip()
    assert line.startswith("safecam-sign: refused: "), line
    return line.rsplit(": ", 1)[-1]


def wait_installed(cam, version, old_children, timeout=60):
    """After a 202 the camera restarts itself (same supervisor pid, new children) and the new slot
    passes its health check: GET /api/v1/system/update says installed. Returns a fresh admin session."""
    sup = cam.proc.pid
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = cam.pids()
        if p.get("web") and p.get("web") != old_children.get("web") and p.get("update") != old_children.get("update"):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the camera did not restart its processes:\n" + cam.read_log()[-4000:])
    assert cam.proc.poll() is None and cam.pids()["supervisor"] == sup
    s = relogin(cam)
    while time.monotonic() < deadline:
        st = status(s)
        if st["state"] == "installed" and st["version"] == version:
            return s
        assert st["state"] in ("pending_reboot", "installed"), st
        time.sleep(0.2)
    raise AssertionError(f"{version} never passed its health check: {st}\n" + cam.read_log()[-4000:])


# ---------------------------------------------------------------- tests


def test_upload_gate(cam, admin, vendor):
    """Upload needs a session (401), the CSRF token (403) and an octet-stream body (415); none of these
    reaches the update process."""
    model = cam.label["model"]
    data = make(vendor, "gate.bundle", model, "1.0.1", 1).read_bytes()
    before = slot_view(admin)
    st_before = status(admin)
    r = cam.request("POST", PATH, data=data, content_type="application/octet-stream", headers=EXPECT)
    assert r.status == 401 and r.json()["error"] == "unauthorized", r
    r = upload(admin, data, csrf=False, headers=EXPECT)
    assert r.status == 403 and r.json()["error"] == "csrf", r
    r = upload(admin, data, content_type="application/json")
    assert r.status == 415, r
    # a viewer is not an admin
    v = admin.request("POST", "/api/v1/users", json_body={"username": "viewer1", "password": "Vw#9kq2-Lp7x!Rt",
                                                          "role": "viewer"})
    assert v.status == 201, v
    viewer = cam.login("viewer1", "Vw#9kq2-Lp7x!Rt")
    r = upload(viewer, data, headers=EXPECT)
    assert r.status == 403, r
    assert slot_view(admin) == before
    assert status(admin)["state"] == st_before["state"]


def test_bad_bundles_refused_like_safecam_sign(cam, admin, vendor):
    model = cam.label["model"]
    good = make(vendor, "good.bundle", model, "1.0.1", 1).read_bytes()
    mlen = struct.unpack(">I", good[12:16])[0]
    sig, pay = 24 + mlen, 24 + mlen + 64
    cases = {
        "flip_payload": good[:pay + 500] + bytes([good[pay + 500] ^ 1]) + good[pay + 501:],
        "flip_manifest": good[:30] + bytes([good[30] ^ 1]) + good[31:],
        "flip_signature": good[:sig + 3] + bytes([good[sig + 3] ^ 1]) + good[sig + 4:],
        # refused after the first ~64 KiB while most of the body is still to come: web stops relaying
        "flip_signature_large": flip_at(make(vendor, "mid.bundle", model, "1.0.1", 1, payload="mid.tar").read_bytes(),
                                        "sig", 5),
        "truncated": good[:-1000],
        "empty": b"",
        "untrusted_key": make(vendor, "v2.bundle", model, "1.0.1", 1, key="v2").read_bytes(),
        "wrong_model": make(vendor, "other.bundle", model + "-X", "1.0.1", 1).read_bytes(),
        "over_cap": make(vendor, "big.bundle", model, "1.0.1", 1, payload="big.tar").read_bytes(),
    }
    expect = {"flip_payload": "hash_mismatch", "flip_manifest": "bad_signature", "flip_signature": "bad_signature",
              "flip_signature_large": "bad_signature",
              "truncated": "truncated", "empty": "truncated", "untrusted_key": "untrusted_key",
              "wrong_model": "wrong_model", "over_cap": "too_large"}
    before = slot_view(admin)
    for name, data in cases.items():
        p = vendor / f"case-{name}.bundle"
        p.write_bytes(data)
        want = verify_code(vendor, p, model, 0)
        assert want == expect[name], (name, want)
        r = upload(admin, data)
        assert 400 <= r.status < 500, (name, r)
        assert r.json()["error"] == want, (name, r)
        assert r.status == (413 if want == "too_large" else 422), (name, r)
        assert slot_view(admin) == before, name
        ev = last_event(admin, "update_refused")
        assert ev and f"reason={want}" in ev["detail"] and ev["actor"] == cam.label["admin_user"], (name, ev)
        st = status(admin)
        if name != "over_cap":  # refused from Content-Length alone, before a session opened
            assert st["state"] == "failed" and st["reason"] == want, (name, st)
        # nothing left behind in the slots
        assert not [n for n in os.listdir(os.path.join(cam.state_dir, "slots")) if n.endswith(".staging")]
    # the large refused upload was cut off at the relay, not stored then checked
    assert "update upload: refused by the update process after" in cam.read_log()
    # the good bundle itself verifies
    assert verify_code(vendor, vendor / "good.bundle", model, 0) == "valid"


def test_good_bundle_restarts_into_new_slot(cam, admin, vendor):
    model = cam.label["model"]
    # settings and users that must survive the update
    r = admin.request("PUT", "/api/v1/settings/security", json_body={"lockout_threshold": 7})
    assert r.status == 204, r
    r = admin.request("PUT", "/api/v1/settings/stream", json_body={"fps": 15})
    assert r.status in (200, 204), r
    before = slot_view(admin)
    assert before["running"] == "A" and before["slots"]["A"]["running"] is True
    bundle = make(vendor, "v110.bundle", model, "1.1.0", 5)
    assert verify_code(vendor, bundle, model, 0) == "valid"
    children = cam.pids()
    r = upload(admin, bundle.read_bytes())
    assert r.status == 202, r
    j = r.json()
    assert j["state"] == "pending_reboot" and j["version"] == "1.1.0" and j["slot"] == "B" and j["reboot"] is True, j
    # until the new slot passed its health check, another install is refused
    r = upload(admin, make(vendor, "v111.bundle", model, "1.1.1", 5).read_bytes())
    assert r.status == 409 and r.json()["error"] == "busy", r
    s = wait_installed(cam, "1.1.0", children)
    v = slot_view(s)
    assert v["running"] == "B", v
    assert v["slots"]["B"]["version"] == "1.1.0" and v["slots"]["B"]["running"] and v["slots"]["B"]["active"], v
    assert v["slots"]["A"]["version"] == before["slots"]["A"]["version"] and not v["slots"]["A"]["running"], v
    ev = last_event(s, "update_install")
    assert ev is not None
    # users, security and stream settings survived
    assert s.request("GET", "/api/v1/settings/security").json()["lockout_threshold"] == 7
    assert s.request("GET", "/api/v1/settings/stream").json()["stream"]["fps"] == 15
    users = {u["username"] for u in s.request("GET", "/api/v1/users").json()["users"]}
    assert {"viewer1", cam.label["admin_user"]} <= users
    assert "restarting for the new slot" in cam.read_log()
    cam.session = s


def test_same_security_version_then_rollback_refused(cam, vendor):
    s = cam.session
    model = cam.label["model"]
    children = cam.pids()
    b = make(vendor, "v111.bundle", model, "1.1.1", 5)
    assert verify_code(vendor, b, model, 5) == "valid"
    r = upload(s, b.read_bytes())
    assert r.status == 202 and r.json()["slot"] == "A", r
    s = wait_installed(cam, "1.1.1", children)
    v = slot_view(s)
    assert v["running"] == "A" and v["slots"]["A"]["version"] == "1.1.1", v
    # lower security version: anti-rollback, also in the vendor tool with the device's floor
    old = make(vendor, "v109.bundle", model, "1.0.9", 4)
    assert verify_code(vendor, old, model, 5) == "rollback"
    r = upload(s, old.read_bytes())
    assert r.status == 422 and r.json()["error"] == "rollback", r
    assert slot_view(s) == v
    ev = last_event(s, "update_refused")
    assert "reason=rollback" in ev["detail"], ev
    cam.session = s


def test_online_bad_servers_refused(cam, vendor, update_server):
    s = cam.session
    model = cam.label["model"]
    mdir = update_server["www"] / model
    mdir.mkdir(exist_ok=True)
    b = make(vendor, "safecam-2.0.0.bundle", model, "2.0.0", 6)
    shutil.copy(b, mdir / "safecam-2.0.0.bundle")
    (mdir / "latest.json").write_text(json.dumps({"version": "2.0.0", "security_version": 6,
                                                 "bundle": "safecam-2.0.0.bundle", "size": b.stat().st_size}))
    before = slot_view(s)
    for name in ("selfsigned", "wrongname", "expired"):
        write_config(cam, dict(cam.online, server_url=f"https://127.0.0.1:{update_server['ports'][name]}"))
        r = s.request("POST", PATH + "/check", json_body={})
        assert r.status == 502 and r.json()["error"] == "server_untrusted", (name, r)
        ev = last_event(s, "update_refused")
        assert "reason=server_untrusted" in ev["detail"], (name, ev)
        r = s.request("POST", PATH + "/apply", json_body={})
        assert r.status == 409 and r.json()["error"] == "no_update_available", (name, r)
        assert slot_view(s) == before
    # the check needs CSRF like every state-changing request
    r = s.request("POST", PATH + "/check", json_body={}, csrf=False)
    assert r.status == 403, r


def test_online_check_and_apply(cam, vendor, update_server):
    s = cam.session
    model = cam.label["model"]
    write_config(cam, cam.online)
    r = s.request("POST", PATH + "/check", json_body={})
    assert r.status == 200, r
    j = r.json()
    assert j["available"] is True and j["version"] == "2.0.0" and j["security_version"] == 6, j
    st = status(s)
    assert st["online"]["latest"]["version"] == "2.0.0" and st["online"]["enabled"] is True, st
    assert verify_code(vendor, update_server["www"] / model / "safecam-2.0.0.bundle", model, 5) == "valid"
    children = cam.pids()
    r = s.request("POST", PATH + "/apply", json_body={})
    assert r.status == 202 and r.json()["version"] == "2.0.0", r
    s = wait_installed(cam, "2.0.0", children)
    v = slot_view(s)
    assert v["running"] == "B" and v["slots"]["B"]["version"] == "2.0.0", v
    cam.session = s


def test_health_check_rollback(cam, vendor):
    """A freshly installed slot whose files no longer match the signed manifest (storage corruption
    between install and first boot) never passes its health check: safecam-update asks for a restart on
    each start until the boot counter runs out, then the previous slot comes back by itself."""
    s = cam.session
    model = cam.label["model"]
    before = slot_view(s)
    assert before["running"] == "B"
    b = make(vendor, "v300.bundle", model, "3.0.0", 6)
    r = upload(s, b.read_bytes())
    assert r.status == 202 and r.json()["slot"] == "A", r
    # flip one byte of the installed payload before the camera restarts into it (same size)
    p = os.path.join(cam.state_dir, "slots", "A", "rootfs.tar")
    with open(p, "r+b") as f:
        f.seek(1234)
        c = f.read(1)
        f.seek(1234)
        f.write(bytes([c[0] ^ 0x10]))
    deadline = time.monotonic() + 90
    st = None
    while time.monotonic() < deadline:
        try:
            s2 = cam.login(cam.label["admin_user"], cam.admin_password, expect=None)
            if s2.last.status == 200:
                st = status(s2)
                if st["state"] == "failed":
                    break
        except (RuntimeError, AssertionError):
            pass
        time.sleep(0.5)
    assert st and st["state"] == "failed" and st["reason"] == "health_check_failed", (st, cam.read_log()[-4000:])
    s2 = relogin(cam)
    v = slot_view(s2)
    assert v["running"] == "B" and v["slots"]["B"]["version"] == "2.0.0", v
    assert v["slots"]["A"]["valid"] is False, v
    log = cam.read_log()
    assert log.count("does not match its signed manifest") >= 3, log[-4000:]
    ev = last_event(s2, "update_install")
    r = s2.request("GET", "/api/v1/events?type=update_install&limit=20")
    details = [e["detail"] for e in r.json()["events"]]
    assert any("event=rollback" in d and "reason=health_check_failed" in d for d in details), details
    r = s2.request("GET", "/api/v1/events?type=update_refused&limit=20")
    assert any("event=health_check" in e["detail"] and "slot_damaged" in e["detail"] for e in r.json()["events"]), \
        (r.json(), cam.read_log()[-4000:])
    assert ev is not None


# ---------------------------------------------------------------- update settings through the API

SETTINGS = "/api/v1/settings/update"
MODEL2 = "SC-200"  # its own directory on the update server, apart from the tests above


@pytest.fixture(scope="module")
def cam2(vendor, update_server):
    """A second camera whose only update configuration is what provisioning gave it: the vendor key and
    the update server's CA (--update-ca); the online check is turned on through the API."""
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    c = Camera(tmp, provision_args=["--model", MODEL2, "--update-pubkey", vendor / "v1.pub",
                                    "--update-ca", update_server["ca"]])
    c.start()
    yield c
    c.stop()
    bad = c.sanitizer_report()
    shutil.rmtree(tmp, ignore_errors=True)
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])


def config_bytes(cam):
    p = os.path.join(cam.state_dir, "config.json")
    if not os.path.exists(p):
        return None
    with open(p, "rb") as f:
        return f.read()


def test_update_settings_round_trip_and_refusals(cam2, update_server):
    """GET/PUT /api/v1/settings/update (admin, CSRF): https:// URL only, the CA path and the bundle cap are
    not settable, every refusal changes nothing (config.json byte for byte), a change is audited."""
    a = cam2.admin()
    r = a.request("GET", SETTINGS)
    assert r.status == 200, r
    assert r.json() == {"online_enabled": False, "server_url": "", "auto_install": False,
                        "check_interval_s": 86400, "ca_installed": True}, r.json()
    good_url = f"https://127.0.0.1:{update_server['ports']['good']}"
    # viewers, strangers and requests without the CSRF token get nothing
    v = a.request("POST", "/api/v1/users", json_body={"username": "viewer2", "password": "Vw#9kq2-Lp7x!Rt",
                                                      "role": "viewer"})
    assert v.status == 201, v
    viewer = cam2.login("viewer2", "Vw#9kq2-Lp7x!Rt")
    assert viewer.request("GET", SETTINGS).status == 403
    assert viewer.request("PUT", SETTINGS, json_body={"online_enabled": False}).status == 403
    assert cam2.request("GET", SETTINGS).status == 401
    assert cam2.request("PUT", SETTINGS, json_body={"online_enabled": False}).status == 401
    r = a.request("PUT", SETTINGS, json_body={"online_enabled": True, "server_url": good_url}, csrf=False)
    assert r.status == 403 and r.json()["error"] == "csrf", r
    before_cfg = config_bytes(cam2)
    before = a.request("GET", SETTINGS).json()
    refusals = [
        ({"server_url": "http://127.0.0.1/x"}, 422, "invalid_setting", "server_url"),
        ({"server_url": "https://host/x?q=1"}, 422, "invalid_setting", "server_url"),
        ({"server_url": "https://" + "a" * 300}, 422, "invalid_setting", "server_url"),
        ({"server_url": "https://host/a b"}, 422, "invalid_setting", "server_url"),
        ({"online_enabled": True}, 422, "invalid_setting", "server_url"),  # on, but no server
        ({"check_interval_s": 60}, 422, "invalid_setting", "check_interval_s"),
        ({"check_interval_s": -1}, 400, "invalid_field", "check_interval_s"),
        # wrong types are refused at the gate
        ({"server_url": 5}, 400, "invalid_field", "server_url"),
        ({"online_enabled": "yes"}, 400, "invalid_field", "online_enabled"),
        ({"auto_install": 1}, 400, "invalid_field", "auto_install"),
        ({"server_url": "https://" + "b" * 600}, 400, "invalid_field", "server_url"),
        ({"check_interval_s": 2592001}, 422, "invalid_setting", "check_interval_s"),
        ({"ca_file": "/tmp/evil.pem"}, 400, "unknown_field", "ca_file"),
        ({"max_bundle_bytes": 2 * 1024 * 1024}, 400, "unknown_field", "max_bundle_bytes"),
        ({"auto_install": True, "colour": "red"}, 400, "unknown_field", "colour"),
        # all or nothing: a good value beside a bad one is not applied either
        ({"server_url": good_url, "check_interval_s": 5}, 422, "invalid_setting", "check_interval_s"),
    ]
    for body, status_, code, field in refusals:
        r = a.request("PUT", SETTINGS, json_body=body)
        assert r.status == status_, (body, r)
        j = r.json()
        assert j["error"] == code and j.get("field") == field, (body, j)
        if field == "check_interval_s" and status_ == 422:
            assert j["min"] == 3600 and j["max"] == 2592000, j
        assert a.request("GET", SETTINGS).json() == before, body
        assert config_bytes(cam2) == before_cfg, body
    for raw in (b"[]", b"{", b'{"online_enabled": true, "online_enabled": false}'):
        r = a.request("PUT", SETTINGS, data=raw, content_type="application/json")
        assert r.status == 400, (raw, r)
    assert config_bytes(cam2) == before_cfg
    # without the CA the online check cannot be turned on
    ca = os.path.join(cam2.state_dir, "factory", "update-ca.pem")
    os.rename(ca, ca + ".away")
    try:
        r = a.request("PUT", SETTINGS, json_body={"online_enabled": True, "server_url": good_url})
        assert r.status == 409 and r.json()["error"] == "ca_not_installed", r
        assert a.request("GET", SETTINGS).json()["ca_installed"] is False
        assert config_bytes(cam2) == before_cfg
    finally:
        os.rename(ca + ".away", ca)
    # a good change: answered with the new settings, kept in config.json, audited
    r = a.request("PUT", SETTINGS, json_body={"server_url": good_url + "/fw", "check_interval_s": 7200,
                                              "auto_install": False})
    assert r.status == 200, r
    want = dict(before, server_url=good_url + "/fw", check_interval_s=7200)
    assert r.json() == want and a.request("GET", SETTINGS).json() == want
    with open(os.path.join(cam2.state_dir, "config.json")) as f:
        stored = json.load(f)["update"]
    assert stored["server_url"] == good_url + "/fw" and stored["check_interval_s"] == 7200
    assert stored["ca_file"] == "" and stored["online_enabled"] is False
    ev = last_event(a, "config_change")
    assert ev and "update settings" in ev["detail"] and "server_url" in ev["detail"], ev
    assert ev["actor"] == cam2.label["admin_user"]


def test_online_check_enabled_through_api(cam2, vendor, update_server):
    """The online check turned on through the API uses the CA installed at provisioning: the good server
    is trusted, a self-signed one is not; safecam-update re-reads config.json for each check."""
    a = cam2.admin()
    mdir = update_server["www"] / MODEL2
    mdir.mkdir(exist_ok=True)
    b = make(vendor, "sc200-4.0.0.bundle", MODEL2, "4.0.0", 2)
    shutil.copy(b, mdir / "safecam-4.0.0.bundle")
    (mdir / "latest.json").write_text(json.dumps({"version": "4.0.0", "security_version": 2,
                                                 "bundle": "safecam-4.0.0.bundle", "size": b.stat().st_size}))
    r = a.request("PUT", SETTINGS, json_body={"online_enabled": False})
    assert r.status == 200, r
    r = a.request("POST", PATH + "/check", json_body={})
    assert r.status == 409 and r.json()["error"] == "not_configured", r
    good_url = f"https://127.0.0.1:{update_server['ports']['good']}"
    r = a.request("PUT", SETTINGS, json_body={"online_enabled": True, "server_url": good_url})
    assert r.status == 200 and r.json()["online_enabled"] is True, r
    r = a.request("POST", PATH + "/check", json_body={})
    assert r.status == 200, (r, cam2.read_log()[-3000:])
    j = r.json()
    assert j["available"] is True and j["version"] == "4.0.0" and j["security_version"] == 2, j
    st = status(a)
    assert st["online"]["enabled"] is True and st["online"]["latest"]["version"] == "4.0.0", st
    # the CA from provisioning is the only anchor: a self-signed server is refused
    bad_url = f"https://127.0.0.1:{update_server['ports']['selfsigned']}"
    r = a.request("PUT", SETTINGS, json_body={"server_url": bad_url})
    assert r.status == 200, r
    r = a.request("POST", PATH + "/check", json_body={})
    assert r.status == 502 and r.json()["error"] == "server_untrusted", r
    # turned off again: the check is refused, nothing was installed
    r = a.request("PUT", SETTINGS, json_body={"online_enabled": False})
    assert r.status == 200, r
    r = a.request("POST", PATH + "/check", json_body={})
    assert r.status == 409 and r.json()["error"] == "not_configured", r
    d = device(a)
    assert d["running_slot"] == "A" and d["slots"]["B"]["version"] is None, d
