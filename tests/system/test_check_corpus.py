"""qcvn-check against real third-party servers from Debian (tests/check/corpus.py), each started in a
network namespace this test creates (ip netns add; its own loopback): the default run (a full TCP scan
1-65535 and the UDP probes) must give, for each test ID, the verdict a careful lab gives — written beside
each ID below with the reason. Everything (servers, qcvn-check, testssl) runs inside the namespace.
Needs root, iproute2 and the Debian packages mosquitto, lighttpd, vsftpd, snmpd, snmp, minidlna, wsdd
(scripts/install-deps)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import REPO, bin_path
from test_check_netns import netns, nmap_tls, nsrun, openssl_ids, wait_ns_port  # noqa: F401  (netns is a fixture)

sys.path.insert(0, os.path.join(REPO, "tests", "check"))
import corpus  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 to make a network namespace")


def need(*progs):
    for p in progs:
        if shutil.which(p) is None and not os.path.exists(os.path.join("/usr/sbin", p)):
            pytest.skip(f"{p} not installed (scripts/install-deps)")


def audit(ns, d, name, *args, timeout=180, target="127.0.0.1"):
    out = os.path.join(d, name)
    t0 = time.time()
    p = nsrun(ns, bin_path("qcvn-check"), "--quiet", "--target", target, "--out", out, *args, timeout=timeout)
    took = time.time() - t0
    assert p.returncode in (0, 1), p.stderr
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    return p, rep, {x["id"]: x for x in rep["results"]}, took


def expect(r, lab):
    wrong = {i: (r[i]["verdict"], v, r[i]["reason"]) for i, (v, _why) in lab.items() if r[i]["verdict"] != v}
    assert not wrong, "\n".join(f"{i}: got {g}, lab says {v} — {why}" for i, (g, v, why) in wrong.items())


def ev(x):
    return "\n".join(x["evidence"])


def profile(d, doc):
    path = os.path.join(d, "profile.json")
    with open(path, "w") as f:
        json.dump({"schema": "qcvn-check-profile/1", **doc}, f)
    return path


def test_mosquitto_anonymous_in_clear(netns):  # noqa: F811
    need("mosquitto")
    with tempfile.TemporaryDirectory(prefix="qcvn-corpus-") as d:
        srv = corpus.mosquitto_anonymous(netns, d)
        try:
            wait_ns_port(netns, 1883)
            p, rep, r, took = audit(netns, d, "mqtt", "--only", "SC-01,SC-02,SC-04,SC-05,IF-01")
            lab = {
                "SC-01": ("PASS", "all 65535 ports probed; the one open port is named MQTT"),
                "SC-04": ("FAIL", "MQTT on 1883 without TLS: events and control in clear"),
                "SC-05": ("FAIL", "the broker accepts CONNECT without user name or password"),
                "SC-02": ("INCONCLUSIVE", "no TLS endpoint, and no profile saying there is none"),
                "IF-01": ("NEEDS_EVIDENCE", "no declared service list to compare with"),
            }
            expect(r, lab)
            assert rep["target"]["full_range"] is True and rep["target"]["ports_probed"] == 65535
            svc = {s["port"]: s for s in rep["services"] if s["protocol"] == "tcp" and s["open"]}
            assert list(svc) == [1883] and svc[1883]["service"] == "mqtt", svc
            assert "CONNACK code 0" in ev(r["SC-05"]) and "ACCEPTED" in ev(r["SC-05"]), ev(r["SC-05"])
            assert p.returncode == 1
            print(f"mosquitto anonymous: default full audit subset {took:.1f} s")
        finally:
            srv.kill()
            srv.wait()


def test_mosquitto_tls_with_password_file(netns):  # noqa: F811
    need("mosquitto", "mosquitto_passwd")
    with tempfile.TemporaryDirectory(prefix="qcvn-corpus-") as d:
        srv = corpus.mosquitto_tls_password(netns, d)
        try:
            wait_ns_port(netns, 8883)
            p, rep, r, took = audit(netns, d, "mqtts", "--only", "SC-01,SC-02,SC-04,SC-05,SC-08")
            lab = {
                "SC-01": ("PASS", "full scan; 8883 named MQTT inside TLS"),
                "SC-02": ("PASS", "TLS 1.2/1.3 only, ECDHE + AEAD suites, P-256 certificate"),
                "SC-04": ("PASS", "no cleartext channel"),
                "SC-05": ("PASS", "anonymous CONNECT refused (CONNACK 5, not authorised)"),
                "SC-08": ("PASS", "TLS 1.0/1.1 refused; the TLS 1.2 fallback with TLS_FALLBACK_SCSV refused"),
            }
            expect(r, lab)
            facts = rep["tls_endpoints"]["8883"]
            assert facts["versions"] == {"TLS1.0": False, "TLS1.1": False, "TLS1.2": True, "TLS1.3": True}, facts
            # suites per version by IANA id agree with nmap's ssl-enum-ciphers on the same port
            if shutil.which("nmap"):
                t0 = time.time()
                nm = nmap_tls(netns, 8883)
                ntook = time.time() - t0
                ids = openssl_ids()
                for v, names in nm.items():
                    names = {n.replace("TLS_AKE_WITH_", "TLS_") for n in names}  # nmap's TLS 1.3 names
                    ours = {s["id"] for s in facts["suites"] if s["version"] == v}
                    assert ours == {ids[n] for n in names if n in ids}, (v, sorted(ours), sorted(names))
                print(f"mosquitto TLS: qcvn-check {took:.1f} s, nmap ssl-enum-ciphers {ntook:.1f} s")
        finally:
            srv.kill()
            srv.wait()


def test_lighttpd_webcam_without_authentication(netns):  # noqa: F811
    need("lighttpd")
    with tempfile.TemporaryDirectory(prefix="qcvn-corpus-") as d:
        srv = corpus.lighttpd_webcam(netns, d)
        try:
            wait_ns_port(netns, 80)
            wait_ns_port(netns, 8081)
            p, rep, r, took = audit(netns, d, "web", "--only", "SC-01,SC-04,SC-05,IF-02,PW-01,VM-03")
            lab = {
                "SC-01": ("PASS", "full scan; both ports named HTTP"),
                "SC-04": ("FAIL", "content and an MJPEG stream over cleartext HTTP"),
                "SC-05": ("FAIL", "/snapshot.jpg and the endless /stream served without authentication"),
                "IF-02": ("FAIL", "the index page names the firmware version 2.4.1"),
                "PW-01": ("INCONCLUSIVE", "no password surface at all: nothing to try defaults on"),
                "VM-03": ("NEEDS_EVIDENCE", "cleartext HTTP only: no HTTPS surface to read a CSAF feed from; "
                          "the vendor is asked for the feed"),
            }
            expect(r, lab)
            e4 = ev(r["SC-04"])
            assert "serves video/images in clear: Content-Type multipart/x-mixed-replace" in e4, e4
            assert "endless stream, cut" in e4, e4
            e5 = ev(r["SC-05"])
            assert "GET /stream -> 200" in e5 or "/stream" in e5, e5
            assert "Firmware version 2.4.1" in ev(r["IF-02"]), ev(r["IF-02"])
            assert "No HTTPS surface found to fetch the CSAF provider metadata" in r["VM-03"]["reason"], r["VM-03"]
            assert r["SC-04"]["duration_ms"] < 15000, r["SC-04"]["duration_ms"]  # bounded, not a timeout per path
            # a login path that does not exist: 404 says nothing about the credentials
            prof = profile(d, {"services": [{"port": 80, "service": "http", "purpose": "web"}],
                               "auth": {"login": {"type": "json", "path": "/api/login"},
                                        "lockout": {"threshold": 50, "window_s": 30, "duration_s": 300}}})
            p, rep, r, _ = audit(netns, d, "web-404", "--profile", prof, "--only", "PW-01")
            expect(r, {"PW-01": ("INCONCLUSIVE", "the declared login answers 404: the credentials were not judged")})
            assert "-> 404  (neither accepted nor refused)" in ev(r["PW-01"]), ev(r["PW-01"])
            # the same device with a profile that declares no login: the credential tests do not apply
            prof = profile(d, {"device": {"vendor": "corpus", "model": "NetCam Pro"},
                               "services": [{"port": 80, "service": "http", "purpose": "web"},
                                            {"port": 8081, "service": "http", "purpose": "stream"}],
                               "auth": {"login": {"type": "none"}}})
            p, rep, r, _ = audit(netns, d, "web-none", "--profile", prof, "--only",
                                 "IF-01,PW-04,PW-06,SM-01,SC-06,BF-01,BF-03,BF-05")
            lab = {"IF-01": ("PASS", "full scan: only the two declared ports listen")}
            lab.update({i: ("NOT_APPLICABLE", "the profile declares auth.login.type none")
                        for i in ("PW-04", "PW-06", "SM-01", "SC-06", "BF-01", "BF-03", "BF-05")})
            expect(r, lab)
        finally:
            srv.kill()
            srv.wait()


def test_lighttpd_basic_auth(netns):  # noqa: F811
    need("lighttpd")
    with tempfile.TemporaryDirectory(prefix="qcvn-corpus-") as d:
        srv = corpus.lighttpd_basic(netns, d)
        try:
            wait_ns_port(netns, 8080)
            p, rep, r, _ = audit(netns, d, "basic", "--only", "SC-01,SC-04,PW-01,SC-05")
            lab = {
                "SC-01": ("PASS", "full scan; 8080 named HTTP"),
                "SC-04": ("FAIL", "HTTP Basic credentials over cleartext HTTP"),
                "PW-01": ("PASS", "3 well-known defaults each refused with 401 on the Basic surface"),
                "SC-05": ("PASS", "every probed path refused with 401"),
            }
            expect(r, lab)
            assert "attempts: 3, accepted 0, refused (401/403, or 400/422 to an empty password) 3, neither 0" in ev(r["PW-01"]), ev(r["PW-01"])
            # BF-03 on the HTTP Basic surface found by SC-01 (the vendor declares a lockout of 50 failures)
            prof = profile(d, {"auth": {"login": {"type": "basic", "path": "/"},
                                        "lockout": {"threshold": 50, "window_s": 30, "duration_s": 300}}})
            p, rep, r, _ = audit(netns, d, "basic-bf03", "--profile", prof, "--only", "BF-03")
            assert r["BF-03"]["verdict"] in ("PASS", "INCONCLUSIVE"), r["BF-03"]  # lighttpd answers alike
            e = ev(r["BF-03"])
            assert "Mann-Whitney U" in e and "answer times (ms, in order)" in e, e
        finally:
            srv.kill()
            srv.wait()


def test_vsftpd_anonymous(netns):  # noqa: F811
    need("vsftpd")
    with tempfile.TemporaryDirectory(prefix="qcvn-corpus-") as d:
        srv = corpus.vsftpd_anonymous(netns, d)
        try:
            wait_ns_port(netns, 21)
            p, rep, r, _ = audit(netns, d, "ftp", "--only", "SC-01,SC-04,SC-05,IF-02")
            lab = {
                "SC-01": ("PASS", "full scan; 21 named FTP from its 220 banner"),
                "SC-04": ("FAIL", "FTP: cleartext credentials"),
                "SC-05": ("FAIL", "anonymous FTP login accepted (230)"),
                "IF-02": ("FAIL", "the banner names vsFTPd 3.0.3"),
            }
            expect(r, lab)
            assert "FTP USER anonymous on tcp/21 -> 230" in ev(r["SC-05"]), ev(r["SC-05"])
        finally:
            srv.kill()
            srv.wait()


def test_snmpd_public_community(netns):  # noqa: F811
    need("snmpd", "snmpget")
    with tempfile.TemporaryDirectory(prefix="qcvn-corpus-") as d:
        srv = corpus.snmpd_public(netns, d)
        try:
            # the lab's own SNMP client reads the agent first (and proves it is up): sysDescr names the kernel
            descr = ""
            for _ in range(100):
                g = nsrun(netns, "env", f"SNMP_PERSISTENT_DIR={d}/snmp-client", "MIBS=", "snmpget", "-v2c", "-c",
                          "public", "-On", "-Oqv", "-t", "0.3", "-r", "0", "127.0.0.1", "1.3.6.1.2.1.1.1.0")
                if g.returncode == 0:
                    descr = g.stdout.strip().strip('"')
                    break
                time.sleep(0.1)
            assert descr.startswith("Linux ") and os.uname().release in descr, descr
            p, rep, r, _ = audit(netns, d, "snmp", "--only", "SC-01,SC-04,IF-01,IF-02,PW-01")
            lab = {
                "SC-01": ("INCONCLUSIVE", "full scan; udp/161 answers SNMP, but net-snmp's SMUX multiplexer listens on "
                          "tcp/199 and sends nothing a scanner can name: the inventory cannot be called complete"),
                "SC-04": ("FAIL", "SNMP v2c: the community travels in clear and the agent answers it"),
                "IF-01": ("NEEDS_EVIDENCE", "no declared service list to compare with"),
                "IF-02": ("FAIL", "sysDescr, readable by anyone knowing \"public\", names the kernel version"),
                "PW-01": ("FAIL", "the read community \"public\" is a well-known default credential and it is accepted"),
            }
            expect(r, lab)
            assert f"SNMP sysDescr: {descr[:60]}" in ev(r["IF-02"]), ev(r["IF-02"])
            assert "FAIL SNMP sysDescr discloses a version without authentication" in ev(r["IF-02"])
            assert 'SNMPv2c community "public" on udp/161: get sysDescr -> answered  ACCEPTED' in ev(r["PW-01"]), \
                ev(r["PW-01"])
            assert 'FAIL udp/161 SNMP v1/v2c answers community "public"' in ev(r["SC-04"]), ev(r["SC-04"])
            assert "tcp/199 open, protocol NOT recognised" in ev(r["SC-01"]), ev(r["SC-01"])
            svc = {(s["protocol"], s["port"]) for s in rep["services"] if s["open"]}
            assert svc == {("udp", 161), ("tcp", 199)}, svc
            # a vendor list that names only the web UI: the agent is an undeclared service
            prof = profile(d, {"services": [{"port": 80, "service": "http", "purpose": "web"}]})
            p, rep, r, _ = audit(netns, d, "snmp-undeclared", "--profile", prof, "--only", "SC-01,IF-01")
            expect(r, {"SC-01": ("INCONCLUSIVE", "as above: the profile does not name tcp/199 either"),
                       "IF-01": ("FAIL", "udp/161 and tcp/199 listen, neither declared")})
            assert "FAIL udp/161 open but not declared" in ev(r["IF-01"]), ev(r["IF-01"])
            assert "FAIL tcp/199 open but not declared" in ev(r["IF-01"]), ev(r["IF-01"])
            # the same agent with SMUX declared: SC-01 names every port only if it can; IF-01 still sees udp/161
            prof = profile(d, {"services": [{"port": 199, "service": "other", "purpose": "SNMP SMUX"},
                                            {"port": 161, "protocol": "udp", "service": "other", "purpose": "SNMP"}]})
            p, rep, r, _ = audit(netns, d, "snmp-declared", "--profile", prof, "--only", "IF-01,PW-01")
            expect(r, {"IF-01": ("PASS", "full scan: both open ports declared"),
                       "PW-01": ("FAIL", "declared or not, the default community is accepted")})
        finally:
            srv.kill()
            srv.wait()


def test_minidlna_ssdp_and_version(netns):  # noqa: F811
    need("minidlnad")
    with tempfile.TemporaryDirectory(prefix="qcvn-corpus-") as d:
        ip = corpus.ns_lan(netns)  # a veth pair inside the namespace: minidlna ignores the loopback
        srv = corpus.minidlna(netns, d)
        try:
            wait_ns_port(netns, 8200, host=ip)
            p, rep, r, _ = audit(netns, d, "dlna", "--only", "SC-01,SC-04,IF-01,IF-02", target=ip)
            lab = {
                "SC-01": ("PASS", "full scan; 8200 named HTTP; SSDP on udp/1900 answers the M-SEARCH a control point "
                          "sends to 239.255.255.250 (minidlna listens on the group only)"),
                "SC-04": ("FAIL", "the UPnP description and media are served over cleartext HTTP on 8200"),
                "IF-01": ("NEEDS_EVIDENCE", "no declared service list to compare with"),
                "IF-02": ("FAIL", "the HTTP Server header and the SSDP SERVER header name MiniDLNA 1.3.0"),
            }
            expect(r, lab)
            e1 = ev(r["SC-01"])
            assert "udp/1900: SSDP M-SEARCH to 239.255.255.250 (TTL 1) -> answered by the target" in e1, e1
            e2 = ev(r["IF-02"])
            assert "udp/1900 SSDP SERVER: Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/" in e2, e2
            assert "FAIL the SSDP answer's SERVER header discloses a version without authentication" in e2, e2
            svc = {(s["protocol"], s["port"]) for s in rep["services"] if s["open"]}
            assert svc == {("udp", 1900), ("tcp", 8200)}, svc
            # the vendor declares the web port only: SSDP is an undeclared service
            prof = profile(d, {"services": [{"port": 8200, "service": "http", "purpose": "DLNA"}]})
            p, rep, r, _ = audit(netns, d, "dlna-undeclared", "--profile", prof, "--only", "IF-01", target=ip)
            expect(r, {"IF-01": ("FAIL", "udp/1900 answers and is not declared")})
            assert "FAIL udp/1900 open but not declared" in ev(r["IF-01"]), ev(r["IF-01"])
        finally:
            srv.kill()
            srv.wait()


def test_wsdd_announces_http_xaddrs(netns):  # noqa: F811
    need("wsdd")
    with tempfile.TemporaryDirectory(prefix="qcvn-corpus-") as d:
        ip = corpus.ns_lan(netns)  # wsdd ignores the loopback and listens on the multicast group only
        srv = corpus.wsdd(netns, d)
        try:
            wait_ns_port(netns, 5357, host=ip)
            p, rep, r, _ = audit(netns, d, "wsd", "--only", "SC-01,SC-04,IF-01", target=ip)
            lab = {
                "SC-01": ("PASS", "full scan; 5357 named HTTP; WS-Discovery answers a multicast Probe for wsdp:Device "
                          "(its ProbeMatch has no XAddrs; the Resolve that follows gets them)"),
                "SC-04": ("FAIL", "the device announces its device/metadata service at an http:// XAddr: every client "
                          "on the link is invited to talk to it in clear (5357 itself answers GET with 501)"),
                "IF-01": ("NEEDS_EVIDENCE", "no declared service list to compare with"),
            }
            expect(r, lab)
            e1 = ev(r["SC-01"])
            assert "WS-Discovery Resolve urn:uuid:0c4a9e2e-1111-4000-8000-000000000001 -> ResolveMatch" in e1, e1
            assert 'Types "wsdp:Device pub:Computer"' in e1, e1
            e4 = ev(r["SC-04"])
            assert ("FAIL udp/3702 WS-Discovery announces a cleartext management endpoint: XAddrs "
                    f"http://{ip}:5357/0c4a9e2e-1111-4000-8000-000000000001") in e4, e4
            # the only cleartext finding is the announcement: GET on 5357 is refused (501)
            assert "FAIL tcp/5357" not in e4, e4
        finally:
            srv.kill()
            srv.wait()
