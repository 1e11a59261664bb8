"""Captures (stored snapshots, the camera's user data) through the real safecamd with media (test pattern
source): an admin stores, anyone logged in lists and downloads, only an admin deletes and only with an
explicit confirmation; each capture is sealed at rest under the storage key; deletions are audited
(QCVN 135 G9, G10 / EN 303 645 5.11-1). Every request goes through curl."""
import os
import re
import signal
import stat
import time

import pytest

from conftest import strong_password

# One camera for the module, its tests in order (captures stored by one are listed by the next): one xdist worker.
pytestmark = pytest.mark.xdist_group("captures")

ID_RE = re.compile(r"^[0-9a-f]{32}$")
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def cam(camera_module):
    camera_module.wait_port(camera_module.rtsps_port)
    return camera_module


@pytest.fixture(scope="module")
def admin(cam):
    return cam.admin()


@pytest.fixture(scope="module")
def viewer(cam, admin):
    pw = strong_password()
    r = admin.request("POST", "/api/v1/users", json_body={"username": "capviewer", "password": pw, "role": "viewer"})
    assert r.status == 201, r
    v = cam.login("capviewer", pw)
    for _ in range(10):
        pw2 = strong_password()
        r = v.request("PUT", "/api/v1/users/capviewer/password", json_body={"current_password": pw, "new_password": pw2})
        if r.status != 422:
            break
    assert r.status == 204, r
    return v


def store(session, timeout=30):
    """POST /api/v1/captures, retrying while the media pipeline is still starting (503)."""
    deadline = time.monotonic() + timeout
    while True:
        r = session.request("POST", "/api/v1/captures", json_body={})
        if r.status != 503 or time.monotonic() > deadline:
            return r
        time.sleep(0.5)


def listing(session):
    r = session.request("GET", "/api/v1/captures")
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store"
    return r.json()["captures"]


def ids(session):
    return [c["id"] for c in listing(session)]


def sealed_path(cam, cid):
    return os.path.join(cam.state_dir, "captures", cid + ".sealed")


def test_needs_a_session(cam):
    for method, path in (("GET", "/api/v1/captures"), ("GET", "/api/v1/captures/" + UNKNOWN_ID),
                         ("POST", "/api/v1/captures"), ("DELETE", "/api/v1/captures/" + UNKNOWN_ID),
                         ("DELETE", "/api/v1/captures")):
        r = cam.request(method, path, json_body={} if method != "GET" else None)
        assert (r.status, r.json()["error"]) == (401, "unauthorized"), (method, path, r)


def test_store_list_download_sealed(cam, admin):
    r1 = store(admin)
    assert r1.status == 201, r1
    c1 = r1.json()
    assert set(c1) == {"id", "created_at", "size"}
    assert ID_RE.match(c1["id"]) and c1["size"] > 100
    assert abs(c1["created_at"] - time.time()) < 120
    r2 = store(admin)
    assert r2.status == 201, r2
    c2 = r2.json()
    assert c2["id"] != c1["id"]

    items = listing(admin)
    assert [c["id"] for c in items][:2] == [c2["id"], c1["id"]]  # newest first
    assert {"id": c1["id"], "created_at": c1["created_at"], "size": c1["size"]} in items

    for c in (c1, c2):
        r = admin.request("GET", "/api/v1/captures/" + c["id"])
        assert r.status == 200, r
        assert r.header("content-type") == "image/jpeg"
        disp = r.header("content-disposition")
        assert disp and disp.startswith("attachment") and c["id"] in disp
        assert r.header("cache-control") == "no-store"
        assert r.header("x-content-type-options") == "nosniff"
        assert len(r.body) == c["size"]
        assert r.body[:3] == b"\xff\xd8\xff" and r.body[-2:] == b"\xff\xd9"

        # at rest: a sealed blob (dir 0700, file 0600) that holds none of the JPEG's bytes
        path = sealed_path(cam, c["id"])
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        with open(path, "rb") as f:
            raw = f.read()
        assert len(raw) == c["size"] + 44  # "SCS1" + nonce + tag
        assert raw[:4] == b"SCS1"
        assert raw[:3] != b"\xff\xd8\xff"
        assert b"JFIF" not in raw and b"Exif" not in raw
        mid = len(r.body) // 2
        assert r.body[mid:mid + 32] not in raw
    # a HEAD tells the size without the body
    r = cam.curl("-I", "-b", admin.cookie_jar, cam.base_url + "/api/v1/captures/" + c1["id"])
    assert b" 200" in r.stdout.splitlines()[0]
    assert f"content-length: {c1['size']}".encode() in r.stdout.lower()


def test_bad_and_unknown_ids(cam, admin):
    bad = [UNKNOWN_ID.upper(), UNKNOWN_ID[:-1], UNKNOWN_ID + "0", "zz" + UNKNOWN_ID[2:], "1", "a.b"]
    for cid in [UNKNOWN_ID] + bad:
        r = admin.request("GET", "/api/v1/captures/" + cid)
        assert (r.status, r.json()["error"]) == (404, "not_found"), (cid, r)
        r = admin.request("DELETE", "/api/v1/captures/" + cid, json_body={"confirm": True})
        assert (r.status, r.json()["error"]) == (404, "not_found"), (cid, r)
    r = admin.request("GET", "/api/v1/captures/%2e%2e%2fvault.db")
    assert r.status in (400, 404), r
    r = admin.request("PUT", "/api/v1/captures/" + UNKNOWN_ID, json_body={})
    assert r.status == 405, r


def test_delete_needs_confirmation(cam, admin):
    r = store(admin)
    assert r.status == 201, r
    cid = r.json()["id"]
    before = ids(admin)
    for body in ({}, {"confirm": False}):
        r = admin.request("DELETE", "/api/v1/captures/" + cid, json_body=body)
        assert (r.status, r.json()["error"]) == (400, "confirmation_required"), (body, r)
        r = admin.request("DELETE", "/api/v1/captures", json_body=body)
        assert (r.status, r.json()["error"]) == (400, "confirmation_required"), (body, r)
    r = admin.request("DELETE", "/api/v1/captures/" + cid, json_body={"confirm": "yes"})
    assert r.status == 400, r
    r = admin.request("DELETE", "/api/v1/captures/" + cid, json_body={"confirm": True, "all": True})
    assert (r.status, r.json()["error"]) == (400, "unknown_field"), r
    assert ids(admin) == before
    assert os.path.exists(sealed_path(cam, cid))


def test_delete_one_keeps_the_others(cam, admin):
    r = store(admin)
    assert r.status == 201, r
    keep = r.json()["id"]
    r = store(admin)
    assert r.status == 201, r
    gone = r.json()["id"]
    r = admin.request("DELETE", "/api/v1/captures/" + gone, json_body={"confirm": True})
    assert r.status == 200, r
    assert r.json() == {"deleted": 1, "id": gone, "result": "deleted"}
    now = ids(admin)
    assert gone not in now and keep in now
    assert not os.path.exists(sealed_path(cam, gone))
    assert os.path.exists(sealed_path(cam, keep))
    assert admin.request("GET", "/api/v1/captures/" + gone).status == 404
    assert admin.request("GET", "/api/v1/captures/" + keep).status == 200
    r = admin.request("DELETE", "/api/v1/captures/" + gone, json_body={"confirm": True})
    assert (r.status, r.json()["error"]) == (404, "not_found"), r
    # the audit log names the capture, the admin and the client address
    ev = admin.request("GET", "/api/v1/events?type=data_delete").json()["events"]
    mine = [e for e in ev if e.get("detail") == "capture " + gone]
    assert len(mine) == 1, ev
    assert mine[0]["actor"] == cam.label["admin_user"] and mine[0]["source"] == "127.0.0.1"


def test_viewer_lists_and_downloads_only(cam, admin, viewer):
    r = store(admin)
    assert r.status == 201, r
    cid = r.json()["id"]
    assert cid in ids(viewer)
    r = viewer.request("GET", "/api/v1/captures/" + cid)
    assert r.status == 200 and r.body[:3] == b"\xff\xd8\xff", r
    for method, path, body in (("POST", "/api/v1/captures", {}),
                               ("DELETE", "/api/v1/captures/" + cid, {"confirm": True}),
                               ("DELETE", "/api/v1/captures", {"confirm": True})):
        r = viewer.request(method, path, json_body=body)
        assert (r.status, r.json()["error"]) == (403, "forbidden"), (method, path, r)
    assert cid in ids(admin)


def test_csrf_required(cam, admin):
    before = ids(admin)
    assert before
    r = admin.request("POST", "/api/v1/captures", json_body={}, csrf=False)
    assert (r.status, r.json()["error"]) == (403, "csrf"), r
    r = admin.request("DELETE", "/api/v1/captures/" + before[0], json_body={"confirm": True}, csrf=False)
    assert (r.status, r.json()["error"]) == (403, "csrf"), r
    r = admin.request("DELETE", "/api/v1/captures", json_body={"confirm": True}, csrf=False)
    assert (r.status, r.json()["error"]) == (403, "csrf"), r
    r = admin.request("DELETE", "/api/v1/captures", json_body={"confirm": True},
                      headers={"Origin": "https://evil.example"})
    assert (r.status, r.json()["error"]) == (403, "csrf"), r
    # a body other than {} for a store, a body too big
    r = admin.request("POST", "/api/v1/captures", json_body={"path": "/etc/passwd"})
    assert (r.status, r.json()["error"]) == (400, "unknown_field"), r
    r = admin.request("POST", "/api/v1/captures", json_body={"x": "y" * 200})
    assert r.status == 413, r
    assert ids(admin) == before


def test_delete_all(cam, admin):
    # two of its own: the module's camera may hold none when xdist ran the earlier tests on the other worker
    for _ in range(2):
        r = store(admin)
        assert r.status == 201, r
    n = len(ids(admin))
    assert n >= 2
    r = admin.request("DELETE", "/api/v1/captures", json_body={"confirm": True})
    assert r.status == 200, r
    assert r.json() == {"deleted": n, "result": "deleted"}
    assert listing(admin) == []
    assert os.listdir(os.path.join(cam.state_dir, "captures")) == []
    ev = admin.request("GET", "/api/v1/events?type=data_delete").json()["events"]
    assert any(e.get("detail") == f"all captures ({n})" for e in ev), ev
    # nothing left: a second delete-all deletes nothing
    r = admin.request("DELETE", "/api/v1/captures", json_body={"confirm": True})
    assert (r.status, r.json()["deleted"]) == (200, 0), r


def test_media_down_answers_503(cam, admin):
    before = ids(admin)
    pid = cam.pids()["media"]
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = admin.request("POST", "/api/v1/captures", json_body={})
        assert (r.status, r.json()["error"]) == (503, "media_unavailable"), r
        assert time.monotonic() - t0 < 15
        assert ids(admin) == before  # nothing stored, listing still works
    finally:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    cam.wait_restarted("media", pid)
    r = store(admin)
    assert r.status == 201, r
