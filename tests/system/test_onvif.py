"""ONVIF device and media services on the HTTPS port (issue 11, docs/onvif.md) through the real daemon with curl:
off by default (404 like an unknown path), the settings (admin, CSRF, audited, kept across a restart),
GetSystemDateAndTime without authentication, everything else refused without a valid WS-Security token, and the
bad input of the issue (malformed SOAP, DOCTYPE/entities, 10,000-deep nesting, a 100 MB body, an endless chunked
body, an unknown action) answered with a fault or a 4xx while the service stays alive.

Debian 12's onvif-util (libonvif 1.4) is not used here: it speaks ONVIF over plain HTTP only (no TLS in
libonvif; its fallback address is http://IP:80/onvif/device_service), and the camera serves ONVIF on HTTPS only
(docs/onvif.md "Clients")."""
import os
import subprocess
import time

import pytest

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
        # a token for an unknown user (or any token while the verifier is not wired): refused the same way
        r = soap(camera, path, envelope(op, ns, inner, SEC.format(user="nobody", pw="x" * 24)))
        assert r.status == 400 and b"ter:NotAuthorized" in r.body, (op, r)
        r = soap(camera, path, envelope(op, ns, inner, SEC.format(user=camera.label["admin_user"],
                                                                  pw=camera.admin_password)))
        assert r.status == 400 and b"ter:NotAuthorized" in r.body, (op, r)


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
    # 10,000 deep
    deep = ENV12 + "<s:Body>" + "<a>" * 10000 + "</a>" * 10000 + "</s:Body></s:Envelope>"
    r = soap(camera, dev, deep)
    assert r.status in (400, 413), r
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
