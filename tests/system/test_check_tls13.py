"""TLS 1.3 is seen (SC-02) and the downgrade rule (SC-08) is judged with evidence, against real
`openssl s_server` processes in a network namespace this test creates (ip netns add; its own loopback):

- a TLS 1.3-only server: SC-01 names it TLS (not "HTTP in clear"), SC-02 lists TLS 1.3 accepted and
  1.0-1.2 refused with the TLS 1.3 suites, SC-08 PASSes with the refused TLS 1.2 fallback handshake in
  its evidence; `testssl -p` on the same port lists the same protocol versions;
- a TLS 1.2 + 1.3 server: SC-08 sends a TLS 1.2 ClientHello with TLS_FALLBACK_SCSV, openssl refuses it
  with the inappropriate_fallback alert, and the evidence says so.

Needs root and iproute2; the testssl comparison also needs testssl (Debian package testssl.sh)."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import bin_path
from test_check_netns import netns, nsrun, wait_ns_port  # noqa: F401  (netns is a fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 to make a network namespace")

TLS13_IDS = {"0x1301", "0x1302", "0x1303"}


def start_s_server(ns, d, port, *proto):
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha256",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=ns-camera"],
                       check=True, capture_output=True)
    srv = subprocess.Popen(["ip", "netns", "exec", ns, "openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                            "-cert", crt, "-key", key, "-www", "-quiet", *proto],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ns_port(ns, port)
    return srv


def audit(ns, d, port, name):
    out = os.path.join(d, name)
    t0 = time.time()
    p = nsrun(ns, bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--ports", str(port),
              "--only", "SC-01,SC-02,SC-08", "--out", out, timeout=120)
    took = time.time() - t0
    assert p.returncode in (0, 1), p.stderr
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    return rep, {x["id"]: x for x in rep["results"]}, took


@pytest.mark.plain_only  # compared with testssl; the same TLS 1.3 probe runs under ASan in the next test
def test_tls13_only_server_is_seen_and_judged(netns):  # noqa: F811
    with tempfile.TemporaryDirectory(prefix="qcvn-tls13-") as d:
        port = 4443
        srv = start_s_server(netns, d, port, "-tls1_3")
        try:
            rep, r, took = audit(netns, d, port, "only13")
            svc = [s for s in rep["services"] if s["port"] == port][0]
            assert svc["service"] in ("https", "tls"), svc
            facts = rep["tls_endpoints"][str(port)]
            assert facts["versions"] == {"TLS1.0": False, "TLS1.1": False, "TLS1.2": False, "TLS1.3": True}, facts
            ours = {s["id"] for s in facts["suites"] if s["version"] == "TLS1.3"}
            assert ours and ours <= TLS13_IDS, facts["suites"]
            assert r["SC-02"]["verdict"] == "PASS", r["SC-02"]
            assert r["SC-08"]["verdict"] == "PASS", r["SC-08"]
            ev = "\n".join(r["SC-08"]["evidence"])
            assert "TLS 1.2 ClientHello with TLS_FALLBACK_SCSV -> refused" in ev, ev
            if shutil.which("testssl"):
                tj = os.path.join(d, "testssl.json")
                t0 = time.time()
                t = nsrun(netns, "testssl", "--quiet", "--color", "0", "--warnings", "batch", "--ip", "one", "-p",
                          "--jsonfile", tj, f"127.0.0.1:{port}", timeout=300)
                ttook = time.time() - t0
                assert os.path.exists(tj), t.stdout + t.stderr
                by_id = {e["id"]: e["finding"] for e in json.load(open(tj))}
                theirs = {v: by_id[k].startswith("offered") for k, v in
                          (("TLS1", "TLS1.0"), ("TLS1_1", "TLS1.1"), ("TLS1_2", "TLS1.2"), ("TLS1_3", "TLS1.3"))}
                assert theirs == facts["versions"], (theirs, facts["versions"])
                print(f"tls1.3-only: qcvn-check SC-01/02/08 {took:.1f} s, testssl -p {ttook:.1f} s")
        finally:
            srv.kill()
            srv.wait()


def test_fallback_scsv_refused_by_tls12_13_server(netns):  # noqa: F811
    with tempfile.TemporaryDirectory(prefix="qcvn-tls13-") as d:
        port = 4444
        srv = start_s_server(netns, d, port, "-min_protocol", "TLSv1.2")
        try:
            rep, r, _ = audit(netns, d, port, "both")
            facts = rep["tls_endpoints"][str(port)]
            assert facts["versions"]["TLS1.3"] is True and facts["versions"]["TLS1.2"] is True, facts["versions"]
            assert TLS13_IDS & {s["id"] for s in facts["suites"] if s["version"] == "TLS1.3"}, facts["suites"]
            ev = "\n".join(r["SC-08"]["evidence"])
            assert "TLS_FALLBACK_SCSV -> refused with alert" in ev, ev
            assert r["SC-08"]["verdict"] == "PASS", r["SC-08"]
        finally:
            srv.kill()
            srv.wait()
