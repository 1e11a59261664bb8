"""qcvn-check against deliberately non-compliant real servers on 127.0.0.1 (started here, on free
ports): openssl s_server with TLS 1.0 + CBC suites, Python's http.server with Basic auth over HTTP and
a default password, an RTSP server without authentication (gst-rtsp-server), an FTP server
(pyftpdlib). Each must get the expected FAIL with the right evidence. Also: usage and profile errors
exit 2 with one line, reports never contain a password, fleet mode. Scans are limited to --ports
naming our own servers (this machine's loopback carries services that are not ours)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO, bin_path, free_port

PY = "/usr/bin/python3"


def qcvn(*args, timeout=240):
    return subprocess.run([bin_path("qcvn-check"), "--quiet", *args], capture_output=True, text=True,
                          timeout=timeout)


def wait_port(port, timeout=15):
    import socket
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


class Server:
    def __init__(self, argv, port, **kw):
        self.port = port
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        wait_port(port)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


@pytest.fixture
def tmp():
    with tempfile.TemporaryDirectory(prefix="qcvn-") as d:
        yield d


def make_cert(d, kind="rsa:2048", md="-sha256"):
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", kind, "-nodes", "-keyout", key, "-out", crt, "-days", "30",
                    "-subj", "/CN=weak-camera", md], check=True, capture_output=True)
    return key, crt


@pytest.fixture
def weak_tls(tmp):
    key, crt = make_cert(tmp)
    port = free_port()
    s = Server(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", crt, "-key", key, "-www", "-quiet",
                "-tls1", "-cipher", "AES128-SHA:ECDHE-RSA-AES256-SHA:@SECLEVEL=0"], port)
    yield s
    s.stop()


@pytest.fixture
def basic_http():
    port = free_port()
    s = Server([PY, os.path.join(REPO, "tests/check/basic_http_server.py"), str(port)], port)
    yield s
    s.stop()


@pytest.fixture
def rtsp_noauth():
    port = free_port()
    s = Server([bin_path("rtsp-noauth"), str(port), "/stream1"], port)
    yield s
    s.stop()


def results(outdir):
    with open(os.path.join(outdir, "report.json")) as f:
        rep = json.load(f)
    assert rep["schema"] == "qcvn-check-report/1"
    return rep, {r["id"]: r for r in rep["results"]}


def ev(r):
    return "\n".join(r["evidence"])


def test_tls10_cbc_server_fails_sc02_and_reports_render(weak_tls, tmp):
    out = os.path.join(tmp, "out")
    p = qcvn("--target", "127.0.0.1", "--ports", str(weak_tls.port), "--only", "SC-01,SC-02,SC-08",
             "--out", out, "--format", "json,html,sarif,junit")
    assert p.returncode == 1, p.stderr
    rep, r = results(out)
    assert r["SC-02"]["verdict"] == "FAIL"
    e = ev(r["SC-02"])
    assert "TLS1.0 ACCEPTED" in e
    assert "TLS_RSA_AES_128_CBC_SHA1" in e and "<- WEAK" in e
    assert "TLS_ECDHE_RSA_AES_256_CBC_SHA1" in e  # found by one-suite-per-handshake enumeration
    assert "RSA 2048 bits" in e
    facts = rep["tls_endpoints"][str(weak_tls.port)]
    assert facts["versions"] == {"TLS1.0": True, "TLS1.1": False, "TLS1.2": False, "TLS1.3": False}
    assert r["SC-08"]["verdict"] == "FAIL"
    # one port probed (--ports): the inventory is honest about its scope
    assert r["SC-01"]["verdict"] == "INCONCLUSIVE" and "Inventory partial" in r["SC-01"]["reason"], r["SC-01"]
    # the other formats are well formed and carry the same verdicts
    with open(os.path.join(out, "report.sarif")) as f:
        sarif = json.load(f)
    assert sarif["version"] == "2.1.0"
    res = {x["ruleId"]: x for x in sarif["runs"][0]["results"]}
    assert res["SC-02"]["kind"] == "fail" and res["SC-02"]["level"] == "error"
    junit = ET.parse(os.path.join(out, "report.junit.xml")).getroot()
    fails = [tc.get("name") for tc in junit.iter("testcase") if tc.find("failure") is not None]
    assert any(n.startswith("SC-02") for n in fails)
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert "SC-02" in html and "<script" not in html
    assert "TLS_RSA_AES_128_CBC_SHA1" in html


def test_only_sc02_runs_discovery_as_prerequisite(weak_tls, tmp):
    """--only SC-02 (without SC-01) must still judge the real TLS endpoint: SC-01 runs as a prerequisite
    and is reported as such; --only SC-08 pulls in SC-02 and SC-01 the same way."""
    out = os.path.join(tmp, "only02")
    p = qcvn("--target", "127.0.0.1", "--ports", str(weak_tls.port), "--only", "SC-02", "--out", out)
    assert p.returncode == 1, p.stderr
    rep, r = results(out)
    assert r["SC-02"]["verdict"] == "FAIL", r["SC-02"]["reason"]
    assert "TLS1.0 ACCEPTED" in ev(r["SC-02"])
    assert r["SC-01"].get("prerequisite") is True and "prerequisite" in ev(r["SC-01"])
    assert "prerequisite" not in r["SC-02"]
    assert rep["options"]["prerequisites_run"] == ["SC-01"]
    out = os.path.join(tmp, "only08")
    p = qcvn("--target", "127.0.0.1", "--ports", str(weak_tls.port), "--only", "SC-08", "--out", out)
    assert p.returncode == 1, p.stderr
    rep, r = results(out)
    assert r["SC-08"]["verdict"] == "FAIL", r["SC-08"]["reason"]
    assert sorted(rep["options"]["prerequisites_run"]) == ["SC-01", "SC-02"]


def test_basic_auth_over_http_fails_sc04_if02_pw01(basic_http, tmp):
    out = os.path.join(tmp, "out")
    p = qcvn("--target", "127.0.0.1", "--ports", str(basic_http.port), "--out", out,
             "--only", "SC-01,SC-04,IF-02,IF-04,PW-01,IV-01", "--lang", "vi", "--format", "json,html")
    assert p.returncode == 1, p.stderr
    rep, r = results(out)
    assert r["SC-04"]["verdict"] == "FAIL"
    assert "HTTP Basic credentials over cleartext HTTP" in ev(r["SC-04"])
    assert "WWW-Authenticate: Basic" in ev(r["SC-04"])
    assert r["IF-02"]["verdict"] == "FAIL"
    assert "Server: BaseHTTP/" in ev(r["IF-02"])
    assert r["PW-01"]["verdict"] == "FAIL"
    assert 'admin / "12345" -> 200  ACCEPTED' in ev(r["PW-01"])
    assert r["IF-04"]["verdict"] == "FAIL"
    assert r["IV-01"]["verdict"] in ("PASS", "FAIL")  # Python answers; liveness must hold
    assert "liveness: GET / ->" in ev(r["IV-01"])
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert 'lang="vi"' in html and "KHÔNG ĐẠT" in html


def test_rtsp_without_auth_fails_sc04_sc05(rtsp_noauth, tmp):
    out = os.path.join(tmp, "out")
    p = qcvn("--target", "127.0.0.1", "--ports", str(rtsp_noauth.port), "--out", out,
             "--only", "SC-01,SC-04,SC-05,IV-02,IF-02")
    assert p.returncode == 1, p.stderr
    rep, r = results(out)
    assert "rtsp" in ev(r["SC-01"])
    assert r["SC-04"]["verdict"] == "FAIL" and "RTSP answered in clear" in ev(r["SC-04"])
    assert r["SC-05"]["verdict"] == "FAIL"
    assert f"DESCRIBE rtsp://127.0.0.1:{rtsp_noauth.port}/stream1 (no credentials) -> 200" in ev(r["SC-05"])
    assert "application/sdp" in ev(r["SC-05"])
    assert r["IV-02"]["verdict"] == "PASS"  # gst-rtsp-server survives the malformed requests
    assert rtsp_noauth.p.poll() is None


def test_ftp_server_fails_sc04(tmp):
    try:
        import pyftpdlib  # noqa: F401  (Debian python3-pyftpdlib)
    except ImportError:
        pytest.skip("python3-pyftpdlib not installed (scripts/install-deps)")
    port = free_port()
    s = Server([PY, "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", str(port), "-d", tmp], port)
    try:
        out = os.path.join(tmp, "out")
        p = qcvn("--target", "127.0.0.1", "--ports", str(port), "--out", out, "--only", "SC-01,SC-04,IF-02")
        assert p.returncode == 1, p.stderr
        _, r = results(out)
        assert r["SC-04"]["verdict"] == "FAIL"
        assert "FTP (cleartext credentials): 220" in ev(r["SC-04"])
        assert r["IF-02"]["verdict"] == "FAIL" and "pyftpdlib" in ev(r["IF-02"])
    finally:
        s.stop()


def test_unreachable_target_is_inconclusive_not_error(tmp):
    port = free_port()  # nothing listens there
    out = os.path.join(tmp, "out")
    p = qcvn("--target", "127.0.0.1", "--ports", str(port), "--out", out, "--only", "SC-01,SC-02,SC-04,IF-02,VM-02")
    assert p.returncode == 0, p.stderr
    _, r = results(out)
    assert r["SC-01"]["verdict"] == "INCONCLUSIVE"
    assert "No TCP port answered" in r["SC-01"]["reason"]


@pytest.mark.parametrize("args, needle", [
    ([], "exactly one of --target"),
    (["--target", "127.0.0.1", "--timeout", "0"], "--timeout"),
    (["--target", "127.0.0.1", "--ports", "70000"], "--ports"),
    (["--target", "127.0.0.1", "--format", "pdf"], "--format"),
    (["--target", "127.0.0.1", "--lang", "fr"], "--lang"),
    (["--target", "127.0.0.1", "--nonsense"], "--nonsense"),
    (["--target", "no-such-host.invalid", "--ports", "1"], "does not resolve"),
])
def test_usage_errors_exit_2_with_one_line(args, needle, tmp):
    p = qcvn(*args, "--out", os.path.join(tmp, "o"))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("doc, field", [
    ("{", "not valid JSON"),
    ("[]", "top level"),
    ('{"schema": "other/9"}', "schema"),
    ('{"schema": "qcvn-check-profile/1", "servicez": []}', "servicez: unknown field"),
    ('{"schema": "qcvn-check-profile/1", "services": [{"port": 0}]}', "services[0].port"),
    ('{"schema": "qcvn-check-profile/1", "services": [{"port": 80, "service": "gopher"}]}', "services[0].service"),
    ('{"schema": "qcvn-check-profile/1", "auth": {"lockout": {"threshold": "5"}}}', "auth.lockout.threshold"),
    ('{"schema": "qcvn-check-profile/1", "auth": {"login": {"type": "json"}}}', "auth.login.path"),
    ('{"schema": "qcvn-check-profile/1", "credentials": {"admin": {"username": "a"}}}', "credentials.admin.password"),
    ('{"schema": "qcvn-check-profile/1", "protected_endpoints": [{"path": "no-slash"}]}', "protected_endpoints[0].path"),
    ('{"schema": "qcvn-check-profile/1", "device": {"model": "a\\u0001"}}', "device.model"),
])
def test_broken_profile_exit_2_naming_the_field(doc, field, tmp):
    prof = os.path.join(tmp, "p.json")
    with open(prof, "w") as f:
        f.write(doc)
    p = qcvn("--target", "127.0.0.1", "--profile", prof, "--ports", "1", "--out", os.path.join(tmp, "o"))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], p.stderr
    assert not os.path.exists(os.path.join(tmp, "o", "report.json"))


def test_profile_template_is_a_valid_profile(tmp):
    p = subprocess.run([bin_path("qcvn-check"), "--profile-template"], capture_output=True, text=True)
    assert p.returncode == 0
    tpl = json.loads(p.stdout)
    assert tpl["schema"] == "qcvn-check-profile/1"
    # the template names env vars for passwords; with them set it loads (then the run finds nothing)
    prof = os.path.join(tmp, "t.json")
    with open(prof, "w") as f:
        f.write(p.stdout)
    env = dict(os.environ, QCVN_ADMIN_PASSWORD="x-Admin-1!", QCVN_USER_PASSWORD="x-User-1!",
               QCVN_INITIAL_PASSWORD="x-Init-1!")
    port = free_port()
    r = subprocess.run([bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--profile", prof, "--ports",
                        "declared", "--https-port", str(port), "--only", "SC-01", "--out", os.path.join(tmp, "o")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr


def test_reports_never_contain_a_password(basic_http, tmp):
    secret = "Lab-Only#Secret-7781"
    prof = os.path.join(tmp, "p.json")
    with open(prof, "w") as f:
        json.dump({"schema": "qcvn-check-profile/1",
                   "services": [{"port": basic_http.port, "service": "http", "purpose": "admin"}],
                   "auth": {"login": {"type": "basic", "path": "/"}},
                   "credentials": {"admin": {"username": "admin", "password": secret},
                                   "initial_password": secret + "-init"}}, f)
    out = os.path.join(tmp, "out")
    p = qcvn("--target", "127.0.0.1", "--profile", prof, "--ports", "declared", "--out", out,
             "--format", "json,html,sarif,junit", "--only", "SC-01,SC-04,PW-01,PW-02,IF-02")
    assert p.returncode == 1, p.stderr
    for name in os.listdir(out):
        data = open(os.path.join(out, name), "rb").read()
        assert secret.encode() not in data, name
    assert secret not in p.stderr
    _, r = results(out)
    assert r["PW-02"]["verdict"] in ("PASS", "FAIL")


def test_fleet_mode_writes_summary(basic_http, tmp):
    targets = os.path.join(tmp, "targets.txt")
    with open(targets, "w") as f:
        f.write("# two loopback addresses; only 127.0.0.1 has our server\n127.0.0.1\n127.0.0.2\n")
    out = os.path.join(tmp, "fleet")
    p = qcvn("--targets", targets, "--ports", str(basic_http.port), "--out", out, "--parallel", "2",
             "--only", "SC-01,SC-04")
    assert p.returncode == 1, p.stderr
    fleet = json.load(open(os.path.join(out, "fleet.json")))
    assert fleet["devices"] == 2 and fleet["failing"] == 1
    by = {d["target"]: d for d in fleet["results"]}
    assert by["127.0.0.1"]["result"] == "FAIL" and by["127.0.0.2"]["result"] == "UNDECIDED"  # nothing answers there: SC-01 is INCONCLUSIVE
    assert os.path.exists(os.path.join(out, "127.0.0.1", "report.json"))
    assert os.path.exists(os.path.join(out, "fleet.html"))


def test_tls_port_answering_plain_http_is_tls(tmp):
    """Debian's nginx answers a cleartext request on its HTTPS port with "400 The plain HTTP request was
    sent to HTTPS port": SC-01 must still see a TLS endpoint (HTTP inside), so SC-02 judges it, instead of
    calling it HTTP in clear."""
    import shutil
    if shutil.which("nginx") is None:
        pytest.skip("nginx not installed")
    key, crt = make_cert(tmp)
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; master_process off; worker_processes 1; pid {tmp}/nginx.pid;
error_log {tmp}/error.log; events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p; fastcgi_temp_path {tmp}/f;
  uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
  server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {crt}; ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3; location / {{ return 404; }} }} }}
""")
    s = Server(["nginx", "-e", os.path.join(tmp, "error.log"), "-p", tmp, "-c", conf], port)
    try:
        out = os.path.join(tmp, "out")
        p = qcvn("--target", "127.0.0.1", "--ports", str(port), "--only", "SC-01,SC-02", "--out", out)
        assert p.returncode in (0, 1), p.stderr
        rep = json.load(open(os.path.join(out, "report.json")))
        svc = {x["port"]: x for x in rep["services"]}[port]
        assert svc["service"] == "https", svc
        assert str(port) in rep["tls_endpoints"], rep["tls_endpoints"].keys()
        r = {x["id"]: x for x in rep["results"]}
        assert r["SC-02"]["verdict"] in ("PASS", "FAIL"), r["SC-02"]
    finally:
        s.stop()


def test_not_applicable_only_when_the_profile_declares_the_feature_absent(basic_http, tmp):
    """Without a profile, a web server whose login qcvn-check cannot use and the missing TLS give
    INCONCLUSIVE with the reason; a profile declaring only cleartext HTTP and no login makes them
    NOT_APPLICABLE."""
    out = os.path.join(tmp, "noprof")
    # (BF-03 is not in this run: without a profile it now judges the HTTP Basic surface SC-01 found,
    # see test_check_corpus.py, instead of saying there is no login)
    p = qcvn("--target", "127.0.0.1", "--ports", str(basic_http.port), "--only", "SC-02,SC-08",
             "--out", out)
    assert p.returncode in (0, 1), p.stderr
    _, r = results(out)
    for i in ("SC-02", "SC-08"):
        assert r[i]["verdict"] == "INCONCLUSIVE", (i, r[i]["reason"])
        assert "does not declare it absent" in r[i]["reason"], (i, r[i]["reason"])
    prof = os.path.join(tmp, "p.json")
    with open(prof, "w") as f:
        json.dump({"schema": "qcvn-check-profile/1",
                   "services": [{"port": basic_http.port, "protocol": "tcp", "service": "http", "purpose": "web"}],
                   "auth": {"login": {"type": "none"}}}, f)
    out = os.path.join(tmp, "prof")
    p = qcvn("--target", "127.0.0.1", "--profile", prof, "--ports", "declared", "--only", "SC-02,SC-08,BF-03",
             "--out", out)
    assert p.returncode in (0, 1), p.stderr
    _, r = results(out)
    for i in ("SC-02", "SC-08", "BF-03"):
        assert r[i]["verdict"] == "NOT_APPLICABLE", (i, r[i]["reason"])
        assert "the profile declares none" in r[i]["reason"], (i, r[i]["reason"])


def test_port_options_replace_the_profile_ports_and_count_as_declared(weak_tls, tmp):
    """--https-port/--rtsps-port are declared services: without a profile IF-01 compares with them;
    with a profile they replace its HTTPS/RTSPS ports, and the report's profile echo shows the result."""
    rtsps = free_port()  # nothing listens there: declared but closed
    out = os.path.join(tmp, "noprof")
    p = qcvn("--target", "127.0.0.1", "--https-port", str(weak_tls.port), "--rtsps-port", str(rtsps),
             "--ports", "declared", "--only", "IF-01", "--out", out)
    assert p.returncode in (0, 1), p.stderr
    rep, r = results(out)
    # declared ports only: nothing undeclared found, but the rest of the range was not probed
    assert r["IF-01"]["verdict"] == "INCONCLUSIVE" and "only 2 of 65535" in r["IF-01"]["reason"], r["IF-01"]
    assert f"tcp/{weak_tls.port} open and declared" in ev(r["IF-01"])
    svcs = {(s["port"], s["service"]) for s in rep["profile"]["services"]}
    assert svcs == {(weak_tls.port, "https"), (rtsps, "rtsps")}, rep["profile"]["services"]
    prof = os.path.join(tmp, "p.json")
    with open(prof, "w") as f:
        json.dump({"schema": "qcvn-check-profile/1",
                   "services": [{"port": 443, "protocol": "tcp", "service": "https", "purpose": "admin"},
                                {"port": 322, "protocol": "tcp", "service": "rtsps", "purpose": "video"}]}, f)
    out = os.path.join(tmp, "prof")
    p = qcvn("--target", "127.0.0.1", "--profile", prof, "--https-port", str(weak_tls.port), "--rtsps-port",
             str(rtsps), "--ports", "declared", "--only", "IF-01", "--out", out)
    assert p.returncode in (0, 1), p.stderr
    rep, r = results(out)
    svcs = {(s["port"], s["service"]) for s in rep["profile"]["services"]}
    assert svcs == {(weak_tls.port, "https"), (rtsps, "rtsps")}, rep["profile"]["services"]
    assert r["IF-01"]["verdict"] == "INCONCLUSIVE", r["IF-01"]["reason"]
    assert "tcp/443 " not in ev(r["IF-01"]) and "tcp/322 " not in ev(r["IF-01"]), ev(r["IF-01"])
