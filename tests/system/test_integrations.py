"""Integration accounts (recorders, ONVIF clients) through the whole camera with real clients (curl, ffmpeg):
create / list / rotate / delete over the HTTPS API (admin, CSRF), the secret shown once and never again (not in
GET, not in the logs, not in the state directory in clear), refusals that change nothing, and RTSPS playback
with the account (Basic over TLS; Digest when the server offers it). QCVN 135 G1 / EN 303 645 5.1;
docs/integrations.md."""
import os
import re
import subprocess
from urllib.parse import quote

import pytest

from conftest import strong_password
from test_media_camera import describe, wait_rtsps


def create(admin, name, expect=201):
    r = admin.request("POST", "/api/v1/integrations", json_body={"name": name})
    assert r.status == expect, r
    return r.json()


def listing(admin):
    r = admin.request("GET", "/api/v1/integrations")
    assert r.status == 200, r
    return r


def grep_tree(root, needle):
    """Files under root whose bytes contain needle (the state directory, the logs)."""
    hits = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                with open(p, "rb") as fh:
                    if needle.encode() in fh.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


def test_create_list_rotate_delete_secret_shown_once(camera):
    admin = camera.admin()
    j = create(admin, "nvr1")
    assert j["username"] == "nvr1" and j["role"] == "viewer"
    secret = j["secret"]
    assert len(secret) >= 20 and re.fullmatch(r"[A-Za-z0-9._~-]+", secret)

    r = listing(admin)
    items = r.json()["integrations"]
    assert [i["username"] for i in items] == ["nvr1"]
    assert items[0]["role"] == "viewer" and "secret" not in items[0]
    assert secret.encode() not in r.body

    # rotation: a new secret once; the old one stops working at once (checked over RTSPS below)
    r = admin.request("POST", "/api/v1/integrations/nvr1/rotate")
    assert r.status == 200, r
    secret2 = r.json()["secret"]
    assert secret2 != secret and len(secret2) >= 20
    assert secret2.encode() not in listing(admin).body

    # an integration is not a person: no web login with its secret
    r = camera.request("POST", "/api/v1/session", json_body={"username": "nvr1", "password": secret2})
    assert r.status == 401, r

    # never in clear in the state directory or the log (sealed under the storage key)
    assert grep_tree(camera.state_dir, secret) == []
    assert grep_tree(camera.state_dir, secret2) == []
    assert secret not in camera.read_log() and secret2 not in camera.read_log()

    # audited: create and rotate
    r = admin.request("GET", "/api/v1/events?limit=200")
    assert r.status == 200, r
    text = r.body.decode()
    assert "integration_create" in text and "integration_rotate" in text
    assert secret not in text and secret2 not in text

    r = admin.request("DELETE", "/api/v1/integrations/nvr1")
    assert r.status in (200, 204), r
    assert listing(admin).json()["integrations"] == []
    r = admin.request("DELETE", "/api/v1/integrations/nvr1")
    assert r.status == 404 and r.json()["error"] == "not_found", r


@pytest.mark.parametrize("name,status,code", [
    ("NVR1", 422, "invalid_username"),
    ("1nvr", 422, "invalid_username"),
    ("nvr 1", 422, "invalid_username"),
    ("x" * 33, 400, None),
    ("", 400, None),
])
def test_bad_names_are_refused_and_nothing_changes(camera, name, status, code):
    admin = camera.admin()
    r = admin.request("POST", "/api/v1/integrations", json_body={"name": name})
    assert r.status == status, r
    if code:
        assert r.json()["error"] == code
    assert "error" in r.json()
    assert listing(admin).json()["integrations"] == []


def test_duplicates_unknown_names_and_rights(camera):
    admin = camera.admin()
    create(admin, "nvr1")
    # the same name again, and a person's name: one namespace
    r = admin.request("POST", "/api/v1/integrations", json_body={"name": "nvr1"})
    assert r.status == 409 and r.json()["error"] == "exists", r
    r = admin.request("POST", "/api/v1/integrations", json_body={"name": camera.label["admin_user"]})
    assert r.status == 409 and r.json()["error"] == "exists", r
    r = admin.request("POST", "/api/v1/users", json_body={"username": "nvr1", "password": strong_password(),
                                                          "role": "viewer"})
    assert r.status == 409, r
    # unknown names
    assert admin.request("POST", "/api/v1/integrations/nvr9/rotate").status == 404
    assert admin.request("DELETE", "/api/v1/integrations/nvr9").status == 404
    # unknown fields, no CSRF token, no session, a viewer: refused, nothing changed
    r = admin.request("POST", "/api/v1/integrations", json_body={"name": "nvr2", "role": "admin"})
    assert r.status == 400, r
    r = admin.request("POST", "/api/v1/integrations", json_body={"name": "nvr2"}, csrf=False)
    assert r.status == 403, r
    r = camera.request("POST", "/api/v1/integrations", json_body={"name": "nvr2"})
    assert r.status == 401, r
    vpw = strong_password()
    assert admin.request("POST", "/api/v1/users", json_body={"username": "watcher", "password": vpw,
                                                             "role": "viewer"}).status in (200, 201)
    viewer = camera.login("watcher", vpw)
    assert viewer.request("GET", "/api/v1/integrations").status == 403
    assert viewer.request("POST", "/api/v1/integrations", json_body={"name": "nvr2"}).status == 403
    assert [i["username"] for i in listing(admin).json()["integrations"]] == ["nvr1"]


def ffmpeg_frames(url, seconds=2):
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", url, "-t",
                        str(seconds), "-f", "null", "-"], capture_output=True, timeout=60)
    frames = re.findall(rb"frame=\s*(\d+)", r.stderr)
    return (int(frames[-1]) if frames else 0), r.stderr


def test_ffmpeg_plays_rtsps_with_the_integration_account(camera):
    wait_rtsps(camera)
    admin = camera.admin()
    secret = create(admin, "nvr1")["secret"]
    url = f"rtsps://nvr1:{quote(secret, safe='')}@127.0.0.1:{camera.rtsps_port}/stream2"
    n, err = ffmpeg_frames(url)
    assert n >= 30, err[-800:]
    # rotated: the old secret is refused, the new one plays
    secret2 = admin.request("POST", "/api/v1/integrations/nvr1/rotate").json()["secret"]
    assert describe(camera, "nvr1", secret) == 401
    n, err = ffmpeg_frames(f"rtsps://nvr1:{quote(secret2, safe='')}@127.0.0.1:{camera.rtsps_port}/stream2")
    assert n >= 30, err[-800:]
    # deleted: refused
    assert admin.request("DELETE", "/api/v1/integrations/nvr1").status in (200, 204)
    assert describe(camera, "nvr1", secret2) == 401
    assert secret not in camera.read_log() and secret2 not in camera.read_log()
    r = admin.request("GET", "/api/v1/events?type=login_success&limit=50")
    assert r.status == 200 and "surface=rtsp integration" in r.body.decode(), r  # each use audited


def test_wrong_secrets_lock_the_integration_account_like_a_person(camera):
    wait_rtsps(camera)
    admin = camera.admin()
    secret = create(admin, "nvr1")["secret"]
    for i in range(5):
        assert describe(camera, "nvr1", f"wrong-{i}-" + secret) == 401
    assert describe(camera, "nvr1", secret) == 401  # locked for this source
    r = admin.request("GET", "/api/v1/events?type=lockout&limit=50")
    assert r.status == 200, r
    assert "nvr1" in r.body.decode()
    r = admin.request("GET", "/api/v1/events?type=login_failure&limit=50")
    assert r.status == 200 and "surface=rtsp integration" in r.body.decode(), r
