"""qcvn-check vs nmap inside a network namespace this test creates (ip netns add; its own loopback):
the SC-02 verdict and the accepted protocol versions and cipher suites agree with
`nmap --script ssl-enum-ciphers` on the same openssl s_server, and the full-range SC-01 scan
(--ports all) finds exactly the ports `nmap -p-` finds. Everything (servers, qcvn-check, nmap) runs
inside the namespace; nothing touches this machine's loopback. Needs root; skipped otherwise."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import bin_path

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nmap") is None,
                                reason="needs root, iproute2 and nmap to make a network namespace")


@pytest.fixture
def netns():
    name = f"qcvn{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "pids", name], capture_output=True)
        for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass
        subprocess.run(["ip", "netns", "del", name])


def nsrun(ns, *argv, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, **kw)


def wait_ns_port(ns, port, host="127.0.0.1"):
    for _ in range(100):
        p = nsrun(ns, "/usr/bin/python3", "-c",
                  f"import socket; socket.create_connection(('{host}', {port}), timeout=0.2)")
        if p.returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError("server did not start in the namespace")


def openssl_ids():
    """IANA name -> 0xHHHH from openssl's own table (maps nmap's names to suite ids)."""
    p = subprocess.run(["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                       capture_output=True, text=True, check=True)
    ids = {}
    for line in p.stdout.splitlines():
        m = re.match(r"\s*0x([0-9A-F]{2}),0x([0-9A-F]{2})\s+-\s+(\S+)", line)
        if m:
            ids[m.group(3)] = "0x" + m.group(1) + m.group(2)
    return ids


def nmap_tls(ns, port):
    p = nsrun(ns, "nmap", "-Pn", "-n", "-p", str(port), "--script", "ssl-enum-ciphers", "-oX", "-", "127.0.0.1",
              timeout=120)
    assert p.returncode == 0, p.stderr
    root = ET.fromstring(p.stdout)
    out = {}
    for ver in root.iter("table"):
        key = ver.get("key") or ""
        if not key.startswith("TLSv"):
            continue
        names = set()
        for ct in ver.iter("table"):
            if ct.get("key") == "ciphers":
                for c in ct.findall("table"):
                    for e in c.findall("elem"):
                        if e.get("key") == "name":
                            names.add(e.text)
        out[key.replace("TLSv", "TLS")] = names
    return out


@pytest.mark.plain_only  # compared with nmap; SC-02 runs under ASan in test_check_safecamd
def test_sc02_agrees_with_nmap_ssl_enum_ciphers(netns):
    with tempfile.TemporaryDirectory(prefix="qcvn-ns-") as d:
        key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "30", "-subj", "/CN=ns-camera"], check=True, capture_output=True)
        port = 4433
        srv = subprocess.Popen(["ip", "netns", "exec", netns, "openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                                "-cert", crt, "-key", key, "-www", "-quiet", "-min_protocol", "TLSv1",
                                "-max_protocol", "TLSv1.2", "-cipher",
                                "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-GCM-SHA384:"
                                "ECDHE-RSA-CHACHA20-POLY1305:@SECLEVEL=0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ns_port(netns, port)
            out = os.path.join(d, "out")
            p = nsrun(netns, bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--ports", str(port),
                      "--only", "SC-01,SC-02", "--out", out, timeout=120)
            assert p.returncode == 1, p.stderr
            rep = json.load(open(os.path.join(out, "report.json")))
            r = {x["id"]: x for x in rep["results"]}
            assert r["SC-02"]["verdict"] == "FAIL"
            facts = rep["tls_endpoints"][str(port)]
            nm = nmap_tls(netns, port)
            ids = openssl_ids()
            # protocol versions
            for v in ("TLS1.0", "TLS1.1", "TLS1.2"):
                assert facts["versions"][v] == (v in nm and len(nm[v]) > 0), (v, facts["versions"], nm.keys())
            # suites per version, compared by IANA id
            for v, names in nm.items():
                theirs = {ids[n] for n in names if n in ids}
                assert len(theirs) == len(names), names - set(ids)
                ours = {s["id"] for s in facts["suites"] if s["version"] == v}
                assert ours == theirs, (v, sorted(ours), sorted(theirs))
            # nmap's weak grades agree with our weak flags: every CBC suite is weak for both
            assert any(s["weak"] for s in facts["suites"]) and any(not s["weak"] for s in facts["suites"])
        finally:
            srv.kill()
            srv.wait()


@pytest.mark.plain_only  # compared with nmap; the scan runs under ASan in test_check_corpus
def test_full_range_scan_agrees_with_nmap(netns):
    with tempfile.TemporaryDirectory(prefix="qcvn-ns-") as d:
        ports = [2121, 8080, 40404]
        procs = [subprocess.Popen(["ip", "netns", "exec", netns, "/usr/bin/python3", "-m", "http.server", "-b",
                                   "127.0.0.1", str(pt)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  cwd=d) for pt in ports]
        try:
            for pt in ports:
                wait_ns_port(netns, pt)
            out = os.path.join(d, "out")
            t0 = time.time()
            p = nsrun(netns, bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--ports", "all", "--only",
                      "SC-01,SC-04", "--out", out, timeout=300)
            took = time.time() - t0
            assert p.returncode in (0, 1), p.stderr
            rep = json.load(open(os.path.join(out, "report.json")))
            assert rep["target"]["full_range"] is True and rep["target"]["ports_probed"] == 65535
            ours = sorted(s["port"] for s in rep["services"] if s["open"] and s["protocol"] == "tcp")
            nm = nsrun(netns, "nmap", "-Pn", "-n", "-p-", "-oG", "-", "127.0.0.1", timeout=300)
            theirs = sorted(int(m) for m in re.findall(r"(\d+)/open/tcp", nm.stdout))
            assert ours == theirs == ports, (ours, theirs)
            # plain HTTP serving content is cleartext management for a camera
            r = {x["id"]: x for x in rep["results"]}
            assert r["SC-04"]["verdict"] == "FAIL"
            assert took < 120, took
        finally:
            for pr in procs:
                pr.kill()
                pr.wait()
