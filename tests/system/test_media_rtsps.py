"""safecam-media on its own (fake supervisor/vault/web on real channels, media_harness.py) with real
clients: ffprobe, ffmpeg, gst-launch-1.0 (rtspsrc), openssl s_client and python ssl sockets.
QCVN 135 G1/G5/G6/G7/G11, attack cases A6 (RTSP parsing) and A13 (RTSP without/with wrong credentials)."""
import os
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest

from media_harness import (BUILD_DEFAULT, MEDIA_LIVE_OPEN, MediaProcess, basic, jpeg_size, read_all,
                           rtsp_pending, rtsp_play_session, rtsp_read, rtsp_request, tls_connect)

BUILD = os.environ.get("SAFECAM_BUILD", BUILD_DEFAULT)
ADMIN_PW = "Adm1n-Secret-" + os.urandom(4).hex()
VIEWER_PW = "V1ewer-Secret-" + os.urandom(4).hex()
USERS = {
    "admin": {"password": ADMIN_PW, "role": "admin"},
    "viewer": {"password": VIEWER_PW, "role": "viewer"},
    "fresh": {"password": "Fresh-Initial-9", "role": "admin", "pcr": True},
    "victim": {"password": "Victim-Secret-7", "role": "viewer"},
    "crowded": {"password": "Crowded-Secret-5", "role": "viewer", "busy": True},
}
# Validate everything about the server certificate except the CA (rtspsrc's CA store cannot be set from
# gst-launch; the python ssl checks below validate the chain against the device certificate itself).
GST_TLS_FLAGS = "expired+revoked+insecure+not-activated+generic-error+bad-identity"


@pytest.fixture(scope="module")
def media():
    m = MediaProcess(BUILD, users=USERS)
    m.wait_rtsps()
    m.wait_playing()
    yield m
    rc = m.stop()
    assert rc == 0, m.read_log()


def url(m, path="/stream1", user=None, pw=None):
    cred = f"{user}:{pw}@" if user else ""
    return f"rtsps://{cred}127.0.0.1:{m.port}{path}"


def ffprobe(u, *extra, timeout=30):
    return subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", *extra, u], capture_output=True,
                          timeout=timeout)


def ffmpeg_count(u, seconds, timeout=60):
    """Receive `seconds` of video with ffmpeg (no re-encode) and return the number of frames."""
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", u, "-t", str(seconds),
                        "-c", "copy", "-f", "null", "-"], capture_output=True, timeout=timeout)
    frames = re.findall(rb"frame=\s*(\d+)", r.stderr)
    return (int(frames[-1]) if frames else 0), r


# ---------------------------------------------------------------------------------------------------

def test_bad_source_spec_exits_2_with_one_line():
    exe = os.path.join(BUILD, "daemon", "safecam-media")
    for spec in ("bogus", "file:", "v4l2:/dev/sda", "v4l2:/dev/video999", "rtsp://10.0.0.1/x",
                 "file:/nonexistent/clip.mp4", "testsrc;reboot"):
        r = subprocess.run([exe, "--state-dir", "/tmp", "--ipc-fd", "3", "--source", spec], capture_output=True,
                           timeout=10)
        assert r.returncode == 2, (spec, r)
        lines = r.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and "--source" in lines[0], (spec, lines)


def test_ffprobe_plays_h264_at_configured_size(media):
    r = ffprobe(url(media, user="admin", pw=ADMIN_PW), "-show_entries", "stream=codec_name,width,height",
                "-of", "default=nw=1")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "codec_name=h264" in out and "width=1280" in out and "height=720" in out, out


def test_frames_flow_for_five_seconds(media):
    n, r = ffmpeg_count(url(media, user="admin", pw=ADMIN_PW), 5)
    assert n >= 110, (n, r.stderr[-500:])  # 25 fps for 5 s


def test_gst_rtspsrc_decodes_with_tls_validation(media):
    t0 = time.monotonic()
    r = subprocess.run(["gst-launch-1.0", "-v", "rtspsrc", f"location={url(media)}", "user-id=viewer",
                        f"user-pw={VIEWER_PW}", "protocols=tcp", f"tls-validation-flags={GST_TLS_FLAGS}", "!",
                        "rtph264depay", "!", "h264parse", "!", "avdec_h264", "!", "fakesink", "num-buffers=125",
                        "sync=false", "silent=false"], capture_output=True, timeout=60)
    decoded = r.stdout.count(b"chain   ******* (fakesink0:sink)")
    assert decoded == 125, (decoded, r.stderr.decode()[-800:], media.read_log()[-3000:])
    # After the 125th frame gst-launch tears the pipeline down: rtspsrc sends PAUSE and flushes its own
    # connection at the same time (GST_DEBUG shows "PAUSE interrupted"). Twice in CI under ASan the flush
    # surfaced as a GIO-TLS read error ("non-properly terminated") inside gst_rtspsrc_pause and the exit
    # status became 1 although every frame had arrived: a client-side teardown race. Only that exact
    # failure is tolerated, and only after all 125 frames were decoded.
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0 or ("gst_rtspsrc_pause" in err and err.count("ERROR: from element") <= 2), \
        (r.returncode, err[-800:], media.read_log()[-3000:])
    assert b"width=(int)1280, height=(int)720" in r.stdout
    assert time.monotonic() - t0 >= 4.0  # 125 live frames take ~5 s


def test_sub_stream_is_640x360(media):
    r = ffprobe(url(media, "/stream2", "viewer", VIEWER_PW), "-show_entries", "stream=width,height", "-of",
                "default=nw=1")
    assert r.returncode == 0, r.stderr
    assert "width=640" in r.stdout.decode() and "height=360" in r.stdout.decode()


def test_server_presents_the_device_certificate_under_tls_policy(media):
    with tls_connect(media.port, media.cacert) as s:  # validates against the device certificate
        assert s.version() in ("TLSv1.2", "TLSv1.3")
        der = s.getpeercert(binary_form=True)
    with open(media.cacert) as f:
        assert ssl.DER_cert_to_PEM_cert(der).strip() == f.read().strip()
    cases = [(["-tls1_1"], False), (["-tls1"], False), (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"], False),
             (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"], False), (["-tls1_2", "-cipher", "AES128-GCM-SHA256"], False),
             (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], True), (["-tls1_3"], True)]
    for args, ok in cases:
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{media.port}", "-CAfile", media.cacert,
                            "-verify_return_error", *args], input=b"", capture_output=True, timeout=15)
        negotiated = re.search(rb"Cipher is (\S+)", r.stdout)
        success = r.returncode == 0 and negotiated and negotiated.group(1) != b"(NONE)"
        assert bool(success) == ok, (args, r.stdout[-400:])


def test_plaintext_rtsp_is_refused(media):
    with socket.create_connection(("127.0.0.1", media.port), timeout=5) as s:
        s.sendall(b"OPTIONS rtsp://127.0.0.1/stream1 RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        assert b"RTSP/1.0" not in data
    r = ffprobe(f"rtsp://admin:{ADMIN_PW}@127.0.0.1:{media.port}/stream1", timeout=20)
    assert r.returncode != 0


def test_no_or_wrong_credentials_get_401(media):
    before = len(media.vault.checks)
    with tls_connect(media.port, media.cacert) as s:
        st, hd, _ = rtsp_request(s, "OPTIONS", url(media), 1)
        assert st == 200  # OPTIONS reveals nothing and needs no credentials
        st, hd, _ = rtsp_request(s, "DESCRIBE", url(media), 2)
        assert st == 401 and hd.get("www-authenticate", "").startswith("Basic"), (st, hd)
        st, hd, _ = rtsp_request(s, "DESCRIBE", url(media), 3, {"Authorization": basic("admin", "wrong")})
        assert st == 401
        st, _, _ = rtsp_request(s, "DESCRIBE", url(media), 4, {"Authorization": "Basic !!!notbase64"})
        assert st == 401
        st, _, _ = rtsp_request(s, "DESCRIBE", url(media), 5, {"Authorization": "Digest username=\"admin\""})
        assert st == 401
        st, _, _ = rtsp_request(s, "SETUP", url(media) + "/stream=0", 6,
                                {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        assert st == 401
        st, _, _ = rtsp_request(s, "PLAY", url(media), 7)
        assert st in (401, 454)
    r = ffprobe(url(media, user="admin", pw="not-the-password"))
    assert r.returncode != 0 and b"401" in r.stderr
    # Only the wrong passwords reached the vault, with the client's address and the rtsp surface.
    checks = media.vault.checks[before:]
    assert checks and all(c[1] == "127.0.0.1" and c[2] == "rtsp" and c[3] == "invalid_credentials"
                          for c in checks), checks


def test_initial_password_must_be_changed_first(media):
    with tls_connect(media.port, media.cacert) as s:
        st, _, _ = rtsp_request(s, "DESCRIBE", url(media), 1, {"Authorization": basic("fresh", "Fresh-Initial-9")})
        assert st == 403


def test_wrong_passwords_count_toward_lockout(media):
    for i in range(5):
        with tls_connect(media.port, media.cacert) as s:
            st, _, _ = rtsp_request(s, "DESCRIBE", url(media), 1, {"Authorization": basic("victim", f"guess{i}")})
            assert st == 401
    with tls_connect(media.port, media.cacert) as s:
        st, _, _ = rtsp_request(s, "DESCRIBE", url(media), 1, {"Authorization": basic("victim", "Victim-Secret-7")})
        assert st == 401  # locked: the right password no longer opens the stream
    assert media.vault.checks[-1][0] == "victim" and media.vault.checks[-1][3] == "locked"


def test_vault_busy_answers_503_with_retry_after_at_once(media):
    """The vault's hash workers are at their admission budget: RTSP/1.0 has no 429, so the answer is 503 with
    Retry-After (docs/lockout.md), not 401 (nothing was verified) and not a wait."""
    with tls_connect(media.port, media.cacert) as s:
        st, hd, _ = rtsp_request(s, "DESCRIBE", url(media), 1, {"Authorization": basic("crowded", "Crowded-Secret-5")})
    assert st == 503, (st, hd)
    assert hd.get("retry-after", "").isdigit() and int(hd["retry-after"]) >= 1, hd
    assert "www-authenticate" not in hd, hd
    assert media.vault.checks[-1][0] == "crowded" and media.vault.checks[-1][3] == "busy"


def test_credentials_cached_per_connection_only(media):
    before = len(media.vault.checks)
    s, sess, u = rtsp_play_session(media.port, media.cacert, basic("viewer", VIEWER_PW))
    with s:
        st, _, _ = rtsp_request(s, "GET_PARAMETER", u, 3, {"Authorization": basic("viewer", VIEWER_PW),
                                                            "Session": sess})
        assert st == 200
    assert len(media.vault.checks) - before == 1  # one vault check for the whole connection
    with tls_connect(media.port, media.cacert) as s2:
        st, _, _ = rtsp_request(s2, "DESCRIBE", u, 1, {"Authorization": basic("viewer", VIEWER_PW)})
        assert st == 200
    assert len(media.vault.checks) - before == 2  # a new connection is checked again


def test_session_id_is_bound_to_its_connection(media):
    auth = basic("admin", ADMIN_PW)
    a, sess, u = rtsp_play_session(media.port, media.cacert, auth)
    with a, tls_connect(media.port, media.cacert) as b:
        for method in ("PLAY", "TEARDOWN", "GET_PARAMETER", "PAUSE"):
            st, _, _ = rtsp_request(b, method, u, 10, {"Authorization": auth, "Session": sess})
            assert st == 454, (method, st)  # Session Not Found on any other connection
        st, hd, _ = rtsp_request(a, "PLAY", u, 3, {"Authorization": auth, "Session": sess})
        assert st == 200, hd
        a.settimeout(5)
        first = rtsp_pending(a) or a.recv(4)  # interleaved RTP arrives on the owner's connection
        assert first[:1] == b"$", first[:16]


def test_udp_transport_is_refused(media):
    auth = basic("admin", ADMIN_PW)
    with tls_connect(media.port, media.cacert) as s:
        st, _, _ = rtsp_request(s, "DESCRIBE", url(media), 1, {"Authorization": auth})
        assert st == 200
        st, _, _ = rtsp_request(s, "SETUP", url(media) + "/stream=0", 2,
                                {"Authorization": auth, "Transport": "RTP/AVP;unicast;client_port=50000-50001"})
        assert st == 461  # RTP never leaves the TLS connection


MALFORMED = [
    ("long header line", b"DESCRIBE rtsps://127.0.0.1/stream1 RTSP/1.0\r\nCSeq: 1\r\nX-Long: " + b"A" * 200000 + b"\r\n\r\n"),
    ("many headers", b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + b"X-H: v\r\n" * 20000 + b"\r\n"),
    ("huge CSeq", b"OPTIONS * RTSP/1.0\r\nCSeq: 99999999999999999999999999999999\r\n\r\n"),
    ("negative CSeq", b"OPTIONS * RTSP/1.0\r\nCSeq: -5\r\n\r\n"),
    ("repeated CSeq", b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nCSeq: 2\r\nCSeq: x\r\n\r\n"),
    ("bogus Transport", b"SETUP rtsps://127.0.0.1/stream1/stream=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: " + b";;;=,,interleaved=999999-1;" * 500 + b"\r\n\r\n"),
    ("bogus Session", b"PLAY rtsps://127.0.0.1/stream1 RTSP/1.0\r\nCSeq: 1\r\nSession: " + b"\x01\x02;timeout=-1;" * 300 + b"\r\n\r\n"),
    ("huge Content-Length", b"SET_PARAMETER rtsps://127.0.0.1/stream1 RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999999\r\n\r\nabc"),
    ("Content-Length over cap", b"SET_PARAMETER rtsps://127.0.0.1/stream1 RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000),
    ("long URL", b"DESCRIBE rtsps://127.0.0.1/" + b"a/" * 50000 + b" RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
    ("binary garbage", bytes(range(256)) * 64),
    ("no version", b"DESCRIBE\r\n\r\n"),
    ("interleaved junk", b"$\x00\xff\xff" + b"\x00" * 70000),
    ("long Authorization", b"DESCRIBE rtsps://127.0.0.1/stream1 RTSP/1.0\r\nCSeq: 1\r\nAuthorization: Basic " + b"QUFB" * 30000 + b"\r\n\r\n"),
]


@pytest.mark.parametrize("name,payload", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_rtsp_does_not_hurt_the_server(media, name, payload):
    with tls_connect(media.port, media.cacert) as s:
        try:
            s.sendall(payload)
            s.settimeout(5)
            resp = rtsp_read(s)
        except (OSError, ssl.SSLError):
            resp = None
        assert resp is not None and 400 <= resp[0] < 500, (name, resp)  # a clear 4xx, then the close
    assert media.alive(), media.read_log()
    with tls_connect(media.port, media.cacert) as s:  # everyone else is still served
        st, _, _ = rtsp_request(s, "DESCRIBE", url(media), 1, {"Authorization": basic("admin", ADMIN_PW)})
        assert st == 200


def test_eight_concurrent_viewers_get_frames(media):
    results = [None] * 8

    def run(i):
        results[i] = ffmpeg_count(url(media, user="viewer", pw=VIEWER_PW), 4)[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert all(n is not None and n >= 80 for n in results), results  # 25 fps * 4 s, every viewer


def test_connections_per_source_are_limited(media):
    """One address holds at most PER_SOURCE slots (lib/core/conn_guard.c): a newcomer from an address at
    its share is closed at once, the ones it holds are untouched."""
    per_source = 8  # MEDIA_RTSP_CLIENTS_PER_SOURCE_MAX
    conns = []
    try:
        for i in range(per_source + 4):
            try:
                conns.append(tls_connect(media.port, media.cacert))
            except (OSError, ssl.SSLError):
                assert i >= per_source, i
                conns.append(None)
        time.sleep(0.5)
        alive = []
        for c in conns:
            if c is None:
                alive.append(False)
                continue
            try:
                resp = rtsp_request(c, "OPTIONS", url(media), 1)
                alive.append(resp is not None and resp[0] == 200)
            except (OSError, ssl.SSLError):
                alive.append(False)
        # Answered: exactly the first per_source; the four over the share were closed at once.
        assert alive == [True] * per_source + [False] * 4, alive
    finally:
        for c in conns:
            if c is not None:
                c.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # slots are released when connections close
        try:
            with tls_connect(media.port, media.cacert) as s:
                st, _, _ = rtsp_request(s, "OPTIONS", url(media), 1)
                if st == 200:
                    return
        except (OSError, ssl.SSLError):
            time.sleep(0.3)
    raise AssertionError("connection slots not released")


def test_snapshot_is_a_jpeg_of_the_configured_size(media):
    body, data = media.snapshot()
    assert body == {"ok": True, "content_type": "image/jpeg"}
    assert jpeg_size(data) == (1280, 720)


def test_live_view_is_fragmented_mp4_with_low_delay(media):
    t0 = time.monotonic()
    body, fd = media.web_call(MEDIA_LIVE_OPEN, {"stream": "main"})
    assert body["ok"] and re.fullmatch(r'video/mp4; codecs="avc1\.[0-9A-F]{6}"', body["content_type"]), body
    data = bytearray()
    first_moof = None
    os.set_blocking(fd, True)
    while time.monotonic() - t0 < 3:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
        if first_moof is None and b"moof" in data:
            first_moof = time.monotonic() - t0
    os.close(fd)
    boxes = []
    i = 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i:i + 4], "big")
        boxes.append(bytes(data[i + 4:i + 8]))
        if size < 8:
            break
        i += size
    assert boxes[:2] == [b"ftyp", b"moov"], boxes[:4]
    assert boxes.count(b"moof") >= 40, boxes.count(b"moof")  # one fragment per frame
    assert first_moof is not None and first_moof < 1.0, first_moof
    # closing the fd ends the feed: the viewer is gone shortly after
    deadline = time.monotonic() + 5
    while media.status()["live_viewers"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert media.status()["live_viewers"] == 0


def test_web_channel_requests_are_validated(media):
    body, fd = media.web_call(MEDIA_LIVE_OPEN, {"stream": "../../etc"})
    assert body == {"error": "invalid_stream"} and fd < 0
    body, fd = media.web_call(MEDIA_LIVE_OPEN, {"stream": "main", "extra": 1})
    assert body == {"error": "invalid_stream"} and fd < 0


def test_viewer_limit_refuses_a_fifth_live_view(media):
    fds = []
    try:
        for _ in range(4):
            body, fd = media.web_call(MEDIA_LIVE_OPEN, {"stream": "sub"})
            assert body.get("ok"), body
            fds.append(fd)
        body, fd = media.web_call(MEDIA_LIVE_OPEN, {"stream": "sub"})
        assert body == {"error": "busy"} and fd < 0
    finally:
        for fd in fds:
            os.close(fd)


def test_out_of_range_settings_are_refused_and_change_nothing(media):
    before = media.status()["stream"]
    for bad in ({"width": 5000}, {"fps": 0}, {"bitrate_kbps": 1}, {"keyframe_interval_s": 99}, {"width": 641},
                {"colour": "red"}, {"fps": "25"}):
        reply = media.apply(bad)
        assert "error" in reply, (bad, reply)
    assert media.status()["stream"] == before
    assert media.status()["state"] == "playing"


def test_slow_clients_are_cut_off(media):
    """Slowloris: a connection that never finishes its TLS handshake, or trickles a request, is closed
    (10 s handshake timeout, first request due within ~10 s)."""
    idle = socket.create_connection(("127.0.0.1", media.port), timeout=30)
    slow = tls_connect(media.port, media.cacert, timeout=30)
    t0 = time.monotonic()
    slow.sendall(b"OPTIONS * RTSP/1.0\r\n")
    closed = {}

    def watch(name, sock, trickle):
        try:
            sock.settimeout(2)
            while time.monotonic() - t0 < 30:
                if trickle:
                    sock.sendall(b"X")
                try:
                    if not sock.recv(4096):
                        break
                except socket.timeout:
                    continue
        except (OSError, ssl.SSLError):
            pass
        closed[name] = time.monotonic() - t0

    threads = [threading.Thread(target=watch, args=("idle", idle, False)),
               threading.Thread(target=watch, args=("slow", slow, True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    idle.close()
    slow.close()
    assert closed.get("idle", 99) < 15 and closed.get("slow", 99) < 25, closed
