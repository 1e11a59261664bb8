#!/usr/bin/python3
"""ONVIF GetProfiles (PasswordDigest of an integration account: one vault verify per request) against
GET /api/v1/device (a session cookie: one vault session check per request): p50/p99 with 10 clients on
keep-alive TLS connections, and the web process's RSS with ONVIF off and on; then the snapshot URI with a session
cookie against the same URI with HTTP Digest of the integration account (SHA-256; each client takes one nonce from
a 401 and counts nc up on it, as curl and recorders do: one vault Digest check per request). Small and loopback only
(10 clients x N requests each). Usage: SAFECAM_BUILD=build /usr/bin/python3 bench/onvif_latency.py [N]"""
import base64
import hashlib
import http.client
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from conftest import Camera  # noqa: E402

CLIENTS = 10
SNAP_CLIENTS = 2
N = int(sys.argv[1]) if len(sys.argv) > 1 else 50


def token(user, secret):
    nonce = os.urandom(16)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    d = base64.b64encode(hashlib.sha1(nonce + created.encode() + secret.encode()).digest()).decode()
    return ('<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
            f'<UsernameToken><Username>{user}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/'
            f'oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{d}</Password><Nonce>'
            f'{base64.b64encode(nonce).decode()}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/'
            f'oasis-200401-wss-wssecurity-utility-1.0.xsd">{created}</Created></UsernameToken></Security></s:Header>')


def digest_client(cam, user, secret, path):
    """A per-client request maker for HTTP Digest: one 401 for the nonce, then nc 1, 2, ... on it."""
    def setup(conn):
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        ch = r.getheader("WWW-Authenticate")
        nonce = ch.split('nonce="', 1)[1].split('"', 1)[0]
        state = {"nc": 0}

        def make_req():
            state["nc"] += 1
            nc, cnonce = f"{state['nc']:08x}", base64.b64encode(os.urandom(12)).decode()
            h = lambda x: hashlib.sha256(x.encode()).hexdigest()
            resp = h(f"{h(f'{user}:safecam:{secret}')}:{nonce}:{nc}:{cnonce}:auth:{h(f'GET:{path}')}")
            auth = (f'Digest username="{user}", realm="safecam", nonce="{nonce}", uri="{path}", algorithm=SHA-256, '
                    f'qop=auth, nc={nc}, cnonce="{cnonce}", response="{resp}"')
            return "GET", path, None, {"Authorization": auth}
        return make_req
    return setup


def run(cam, make_req, setup=None, clients=CLIENTS):
    ctx = ssl.create_default_context(cafile=cam.cacert)
    lat, errors = [], []
    lock = threading.Lock()

    def worker():
        c = http.client.HTTPSConnection("127.0.0.1", cam.https_port, context=ctx, timeout=30)
        mine = []
        mk = setup(c) if setup else make_req
        for _ in range(N):
            method, path, body, headers = mk()
            t = time.perf_counter()
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            mine.append(time.perf_counter() - t)
            if r.status != 200:
                errors.append(r.status)
        c.close()
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=worker) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat.sort()
    return statistics.median(lat) * 1000, lat[int(len(lat) * 0.99) - 1] * 1000, errors


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    tmp = tempfile.mkdtemp(prefix="safecam-bench-onvif-")
    cam = Camera(tmp)
    try:
        cam.start()
        admin = cam.admin()
        web = cam.pids()["web"]
        cookie = f"safecam_session={admin.cookie()}"
        dev = run(cam, lambda: ("GET", "/api/v1/device", None, {"Cookie": cookie}))
        rss_off = rss_kb(web)
        assert admin.request("PUT", "/api/v1/settings/onvif", json_body={"enabled": True}).status == 200
        secret = admin.request("POST", "/api/v1/integrations", json_body={"name": "bench"}).json()["secret"]
        body = lambda: ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">' + token("bench", secret) +
                        '<s:Body><GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/></s:Body></s:Envelope>')
        prof = run(cam, lambda: ("POST", "/onvif/media_service", body(),
                                 {"Content-Type": "application/soap+xml; charset=utf-8"}))
        rss_on = rss_kb(web)
        snap = "/api/v1/video/snapshot.jpg"
        cam.wait_port(cam.rtsps_port)
        # the media process keeps MEDIA_SNAPSHOTS_PENDING_MAX snapshots in flight (more answer 503): 2 clients
        by_session = run(cam, lambda: ("GET", snap, None, {"Cookie": cookie}), clients=SNAP_CLIENTS)
        by_digest = run(cam, None, digest_client(cam, "bench", secret, snap), clients=SNAP_CLIENTS)
        print(f"clients={CLIENTS} requests/client={N}")
        print(f"GET /api/v1/device       p50 {dev[0]:.1f} ms  p99 {dev[1]:.1f} ms  non-200 {len(dev[2])}")
        print(f"ONVIF GetProfiles        p50 {prof[0]:.1f} ms  p99 {prof[1]:.1f} ms  non-200 {len(prof[2])}")
        print(f"ratio GetProfiles/device p50 {prof[0] / dev[0]:.2f}  p99 {prof[1] / dev[1]:.2f}")
        print(f"snapshot ({SNAP_CLIENTS} clients)")
        print(f"snapshot, session        p50 {by_session[0]:.1f} ms  p99 {by_session[1]:.1f} ms  non-200 "
              f"{len(by_session[2])}")
        print(f"snapshot, HTTP Digest    p50 {by_digest[0]:.1f} ms  p99 {by_digest[1]:.1f} ms  non-200 "
              f"{len(by_digest[2])}")
        print(f"ratio Digest/session     p50 {by_digest[0] / by_session[0]:.2f}  p99 {by_digest[1] / by_session[1]:.2f}")
        print(f"web RSS: ONVIF off, after the device run {rss_off} kB; ONVIF on, after the GetProfiles run {rss_on} kB")
    finally:
        cam.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
