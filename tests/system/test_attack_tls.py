"""Red-team TLS attacks on the HTTPS port of the real safecamd with openssl s_client (test_web_tls.py covers
versions and suites): client-initiated renegotiation mid-connection (CPU DoS / request splicing), SNI oddities
(none, foreign, IP literal), and a TLS 1.1 fallback with TLS_FALLBACK_SCSV. The web process must refuse
without crashing. QCVN 135 G5, G11 / EN 303 645 5.5-1, 5.13-1."""
import subprocess
import time

import pytest


def s_client(cam, *args, stdin=b"", timeout=15):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{cam.https_port}", "-CAfile", cam.cacert, *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def cam(camera_module):
    camera_module.web_pid = camera_module.pids()["web"]
    return camera_module


def test_client_initiated_renegotiation_refused(cam):
    # "R" on its own line makes s_client renegotiate; the request after it must not be answered.
    feed = ("printf 'R\\n'; sleep 2; "
            "printf 'GET /.well-known/security.txt HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'; sleep 2")
    r = subprocess.run(["bash", "-c", f"({feed}) | openssl s_client -connect 127.0.0.1:{cam.https_port} "
                                      f"-CAfile {cam.cacert} -tls1_2"], capture_output=True, timeout=30)
    out = r.stdout + r.stderr
    assert b"RENEGOTIATING" in out, out[-500:]
    assert b"HTTP/1.1 200" not in out and b"Contact:" not in out, out[-500:]
    assert cam.pids()["web"] == cam.web_pid
    assert cam.request("GET", "/.well-known/security.txt").status == 200


@pytest.mark.parametrize("sni", [["-noservername"], ["-servername", "evil.example"],
                                 ["-servername", "a" * 200], ["-servername", "xn--80ak6aa92e.com"]])
def test_sni_oddities_get_the_device_certificate_or_nothing(cam, sni):
    r = s_client(cam, *sni, "-brief")
    out = r.stdout + r.stderr
    # either the ordinary device certificate (verified against the device CA), or a refusal; never a crash
    assert b"Verification: OK" in out or r.returncode != 0, out[-400:]
    assert cam.pids()["web"] == cam.web_pid


def test_tls11_fallback_with_scsv_refused(cam):
    r = s_client(cam, "-tls1_1", "-fallback_scsv")
    out = r.stdout + r.stderr
    assert b"Cipher is (NONE)" in out or r.returncode != 0
    assert b"TLSv1.1, Cipher is" not in out
    assert cam.request("GET", "/.well-known/security.txt").status == 200
