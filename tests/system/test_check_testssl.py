"""SC-02 agrees with Debian's `testssl` (testssl.sh) JSON on the same endpoint: an `openssl s_server` with a
weak configuration (TLS 1.0 and 1.1 on, CBC and static-RSA suites beside forward-secret AEAD ones, RSA 2048
certificate), run inside a network namespace this test creates (ip netns add, its own loopback) so nothing
touches this machine's loopback. testssl runs once with the checks SC-02 makes — protocols (-p), cipher
categories (-s), ciphers per protocol (-E), certificate (-S) — about 25 s; its full default run adds
vulnerability and client-simulation checks SC-02 does not make. Compared: offered protocol versions, the
accepted suites per version by IANA id, the weak flag of each suite against testssl's own columns (key
exchange, encryption) and categories, the certificate key and signature, and the overall finding.
Then each TLS port of the corpus servers (tests/check/corpus.py: mosquitto over TLS, nginx with an EC and an
RSA key) against testssl `-p -E`: versions and suites per version by IANA id, including the ARIA-GCM suites
nginx offers that GnuTLS cannot, which SC-02 finds with its raw TLS 1.2 ClientHello.
Needs root, iproute2 and testssl; skipped otherwise with the reason."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import REPO, bin_path
from test_check_netns import netns, nsrun, wait_ns_port  # noqa: F401  (netns is a fixture)

sys.path.insert(0, os.path.join(REPO, "tests", "check"))
import corpus  # noqa: E402

pytestmark = [
    pytest.mark.plain_only,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                       reason="needs root and iproute2 to make a network namespace"),
    pytest.mark.skipif(shutil.which("testssl") is None,
                       reason="testssl not installed (Debian package testssl.sh)"),
]

SUITES = ("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-GCM-SHA384:"
          "ECDHE-RSA-CHACHA20-POLY1305:@SECLEVEL=0")
VERSION_IDS = {"TLS1": "TLS1.0", "TLS1_1": "TLS1.1", "TLS1_2": "TLS1.2", "TLS1_3": "TLS1.3"}
PROTO_PREFIX = {"tls1": "TLS1.0", "tls1_1": "TLS1.1", "tls1_2": "TLS1.2", "tls1_3": "TLS1.3"}
AEAD = {"AESGCM", "ChaCha20", "AESCCM", "AESCCM8", "ARIAGCM", "CamelliaGCM"}


def parse_testssl(entries):
    """testssl JSON entries -> versions offered, {version: {id: (kx, enc)}}, weak categories, certificate."""
    by_id = {e["id"]: e for e in entries}
    versions = {ours: by_id[k]["finding"].startswith("offered") for k, ours in VERSION_IDS.items() if k in by_id}
    suites = {}
    for e in entries:
        m = re.match(r"cipher-(tls1(?:_\d)?)_x([0-9a-f]+)$", e["id"])
        if not m:
            continue
        # "TLS 1.2   xc014   ECDHE-RSA-AES256-SHA   ECDH 253   AES   256   TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
        cols = e["finding"].split()
        hexid = cols[cols.index("x" + m.group(2)) + 2:] if ("x" + m.group(2)) in cols else []
        kx = hexid[0] if hexid else "?"
        enc = next((c for c in hexid[1:] if not c.isdigit()), "?")
        suites.setdefault(PROTO_PREFIX[m.group(1)], {})["0x%04X" % int(m.group(2), 16)] = (kx, enc)
    weak_categories = {k[len("cipherlist_"):] for k, e in by_id.items()
                       if k.startswith("cipherlist_") and e["finding"].startswith("offered")
                       and k not in ("cipherlist_STRONG",)}
    cert = {k: by_id[k]["finding"] for k in ("cert_keySize", "cert_signatureAlgorithm") if k in by_id}
    return versions, suites, weak_categories, cert


@pytest.mark.slow(100)
def test_sc02_agrees_with_testssl(netns):  # noqa: F811
    with tempfile.TemporaryDirectory(prefix="qcvn-testssl-") as d:
        key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-keyout", key,
                        "-out", crt, "-days", "365", "-subj", "/CN=ns-camera"], check=True, capture_output=True)
        port = 4433
        srv = subprocess.Popen(["ip", "netns", "exec", netns, "openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                                "-cert", crt, "-key", key, "-www", "-quiet", "-min_protocol", "TLSv1",
                                "-max_protocol", "TLSv1.2", "-cipher", SUITES],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ns_port(netns, port)
            out = os.path.join(d, "out")
            p = nsrun(netns, bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--ports", str(port),
                      "--only", "SC-01,SC-02", "--out", out, timeout=120)
            assert p.returncode == 1, p.stderr
            with open(os.path.join(out, "report.json")) as f:
                rep = json.load(f)
            sc02 = {x["id"]: x for x in rep["results"]}["SC-02"]
            facts = rep["tls_endpoints"][str(port)]

            tj = os.path.join(d, "testssl.json")
            t = nsrun(netns, "testssl", "--quiet", "--color", "0", "--warnings", "batch", "--ip", "one",
                      "-p", "-s", "-E", "-S", "--jsonfile", tj, f"127.0.0.1:{port}", timeout=240)
            assert os.path.exists(tj), t.stdout[-2000:] + t.stderr[-2000:]
            with open(tj) as f:
                versions, suites, weak_categories, cert = parse_testssl(json.load(f))

            # protocol versions: the same answer for every version testssl reports
            for v, offered in versions.items():
                assert facts["versions"][v] is offered, (v, facts["versions"], versions)
            assert versions["TLS1.0"] and versions["TLS1.1"] and versions["TLS1.2"]

            # accepted suites per version, by IANA id
            ours = {}
            for s in facts["suites"]:
                ours.setdefault(s["version"], {})[s["id"].upper().replace("0X", "0x")] = s
            assert set(ours) == set(suites), (sorted(ours), sorted(suites))
            for v in suites:
                assert set(ours[v]) == set(suites[v]), (v, sorted(ours[v]), sorted(suites[v]))
                # our weak flag follows testssl's own columns: no forward secrecy (kx RSA) or not AEAD
                for sid, (kx, enc) in suites[v].items():
                    expect = kx == "RSA" or enc not in AEAD
                    assert ours[v][sid]["weak"] is expect, (v, sid, ours[v][sid], kx, enc)

            # testssl's categories see the CBC suites as weak too ("AVERAGE"/"LOW"/...), and both fail the port
            assert weak_categories, weak_categories
            assert sc02["verdict"] == "FAIL", sc02

            # certificate: key type and size, signature hash
            m = re.match(r"(RSA|EC)\S*\s+(\d+) bits", cert["cert_keySize"])
            assert m, cert
            assert facts["certificate"]["key_type"].startswith(m.group(1)), (facts["certificate"], cert)
            assert facts["certificate"]["key_bits"] == int(m.group(2)), (facts["certificate"], cert)
            assert "SHA256" in cert["cert_signatureAlgorithm"].upper().replace("-", "")
            assert "SHA256" in facts["certificate"]["signature_algorithm"].upper().replace("-", ""), facts["certificate"]
        finally:
            srv.kill()
            srv.wait()


def ours_by_version(facts):
    ours = {}
    for s in facts["suites"]:
        ours.setdefault(s["version"], {})[s["id"].upper().replace("0X", "0x")] = s
    return ours


def corpus_mosquitto_tls(ns, d):
    return corpus.mosquitto_tls_password(ns, d), 8883


def corpus_nginx_https(ns, d):
    return corpus.nginx_https_sites(ns, d, {8443: {"index.html": "<p>camera</p>"}}, rsa=True), 8443


@pytest.mark.slow(120)
@pytest.mark.parametrize("server", [corpus_mosquitto_tls, corpus_nginx_https], ids=["mosquitto-tls", "nginx-https"])
def test_corpus_tls_ports_agree_with_testssl(netns, server):  # noqa: F811
    prog = {"corpus_mosquitto_tls": "mosquitto", "corpus_nginx_https": "nginx"}[server.__name__]
    if shutil.which(prog) is None and not os.path.exists(os.path.join("/usr/sbin", prog)):
        pytest.skip(f"{prog} not installed (scripts/install-deps)")
    with tempfile.TemporaryDirectory(prefix="qcvn-testssl-") as d:
        srv, port = server(netns, d)
        try:
            wait_ns_port(netns, port)
            out = os.path.join(d, "out")
            t0 = time.time()
            p = nsrun(netns, bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--ports", str(port),
                      "--only", "SC-01,SC-02", "--out", out, timeout=120)
            took = time.time() - t0
            assert p.returncode in (0, 1), p.stderr
            with open(os.path.join(out, "report.json")) as f:
                rep = json.load(f)
            facts = rep["tls_endpoints"][str(port)]
            sc02 = {x["id"]: x for x in rep["results"]}["SC-02"]

            tj = os.path.join(d, "testssl.json")
            t0 = time.time()
            t = nsrun(netns, "testssl", "--quiet", "--color", "0", "--warnings", "batch", "--ip", "one",
                      "-p", "-E", "--jsonfile", tj, f"127.0.0.1:{port}", timeout=300)
            ttook = time.time() - t0
            assert os.path.exists(tj), t.stdout[-2000:] + t.stderr[-2000:]
            with open(tj) as f:
                versions, suites, _weak, _cert = parse_testssl(json.load(f))

            for v, offered in versions.items():
                assert facts["versions"][v] is offered, (v, facts["versions"], versions)
            ours = ours_by_version(facts)
            assert set(ours) == set(suites), (sorted(ours), sorted(suites))
            for v in suites:
                assert set(ours[v]) == set(suites[v]), (v, sorted(ours[v]), sorted(suites[v]))
                for sid, (kx, enc) in suites[v].items():
                    assert ours[v][sid]["weak"] is (kx == "RSA" or enc not in AEAD), (v, sid, ours[v][sid], kx, enc)
            raw = [s["id"] for s in facts["suites"] if s.get("probe") == "raw ClientHello"]
            assert facts["raw_probe"]["probes"] == len(raw) + 1, facts["raw_probe"]
            assert any("raw ClientHello" in e for e in sc02["evidence"]), sc02["evidence"]
            if prog == "nginx":
                # the four ARIA-GCM suites testssl and nmap list on nginx, which GnuTLS cannot offer
                assert {"0xC05C", "0xC05D", "0xC060", "0xC061"} <= set(raw), raw
            print(f"{server.__name__} tcp/{port}: qcvn-check SC-01+SC-02 {took:.1f} s, testssl -p -E {ttook:.1f} s, "
                  f"{sum(len(x) for x in suites.values())} suites agree ({len(raw)} by raw ClientHello)")
        finally:
            srv.kill()
            srv.wait()
