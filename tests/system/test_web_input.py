"""Web API input validation and hardening headers through the real safecamd: every malformed request gets a
clear 4xx JSON answer, nothing changes, and the web process keeps serving without restarting
(QCVN 135 G6, G11 / EN 303 645 5.6, 5.13-1; attack cases A1, A2, A3, A5, A6, A11, A12)."""
import json
import os
import re
import socket
import ssl
import time

import pytest

from conftest import strong_password

LOGIN = "/api/v1/session"
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000",
    "content-security-policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                                "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'self'"),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def tls_connect(cam, timeout=10):
    ctx = ssl.create_default_context(cafile=cam.cacert)
    sock = socket.create_connection(("127.0.0.1", cam.https_port), timeout=timeout)
    return ctx.wrap_socket(sock, server_hostname="127.0.0.1")


def raw(cam, data, timeout=10):
    """Send hand-made request bytes over TLS; return (status, headers dict, body bytes). status 0 when the
    server closed the connection without an answer."""
    with tls_connect(cam, timeout) as s:
        buf = b""
        try:
            s.sendall(data)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass  # the server may refuse and close before the whole request is sent
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except (ssl.SSLError, ConnectionResetError, socket.timeout):
            pass
    if not buf:
        return 0, {}, b""
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return (int(m.group(1)) if m else 0), headers, body


def req_bytes(cam, method, target, headers=(), body=b""):
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{cam.https_port}", "Connection: close"]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def err(body):
    return json.loads(body.decode())["error"]


@pytest.fixture(scope="module")
def cam(camera_module):
    camera_module.web_pid = camera_module.pids()["web"]
    return camera_module


@pytest.fixture(scope="module")
def admin(cam):
    return cam.admin()


def still_serving(cam):
    r = cam.request("GET", "/.well-known/security.txt")
    assert r.status == 200
    assert cam.pids()["web"] == cam.web_pid, "the web process restarted: it crashed on an input"


# ---------------------------------------------------------------------------------------------------
# JSON bodies
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data,code", [
    (b'{"username":"admin","password":', "invalid_json"),
    (b'[]', "invalid_json"),
    (b'"admin"', "invalid_json"),
    (b'', "invalid_json"),
    (b'{"username":"admin","password":"x"} {}', "invalid_json"),
    (b'{"username":"adm\xffin","password":"x"}', "invalid_json"),                 # not UTF-8
    (b'{"username":"admin\\u0000x","password":"x"}', "invalid_json"),             # NUL
    (b'{"username":"admin","username":"root","password":"x"}', "invalid_json"),   # duplicate key
    (b'{"username":"admin","password":"x","loginType":"trusted"}', "unknown_field"),  # A3
    (b'{"username":"admin","password":"x","__proto__":{}}', "unknown_field"),
    (b'{"username":"admin"}', "missing_field"),
    (b'{"password":"x"}', "missing_field"),
    (b'{"username":"admin","password":1234}', "invalid_field"),
    (b'{"username":["admin"],"password":"x"}', "invalid_field"),
    (b'{"username":"admin","password":""}', "invalid_field"),                     # A8: blank password
])
def test_login_bad_bodies(cam, data, code):
    r = cam.request("POST", LOGIN, data=data, content_type="application/json")
    assert r.status == 400, r
    assert r.json()["error"] == code, r
    assert r.header("content-type") == "application/json"


def test_bad_bodies_on_authenticated_routes_change_nothing(cam, admin):
    before = admin.request("GET", "/api/v1/users").json()
    for data in (b'{"username":"u1","password":"' + strong_password().encode() + b'","role":"admin","admin":true}',
                 b'{"username":"u1","role":"admin"}',
                 b'{"username":"u1","password":"x","role":"superuser"}',
                 b'{"username":"u1","password":"x","role":"admin"',
                 b'{"username":"u\xc0\xaf1","password":"x","role":"admin"}'):
        r = admin.request("POST", "/api/v1/users", data=data, content_type="application/json")
        assert r.status == 400, (data, r)
    assert admin.request("GET", "/api/v1/users").json() == before


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                   "application/json; charset=latin1", "application/jsonp", None])
def test_wrong_content_type(cam, admin, ctype):
    body = json.dumps({"username": "admin", "password": "x"})
    r = cam.request("POST", LOGIN, data=body, content_type=ctype)
    assert (r.status, r.json()["error"]) == (415, "unsupported_media_type"), r
    r = admin.request("PUT", "/api/v1/settings/security", data='{"lockout_threshold":5}', content_type=ctype)
    assert (r.status, r.json()["error"]) == (415, "unsupported_media_type"), r


def test_one_megabyte_body_refused(cam, admin):
    big = b'{"username":"admin","password":"' + b"A" * (1024 * 1024) + b'"}'
    r = cam.request("POST", LOGIN, data=big, content_type="application/json")
    assert (r.status, r.json()["error"]) == (413, "payload_too_large"), r
    r = admin.request("POST", "/api/v1/users", data=big, content_type="application/json")
    assert r.status == 413
    still_serving(cam)


@pytest.mark.parametrize("length", ["99999999999", "9223372036854775807", "99999999999999999999999999", "4097"])
def test_absurd_content_length_refused_before_reading(cam, length):
    t0 = time.monotonic()
    status, headers, body = raw(cam, req_bytes(cam, "POST", LOGIN, [
        "Content-Type: application/json", f"Content-Length: {length}"], b'{"username":"a"'))
    assert 400 <= status < 500, (status, body)
    assert time.monotonic() - t0 < 5  # answered at once, not after waiting for the body
    still_serving(cam)


def test_chunked_body_refused(cam):
    status, _, body = raw(cam, req_bytes(cam, "POST", LOGIN, [
        "Content-Type: application/json", "Transfer-Encoding: chunked"], b"5\r\n{\"a\":\r\n0\r\n\r\n"))
    assert status == 411 and err(body) == "length_required", (status, body)


def test_body_on_get_refused(cam):
    status, _, body = raw(cam, req_bytes(cam, "GET", "/.well-known/security.txt", ["Content-Length: 5"], b"hello"))
    assert status == 413, (status, body)


# ---------------------------------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,v1,v2", [
    ("Cookie", "safecam_session=" + "a" * 64, "safecam_session=" + "b" * 64),
    ("X-CSRF-Token", "a" * 64, "b" * 64),
    ("Content-Type", "application/json", "application/json"),
    ("Origin", "https://127.0.0.1", "https://evil.example"),
])
def test_repeated_critical_headers(cam, name, v1, v2):
    status, _, body = raw(cam, req_bytes(cam, "POST", LOGIN, [
        "Content-Type: application/json" if name != "Content-Type" else "X-Pad: 1",
        f"{name}: {v1}", f"{name}: {v2}", "Content-Length: 2"], b"{}"))
    assert status == 400, (status, body)
    still_serving(cam)


def test_repeated_content_length(cam):
    status, _, body = raw(cam, req_bytes(cam, "POST", LOGIN, [
        "Content-Type: application/json", "Content-Length: 2", "Content-Length: 40"], b"{}"))
    assert 400 <= status < 500, (status, body)


def test_cookie_tossing_refused(cam, admin):
    sid = admin.cookie()
    r = cam.request("GET", "/api/v1/device", headers={"Cookie": f"safecam_session={sid}; safecam_session={'0' * 64}"})
    assert (r.status, r.json()["error"]) == (400, "invalid_cookie")


def test_huge_header_refused(cam):
    status, _, _ = raw(cam, req_bytes(cam, "GET", "/api/v1/device", ["X-Big: " + "a" * 20000]))
    assert status == 0 or 400 <= status < 500
    status, _, _ = raw(cam, req_bytes(cam, "GET", "/api/v1/device", [f"X-H{i}: {'b' * 100}" for i in range(300)]))
    assert status == 0 or 400 <= status < 500
    still_serving(cam)


def test_forwarded_headers_grant_nothing(cam):
    for h in ({"X-Forwarded-For": "127.0.0.1"}, {"X-Real-IP": "127.0.0.1"}, {"Host": "localhost"},
              {"X-Forwarded-Host": "localhost"}):
        r = cam.request("GET", "/api/v1/users", headers=h)
        assert r.status == 401, (h, r)


# ---------------------------------------------------------------------------------------------------
# Paths, methods, routes (A11, A12)
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/..%2f..%2fetc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/css/..%2f..%2f..%2fetc%2fpasswd",
    "/js/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd", "/index.html%00.js", "/api/v1/device%00", "/%252e%252e/etc/passwd",
    "/..%5c..%5cetc%5cpasswd", "/api/v1//users", "/api/v1/users/", "/caf%C3%A9", "/a%0d%0aSet-Cookie:%20x=1",
])
def test_path_traversal_refused(cam, target):
    status, headers, body = raw(cam, req_bytes(cam, "GET", target))
    assert status == 400, (target, status, body)
    assert err(body) == "invalid_path"
    assert b"root:" not in body
    assert "set-cookie" not in headers


def test_query_nul_and_pollution_refused(cam, admin):
    for q in ("limit=1%00", "limit=1&limit=2", "limit=%", "type=%0a"):
        r = admin.request("GET", f"/api/v1/events?{q}")
        assert r.status == 400, (q, r)


def test_unknown_routes_and_methods(cam, admin):
    for path in ("/api/v1/nothing", "/api/v2/device", "/cgi-bin/admin.cgi", "/api/v1/debug", "/setup.cgi",
                 "/api/v1/users/admin/shell", "/.git/config", "/onvif/device_service"):
        r = admin.request("GET", path)
        assert (r.status, r.json()["error"]) == (404, "not_found"), (path, r)
    r = admin.request("PATCH", LOGIN)
    assert (r.status, r.json()["error"]) == (405, "method_not_allowed")
    assert "GET" in r.header("allow") and "POST" in r.header("allow")
    for method in ("TRACE", "OPTIONS", "CONNECT", "FOO"):
        status, headers, body = raw(cam, req_bytes(cam, method, "/api/v1/device"))
        assert status in (400, 405, 501), (method, status, body)
    r = cam.request("POST", "/index.html", data="{}", content_type="application/json")
    assert r.status == 405


def test_long_uri_refused(cam):
    status, _, body = raw(cam, req_bytes(cam, "GET", "/api/v1/device?" + "a=b&" * 60))
    assert status in (400, 414), status
    # Hundreds of query arguments exhaust the connection's memory pool (16 KiB) inside libmicrohttpd,
    # which then drops the connection without an answer: refused either way, and nothing else changes.
    status, _, body = raw(cam, req_bytes(cam, "GET", "/api/v1/device?" + "a=b&" * 600))
    assert status == 0 or 400 <= status < 500, status
    status, _, body = raw(cam, req_bytes(cam, "GET", "/" + "a" * 3000))
    assert status in (400, 414), status
    still_serving(cam)


def test_injection_canaries_are_only_data(cam, tmp_path):
    """A1/A9/A10: shell metacharacters in any field are data: the answer is the ordinary one."""
    canary = f"/tmp/safecam-canary-{os.getpid()}"
    for name in (f"admin;touch {canary}", f"$(touch {canary})", f"`touch {canary}`", f"admin\ntouch {canary}",
                 "admin' OR '1'='1", "<script>alert(1)</script>"):
        r = cam.request("POST", LOGIN, json_body={"username": name, "password": f"x$(touch {canary})"})
        assert (r.status, r.json()) == (401, {"error": "invalid_credentials"}), (name, r)
        assert b"<script>" not in r.body
    assert not os.path.exists(canary)


# ---------------------------------------------------------------------------------------------------
# Answers: headers, banners, public resources
# ---------------------------------------------------------------------------------------------------

def check_security_headers(r, api=True):
    for k, v in SECURITY_HEADERS.items():
        assert r.header(k) == v, (k, r.header(k), r)
    assert r.header("server") is None, r.header("server")
    assert r.header("x-powered-by") is None
    if api:
        assert r.header("cache-control") == "no-store"


def test_security_headers_everywhere(cam, admin):
    answers = [
        cam.request("GET", "/.well-known/security.txt"),
        cam.request("GET", "/api/v1/device"),                       # 401
        cam.request("GET", "/api/v1/nothing"),                      # 404
        cam.request("PATCH", LOGIN),                                # 405
        cam.request("POST", LOGIN, data="{", content_type="application/json"),  # 400
        cam.request("POST", LOGIN, json_body={"username": "nobody", "password": "x"}),  # 401
        admin.request("GET", "/api/v1/device"),                     # 200
        admin.request("GET", "/api/v1/users"),
    ]
    for r in answers:
        check_security_headers(r)
    r = cam.request("GET", "/")
    assert r.status == 200 and r.header("content-type").startswith("text/html")
    check_security_headers(r, api=False)
    status, headers, _ = raw(cam, req_bytes(cam, "GET", "/.well-known/security.txt"))
    assert "server" not in headers


def test_security_txt(cam):
    r = cam.request("GET", "/.well-known/security.txt")
    assert r.status == 200 and r.header("content-type").startswith("text/plain")
    text = r.body.decode()
    fields = dict(line.split(": ", 1) for line in text.strip().splitlines())
    assert fields["Contact"].startswith(("mailto:", "https://"))
    assert fields["Preferred-Languages"] == "vi, en"
    assert fields["Canonical"].endswith("/.well-known/security.txt")
    assert "Policy" in fields
    expires = time.mktime(time.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 300 * 86400 < expires - time.time() <= 366 * 86400


def test_static_ui_files(cam):
    r = cam.request("GET", "/index.html")
    assert r.status == 200 and r.header("content-type") == "text/html; charset=utf-8"
    assert r.header("x-frame-options") == "DENY"
    r = cam.request("GET", "/")
    assert r.status == 200
    js = [p for p in re.findall(r'src="([^"]+\.js)"', r.body.decode()) if p.startswith("/") or not p.startswith("http")]
    for p in js[:3]:
        p = p if p.startswith("/") else "/" + p
        rj = cam.request("GET", p)
        assert rj.status == 200 and rj.header("content-type") == "text/javascript; charset=utf-8", (p, rj)
    for p in ("/nonexistent.html", "/index.php", "/.htaccess", "/index.html.bak"):
        r = cam.request("GET", p)
        assert r.status == 404, (p, r)


# ---------------------------------------------------------------------------------------------------
# Connections: slowloris and per-source limits
# ---------------------------------------------------------------------------------------------------

def test_slow_request_is_cut(cam):
    s = tls_connect(cam, timeout=30)
    try:
        s.sendall(b"GET /api/v1/device HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        closed = False
        try:
            while time.monotonic() - t0 < 25:
                if s.recv(1024) == b"":
                    closed = True
                    break
        except (ssl.SSLError, OSError):
            closed = True
        assert closed and time.monotonic() - t0 < 20
    finally:
        s.close()
    still_serving(cam)


def test_per_source_connection_limit(cam):
    socks = []
    refused = 0
    try:
        for i in range(24):
            try:
                socks.append(tls_connect(cam, timeout=3))
            except (ssl.SSLError, OSError):
                refused += 1
        # connections beyond the per-source limit are closed by the server at once
        for s in socks:
            s.settimeout(0.5)
            try:
                if s.recv(1) == b"":
                    refused += 1
            except socket.timeout:
                pass
            except (ssl.SSLError, OSError):
                refused += 1
        assert refused >= 1
    finally:
        for s in socks:
            s.close()
    time.sleep(0.5)
    still_serving(cam)
