"""safecam-media sources and settings with real clients: the real footage in file mode, a file source that
disappears and comes back (back-off retry, stream_error audit event, recovery), and stream settings applied
by restarting the pipeline, not the process. QCVN 135 G8 (self-recovery), G11 (ranges)."""
import os
import shutil
import subprocess
import time

import pytest

from media_harness import BUILD_DEFAULT, MEDIA_LIVE_OPEN, MediaProcess, basic, jpeg_size, rtsp_request, tls_connect

BUILD = os.environ.get("SAFECAM_BUILD", BUILD_DEFAULT)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOOTAGE = os.path.join(REPO, "tests", "data", "walkway-person-30s.mp4")
PW = "Adm1n-Secret-" + os.urandom(4).hex()
USERS = {"admin": {"password": PW, "role": "admin"}}


def probe(m, path="/stream1", timeout=30):
    return subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
                           "stream=codec_name,width,height", "-of", "default=nw=1",
                           f"rtsps://admin:{PW}@127.0.0.1:{m.port}{path}"], capture_output=True, timeout=timeout)


def decode_frames(m, seconds, path="/stream1"):
    """Decode (not just receive) `seconds` of the stream with ffmpeg; returns the decoded frame count."""
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i",
                        f"rtsps://admin:{PW}@127.0.0.1:{m.port}{path}", "-t", str(seconds), "-f", "null", "-"],
                       capture_output=True, timeout=60)
    import re
    frames = re.findall(rb"frame=\s*(\d+)", r.stderr)
    return int(frames[-1]) if frames else 0


@pytest.fixture
def stop_list():
    procs = []
    yield procs
    for m in procs:
        m.stop()


def test_file_mode_with_real_footage_decodes(stop_list):
    m = MediaProcess(BUILD, source=f"file:{FOOTAGE}", users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    st = m.wait_playing()
    assert st["source"] == "file"
    r = probe(m)
    assert r.returncode == 0, r.stderr
    assert b"codec_name=h264" in r.stdout and b"width=1280" in r.stdout and b"height=720" in r.stdout
    assert decode_frames(m, 3) >= 60  # 768x432 at 10 fps, scaled to 1280x720 at 25 fps
    body, data = m.snapshot()
    assert jpeg_size(data) == (1280, 720)


def test_source_file_disappears_and_comes_back(stop_list, tmp_path):
    clip = tmp_path / "clip.mp4"
    # A 3 s piece of the footage, so the loop notices a missing file quickly.
    subprocess.run(["ffmpeg", "-v", "error", "-i", FOOTAGE, "-t", "3", "-c", "copy", str(clip)], check=True,
                   timeout=30)
    saved = tmp_path / "saved.mp4"
    shutil.copy(clip, saved)
    m = MediaProcess(BUILD, source=f"file:{clip}", users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    os.unlink(clip)
    deadline = time.monotonic() + 15
    while m.status()["state"] != "retrying" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert m.status()["state"] == "retrying", m.read_log()
    assert any(a["type"] == "stream_error" and a["actor"] == "media" for a in m.vault.audit), m.vault.audit
    time.sleep(2.5)  # at least one more failed retry (back-off 1 s, then 2 s)
    assert m.alive()
    errors = [a for a in m.vault.audit if a["type"] == "stream_error"]
    assert len(errors) == 1, errors  # one audit event per outage, not one per retry
    shutil.copy(saved, clip)
    m.wait_playing(timeout=40)  # back-off is at most 30 s
    # A viewer connecting now gets video again.
    assert decode_frames(m, 2) >= 30
    assert "recovered" in m.read_log()


def test_settings_apply_restarts_pipeline_not_process(stop_list):
    m = MediaProcess(BUILD, users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    pid = m.proc.pid
    reply = m.apply({"width": 640, "height": 480, "fps": 15, "bitrate_kbps": 800, "keyframe_interval_s": 2,
                     "sub_enabled": False})
    assert reply == {"ok": True}, reply
    st = m.wait_playing()
    assert st["stream"]["width"] == 640 and st["stream"]["fps"] == 15 and st["stream"]["sub_enabled"] is False
    assert m.proc.pid == pid and m.alive()
    r = probe(m)
    assert r.returncode == 0 and b"width=640" in r.stdout and b"height=480" in r.stdout, r
    with tls_connect(m.port, m.cacert) as s:  # the sub stream is gone with its setting
        st_code, _, _ = rtsp_request(s, "DESCRIBE", f"rtsps://127.0.0.1:{m.port}/stream2", 1,
                                     {"Authorization": basic("admin", PW)})
        assert st_code == 404
    body, fd = m.web_call(MEDIA_LIVE_OPEN, {"stream": "sub"})
    assert body == {"error": "stream_off"} and fd < 0
    body, data = m.snapshot()
    assert jpeg_size(data) == (640, 480)
    reply = m.apply({"width": 1280, "height": 720, "fps": 25, "bitrate_kbps": 2000, "keyframe_interval_s": 1,
                     "sub_enabled": True})
    assert reply == {"ok": True}
    m.wait_playing()
    r = probe(m, "/stream2")
    assert r.returncode == 0 and b"width=640" in r.stdout and b"height=360" in r.stdout, r


def test_changed_password_ends_a_running_stream(stop_list):
    """A13: credentials a player cached from before a password change stop working, also on the
    connection that is already streaming (re-checked after the per-connection cache time)."""
    m = MediaProcess(BUILD, users={"admin": {"password": PW, "role": "admin"}},
                     env={"SAFECAM_MEDIA_AUTH_CACHE_S": "2"})
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    from media_harness import rtsp_play_session
    auth = basic("admin", PW)
    s, sess, u = rtsp_play_session(m.port, m.cacert, auth)
    with s:
        st, _, _ = rtsp_request(s, "PLAY", u, 3, {"Authorization": auth, "Session": sess})
        assert st == 200
        with m.vault.lock:
            m.vault.users["admin"]["password"] = "Changed-" + os.urandom(4).hex()
        closed = False
        s.settimeout(1)
        deadline = time.monotonic() + 10
        cseq = 4
        while time.monotonic() < deadline and not closed:
            try:  # a player's keep-alive, with the old credentials
                s.sendall(f"GET_PARAMETER {u} RTSP/1.0\r\nCSeq: {cseq}\r\nAuthorization: {auth}\r\n"
                          f"Session: {sess}\r\n\r\n".encode())
                cseq += 1
                t_end = time.monotonic() + 1
                while time.monotonic() < t_end:
                    if not s.recv(65536):
                        closed = True
                        break
            except (TimeoutError, OSError):
                pass
        assert closed, "the stream kept flowing after the password change"
    with tls_connect(m.port, m.cacert) as s2:  # and a new connection with the old password is refused
        st, _, _ = rtsp_request(s2, "DESCRIBE", u, 1, {"Authorization": auth})
        assert st == 401


def mapped_libraries(pid):
    """The shared objects a process maps (file names), from /proc/PID/maps."""
    with open(f"/proc/{pid}/maps") as f:
        return {os.path.basename(line.split()[5]) for line in f if len(line.split()) >= 6 and ".so" in line}


X_AND_FONTS = ("libX11", "libxcb", "libcairo", "libpango", "libfontconfig", "libgstpango")


def test_a_file_source_maps_no_clock_libraries_and_no_unused_plugins(stop_list):
    # The clock overlay of the test pattern (pango, cairo, X11 client libraries) belongs to the test pattern only;
    # on a first start (no GStreamer registry anywhere) the media process once scanned and kept every installed
    # plugin mapped: 611 libraries (libgstx265, libgstvulkan, libgstwebrtc, ...) and 130 MB.
    m = MediaProcess(BUILD, source=f"file:{FOOTAGE}", users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    assert decode_frames(m, 2) >= 20
    m.snapshot()
    libs = mapped_libraries(m.proc.pid)
    assert not [x for x in libs if x.startswith(X_AND_FONTS)], sorted(libs)
    plugins = sorted(x for x in libs if x.startswith("libgst") and not x.startswith("libgstreamer")
                     and "-1.0.so" not in x)
    assert not [p for p in plugins if p in ("libgstvideotestsrc.so", "libgstx265.so", "libgstvulkan.so",
                                            "libgstwebrtc.so", "libgstvideo4linux2.so")], plugins
    assert len(plugins) <= 16, plugins
    assert not os.path.exists(os.path.join(m.state_dir, "media-cache", "gst-registry.bin"))


def test_the_test_pattern_loads_no_decoders_on_a_first_start(stop_list):
    m = MediaProcess(BUILD, users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    assert decode_frames(m, 2) >= 20
    libs = mapped_libraries(m.proc.pid)
    assert not [x for x in libs if x.startswith(("libav", "libgstlibav", "libgstplayback", "libx265"))], sorted(libs)
    assert len(libs) <= 120, (len(libs), sorted(libs))
