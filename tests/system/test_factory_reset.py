"""Factory reset through the API of the real daemon (QCVN 135 G9 / EN 303 645 5.11-1): POST
/api/v1/system/factory-reset needs an admin session, the CSRF token and an explicit {"confirm": true};
anything less changes nothing. A confirmed reset is a crypto-erase: the camera restarts with a new
storage key and a new TLS key and certificate, the label's initial password (to be changed at first
login), no other user, default settings, an audit log that starts with the reset; the device identity,
vendor update keys and firmware slots stay. A reset cut short by power loss is finished at the next start."""
import hashlib
import json
import os
import shutil
import ssl
import tempfile
import time

import pytest

from conftest import Camera, bin_path, strong_password

PATH = "/api/v1/system/factory-reset"


def cert_der(cam):
    with open(cam.cacert) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def file_bytes(cam, rel):
    with open(os.path.join(cam.state_dir, rel), "rb") as f:
        return f.read()


def events(sess, type_=None):
    q = f"?type={type_}&limit=200" if type_ else "?limit=200"
    r = sess.request("GET", "/api/v1/events" + q)
    assert r.status == 200, r
    return r.json()["events"]


def wait_back(cam, old_der, timeout=60):
    """After the 202 the camera stops, erases and starts again with a new certificate."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cert_der(cam) != old_der and not os.path.exists(os.path.join(cam.state_dir, "factory-reset.pending")):
                cam.wait_https(timeout=max(1, deadline - time.monotonic()))
                return
        except (OSError, ValueError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError("the camera did not come back with a new certificate:\n" + cam.read_log()[-4000:])


@pytest.fixture
def cam():
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    pub = os.path.join(tmp, "vendor")
    r = __import__("subprocess").run([bin_path("safecam-sign"), "keygen", "--out", pub], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    c = Camera(tmp, extra_args=["--no-media"], provision_args=["--update-pubkey", pub + ".pub"])
    c.start()
    yield c
    c.stop()
    bad = c.sanitizer_report()
    shutil.rmtree(tmp, ignore_errors=True)
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])


def test_refusals_change_nothing_then_confirmed_reset_erases(cam):
    admin = cam.admin()
    viewer_pw = strong_password()
    r = admin.request("POST", "/api/v1/users", json_body={"username": "viewer1", "password": viewer_pw, "role": "viewer"})
    assert r.status == 201, r
    r = admin.request("PUT", "/api/v1/settings/security", json_body={"lockout_threshold": 7})
    assert r.status == 204, r
    r = admin.request("PUT", "/api/v1/settings/privacy", json_body={"acknowledged": True})
    assert r.status == 200, r
    viewer = cam.login("viewer1", viewer_pw)
    der0, key0 = cert_der(cam), file_bytes(cam, "factory/storage.key")
    sealed0 = file_bytes(cam, "factory/tls.key.sealed")
    ident0 = file_bytes(cam, "factory/device.json")
    keys0 = sorted(os.listdir(os.path.join(cam.state_dir, "factory", "update-keys")))

    # refused: no confirmation, confirm false, a wrong type, unknown fields, a viewer, no CSRF token
    for body, code in (({}, "confirmation_required"), ({"confirm": False}, "confirmation_required"),
                       ({"confirm": "yes"}, None), ({"confirm": True, "wipe": "all"}, "unknown_field")):
        r = admin.request("POST", PATH, json_body=body)
        assert r.status == 400, (body, r)
        if code:
            assert r.json()["error"] == code, (body, r)
    r = admin.request("POST", PATH, data="not json", content_type="application/json")
    assert r.status == 400, r
    r = viewer.request("POST", PATH, json_body={"confirm": True})
    assert r.status == 403, r
    r = admin.request("POST", PATH, json_body={"confirm": True}, csrf=False)
    assert r.status == 403, r
    time.sleep(1.5)
    assert cert_der(cam) == der0 and file_bytes(cam, "factory/storage.key") == key0
    users = {u["username"] for u in admin.request("GET", "/api/v1/users").json()["users"]}
    assert "viewer1" in users

    # confirmed
    r = admin.request("POST", PATH, json_body={"confirm": True})
    assert r.status == 202 and r.json()["state"] == "resetting", r
    wait_back(cam, der0)

    # new keys, same identity, vendor keys kept
    assert file_bytes(cam, "factory/storage.key") != key0
    assert file_bytes(cam, "factory/tls.key.sealed") != sealed0
    assert len(file_bytes(cam, "factory/storage.key")) == 32
    assert file_bytes(cam, "factory/device.json") == ident0
    assert sorted(os.listdir(os.path.join(cam.state_dir, "factory", "update-keys"))) == keys0
    assert not os.path.exists(os.path.join(cam.state_dir, "config.json"))
    # the old passwords and sessions are gone; the label's password is back, to be changed
    r = admin.request("GET", "/api/v1/device")
    assert r.status == 401, r
    s = cam.login(cam.label["admin_user"], cam.admin_password, expect=401)
    s = cam.login("viewer1", viewer_pw, expect=401)
    s = cam.login(cam.label["admin_user"], cam.label["initial_password"])
    assert s.password_change_required is True
    r = s.request("GET", "/api/v1/users")
    assert r.status == 403, r  # nothing but the password change until it is changed
    cam.admin_password = None
    a = cam.admin()
    assert [u["username"] for u in a.request("GET", "/api/v1/users").json()["users"]] == [cam.label["admin_user"]]
    assert a.request("GET", "/api/v1/settings/security").json()["lockout_threshold"] == 5
    assert a.request("GET", "/api/v1/settings/privacy").json()["acknowledged"] is False
    evs = events(a)
    assert evs[-1]["type"] == "factory_reset", evs[-3:]
    assert evs[-1]["actor"] == cam.label["admin_user"] and evs[-1]["source"] == "127.0.0.1", evs[-1]
    assert not any(e["type"] == "user_create" for e in evs), "the old audit log survived"
    assert "factory reset done" in cam.read_log()


def test_interrupted_reset_is_finished_at_next_start(cam):
    admin = cam.admin()
    der0 = cert_der(cam)
    cam.stop()
    # a reset cut short by power loss: only its marker was written
    with open(os.path.join(cam.state_dir, "factory-reset.pending"), "w") as f:
        f.write("1\n")
    # what a linked service left: the admin's CA file and the list of uploads (a reset once kept them)
    link_dir = os.path.join(cam.state_dir, "link")
    os.makedirs(link_dir, exist_ok=True)
    for name in ("mqtt-ca.pem", "uploaded.json"):
        with open(os.path.join(link_dir, name), "w") as f:
            f.write("left by a linked service\n")
    cam.start()
    assert cert_der(cam) != der0
    assert not os.path.exists(link_dir) or os.listdir(link_dir) == [], os.listdir(link_dir)
    assert not os.path.exists(os.path.join(cam.state_dir, "factory-reset.pending"))
    cam.login(cam.label["admin_user"], cam.admin_password, expect=401)
    s = cam.login(cam.label["admin_user"], cam.label["initial_password"])
    assert s.password_change_required is True
    assert "an interrupted factory reset is being finished" in cam.read_log()
    del admin


def test_no_factory_state_to_return_to_refuses_to_start(cam):
    """Without the initial password hash there is no factory state: an interrupted reset stops the start
    with one line instead of erasing into a device nobody can log in to."""
    cam.stop()
    os.unlink(os.path.join(cam.state_dir, "factory", "initial_admin.json"))
    key0 = file_bytes(cam, "factory/storage.key")
    with open(os.path.join(cam.state_dir, "factory-reset.pending"), "w") as f:
        f.write("1\n")
    r = __import__("subprocess").run(cam.command(), capture_output=True, timeout=30)
    assert r.returncode == 1, r
    assert b"the interrupted factory reset cannot be finished" in r.stderr
    assert file_bytes(cam, "factory/storage.key") == key0
    assert os.path.exists(os.path.join(cam.state_dir, "vault", "vault.db"))
    os.unlink(os.path.join(cam.state_dir, "factory-reset.pending"))
