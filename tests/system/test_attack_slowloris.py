"""Red-team slowloris against the HTTPS server of the real safecamd (QCVN 135 G11: "limits on ... time to send a
request (slowloris)"). test_web_input.py proves an idle connection is cut after 10 s; these trickle one header
line every 3 s, which resets libmicrohttpd's idle timer forever. Nothing bounds the time to send a request head,
so 4 loopback sources x 16 connections (the per-source limit) could hold all 64 connection slots and lock the
owner out. Fixed with a request-head deadline (HEAD_DEADLINE_MS in lib/http/server.c); these are the inputs that
showed the fault.
"""
import socket
import ssl
import subprocess
import threading
import time

import pytest

HEAD_DEADLINE_S = 15  # generous: a request head that takes longer than this is an attack


def tls(cam, src, timeout=5):
    ctx = ssl.create_default_context(cafile=cam.cacert)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((src, 0))
    sock.connect(("127.0.0.1", cam.https_port))
    return ctx.wrap_socket(sock, server_hostname="127.0.0.1")


def trickle_until_cut(s, seconds, gap=3.0):
    """Send one header line every `gap` seconds; return how long the server let it live (or `seconds`)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        time.sleep(gap)
        try:
            s.sendall(b"X-Trickle: a\r\n")
            s.settimeout(0.05)
            if s.recv(1) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (ssl.SSLError, OSError):
            return time.monotonic() - t0
    return seconds


# Regression: was a strict xfail until the web server got a request-head deadline (lib/http/server.c).
def test_trickled_request_head_is_cut(camera_module):
    camera = camera_module
    s = tls(camera, "127.0.0.61")
    try:
        s.sendall(b"GET /api/v1/device HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        lived = trickle_until_cut(s, HEAD_DEADLINE_S + 5)
    finally:
        s.close()
    assert lived <= HEAD_DEADLINE_S + 3, f"trickled request head still open after {lived:.0f} s"


# Regression: was a strict xfail until the web server got a request-head deadline (lib/http/server.c).
def test_trickling_sources_cannot_lock_the_owner_out(camera_module):
    camera = camera_module
    socks = []
    for i in range(5):  # 5 sources x 16 = 80 > CONN_LIMIT (64)
        for _ in range(16):
            try:
                s = tls(camera, f"127.0.0.{70 + i}")
                s.sendall(b"GET /api/v1/device HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                socks.append(s)
            except (ssl.SSLError, OSError):
                break
    stop = threading.Event()

    def feed():
        while not stop.is_set():
            for s in list(socks):
                try:
                    s.sendall(b"X-Trickle: a\r\n")
                except (ssl.SSLError, OSError):
                    socks.remove(s)
            stop.wait(3)

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    try:
        served = False
        deadline = time.monotonic() + HEAD_DEADLINE_S + 6
        while time.monotonic() < deadline and not served:
            time.sleep(4)
            r = subprocess.run(["curl", "-sS", "--cacert", camera.cacert, "--max-time", "4", "-o", "/dev/null",
                                "-w", "%{http_code}", camera.base_url + "/.well-known/security.txt"],
                               capture_output=True, timeout=20)
            served = r.stdout == b"200"
    finally:
        stop.set()
        t.join()
        for s in socks:
            s.close()
    assert served, "the owner got no answer while the trickling connections were held"
