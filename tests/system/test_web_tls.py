"""HTTPS transport of the web process, probed with real TLS clients: only TLS 1.2/1.3, ECDHE key exchange and
AEAD ciphers; old protocols, CBC/3DES/RC4/NULL suites and static-RSA key exchange are refused
(QCVN 135 G5 / EN 303 645 5.5-1, 5.5-7). The nmap cross-check runs only inside a network namespace this test
creates, with both safecamd and nmap inside it."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import Camera


def s_client(cam, *args):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{cam.https_port}", "-CAfile", cam.cacert,
           "-servername", "127.0.0.1", *args]
    r = subprocess.run(cmd, input=b"", capture_output=True, timeout=20)
    out = (r.stdout + r.stderr).decode(errors="replace")
    m = re.search(r"Cipher is (\S+)", out)
    cipher = m.group(1) if m else None
    ok = cipher not in (None, "(NONE)") and "Verify return code: 0 (ok)" in out
    return ok, cipher, out


@pytest.mark.parametrize("args", [
    ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
    ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
    ["-tls1_2", "-cipher", "AES128-SHA"],                      # static RSA, CBC, SHA-1 MAC
    ["-tls1_2", "-cipher", "AES256-GCM-SHA384"],               # static RSA key exchange
    ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"],          # CBC + SHA-1
    ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"],       # CBC
    ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"],       # finite-field DHE
    ["-tls1_2", "-cipher", "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0"],
    ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256"],
])
def test_weak_tls_refused(camera_module, args):
    ok, cipher, out = s_client(camera_module, *args)
    assert not ok, f"{args} accepted with {cipher}:\n{out[-800:]}"


@pytest.mark.parametrize("args,want", [
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], "ECDHE-ECDSA-AES128-GCM-SHA256"),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"], "ECDHE-ECDSA-AES256-GCM-SHA384"),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"], "ECDHE-ECDSA-CHACHA20-POLY1305"),
    (["-tls1_3"], None),
    (["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"], "TLS_AES_128_GCM_SHA256"),
    (["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"], "TLS_CHACHA20_POLY1305_SHA256"),
])
def test_strong_tls_accepted(camera_module, args, want):
    ok, cipher, out = s_client(camera_module, *args)
    assert ok, out[-1500:]
    if want:
        assert cipher == want
    if "-tls1_3" in args:
        assert "TLSv1.3" in out


def gnutls(cam, priority):
    cmd = ["gnutls-cli", "--x509cafile", cam.cacert, "-p", str(cam.https_port), "--priority", priority, "127.0.0.1"]
    r = subprocess.run(cmd, input=b"", capture_output=True, timeout=20)
    out = (r.stdout + r.stderr).decode(errors="replace")
    return "Handshake was completed" in out, out


@pytest.mark.skipif(shutil.which("gnutls-cli") is None, reason="gnutls-bin not installed")
@pytest.mark.parametrize("priority,accepted", [
    ("NORMAL:-VERS-ALL:+VERS-TLS1.3", True),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM", True),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305", True),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0", False),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:+SHA1:+SHA256", False),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+3DES-CBC:+SHA1", False),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA", False),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-RSA:+DHE-DSS", False),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CCM", False),
])
def test_gnutls_cli(camera_module, priority, accepted):
    ok, out = gnutls(camera_module, priority)
    assert ok == accepted, out[-1500:]


def test_plain_http_on_https_port_gets_nothing_useful(camera_module):
    """A plaintext request to the HTTPS port never gets a page or a login: the TLS layer answers with an
    alert or closes."""
    r = subprocess.run(["curl", "-sS", "--max-time", "5", "-o", "-", "-w", "%{http_code}",
                        f"http://127.0.0.1:{camera_module.https_port}/"], capture_output=True, timeout=15)
    assert r.stdout.endswith(b"000") or r.returncode != 0
    assert b"<html" not in r.stdout.lower()


# ---------------------------------------------------------------------------------------------------
# nmap ssl-enum-ciphers inside a private network namespace
# ---------------------------------------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a network namespace (ip netns add)")
@pytest.mark.skipif(shutil.which("nmap") is None or shutil.which("ip") is None, reason="nmap or iproute2 missing")
def test_nmap_ssl_enum_ciphers_in_namespace():
    ns = f"safecam-web-{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="safecam-nmap-")
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    proc = None
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True, timeout=10)
        cam = Camera(tmp, extra_args=["--no-media"])
        # Inside the namespace the usual port is free and is one nmap's ssl-enum-ciphers recognises.
        cam.https_port = 8443
        cam.rtsps_port = 8322
        log = open(cam.log_path, "ab")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *cam.command()], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "2", "--cacert", cam.cacert,
                                "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:8443/.well-known/security.txt"],
                               capture_output=True, timeout=10)
            if r.stdout == b"200":
                break
            assert proc.poll() is None and time.monotonic() < deadline, cam.read_log()
            time.sleep(0.2)
        r = subprocess.run(["ip", "netns", "exec", ns, "nmap", "-Pn", "-n", "--script", "ssl-enum-ciphers",
                            "-p", "8443", "127.0.0.1"], capture_output=True, timeout=120, text=True)
        out = r.stdout
        assert "ssl-enum-ciphers" in out, out
        assert "TLSv1.2:" in out and "TLSv1.3:" in out, out
        for old in ("SSLv3", "TLSv1.0:", "TLSv1.1:"):
            assert old not in out, out
        suites = re.findall(r"\|\s+(TLS_\S+)", out)
        assert suites, out
        for s in suites:
            assert "GCM" in s or "CHACHA20_POLY1305" in s, s
            assert not any(bad in s for bad in ("CBC", "RC4", "3DES", "NULL", "_RSA_WITH", "DHE_RSA", "EXPORT")), s
        assert "least strength: A" in out, out
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["ip", "netns", "del", ns], timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
