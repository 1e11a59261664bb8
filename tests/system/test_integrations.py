"""Integration accounts (recorders, ONVIF clients) through the whole camera with real clients (curl, ffmpeg):
create / list / rotate / delete over the HTTPS API (admin, CSRF), the secret shown once and never again (not in
GET, not in the logs, not in the state directory in clear), refusals that change nothing, and RTSPS playback
with the account (Basic over TLS; Digest when the server offers it). QCVN 135 G1 / EN 303 645 5.1;
docs/integrations.md."""
import json
import os
import struct
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


# ---------------- RTSP Digest (the camera started with --rtsp-digest) ----------------

def digest_header(user, secret, nonce, method, uri, nc="00000001", cnonce="0a4f113b", realm="safecam"):
    import hashlib
    ha1 = hashlib.md5(f"{user}:{realm}:{secret}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    resp = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{resp}", '
            f'algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"')


def challenges(sock, url, cseq=1):
    """DESCRIBE without credentials; the 401's WWW-Authenticate values (all of them: the harness keeps one)."""
    sock.sendall(f"DESCRIBE {url} RTSP/1.0\r\nCSeq: {cseq}\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, buf
        buf += chunk
    head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert " 401 " in head[0], head
    return [line.split(":", 1)[1].strip() for line in head[1:] if line.lower().startswith("www-authenticate:")]


def nonce_of(chs):
    return re.search(r'nonce="([0-9a-f]{32})"', " ".join(chs)).group(1)


@pytest.mark.camera_args(extra_args=["--rtsp-digest"])
def test_rtsp_digest_for_integration_accounts(camera):
    from media_harness import rtsp_request, tls_connect
    wait_rtsps(camera)
    admin = camera.admin()
    secret = create(admin, "nvr1")["secret"]
    url = f"rtsps://127.0.0.1:{camera.rtsps_port}/stream2"
    with tls_connect(camera.rtsps_port, camera.cacert) as s:
        chs = challenges(s, url)
        assert len(chs) == 2 and chs[0].startswith("Digest ") and chs[1].startswith("Basic "), chs
        nonce = nonce_of(chs)
        # a good Digest response on this connection
        st, _, _ = rtsp_request(s, "DESCRIBE", url, 2, {"Authorization": digest_header("nvr1", secret, nonce,
                                                                                        "DESCRIBE", url)})
        assert st == 200
    # the same nonce on another connection is worthless (bound to the connection)
    with tls_connect(camera.rtsps_port, camera.cacert) as s:
        st, hd, _ = rtsp_request(s, "DESCRIBE", url, 1, {"Authorization": digest_header("nvr1", secret, nonce,
                                                                                         "DESCRIBE", url)})
        assert st == 401
        nonce2 = nonce_of(challenges(s, url, 2))
        assert nonce2 != nonce
        # a person cannot use Digest (no recomputable secret), but keeps Basic over TLS
        st, _, _ = rtsp_request(s, "DESCRIBE", url, 3, {"Authorization": digest_header(
            camera.label["admin_user"], camera.admin_password, nonce2, "DESCRIBE", url)})

        assert st == 401
    assert describe(camera, camera.label["admin_user"], camera.admin_password) == 200
    # ffmpeg picks Digest when offered and plays with the integration account (the audit shows each use)
    def digest_uses():
        r = admin.request("GET", "/api/v1/events?type=login_success&limit=500")
        assert r.status == 200, r
        return r.body.decode().count("surface=rtsp integration digest"), r.body.decode().count(
            "surface=rtsp integration password")
    before = digest_uses()
    n, err = ffmpeg_frames(f"rtsps://nvr1:{quote(secret, safe='')}@127.0.0.1:{camera.rtsps_port}/stream2")
    assert n >= 30, err[-800:]
    after = digest_uses()
    assert after[0] > before[0] and after[1] == before[1], (before, after)


def challenge_lines(head):
    return [h.split(":", 1)[1] for h in head if h.lower().startswith("www-authenticate:")]


class SClient:
    """RTSP over `openssl s_client` (the device certificate verified), one request at a time."""

    def __init__(self, camera):
        self.p = subprocess.Popen(["openssl", "s_client", "-quiet", "-verify_return_error", "-CAfile", camera.cacert,
                                   "-connect", f"127.0.0.1:{camera.rtsps_port}"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def request(self, method, url, cseq, auth=None):
        msg = f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\n"
        if auth:
            msg += f"Authorization: {auth}\r\n"
        self.p.stdin.write((msg + "\r\n").encode())
        self.p.stdin.flush()
        head, length, noise = [], 0, []
        while True:
            line = self.p.stdout.readline()
            assert line, (head, noise)
            line = line.decode("latin-1").rstrip("\r\n")
            if not line and head:
                break
            if not line.startswith("RTSP/") and not head:
                noise.append(line)
                continue  # what s_client says about the handshake
            if not line:
                break
            head.append(line)
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if length:
            self.p.stdout.read(length)
        return int(head[0].split()[1]), head

    def close(self):
        self.p.stdin.close()
        self.p.kill()
        self.p.wait(timeout=10)


@pytest.mark.camera_args(extra_args=["--rtsp-digest"])
def test_rtsp_digest_nc_and_uri_checked_over_openssl(camera):
    """A captured request replayed on its own connection (the same nc), a lower nc, the uri of another stream,
    no qop: each refused; the next nc goes through. Crafted over openssl s_client, as an attacker would."""
    wait_rtsps(camera)
    admin = camera.admin()
    secret = create(admin, "nvr1")["secret"]
    url = f"rtsps://127.0.0.1:{camera.rtsps_port}/stream2"
    c = SClient(camera)
    try:
        st, head = c.request("DESCRIBE", url, 1)
        assert st == 401
        nonce = nonce_of(challenge_lines(head))
        good = digest_header("nvr1", secret, nonce, "DESCRIBE", url, nc="00000001")
        assert c.request("DESCRIBE", url, 2, good)[0] == 200
        assert c.request("DESCRIBE", url, 3, good)[0] == 401  # the same request again: a replay
    finally:
        c.close()
    c = SClient(camera)
    try:
        nonce = nonce_of(challenge_lines(c.request("DESCRIBE", url, 1)[1]))
        assert c.request("DESCRIBE", url, 2, digest_header("nvr1", secret, nonce, "DESCRIBE", url,
                                                            nc="00000005"))[0] == 200
        # a lower nc after it: refused, and the connection whose credentials no longer hold is closed
        assert c.request("DESCRIBE", url, 3, digest_header("nvr1", secret, nonce, "DESCRIBE", url,
                                                            nc="00000004"))[0] == 401
        assert c.p.stdout.read() is not None and c.p.wait(timeout=10) is not None
    finally:
        c.close()
    c = SClient(camera)
    try:
        nonce = nonce_of(challenge_lines(c.request("DESCRIBE", url, 1)[1]))
        # the response for another uri, sent with this request line
        other = url.replace("/stream2", "/stream1")
        assert c.request("DESCRIBE", url, 2, digest_header("nvr1", secret, nonce, "DESCRIBE", other))[0] == 401
        # no qop (the RFC 2069 form has no nc and could be replayed): refused
        import hashlib
        ha1 = hashlib.md5(f"nvr1:safecam:{secret}".encode()).hexdigest()
        ha2 = hashlib.md5(f"DESCRIBE:{url}".encode()).hexdigest()
        resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        old = f'Digest username="nvr1", realm="safecam", nonce="{nonce}", uri="{url}", response="{resp}"'
        assert c.request("DESCRIBE", url, 3, old)[0] == 401
        # the right request goes through on the same connection
        assert c.request("DESCRIBE", url, 4, digest_header("nvr1", secret, nonce, "DESCRIBE", url))[0] == 200
    finally:
        c.close()


@pytest.mark.camera_args(extra_args=["--rtsp-digest"])
def test_wrong_digests_lock_out(camera):
    from media_harness import rtsp_request, tls_connect
    wait_rtsps(camera)
    admin = camera.admin()
    secret = create(admin, "nvr1")["secret"]
    url = f"rtsps://127.0.0.1:{camera.rtsps_port}/stream2"
    with tls_connect(camera.rtsps_port, camera.cacert) as s:
        nonce = nonce_of(challenges(s, url))
        for i in range(5):
            st, _, _ = rtsp_request(s, "DESCRIBE", url, 2 + i, {"Authorization": digest_header(
                "nvr1", "wrong" + secret, nonce, "DESCRIBE", url)})
            assert st == 401
        st, _, _ = rtsp_request(s, "DESCRIBE", url, 9, {"Authorization": digest_header("nvr1", secret, nonce,
                                                                                        "DESCRIBE", url)})
        assert st == 401  # locked: the right response is refused too
    r = admin.request("GET", "/api/v1/events?type=lockout&limit=50")
    assert r.status == 200 and "nvr1" in r.body.decode(), r


# ---------------- WS-UsernameToken through the real vault process (the call the ONVIF service makes) ----------------
# The ONVIF SOAP service in the web process calls vault_client_wsse_verify(); here the real safecam-vault is driven
# over its real IPC channel with the same request, on the vault's own clock.

from test_vault_process import Channel, Vault, admin_session, vault_env  # noqa: E402,F401  (fixture)

WSSE_VERIFY, INTEGRATION_LIST, INTEGRATION_CREATE = 130, 131, 132


def wsse_token(secret, created=None, nonce=None):
    import base64
    import datetime
    import hashlib
    nonce = nonce if nonce is not None else os.urandom(16)
    created = created or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + secret.encode()).digest()).decode()
    return {"password_type": "digest", "password": digest, "nonce": base64.b64encode(nonce).decode(),
            "created": created}


def shifted(seconds):
    import datetime
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_wsse_digest_replay_stale_and_lockout_in_the_vault(vault_env):
    v, label = vault_env
    web, sess, admin_pw = admin_session(v, label)
    sid = web.call(100, {"username": "admin", "password": admin_pw, "source": "127.0.0.1"})["session_id"]
    r = web.call(INTEGRATION_CREATE, {"session_id": sid, "username": "nvr1", "source": "127.0.0.1"})
    assert r["ok"] is True and r["username"] == "nvr1" and len(r["secret"]) >= 20, r
    secret = r["secret"]
    listed = web.call(INTEGRATION_LIST, {"session_id": sid})
    assert [i["username"] for i in listed["integrations"]] == ["nvr1"] and secret not in json.dumps(listed)

    def verify(tok, user="nvr1", source="192.0.2.7"):
        return web.call(WSSE_VERIFY, {"username": user, "source": source, **tok})

    tok = wsse_token(secret)
    ok = verify(tok)
    assert ok["ok"] is True and ok["role"] == "viewer" and ok["username"] == "nvr1", ok
    assert verify(tok) == {"error": "replay"}
    assert verify(tok, source="192.0.2.8") == {"error": "replay"}  # from anywhere
    assert verify(wsse_token(secret, created=shifted(-400))) == {"error": "stale"}
    assert verify(wsse_token(secret, created=shifted(+400))) == {"error": "stale"}
    assert verify(wsse_token(secret, created=shifted(-200)))["ok"] is True  # inside the window
    no_nonce = wsse_token(secret)
    del no_nonce["nonce"]
    assert verify(no_nonce, source="192.0.2.9") == {"error": "unauthorized"}
    # a person's password is no digest secret; PasswordText of a person works against the hash
    assert verify(wsse_token(admin_pw), user="admin", source="192.0.2.9") == {"error": "unauthorized"}
    text = web.call(WSSE_VERIFY, {"username": "admin", "password_type": "text", "password": admin_pw,
                                  "source": "192.0.2.10"})
    assert text["ok"] is True and text["role"] == "admin", text

    # lockout after 5 wrong digests: then even a good token is refused, from that source only
    for i in range(5):
        assert verify(wsse_token("wrong" + secret), source="192.0.2.20") == {"error": "unauthorized"}
    locked = verify(wsse_token(secret), source="192.0.2.20")
    assert locked["error"] == "locked" and locked["retry_after"] > 0, locked
    assert verify(wsse_token(secret), source="192.0.2.21")["ok"] is True
    # the web login of people counts in the same lockout: a locked integration name is locked there too
    assert web.call(100, {"username": "nvr1", "password": secret, "source": "192.0.2.20"})["error"] == "locked"

    # only web may ask; the vault closes a media channel that tries
    media = v.channel("media")
    media.send_raw(struct.pack("<IIHHI", 0x31494353, 2, WSSE_VERIFY, 0, 1) + b"{}")
    assert media.closed_by_peer()
    # the secret never in the vault's state directory in clear
    assert grep_tree(v.state_dir, secret) == []
