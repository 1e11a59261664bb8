"""Linked services against REAL services started and stopped here: Debian's mosquitto with TLS and a password
file, nginx with WebDAV over HTTPS, on loopback on free ports, certificates made with openssl at test time
(tests/system/link_services.py). The camera's side is safecam-link in its standalone form (lib/link) for the
engine's cases, and the real camera (supervised safecam-link, settings over the web API, its events and its
recorded segments) for the rest (docs/linked-services.md).

Checked on the services themselves: messages seen by mosquitto_sub, retained messages held by the broker,
files in nginx's WebDAV root. QCVN 135 G8 (encryption in transit, recovery), G9 (deletion on linked services).
"""
import json
import os
import pwd
import re
import subprocess
import time

import pytest

from conftest import bin_path
import link_services as ls

pytestmark = pytest.mark.skipif(not ls.available(), reason="needs mosquitto, mosquitto-clients, nginx-light "
                                "and openssl (scripts/install-deps)")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("linkpki")
    os.chmod(d, 0o755)
    return ls.make_pki(d)


@pytest.fixture
def svc(tmp_path, pki):
    """A broker and a WebDAV server with the admin's CA's certificate for 127.0.0.1, and a link process."""
    b = ls.Broker(tmp_path / "mq", pki)
    dv = ls.Dav(tmp_path / "dav", pki)
    b.start()
    dv.start()
    link = ls.Link(bin_path("safecam-link"), tmp_path / "state")
    yield {"broker": b, "dav": dv, "link": link, "dir": tmp_path}
    assert link.close() == 0, "".join(link.stderr)[-2000:]
    b.stop()
    dv.stop()


def event(n, kind="login_failed"):
    return {"cmd": "event", "event": {"type": kind, "seq": n}}


def test_settings_refused_and_nothing_kept(svc, pki):
    """Each bad setting is refused with the field named; the state dir gets nothing (no CA file, no state)."""
    link, b, dv = svc["link"], svc["broker"], svc["dav"]
    good = ls.settings(pki, b, dv)
    cases = [
        (("webdav", "url"), "http://127.0.0.1/cam/", "webdav.url"),
        (("mqtt", "url"), f"mqtt://127.0.0.1:{b.port}", "mqtt.url"),
        (("mqtt", "ca_pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "mqtt.ca_pem"),
        (("webdav", "ca_pem"), "not a certificate", "webdav.ca_pem"),
        (("mqtt", "topic"), "cams\r\nx", "mqtt.topic"),
        (("mqtt", "topic"), "cams\u0000x", "mqtt.topic"),
        (("webdav", "username"), "cam\nx", "webdav.username"),
        (("webdav", "url"), "https://127.0.0.1/cam/\r\nX: y", "webdav.url"),
        (("webdav", "retention_days"), 0, "webdav.retention_days"),
        (("webdav", "retention_days"), 100000, "webdav.retention_days"),
    ]
    for (svc_name, key), value, field in cases:
        s = json.loads(json.dumps(good))
        s[svc_name][key] = value
        r = link.cmd({"cmd": "configure", "settings": s})
        assert r == {"error": "invalid_setting", "field": field}, (field, r)
    assert sorted(os.listdir(link.state_dir)) == []
    st = link.stats()
    assert st["mqtt"]["attempts"] == 0 and st["webdav"]["attempts"] == 0


def test_events_over_tls_in_order(svc, pki):
    link, b = svc["link"], svc["broker"]
    sub = ls.Subscriber(b, "cams/#")
    try:
        time.sleep(0.5)
        assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, b)}) == {"ok": True}
        for n in range(5):
            assert link.cmd(event(n))["ok"]
        got = sub.wait_count(5, 20)
        assert [json.loads(x)["seq"] for x in got] == [0, 1, 2, 3, 4]
        st = link.wait(lambda s: s["mqtt"]["delivered"] >= 5, 10)["mqtt"]
        assert st["delivered"] == 5 and st["tls_refused"] == 0 and st["connected"]
        # the broker really ran TLS: a plain MQTT connection to the same port is not answered as MQTT
        r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(b.port), "-u", "sub", "-P",
                            "sub-secret-Mq7", "-t", "x", "-W", "2"], capture_output=True, timeout=15)
        assert r.returncode != 0
    finally:
        sub.stop()


@pytest.mark.parametrize("cert", ["foreign", "wrongname"])
def test_mqtt_bad_server_certificate_refused(tmp_path, pki, cert):
    """A broker whose certificate comes from another CA, or names another host: refused, audited, and the
    broker (its own subscriber) sees nothing."""
    b = ls.Broker(tmp_path / "mq", pki, cert=cert)
    b.start()
    sub = ls.Subscriber(b, "cams/#")
    link = ls.Link(bin_path("safecam-link"), tmp_path / "state")
    try:
        time.sleep(0.5)
        assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, b)}) == {"ok": True}
        assert link.cmd(event(1))["ok"]
        st = link.wait(lambda s: s["mqtt"]["tls_refused"] >= 2, 20)["mqtt"]
        assert st["tls_refused"] >= 2 and st["delivered"] == 0 and not st["connected"]
        assert any(a[1] == "link_tls_refused" for a in link.audit)
        time.sleep(1)
        assert sub.lines == []
        assert b.retained("cams/#", wait=2) == []
    finally:
        link.close()
        sub.stop()
        b.stop()


@pytest.mark.parametrize("cert", ["foreign", "wrongname"])
def test_webdav_bad_server_certificate_refused(tmp_path, pki, cert):
    dv = ls.Dav(tmp_path / "dav", pki, cert=cert)
    dv.start()
    link = ls.Link(bin_path("safecam-link"), tmp_path / "state")
    try:
        f = tmp_path / "snap.jpg"
        f.write_bytes(os.urandom(2048))
        assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, dav=dv)}) == {"ok": True}
        assert link.cmd({"cmd": "upload", "path": str(f), "name": "snap.jpg"})["ok"]
        st = link.wait(lambda s: s["webdav"]["tls_refused"] >= 1, 20)["webdav"]
        assert st["tls_refused"] >= 1 and st["uploaded"] == 0 and st["queued"] == 1
        assert any(a[1] == "link_tls_refused" for a in link.audit)
        assert dv.files() == []
        # nginx saw no request at all: the handshake failed before any HTTP
        assert (tmp_path / "dav" / "access.log").read_text() == ""
    finally:
        link.close()
        dv.stop()


def test_uploads_land_and_507_then_recovery(svc, pki):
    link, dv = svc["link"], svc["dav"]
    data = [os.urandom(4096 + i) for i in range(3)]
    for i, blob in enumerate(data):
        (svc["dir"] / f"c{i}.jpg").write_bytes(blob)
    assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, dav=dv)}) == {"ok": True}
    assert link.cmd({"cmd": "upload", "path": str(svc["dir"] / "c0.jpg"), "name": "c0.jpg"})["ok"]
    link.wait(lambda s: s["webdav"]["uploaded"] >= 1, 20)
    assert dv.files() == ["cam-0001_c0.jpg"]
    assert (dv.root / "cam" / "cam-0001_c0.jpg").read_bytes() == data[0]
    # the server is full: 507, retried with back-off, the entries stay queued and the local files stay
    dv.full.write_text("")
    for i in (1, 2):
        assert link.cmd({"cmd": "upload", "path": str(svc["dir"] / f"c{i}.jpg"), "name": f"c{i}.jpg"})["ok"]
    st = link.wait(lambda s: s["webdav"]["failures"] >= 3, 30)["webdav"]
    assert st["last_status"] == 507 and st["queued"] == 2 and st["failures"] >= 3
    assert dv.files() == ["cam-0001_c0.jpg"]
    assert all((svc["dir"] / f"c{i}.jpg").exists() for i in (1, 2))
    dv.full.unlink()
    st = link.wait(lambda s: s["webdav"]["uploaded"] >= 3, 30)["webdav"]
    assert st["queued"] == 0
    assert dv.files() == ["cam-0001_c0.jpg", "cam-0001_c1.jpg", "cam-0001_c2.jpg"]
    for i in (1, 2):
        assert (dv.root / "cam" / f"cam-0001_c{i}.jpg").read_bytes() == data[i]


@pytest.mark.plain_only  # 30 s of waiting; the reconnect code runs under ASan in the other tests here
def test_outage_30s_resumes_in_order_without_tight_loop(svc, pki):
    """Broker and WebDAV server stopped for ~30 s: events and uploads queued meanwhile are delivered after
    their return, in order, each event at least once (QoS 1) and no other duplicate; the connection attempts
    during the outage stay few (back-off 100 ms doubling to 5 s with full jitter: about 15; a tight loop
    would make thousands)."""
    link, b, dv = svc["link"], svc["broker"], svc["dav"]
    sub = ls.Subscriber(b, "cams/#")
    try:
        time.sleep(0.5)
        assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, b, dv)}) == {"ok": True}
        assert link.cmd(event(0))["ok"]
        assert [json.loads(x)["seq"] for x in sub.wait_count(1, 20)] == [0]
        b.stop()
        dv.stop()
        before = link.stats()
        for n in range(1, 11):
            assert link.cmd(event(n))["ok"]
        (svc["dir"] / "o.jpg").write_bytes(b"x" * 1000)
        assert link.cmd({"cmd": "upload", "path": str(svc["dir"] / "o.jpg"), "name": "o.jpg"})["ok"]
        time.sleep(30)
        during = link.stats()
        attempts = during["mqtt"]["attempts"] - before["mqtt"]["attempts"]
        dav_attempts = during["webdav"]["attempts"] - before["webdav"]["attempts"]
        print(f"attempts during a 30 s outage: mqtt {attempts}, webdav {dav_attempts}")
        assert 3 <= attempts <= 40, attempts
        assert 3 <= dav_attempts <= 40, dav_attempts
        assert during["mqtt"]["queued"] == 10 and during["mqtt"]["dropped"] == 0
        b.start()
        dv.start()
        got = sub.wait_count(11, 40)
        seqs = [json.loads(x)["seq"] for x in got]
        # in order; a QoS 1 redelivery may repeat the message in flight at the cut, nothing else
        dedup = [s for i, s in enumerate(seqs) if i == 0 or s != seqs[i - 1]]
        assert dedup == list(range(11)), seqs
        st = link.wait(lambda s: s["webdav"]["uploaded"] >= 1, 20)
        assert dv.files() == ["cam-0001_o.jpg"]
        assert st["mqtt"]["connects"] == 2
        assert any(a[1] == "link_disconnected" for a in link.audit)
    finally:
        sub.stop()


def test_linked_delete_removes_files_and_retained(svc, pki):
    link, b, dv = svc["link"], svc["broker"], svc["dav"]
    assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, b, dv)}) == {"ok": True}
    for i in range(3):
        (svc["dir"] / f"d{i}.jpg").write_bytes(os.urandom(512))
        assert link.cmd({"cmd": "upload", "path": str(svc["dir"] / f"d{i}.jpg"), "name": f"d{i}.jpg"})["ok"]
    assert link.cmd(event(7, "motion"))["ok"]
    link.wait(lambda s: s["webdav"]["uploaded"] >= 3 and s["mqtt"]["delivered"] >= 1, 30)
    # a file someone else put in the same folder is not the camera's to delete
    (dv.root / "cam" / "owner-notes.txt").write_text("keep")
    assert len(dv.files()) == 4
    assert len(b.retained("cams/#")) == 1
    r = link.cmd({"cmd": "delete"})["deleted"]
    assert r["failed"] == []
    assert sorted(x.get("name", x.get("topic")) for x in r["removed"]) == [
        "cam-0001_d0.jpg", "cam-0001_d1.jpg", "cam-0001_d2.jpg", "cams/cam-0001"]
    assert dv.files() == ["owner-notes.txt"]
    assert b.retained("cams/#") == []
    assert any(a[1] == "link_delete" for a in link.audit)


def test_delete_half_fails_reports_what_is_left(svc, pki):
    link, b, dv = svc["link"], svc["broker"], svc["dav"]
    assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, b, dv)}) == {"ok": True}
    (svc["dir"] / "h.jpg").write_bytes(b"h" * 100)
    assert link.cmd({"cmd": "upload", "path": str(svc["dir"] / "h.jpg"), "name": "h.jpg"})["ok"]
    assert link.cmd(event(1))["ok"]
    link.wait(lambda s: s["webdav"]["uploaded"] >= 1 and s["mqtt"]["delivered"] >= 1, 30)
    b.stop()
    r = link.cmd({"cmd": "delete"}, timeout=60)["deleted"]
    assert [x["name"] for x in r["removed"]] == ["cam-0001_h.jpg"]
    assert [(x["service"], x["topic"]) for x in r["failed"]] == [("mqtt", "cams/cam-0001")]
    assert dv.files() == []
    b.start()
    assert len(b.retained("cams/#")) == 1  # exactly what the report says is left
    r = link.cmd({"cmd": "delete"}, timeout=60)["deleted"]
    assert r["failed"] == [] and [x["topic"] for x in r["removed"]] == ["cams/cam-0001"]
    assert b.retained("cams/#") == []


def test_retention_on_the_service(svc, pki):
    link, dv = svc["link"], svc["dav"]
    assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, dav=dv, retention_days=2)}) == {"ok": True}
    (svc["dir"] / "r.jpg").write_bytes(b"r" * 100)
    assert link.cmd({"cmd": "upload", "path": str(svc["dir"] / "r.jpg"), "name": "r.jpg"})["ok"]
    link.wait(lambda s: s["webdav"]["uploaded"] >= 1, 20)
    now = int(time.time())
    assert link.cmd({"cmd": "retention", "now": now + 86400})["retention_deleted"] == 0
    assert dv.files() == ["cam-0001_r.jpg"]
    assert link.cmd({"cmd": "retention", "now": now + 2 * 86400 + 60})["retention_deleted"] == 1
    assert dv.files() == []


def test_no_password_in_clear_in_state_dir(svc, pki):
    link, b, dv = svc["link"], svc["broker"], svc["dav"]
    assert link.cmd({"cmd": "configure", "settings": ls.settings(pki, b, dv)}) == {"ok": True}
    (svc["dir"] / "p.jpg").write_bytes(b"p" * 100)
    assert link.cmd({"cmd": "upload", "path": str(svc["dir"] / "p.jpg"), "name": "p.jpg"})["ok"]
    assert link.cmd(event(1))["ok"]
    link.wait(lambda s: s["webdav"]["uploaded"] >= 1 and s["mqtt"]["delivered"] >= 1, 30)
    assert link.close() == 0
    for secret in ("cam-secret-Mq7", "dav-secret-Wd9"):
        r = subprocess.run(["grep", "-r", "-a", "-l", secret, str(link.state_dir)], capture_output=True)
        assert r.returncode == 1, r.stdout


# ---------------------------------------------------------------- the settings through the real daemon

def test_api_settings_linked_refusals_write_only_secrets_and_factory_reset(camera, pki):
    """GET/PUT /api/v1/settings/linked on the real camera: each bad value 422 (a NUL: 400 from the JSON parser)
    with nothing saved, passwords write-only, nothing in clear under the state dir, audited by names, CSRF
    and admin required, and a factory reset leaves no linked-service credential."""
    admin = camera.admin()
    r = admin.request("GET", "/api/v1/settings/linked")
    assert r.status == 200 and r.json() == {"data_location": "unset"}, r
    ca = (pki / "ca.crt").read_text()
    good = {"mqtt": {"url": "mqtts://127.0.0.1:8883", "ca_pem": ca, "username": "cam",
                     "password": "cam-secret-Mq7", "topic": "cams"},
            "webdav": {"url": "https://127.0.0.1:8443/cam/", "ca_pem": ca, "username": "cam",
                       "password": "dav-secret-Wd9", "retention_days": 30},
            "data_location": "vn"}
    cases = [
        (("webdav", "url"), "http://127.0.0.1/cam/", "webdav.url"),
        (("mqtt", "url"), "mqtt://127.0.0.1:1883", "mqtt.url"),
        (("mqtt", "ca_pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "mqtt.ca_pem"),
        (("mqtt", "topic"), "cams\r\nx", "mqtt.topic"),
        (("webdav", "username"), "cam\nx", "webdav.username"),
        (("webdav", "url"), "https://127.0.0.1/cam/\r\nX: y", "webdav.url"),
        (("webdav", "retention_days"), 0, "webdav.retention_days"),
        (("webdav", "retention_days"), 3651, "webdav.retention_days"),
    ]
    for (svc_name, key), value, field in cases:
        body = json.loads(json.dumps(good))
        body[svc_name][key] = value
        r = admin.request("PUT", "/api/v1/settings/linked", json_body=body)
        assert r.status == 422 and r.json() == {"error": "invalid_setting", "field": field}, (field, r)
    body = json.loads(json.dumps(good))
    body["mqtt"]["topic"] = "cams\u0000x"
    r = admin.request("PUT", "/api/v1/settings/linked", json_body=body)
    assert r.status == 400, r
    r = admin.request("PUT", "/api/v1/settings/linked", json_body={"data_location": "mars"})
    assert r.status == 422 and r.json()["field"] == "data_location"
    assert admin.request("GET", "/api/v1/settings/linked").json() == {"data_location": "unset"}
    assert not os.path.exists(os.path.join(camera.state_dir, "vault", "linked.sealed"))
    r = admin.request("PUT", "/api/v1/settings/linked", json_body=good, csrf=False)
    assert r.status == 403

    r = admin.request("PUT", "/api/v1/settings/linked", json_body=good)
    assert r.status == 204, r
    got = admin.request("GET", "/api/v1/settings/linked").json()
    assert got["data_location"] == "vn"
    assert got["mqtt"]["password_set"] is True and "password" not in got["mqtt"]
    assert got["webdav"]["password_set"] is True and "password" not in got["webdav"]
    assert got["webdav"]["retention_days"] == 30 and got["mqtt"]["topic"] == "cams"
    assert "secret" not in json.dumps(got)
    # a change without a password keeps the stored one
    r = admin.request("PUT", "/api/v1/settings/linked",
                      json_body={"webdav": {"url": "https://127.0.0.1:8443/cam2/", "ca_pem": ca,
                                            "username": "cam", "retention_days": 7}})
    assert r.status == 204, r
    got = admin.request("GET", "/api/v1/settings/linked").json()
    assert got["webdav"]["password_set"] is True and got["webdav"]["retention_days"] == 7
    for secret in ("cam-secret-Mq7", "dav-secret-Wd9"):
        g = subprocess.run(["grep", "-r", "-a", "-l", secret, camera.state_dir], capture_output=True)
        assert g.returncode == 1, g.stdout
    ev = admin.request("GET", "/api/v1/events?type=config_change&limit=50").json()["events"]
    assert any("linked services" in e["detail"] and "mqtt" in e["detail"] for e in ev), ev
    assert not any("secret" in e["detail"] for e in ev)

    # factory reset: the sealed settings are gone with the storage key
    sealed = os.path.join(camera.state_dir, "vault", "linked.sealed")
    assert os.path.exists(sealed)
    r = admin.request("POST", "/api/v1/system/factory-reset", json_body={"confirm": True})
    assert r.status == 202, r
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (os.path.exists(sealed) or os.path.exists(
            os.path.join(camera.state_dir, "factory-reset.pending"))):
        time.sleep(0.2)
    assert not os.path.exists(sealed)
    for secret in ("cam-secret-Mq7", "dav-secret-Wd9"):
        g = subprocess.run(["grep", "-r", "-a", "-l", secret, camera.state_dir], capture_output=True)
        assert g.returncode == 1, g.stdout


def test_api_settings_linked_needs_admin(camera):
    admin = camera.admin()
    from conftest import strong_password
    pw = strong_password()
    assert admin.request("POST", "/api/v1/users",
                         json_body={"username": "viewer1", "password": pw, "role": "viewer"}).status == 201
    v = camera.login("viewer1", pw)
    assert v.request("GET", "/api/v1/settings/linked").status == 403
    assert v.request("PUT", "/api/v1/settings/linked", json_body={"data_location": "vn"}).status == 403


# ---------------------------------------------------------------- the supervised link child on a real camera

def _proc_status(pid):
    st = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    return st


def _wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the per-process users")
def test_camera_link_child_publishes_events_behind_its_walls_and_stops(camera, pki, tmp_path):
    """The camera starts safecam-link only once MQTT is configured through the API; a failed login then reaches
    the real broker (type and time only: no user name, no address); the child runs as safecam-link with
    seccomp and no_new_privs and cannot read the vault; removing the settings stops it; no password lies in
    the state dir or the camera's log. The engine's own events (link_connected) reach the audit log."""
    b = ls.Broker(tmp_path / "mq", pki)
    b.start()
    sub = ls.Subscriber(b, "cams/#")
    try:
        admin = camera.admin()
        time.sleep(1)
        assert "link" not in camera.pids(), "no linked service configured: no link process"
        t0 = time.monotonic()
        r = admin.request("PUT", "/api/v1/settings/linked", json_body=ls.settings(pki, b))
        assert r.status == 204, r
        pid = _wait(lambda: camera.pids().get("link"), 10, "the link child")
        print(f"link child running {time.monotonic() - t0:.2f} s after the PUT was sent")
        st = _wait(lambda: (lambda s: s if s.get("Seccomp") == "2" else None)(_proc_status(pid)), 10, "seccomp")
        want = pwd.getpwnam("safecam-link")
        assert st["Uid"].split() == [str(want.pw_uid)] * 4 and st["Gid"].split() == [str(want.pw_gid)] * 4
        assert st["Groups"] == "" and st["NoNewPrivs"] == "1"
        assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
        others = {pwd.getpwuid(os.stat(f"/proc/{p}").st_uid).pw_name for n, p in camera.pids().items()
                  if n not in ("supervisor", "link")}
        assert "safecam-link" not in others
        vault = os.path.join(camera.state_dir, "vault")
        r = subprocess.run(["setpriv", f"--reuid={want.pw_uid}", f"--regid={want.pw_gid}", "--clear-groups",
                            "ls", vault], capture_output=True, timeout=10)
        assert r.returncode != 0 and b"Permission denied" in r.stderr, r
        for name in os.listdir(vault):
            r = subprocess.run(["setpriv", f"--reuid={want.pw_uid}", f"--regid={want.pw_gid}", "--clear-groups",
                                "cat", os.path.join(vault, name)], capture_output=True, timeout=10)
            assert r.returncode != 0, name

        # a failed login on the camera reaches the broker
        camera.login("admin", "not-the-password-1", expect=401)
        got = _wait(lambda: [json.loads(x) for x in sub.lines if json.loads(x).get("type") == "login_failure"],
                    30, "login_failure on the broker")
        assert set(got[0]) == {"type", "time"} and abs(got[0]["time"] - time.time()) < 300, got
        assert "admin" not in "".join(sub.lines) and "127.0.0.1" not in "".join(sub.lines)
        assert camera.pids().get("link") == pid, "the child was not restarted"
        # the link engine's own events are in the audit log, recorded by the link process (they were only
        # logged before), and the link process may record no other type
        evs = _wait(lambda: admin.request("GET", "/api/v1/events?type=link_connected&limit=10").json()["events"],
                    10, "link_connected in the audit log")
        assert evs[0]["actor"] == "link" and "service=mqtt" in evs[0]["detail"], evs

        # new settings reach the running child (PROTO_LINK_CONFIGURE): the next event lands on the new topic
        r = admin.request("PUT", "/api/v1/settings/linked", json_body=ls.settings(pki, b, topic="cams2"))
        assert r.status == 204, r
        time.sleep(1)
        camera.login("admin", "not-the-password-3", expect=401)
        _wait(lambda: [x for x in b.retained("cams2/#", wait=1) if "login_failure" in x], 30, "the new topic")
        assert camera.pids().get("link") == pid, "new settings are pushed, the child is not restarted"

        # removing the settings stops the child, which is not started again
        t0 = time.monotonic()
        r = admin.request("PUT", "/api/v1/settings/linked", json_body={"mqtt": {}})
        assert r.status == 204, r
        _wait(lambda: "link" not in camera.pids(), 10, "the link child to stop")
        print(f"link child gone {time.monotonic() - t0:.2f} s after the PUT was sent")
        time.sleep(2)
        assert "link" not in camera.pids()
        assert "password_set" not in json.dumps(admin.request("GET", "/api/v1/settings/linked").json())
        for where in (camera.state_dir, camera.log_path):
            g = subprocess.run(["grep", "-r", "-a", "-l", "cam-secret-Mq7", where], capture_output=True)
            assert g.returncode == 1, (where, g.stdout)
        assert "process_restart" not in json.dumps(
            admin.request("GET", "/api/v1/events?type=process_restart&limit=50").json().get("events", []))
    finally:
        sub.stop()
        b.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the per-process users")
def test_camera_linked_delete_on_the_real_services(camera, pki, tmp_path):
    """POST /api/v1/linked/delete on a real camera: 400 without confirm (nothing removed), then every file the
    camera uploaded is gone from nginx's WebDAV root (a file it did not upload stays), the retained message is
    gone from the broker, the answer lists both, and it is audited. The uploads are made beforehand by the
    same link engine in its standalone form, in the camera's own link/ directory under its device id (the
    camera does not upload clips by itself yet)."""
    b = ls.Broker(tmp_path / "mq", pki)
    dv = ls.Dav(tmp_path / "dav", pki)
    b.start()
    dv.start()
    try:
        admin = camera.admin()
        r = admin.request("POST", "/api/v1/linked/delete", json_body={"confirm": True})
        assert r.status == 409 and r.json() == {"error": "link_not_running"}, r
        with open(os.path.join(camera.state_dir, "factory", "device.json")) as f:
            serial = json.load(f)["serial"]
        link_dir = os.path.join(camera.state_dir, "link")
        seed = ls.Link(bin_path("safecam-link"), link_dir, device_id=serial)
        assert seed.cmd({"cmd": "configure", "settings": ls.settings(pki, dav=dv)}) == {"ok": True}
        for n in ("a.jpg", "b.mp4"):
            (tmp_path / n).write_bytes(n.encode() * 50)
            assert seed.cmd({"cmd": "upload", "path": str(tmp_path / n), "name": n})["ok"]
        seed.wait(lambda s: s["webdav"]["uploaded"] >= 2, 30)
        assert seed.close() == 0
        subprocess.run(["chown", "-R", "safecam-link:safecam-link", link_dir], check=True)
        (dv.root / "cam" / "not-ours.txt").write_text("kept")
        uploaded = sorted([f"{serial}_a.jpg", f"{serial}_b.mp4"])
        assert dv.files() == sorted(uploaded + ["not-ours.txt"])

        r = admin.request("PUT", "/api/v1/settings/linked", json_body=ls.settings(pki, b, dv))
        assert r.status == 204, r
        _wait(lambda: camera.pids().get("link"), 10, "the link child")
        # an event, published retained on the camera's topic
        time.sleep(1)
        camera.login("admin", "not-the-password-2", expect=401)
        _wait(lambda: b.retained("cams/#", wait=1), 30, "a retained message on the broker")

        r = admin.request("POST", "/api/v1/linked/delete", json_body={})
        assert r.status == 400 and r.json() == {"error": "confirmation_required"}, r
        r = admin.request("POST", "/api/v1/linked/delete", json_body={"confirm": False})
        assert r.status == 400 and r.json() == {"error": "confirmation_required"}, r
        r = admin.request("POST", "/api/v1/linked/delete", json_body={"confirm": True}, csrf=False)
        assert r.status == 403, r
        assert dv.files() == sorted(uploaded + ["not-ours.txt"]) and b.retained("cams/#", wait=1)

        r = admin.request("POST", "/api/v1/linked/delete", json_body={"confirm": True})
        assert r.status == 200, r
        got = r.json()
        assert got["failed"] == [], got
        assert sorted(x["name"] for x in got["removed"] if x["service"] == "webdav") == uploaded
        assert [x["topic"] for x in got["removed"] if x["service"] == "mqtt"] == [f"cams/{serial}"]
        assert dv.files() == ["not-ours.txt"]
        assert b.retained("cams/#", wait=2) == []
        ev = admin.request("GET", "/api/v1/events?type=data_delete&limit=20").json()["events"]
        assert any("linked services: removed=3 failed=0" in e["detail"] for e in ev), ev
        # a second delete finds nothing left
        r = admin.request("POST", "/api/v1/linked/delete", json_body={"confirm": True})
        assert r.status == 200 and r.json() == {"removed": [], "failed": []}, r
        for where in (camera.state_dir, camera.log_path):
            for secret in ("cam-secret-Mq7", "dav-secret-Wd9"):
                g = subprocess.run(["grep", "-r", "-a", "-l", secret, where], capture_output=True)
                assert g.returncode == 1, (where, secret, g.stdout)
    finally:
        b.stop()
        dv.stop()


def _dav_segments(dv, serial):
    """{segment id: file name} of the camera's recording uploads in nginx's WebDAV root."""
    out = {}
    for n in dv.files():
        m = re.fullmatch(re.escape(serial) + r"_(\d{8}T\d{6}Z)_(continuous|motion)_([0-9a-f]{32})\.mp4", n)
        if m:
            out[m.group(3)] = n
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the per-process users")
def test_camera_uploads_recorded_segments_to_webdav(camera, pki, tmp_path):
    """A real camera recording 2 s segments with a WebDAV folder linked (nginx, HTTPS, Basic): with
    webdav.upload "all" every finished segment arrives as a clear MP4 named <serial>_<UTC start>_continuous_<id>.mp4,
    byte for byte the camera's own decrypted download, and plays in ffprobe; while the folder answers 507 and
    while nginx is stopped the segments wait (nothing lost, no duplicate) and arrive after, in time order; with
    "motion" the continuous segments stay on the camera; the link process keeps its walls (no restart, seccomp
    on) and never held the storage key (it gets one clear copy at a time from the vault); a capture stored by
    the admin arrives as <serial>_<UTC>_capture_<id>.jpg; "Delete my data on linked services" removes them all."""
    from test_recording import download, ffprobe_duration, listing, set_recording
    dv = ls.Dav(tmp_path / "dav", pki)
    dv.start()
    try:
        camera.wait_port(camera.rtsps_port)
        admin = camera.admin()
        with open(os.path.join(camera.state_dir, "factory", "device.json")) as f:
            serial = json.load(f)["serial"]
        s = ls.settings(pki, dav=dv)
        s["webdav"]["upload"] = "all"
        r = admin.request("PUT", "/api/v1/settings/linked", json_body=s)
        assert r.status == 204, r
        got = admin.request("GET", "/api/v1/settings/linked").json()
        assert got["webdav"]["upload"] == "all" and "password" not in got["webdav"], got
        _wait(lambda: camera.pids().get("link"), 10, "the link child")
        link_pid = camera.pids()["link"]
        set_recording(admin, mode="continuous", segment_seconds=2)

        _wait(lambda: len(_dav_segments(dv, serial)) >= 3, 60, "three segments in the WebDAV folder")
        ids = _dav_segments(dv, serial)
        some = sorted(ids.items(), key=lambda kv: kv[1])[:2]
        for sid, name in some:
            local = tmp_path / (sid + ".mp4")
            r = download(camera, admin, sid, str(local))
            assert r.status == 200, r
            remote = (dv.root / "cam" / name).read_bytes()
            assert remote == local.read_bytes(), name  # the clear MP4, as the owner downloads it
            assert remote[4:8] == b"ftyp"
            dur, codecs, frames = ffprobe_duration(str(dv.root / "cam" / name))
            assert "h264" in codecs and 1.0 <= dur <= 4.0 and frames > 0, (name, dur, codecs, frames)

        # a capture (an admin's snapshot) goes to the folder too, byte for byte the camera's own
        from test_captures import store
        r = store(admin)
        assert r.status == 201, r
        cid = r.json()["id"]
        cap = _wait(lambda: [n for n in dv.files() if n.endswith(f"_capture_{cid}.jpg")], 30, "the capture uploaded")
        assert re.fullmatch(re.escape(serial) + r"_\d{8}T\d{6}Z_capture_" + cid + r"\.jpg", cap[0]), cap
        mine = admin.request("GET", "/api/v1/captures/" + cid)
        assert mine.status == 200 and (dv.root / "cam" / cap[0]).read_bytes() == mine.body

        # the folder is full (507), then gone (nginx stopped): segments wait, then all arrive, in order
        dv.full.write_text("")
        time.sleep(5)
        dv.stop()
        time.sleep(5)
        dv.full.unlink()
        dv.start()
        time.sleep(4)  # the newest segments finish meanwhile
        done = [x["id"] for x in listing(admin) if x["complete"]]
        _wait(lambda: set(done) <= set(_dav_segments(dv, serial)), 60,
              "every finished segment uploaded after the outage")
        up = _dav_segments(dv, serial)
        assert len(up) == len(set(up.values())), up  # one file per segment: no duplicate
        log = (dv.d / "access.log").read_text()
        puts = [ln.split('"PUT ', 1)[1].split(" ", 1)[0].rsplit("/", 1)[1] for ln in log.splitlines()
                if '"PUT ' in ln and '" 201 ' in ln and '.mp4 ' in ln]  # segments: in the order they finished
        assert puts == sorted(puts), "uploads not in time order"
        assert len(puts) == len(set(puts)), "a segment was stored twice"

        # "motion": continuous segments are no longer uploaded
        s["webdav"]["upload"] = "motion"
        s["webdav"].pop("password")  # kept by the camera
        assert admin.request("PUT", "/api/v1/settings/linked", json_body=s).status == 204
        time.sleep(1)
        before = set(_dav_segments(dv, serial))
        n0 = len([x for x in listing(admin) if x["complete"]])
        _wait(lambda: len([x for x in listing(admin) if x["complete"]]) >= n0 + 2, 30, "two more segments")
        time.sleep(2)
        assert set(_dav_segments(dv, serial)) == before

        # the link process kept its walls and was not restarted (a seccomp kill would restart it)
        assert camera.pids().get("link") == link_pid
        st = _proc_status(link_pid)
        assert st["Seccomp"] == "2" and st["NoNewPrivs"] == "1", st
        want = pwd.getpwnam("safecam-link")
        rec = os.path.join(camera.state_dir, "recordings")
        r = subprocess.run(["setpriv", f"--reuid={want.pw_uid}", f"--regid={want.pw_gid}", "--clear-groups",
                            "ls", rec], capture_output=True, timeout=10)
        assert r.returncode != 0 and b"Permission denied" in r.stderr, r  # sealed files come only as descriptors
        with open(camera.log_path, errors="replace") as f:
            text = f.read()
        assert "SIGSYS" not in text and "bad system call" not in text.lower()

        set_recording(admin, mode="off")
        r = admin.request("POST", "/api/v1/linked/delete", json_body={"confirm": True})
        assert r.status == 200, r
        assert r.json()["failed"] == [], r.json()
        assert _dav_segments(dv, serial) == {}
        for where in (camera.state_dir, camera.log_path):
            g = subprocess.run(["grep", "-r", "-a", "-l", "dav-secret-Wd9", where], capture_output=True)
            assert g.returncode == 1, (where, g.stdout)
    finally:
        dv.stop()
