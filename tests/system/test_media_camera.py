"""Video through the whole camera (real safecamd: supervisor, vault, web, media) with real clients:
RTSPS credentials checked by the real vault (same users and lockout as the web login), the initial
password refused for video until changed, a viewer-role user watching, and the HTTPS snapshot.
QCVN 135 G1, G5, G7; attack case A13."""
import base64
import re
import ssl
import subprocess
from urllib.parse import quote

from conftest import strong_password
from media_harness import jpeg_size, rtsp_request, tls_connect


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def describe(camera, user, pw):
    with tls_connect(camera.rtsps_port, camera.cacert) as s:
        st, _, _ = rtsp_request(s, "DESCRIBE", f"rtsps://127.0.0.1:{camera.rtsps_port}/stream1", 1,
                                {"Authorization": basic(user, pw)})
        return st


def wait_rtsps(camera):
    camera.wait_port(camera.rtsps_port)
    import time
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with tls_connect(camera.rtsps_port, camera.cacert, timeout=3):
                return
        except (OSError, ssl.SSLError):
            time.sleep(0.2)
    raise TimeoutError(camera.read_log())


def test_rtsps_presents_the_device_certificate(camera):
    wait_rtsps(camera)
    with tls_connect(camera.rtsps_port, camera.cacert) as s:  # hostname 127.0.0.1 verified too
        der = s.getpeercert(binary_form=True)
        assert s.version() in ("TLSv1.2", "TLSv1.3")
    with open(camera.cacert) as f:
        assert ssl.DER_cert_to_PEM_cert(der).strip() == f.read().strip()


def test_initial_password_opens_no_video_and_failures_lock_out(camera):
    wait_rtsps(camera)
    user, initial = camera.label["admin_user"], camera.label["initial_password"]
    assert describe(camera, user, "wrong-" + initial) == 401
    assert describe(camera, user, initial) == 403  # right password, but it must be changed first
    for i in range(5):
        assert describe(camera, user, f"guess-{i}") == 401
    assert describe(camera, user, initial) == 401  # locked: RTSP failures count like web ones
    r = camera.request("POST", "/api/v1/session", json_body={"username": user, "password": initial})
    assert r.status == 429, r  # the web login is locked by the RTSP failures


def test_admin_and_viewer_watch_after_password_change(camera):
    wait_rtsps(camera)
    admin = camera.admin()
    pw = camera.admin_password
    user = camera.label["admin_user"]
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of",
                        "default=nw=1", f"rtsps://{user}:{quote(pw, safe='')}@127.0.0.1:{camera.rtsps_port}/stream1"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"codec_name=h264" in r.stdout and b"width=1280" in r.stdout and b"height=720" in r.stdout

    vpw = strong_password()
    resp = admin.request("POST", "/api/v1/users", json_body={"username": "watcher", "password": vpw,
                                                              "role": "viewer"})
    assert resp.status in (200, 201), resp
    s = camera.login("watcher", vpw)
    if s.password_change_required:
        new = strong_password()
        resp = s.request("PUT", "/api/v1/users/watcher/password",
                         json_body={"current_password": vpw, "new_password": new})
        assert resp.status == 204, resp
        vpw = new
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i",
                        f"rtsps://watcher:{quote(vpw, safe='')}@127.0.0.1:{camera.rtsps_port}/stream2", "-t", "2", "-f", "null",
                        "-"], capture_output=True, timeout=60)
    frames = re.findall(rb"frame=\s*(\d+)", r.stderr)
    assert frames and int(frames[-1]) >= 30, r.stderr[-500:]


def test_https_snapshot_is_a_jpeg_of_the_configured_size(camera):
    wait_rtsps(camera)
    anon = camera.request("GET", "/api/v1/video/snapshot.jpg")
    assert anon.status == 401
    admin = camera.admin()
    r = admin.request("GET", "/api/v1/video/snapshot.jpg")
    assert r.status == 200 and r.header("content-type") == "image/jpeg", r
    assert jpeg_size(r.body) == (1280, 720)
