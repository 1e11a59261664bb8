"""ONVIF device and media services on the HTTPS port (issue 11, docs/onvif.md) through the real daemon with curl:
off by default (404 like an unknown path), the settings (admin, CSRF, audited, kept across a restart),
GetSystemDateAndTime without authentication, everything else refused without a valid WS-Security token (the
vault's verifier: PasswordDigest of an integration account end to end, replay, stale/future Created, missing nonce,
lockout; PasswordText of a person; ffmpeg playing the URI GetStreamUri gave), and the
bad input of the issue (malformed SOAP, DOCTYPE/entities, 10,000-deep nesting, a 100 MB body, an endless chunked
body, an unknown action) answered with a fault or a 4xx while the service stays alive.

Debian 12's onvif-util (libonvif 1.4) is not used here: it speaks ONVIF over plain HTTP only (no TLS in
libonvif; its fallback address is http://IP:80/onvif/device_service), and the camera serves ONVIF on HTTPS only
(docs/onvif.md "Clients")."""
import base64
import hashlib
import os
import re
import subprocess
import time
from urllib.parse import quote

import pytest

from conftest import REPO
from test_media_camera import wait_rtsps

ENV12 = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
DEV = "http://www.onvif.org/ver10/device/wsdl"
MEDIA = "http://www.onvif.org/ver10/media/wsdl"
SEC = ('<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
       '<UsernameToken><Username>{user}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/'
       'oasis-200401-wss-username-token-profile-1.0#PasswordText">{pw}</Password></UsernameToken></Security>'
       '</s:Header>')
SOAP12 = "application/soap+xml; charset=utf-8"


def envelope(op, ns, inner="", header=""):
    return f'<?xml version="1.0" encoding="UTF-8"?>{ENV12}{header}<s:Body><{op} xmlns="{ns}">{inner}</{op}></s:Body></s:Envelope>'


def soap(camera, path, body, content_type=SOAP12):
    return camera.request("POST", path, data=body, content_type=content_type)


def onvif_on(camera, discovery=False):
    admin = camera.admin()
    r = admin.request("PUT", "/api/v1/settings/onvif", json_body={"enabled": True, "discovery": discovery})
    assert r.status == 200, r
    assert r.json() == {"enabled": True, "discovery": discovery}
    return admin


def alive(camera):
    r = soap(camera, "/onvif/device_service", envelope("GetSystemDateAndTime", DEV))
    assert r.status == 200, r
    assert b"<tt:UTCDateTime>" in r.body
    return r


def test_off_by_default_answers_404_like_unknown_path(camera):
    unknown = camera.request("POST", "/onvif/no_such_service", data=envelope("GetSystemDateAndTime", DEV),
                             content_type=SOAP12)
    assert unknown.status == 404, unknown
    for path in ("/onvif/device_service", "/onvif/media_service"):
        r = soap(camera, path, envelope("GetSystemDateAndTime", DEV))
        assert (r.status, r.body) == (unknown.status, unknown.body), r
        g = camera.request("GET", path)  # never 405: the path does not exist while off
        assert g.status == 404, g
    admin = camera.admin()
    r = admin.request("GET", "/api/v1/settings/onvif")
    assert r.status == 200 and r.json() == {"enabled": False, "discovery": False}, r


def test_settings_admin_csrf_audited_and_kept(camera):
    admin = camera.admin()
    # refusals change nothing
    for body in ({"enabled": "yes"}, {"enabled": True, "users": True}, {"enabled": 1}):
        r = admin.request("PUT", "/api/v1/settings/onvif", json_body=body)
        assert r.status == 400, (body, r)
    r = admin.request("PUT", "/api/v1/settings/onvif", json_body={"enabled": True}, csrf=False)
    assert r.status == 403 and r.json()["error"] == "csrf", r
    assert camera.request("PUT", "/api/v1/settings/onvif", json_body={"enabled": True}).status == 401
    assert camera.request("GET", "/api/v1/settings/onvif").status == 401
    assert admin.request("GET", "/api/v1/settings/onvif").json() == {"enabled": False, "discovery": False}
    assert soap(camera, "/onvif/device_service", envelope("GetSystemDateAndTime", DEV)).status == 404

    onvif_on(camera)
    alive(camera)
    camera.restart()
    admin = camera.login(camera.label["admin_user"], camera.admin_password)
    assert admin.request("GET", "/api/v1/settings/onvif").json() == {"enabled": True, "discovery": False}
    alive(camera)  # the new web process asks the supervisor: still on
    ev = admin.request("GET", "/api/v1/events?type=config_change&limit=50").json()["events"]
    onvif_ev = [e for e in ev if "onvif" in e["detail"]]
    assert onvif_ev and all("true" not in e["detail"] for e in onvif_ev), ev
    # off again: 404 at once
    r = admin.request("PUT", "/api/v1/settings/onvif", json_body={"enabled": False})
    assert r.status == 200 and r.json()["enabled"] is False
    assert soap(camera, "/onvif/device_service", envelope("GetSystemDateAndTime", DEV)).status == 404


def test_time_public_everything_else_needs_wsse(camera):
    onvif_on(camera)
    r = alive(camera)
    assert r.header("content-type").startswith("application/soap+xml")
    year = time.gmtime().tm_year
    assert f"<tt:Year>{year}</tt:Year>".encode() in r.body
    # SOAP 1.1 too
    r = soap(camera, "/onvif/device_service",
             '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
             f'<GetSystemDateAndTime xmlns="{DEV}"/></e:Body></e:Envelope>', content_type="text/xml; charset=utf-8")
    assert r.status == 200 and b"schemas.xmlsoap.org/soap/envelope" in r.body, r

    for path, op, ns, inner in (("/onvif/media_service", "GetStreamUri", MEDIA, "<ProfileToken>main</ProfileToken>"),
                                ("/onvif/media_service", "GetProfiles", MEDIA, ""),
                                ("/onvif/device_service", "GetDeviceInformation", DEV, ""),
                                ("/onvif/device_service", "GetNetworkInterfaces", DEV, "")):
        r = soap(camera, path, envelope(op, ns, inner))
        assert r.status == 400 and b"ter:NotAuthorized" in r.body, (op, r)
        assert b"rtsps://" not in r.body and camera.label["serial"].encode() not in r.body
        # a token for an unknown user: refused the same way
        r = soap(camera, path, envelope(op, ns, inner, SEC.format(user="nobody", pw="x" * 24)))
        assert r.status == 400 and b"ter:NotAuthorized" in r.body, (op, r)
    # a person's PasswordText inside TLS, checked by the vault against the hash
    r = soap(camera, "/onvif/device_service", envelope("GetDeviceInformation", DEV, "",
                                                       SEC.format(user=camera.label["admin_user"],
                                                                  pw=camera.admin_password)))
    assert r.status == 200 and camera.label["serial"].encode() in r.body, r


def digest_header(user, secret, created=None, nonce=None):
    nonce = nonce or os.urandom(16)
    created = created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + secret.encode()).digest()).decode()
    return ('<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-'
            '1.0.xsd"><UsernameToken><Username>' + user + '</Username><Password Type="http://docs.oasis-open.org/'
            'wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">' + digest + '</Password>'
            '<Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-'
            '1.0#Base64Binary">' + base64.b64encode(nonce).decode() + '</Nonce><Created xmlns="http://docs.oasis-'
            'open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">' + created + '</Created>'
            '</UsernameToken></Security></s:Header>')


def test_password_digest_integration_account_end_to_end(camera):
    admin = onvif_on(camera)
    r = admin.request("POST", "/api/v1/integrations", json_body={"name": "nvr1"})
    assert r.status == 201, r
    secret = r.json()["secret"]
    dev, med = "/onvif/device_service", "/onvif/media_service"

    r = soap(camera, dev, envelope("GetDeviceInformation", DEV, "", digest_header("nvr1", secret)))
    assert r.status == 200 and camera.label["serial"].encode() in r.body, r
    r = soap(camera, dev, envelope("GetCapabilities", DEV, "<Category>All</Category>", digest_header("nvr1", secret)))
    assert r.status == 200 and b"https://127.0.0.1:%d/onvif/media_service" % camera.https_port in r.body, r
    assert b"http://" not in r.body.replace(b"http://www.", b"").replace(b"http://schemas.", b"") \
        .replace(b"http://docs.", b""), r
    r = soap(camera, med, envelope("GetProfiles", MEDIA, "", digest_header("nvr1", secret)))
    assert r.status == 200, r
    stream = admin.request("GET", "/api/v1/settings/stream").json()["stream"]
    assert f'<tt:Width>{stream["width"]}</tt:Width><tt:Height>{stream["height"]}</tt:Height>'.encode() in r.body
    assert f'<tt:FrameRateLimit>{stream["fps"]}</tt:FrameRateLimit>'.encode() in r.body
    assert f'<tt:BitrateLimit>{stream["bitrate_kbps"]}</tt:BitrateLimit>'.encode() in r.body
    r = soap(camera, med, envelope("GetStreamUri", MEDIA, "<ProfileToken>sub</ProfileToken>",
                                   digest_header("nvr1", secret)))
    assert r.status == 200, r
    uri = re.search(rb"<tt:Uri>([^<]+)</tt:Uri>", r.body).group(1).decode()
    assert uri == f"rtsps://127.0.0.1:{camera.rtsps_port}/stream2", uri
    assert "@" not in uri and secret not in r.body.decode()

    # replay: the same token twice; a stale and a future Created; a missing nonce; a wrong secret
    hdr = digest_header("nvr1", secret)
    assert soap(camera, dev, envelope("GetHostname", DEV, "", hdr)).status == 200
    r = soap(camera, dev, envelope("GetHostname", DEV, "", hdr))
    assert r.status == 400 and b"ter:NotAuthorized" in r.body, r
    for created in (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600)),
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))):
        r = soap(camera, dev, envelope("GetHostname", DEV, "", digest_header("nvr1", secret, created=created)))
        assert r.status == 400 and b"ter:NotAuthorized" in r.body, (created, r)
    no_nonce = re.sub(r"<Nonce[^>]*>[^<]*</Nonce>", "", digest_header("nvr1", secret))
    r = soap(camera, dev, envelope("GetHostname", DEV, "", no_nonce))
    assert r.status == 400 and b"ter:NotAuthorized" in r.body, r

    # ffmpeg plays the URI with the integration account (Basic inside TLS)
    wait_rtsps(camera)
    url = uri.replace("rtsps://", f"rtsps://nvr1:{quote(secret, safe='')}@")
    p = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", url, "-t", "2",
                        "-f", "null", "-"], capture_output=True, timeout=60)
    frames = re.findall(rb"frame=\s*(\d+)", p.stderr)
    assert p.returncode == 0 and frames and int(frames[-1]) > 0, p.stderr[-2000:]


def test_wrong_digests_count_toward_the_lockout(camera):
    admin = onvif_on(camera)
    secret = admin.request("POST", "/api/v1/integrations", json_body={"name": "nvr2"}).json()["secret"]
    for _ in range(5):
        r = soap(camera, "/onvif/device_service", envelope("GetHostname", DEV, "", digest_header("nvr2", "wrong" * 5)))
        assert r.status == 400 and b"ter:NotAuthorized" in r.body, r
    # locked: the right secret is refused too, from the same source
    r = soap(camera, "/onvif/device_service", envelope("GetHostname", DEV, "", digest_header("nvr2", secret)))
    assert r.status == 400 and b"ter:NotAuthorized" in r.body, r


def test_bad_input_faults_and_service_alive(camera):
    onvif_on(camera)
    dev = "/onvif/device_service"
    # unknown action (a user change): ActionNotSupported, nothing changed
    r = soap(camera, dev, envelope("SetUser", DEV, "<User><Username>admin</Username><Password>x</Password>"
                                   "<UserLevel>Administrator</UserLevel></User>"))
    assert r.status == 500 and b"ter:ActionNotSupported" in r.body, r
    # malformed SOAP
    for body in ("<s:Envelope", "not xml at all", "<Envelope/>", ENV12 + "</s:Envelope>"):
        r = soap(camera, dev, body)
        assert r.status == 400 and b"env:Sender" in r.body, (body, r)
    # DOCTYPE and entities (billion laughs, XXE)
    lol = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' +
           "".join(f'<!ENTITY a{i} "{"&a;" * 10 if i == 0 else f"&a{i - 1};" * 10}">' for i in range(9)) + "]>" +
           envelope("GetSystemDateAndTime", DEV, "&a8;"))
    xxe = '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + envelope("GetSystemDateAndTime", DEV, "&x;")
    for body in (lol, xxe):
        r = soap(camera, dev, body)
        assert r.status == 400 and b"env:Sender" in r.body and b"root:" not in r.body, r
    # 6,000 deep, under the 64 KiB body limit so that the depth limit answers (10,000 deep was 70 KB: the camera
    # refused it by its length before reading it, and curl, still sending, sometimes saw only a broken pipe)
    deep = ENV12 + "<s:Body>" + "<a>" * 6000 + "</a>" * 6000 + "</s:Body></s:Envelope>"
    assert len(deep) < 64 * 1024
    r = soap(camera, dev, deep)
    assert r.status == 400 and b"env:Sender" in r.body, r
    # wrong content type
    r = soap(camera, dev, envelope("GetSystemDateAndTime", DEV), content_type="application/json")
    assert r.status == 415, r
    alive(camera)

    # a 100 MB body (a real one, streamed by curl with its Content-Length): refused before a byte is read
    big = os.path.join(camera.tmp, "big.xml")
    with open(big, "wb") as f:
        f.truncate(100 * 1024 * 1024)
    head = camera.curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", f"Content-Type: {SOAP12}",
                       "-T", big, camera.base_url + dev, timeout=20)
    assert head.stdout.decode().strip() in ("413", "000"), head
    os.unlink(big)
    alive(camera)
    # an endless chunked body: refused (411) at once
    feed = subprocess.Popen(["yes", "<a>"], stdout=subprocess.PIPE)
    p = subprocess.Popen(["curl", "-sS", "--cacert", camera.cacert, "--max-time", "20", "-o", "/dev/null", "-w",
                          "%{http_code}", "-X", "POST", "-H", f"Content-Type: {SOAP12}", "-H",
                          "Transfer-Encoding: chunked", "-T", "-", camera.base_url + dev],
                         stdin=feed.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    feed.stdout.close()
    try:
        out, err = p.communicate(timeout=30)
    finally:
        feed.kill()
        feed.wait()
    assert out.decode().strip() in ("411", "000"), (out, err, p.returncode)
    alive(camera)
    assert not camera.sanitizer_report()


@pytest.mark.parametrize("path", ["/onvif/device_service", "/onvif/media_service"])
def test_foreign_origin_refused(camera, path):
    """A browser page elsewhere cannot make the camera parse SOAP (CSRF through a text/xml form post)."""
    onvif_on(camera)
    r = camera.request("POST", path, data=envelope("GetSystemDateAndTime", DEV), content_type="text/xml",
                       headers={"Origin": "https://evil.example"})
    assert r.status == 403, r


def test_time_costs_no_peer_call(camera):
    """The one unauthenticated operation answers from the clock alone: with the media process stopped it still
    answers at once (an unauthenticated sender cannot make the web process wait on a peer)."""
    import signal
    onvif_on(camera)
    media = camera.pids()["media"]
    os.kill(media, signal.SIGSTOP)
    try:
        t = time.monotonic()
        r = camera.curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", f"Content-Type: {SOAP12}",
                        "--data-binary", envelope("GetSystemDateAndTime", DEV), camera.base_url + "/onvif/device_service",
                        timeout=5)
        assert r.stdout.decode() == "200", r
        assert time.monotonic() - t < 5
    finally:
        try:
            os.kill(media, signal.SIGCONT)
        except ProcessLookupError:  # the supervisor replaced it after missed heartbeats
            pass


def test_documented_curl_example_works(camera):
    """docs/integrations.md shows how to call GetProfiles with curl and a PasswordDigest token: run that block as
    written, with a real integration account (a new user found no example and had to build the token alone)."""
    admin = onvif_on(camera)
    r = admin.request("POST", "/api/v1/integrations", json_body={"name": "docnvr"})
    assert r.status == 201, r
    with open(os.path.join(REPO, "docs", "integrations.md"), encoding="utf-8") as f:
        text = f.read()
    block = text.split("<!-- onvif-example -->", 1)[1].split("```sh\n", 1)[1].split("\n```", 1)[0]
    env = dict(os.environ, CAM=camera.base_url, CACERT=camera.cacert, USER="docnvr", SECRET=r.json()["secret"])
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", block], capture_output=True, env=env, timeout=60)
    assert out.returncode == 0, out
    assert b"GetProfilesResponse" in out.stdout and b'token="main"' in out.stdout, out.stdout[:2000]
    env["SECRET"] = "x" * 24
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", block], capture_output=True, env=env, timeout=60)
    assert b"ter:NotAuthorized" in out.stdout, out.stdout[:2000]
