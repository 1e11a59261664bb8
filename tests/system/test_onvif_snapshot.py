"""The snapshot URI that ONVIF GetSnapshotUri names, fetched as a recorder does: HTTP Digest (RFC 7616) with the
integration account's secret, no web session (issue 11, docs/onvif.md "Snapshot"). Real curl --digest for MD5,
a SHA-256 response computed here from the challenge the camera sent, and the refusals: wrong secret (counted
toward the same lockout as web, RTSP and ONVIF), replayed (nonce, nc), a nonce the camera did not make, another
uri, no Authorization at all, ONVIF off. A browser with a session keeps working."""
import hashlib
import re
import subprocess

from test_onvif import MEDIA, envelope, onvif_on, soap
from test_onvif import digest_header as wsse_header
from test_media_camera import wait_rtsps

PATH = "/api/v1/video/snapshot.jpg"


def snapshot_uri(camera, user, secret):
    r = soap(camera, "/onvif/media_service", envelope("GetSnapshotUri", MEDIA, "<ProfileToken>main</ProfileToken>",
                                                    wsse_header(user, secret)))
    assert r.status == 200, r
    return re.search(rb"<tt:Uri>([^<]+)</tt:Uri>", r.body).group(1).decode()


def curl_digest(camera, url, user, secret, *extra):
    """curl --digest; returns (HTTP status, body bytes, stderr)."""
    p = camera.curl("--digest", "-u", f"{user}:{secret}", "-o", "-", "-w", "\n%{http_code}", *extra, url,
                    timeout=30)
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code or 0), body, p.stderr


def parse_challenges(raw_headers):
    return [line.split(":", 1)[1].strip() for line in raw_headers.split("\r\n")
            if line.lower().startswith("www-authenticate:")]


def raw_get(camera, headers=()):
    """GET the snapshot with curl and the given headers; (status, [WWW-Authenticate values], body)."""
    args = ["-D", "-", "-o", "/dev/null"]
    for h in headers:
        args += ["-H", h]
    p = camera.curl(*args, camera.base_url + PATH, timeout=30)
    head = p.stdout.decode("latin-1")
    status = int(re.match(r"HTTP/\S+ (\d+)", head).group(1))
    return status, parse_challenges(head)


def digest_auth(user, secret, nonce, uri, nc="00000001", cnonce="c2FmZWNhbS10ZXN0", method="GET",
                algorithm="SHA-256", realm="safecam"):
    h = hashlib.sha256 if algorithm == "SHA-256" else hashlib.md5
    ha1 = h(f"{user}:{realm}:{secret}".encode()).hexdigest()
    ha2 = h(f"{method}:{uri}".encode()).hexdigest()
    resp = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
    return (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'algorithm={algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}", response="{resp}"')


def nonce_of(chs):
    return re.search(r'nonce="([0-9a-f]{64})"', chs[0]).group(1)


def test_snapshot_uri_by_http_digest(camera):
    wait_rtsps(camera)
    admin = onvif_on(camera)
    secret = admin.request("POST", "/api/v1/integrations", json_body={"name": "nvr1"}).json()["secret"]
    url = snapshot_uri(camera, "nvr1", secret)
    assert url == f"https://127.0.0.1:{camera.https_port}{PATH}", url

    # no credentials: 401 with both challenges, SHA-256 first, a fresh nonce each time
    st, chs = raw_get(camera)
    assert st == 401 and len(chs) == 2, chs
    assert chs[0].startswith("Digest ") and "algorithm=SHA-256" in chs[0] and 'qop="auth"' in chs[0], chs
    assert "algorithm=MD5" in chs[1] and 'realm="safecam"' in chs[1], chs
    assert nonce_of(chs) != nonce_of(raw_get(camera)[1])

    # real curl --digest with the right secret: a JPEG
    code, body, err = curl_digest(camera, url, "nvr1", secret)
    assert code == 200 and body[:3] == b"\xff\xd8\xff", (code, body[:64], err)

    # SHA-256, as RFC 7616 clients choose it (computed here from the camera's challenge)
    nonce = nonce_of(raw_get(camera)[1])
    good = digest_auth("nvr1", secret, nonce, PATH)
    assert raw_get(camera, [good])[0] == 200
    # the same (nonce, nc) again: a replay, refused with a new challenge
    st, chs = raw_get(camera, [good])
    assert st == 401 and chs and chs[0].startswith("Digest "), chs
    # MD5, for recorders that know nothing else
    assert raw_get(camera, [digest_auth("nvr1", secret, nonce, PATH, nc="00000002", algorithm="MD5")])[0] == 200
    # the next nc on the same nonce is fine; a used one is not
    assert raw_get(camera, [digest_auth("nvr1", secret, nonce, PATH, nc="00000003")])[0] == 200
    assert raw_get(camera, [digest_auth("nvr1", secret, nonce, PATH, nc="00000003")])[0] == 401
    # a nonce the camera did not make, another uri, a method the response does not cover: refused
    forged = "0" * 16 + nonce[16:]
    assert raw_get(camera, [digest_auth("nvr1", secret, forged, PATH)])[0] == 401
    assert raw_get(camera, [digest_auth("nvr1", secret, nonce, "/api/v1/video/live.mp4", nc="00000004")])[0] == 401
    assert raw_get(camera, [digest_auth("nvr1", secret, nonce, PATH, nc="00000005", method="POST")])[0] == 401
    # a person's password is no Digest secret
    assert raw_get(camera, [digest_auth(camera.label["admin_user"], camera.admin_password, nonce, PATH,
                                        nc="00000006")])[0] == 401

    # the browser with a session keeps working; without a cookie or Authorization the JSON 401 stays
    r = admin.request("GET", PATH)
    assert r.status == 200 and r.body[:3] == b"\xff\xd8\xff", r

    # audited on use, with the surface
    r = admin.request("GET", "/api/v1/events?type=login_success&limit=500")
    assert r.status == 200 and "surface=http integration digest" in r.body.decode(), r
    assert secret not in camera.read_log()

    # ONVIF off: the route needs a session again, no Digest challenge
    r = admin.request("PUT", "/api/v1/settings/onvif", json_body={"enabled": False})
    assert r.status == 200, r
    st, chs = raw_get(camera)
    assert st == 401 and chs == [], chs
    code, _, _ = curl_digest(camera, url, "nvr1", secret)
    assert code == 401


def test_wrong_digests_lock_the_account_out(camera):
    wait_rtsps(camera)
    admin = onvif_on(camera)
    secret = admin.request("POST", "/api/v1/integrations", json_body={"name": "nvr2"}).json()["secret"]
    url = f"https://127.0.0.1:{camera.https_port}{PATH}"
    for i in range(5):
        code, _, _ = curl_digest(camera, url, "nvr2", f"wrong-{i}-{secret}")
        assert code == 401
    # locked: the right secret is refused with the same answer, by curl and by ONVIF
    code, body, _ = curl_digest(camera, url, "nvr2", secret)
    assert code == 401, body[:100]
    st, chs = raw_get(camera, [digest_auth("nvr2", secret, nonce_of(raw_get(camera)[1]), PATH)])
    assert st == 401 and len(chs) == 2
    r = soap(camera, "/onvif/media_service", envelope("GetProfiles", MEDIA, "", wsse_header("nvr2", secret)))
    assert r.status == 400 and b"ter:NotAuthorized" in r.body, r
    r = admin.request("GET", "/api/v1/events?type=login_failure&limit=50")
    assert r.status == 200 and "surface=http integration digest refused=credentials" in r.body.decode(), r
    r = admin.request("GET", "/api/v1/events?type=lockout&limit=50")
    assert r.status == 200 and "nvr2" in r.body.decode(), r


from test_discovery import npm_onvif  # noqa: E402,F401  (fixture: npm installs onvif into this run's directory)


def test_npm_onvif_adds_the_camera_and_the_snapshot_is_fetched(camera, npm_onvif):
    """What a recorder does after discovery, with the npm ONVIF client over HTTPS (PasswordDigest tokens): connect,
    device information, profiles, GetStreamUri, GetSnapshotUri; then the snapshot URI it got, fetched by curl
    --digest with the same account (the npm client cannot fetch it itself), and ffmpeg plays the stream URI."""
    import json
    import os
    import time
    from urllib.parse import quote
    wait_rtsps(camera)
    admin = onvif_on(camera)
    secret = admin.request("POST", "/api/v1/integrations", json_body={"name": "nvr3"}).json()["secret"]
    t0 = time.monotonic()
    r = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "onvif_npm_client.cjs"),
                        "127.0.0.1", str(camera.https_port), "nvr3", secret, camera.cacert],
                       env={**os.environ, "NODE_PATH": f"{npm_onvif}/node_modules"}, capture_output=True, timeout=60)
    out = json.loads(r.stdout)
    assert out["ok"], (out, r.stderr[-500:])
    assert out["info"]["serialNumber"] == camera.label["serial"], out
    assert out["profiles"][:1] == ["main"], out
    assert out["stream_uri"] == f"rtsps://127.0.0.1:{camera.rtsps_port}/stream1", out
    assert out["snapshot_uri"] == f"https://127.0.0.1:{camera.https_port}{PATH}", out
    code, body, err = curl_digest(camera, out["snapshot_uri"], "nvr3", secret)
    assert code == 200 and body[:3] == b"\xff\xd8\xff", (code, err)
    added = time.monotonic() - t0
    print(f"npm onvif: connect to both URIs {out['ms']:.0f} ms; with the snapshot fetched {added * 1000:.0f} ms")
    url = out["stream_uri"].replace("rtsps://", f"rtsps://nvr3:{quote(secret, safe='')}@")
    p = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", url, "-t", "2", "-f",
                        "null", "-"], capture_output=True, timeout=60)
    assert p.returncode == 0 and re.findall(rb"frame=\s*(\d+)", p.stderr), p.stderr[-1000:]
