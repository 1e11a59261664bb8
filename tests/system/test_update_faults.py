"""Fault cases of firmware updates, end to end through the API of the real daemon (issue #4). The library
proves the same cases in tests/unit/test_update.c (test_disk_full, test_kill9_during_install); here every
install comes in through POST /api/v1/system/update (curl, admin session, CSRF) and is handled by the real
safecamd -> safecam-web -> safecam-update chain.

1. Disk full while staging: the camera's state dir lives on a small tmpfs mounted by the test.
   - the bundle is larger than the free space: 507 {"error":"no_space"}, refused as soon as the signed
     manifest is known (before a payload byte is stored);
   - the disk fills up while the upload streams (curl --limit-rate; a filler file takes the rest of the
     tmpfs once part of the body arrived): refused with a stable code, the staging dir is gone,
     update/state.json and the slots of GET /api/v1/device are unchanged, an update_refused audit event
     records the reason, and once the filler is gone a good bundle installs.
2. Power loss: SIGKILL of the whole process tree (safecamd and every descendant, found through /proc by
   ppid) at random moments of upload / install / restart, then a cold start: HTTPS answers, the admin logs
   in, the running slot is the old or the new version (the new one exactly when the install had been
   committed), update/state.json parses, no staging dir or temp file is left, health is "ok".
   `make check` runs KILL9_QUICK_RUNS (6) rounds; the soak test (marker `soak`, run once by CI with
   `scripts/run-tests --soak`) runs SAFECAM_KILL9_RUNS (default 50; 12 when SAFECAM_BUILD contains "asan").
   SAFECAM_KILL9_WORKERS (cameras in parallel, default 2), SAFECAM_KILL9_SEED. Run with -s to see where the
   kills landed.

Needs root for mount(8) (tmpfs); the disk tests skip with the reason when the mount is refused.
QCVN 135 G3 (signed updates, EN 303 645 5.3: a refused install changes nothing) and G8 / EN 303 645 5.9-1
(a full disk or a power loss during an install never leaves the camera unbootable).

Two daemon bugs were found here and fixed (each test below holds the input that showed it):
test_disk_fills_up_inside_a_payload (500 io instead of 507 no_space) and test_status_after_power_cut_mid_upload
(GET kept saying "receiving" after the restart)."""
import concurrent.futures
import contextlib
import errno
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import traceback

import pytest

from conftest import BUILD, Camera
from test_update_api import PATH, device, last_event, make, relogin, sign_tool, slot_view, status, upload, \
    wait_installed

DISK_BYTES = 8 * 1024 * 1024  # the tmpfs the state dir lives on
PAYLOAD_BYTES = 600_000  # payload of the kill -9 bundles
UPLOAD_RATE = "500k"  # curl --limit-rate of the kill -9 uploads: ~1.2 s per upload
ASAN = "asan" in BUILD
KILL9_QUICK_RUNS = 6  # rounds of test_kill9_at_random_moments_through_the_api; the soak test runs 50


# ---------------------------------------------------------------- vendor, clients


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor-faults")
    r = sign_tool("keygen", "--out", d / "v1")
    assert r.returncode == 0, r.stderr
    (d / "rootfs.tar").write_bytes(os.urandom(300_000))
    (d / "image.tar").write_bytes(os.urandom(PAYLOAD_BYTES))
    (d / "p1").write_bytes(os.urandom(1024 * 1024))
    (d / "p2").write_bytes(os.urandom(1024 * 1024))
    (d / "one").write_bytes(os.urandom(2 * 1024 * 1024))
    return d


def sign(d, name, model, version, payloads, sv=1):
    """A bundle signed with the vendor key v1; payloads: list of (name, path)."""
    out = d / name
    args = ["sign", "--key", d / "v1.key", "--model", model, "--version", version, "--security-version", sv]
    for pname, path in payloads:
        args += ["--payload", f"{pname}={path}"]
    r = sign_tool(*args, "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def payload_offsets(data):
    """Offset of the first payload byte (after header, manifest and signature)."""
    return 24 + struct.unpack(">I", data[12:16])[0] + 64


class SlowUpload:
    """POST the bundle with the real curl, rate-limited, in a thread; .result = (status, body) or an exception."""

    def __init__(self, cam, sess, bundle, rate):
        self.cam, self.sess, self.bundle, self.rate = cam, sess, bundle, rate
        fd, self.body_file = tempfile.mkstemp(prefix="upbody-", dir=cam.tmp)
        os.close(fd)
        # curl reads the jar while the test's status polls (curl -b JAR -c JAR) rewrite it: the upload once
        # went without its cookie (401 unauthorized) under parallel load. It gets its own read-only copy.
        fd, self.jar = tempfile.mkstemp(prefix="upjar-", dir=cam.tmp)
        os.close(fd)
        shutil.copyfile(sess.cookie_jar, self.jar)
        self.result = None
        self.done_at = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            r = self.cam.curl("-X", "POST", "-b", self.jar, "-H", f"X-CSRF-Token: {self.sess.csrf}",
                              "-H", "Content-Type: application/octet-stream", "--data-binary", f"@{self.bundle}",
                              "--limit-rate", self.rate, "-o", self.body_file, "-w", "%{http_code}",
                              self.cam.base_url + PATH, timeout=120)
            with open(self.body_file, "rb") as f:
                body = f.read()
            code = int(r.stdout.decode() or 0)
            self.result = (code, body) if code else RuntimeError(r.stderr.decode(errors="replace"))
        except Exception as e:  # noqa: BLE001 - reported by the caller
            self.result = e
        self.done_at = time.monotonic()

    def start(self):
        self.t0 = time.monotonic()
        self.thread.start()
        return self

    def done(self):
        return self.done_at is not None

    def wait(self, timeout=150):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "curl did not finish"
        if isinstance(self.result, Exception):
            raise AssertionError(f"upload failed: {self.result}")
        return self.result

    def json(self):
        return json.loads(self.result[1].decode())


def state_json_bytes(cam):
    with open(os.path.join(cam.state_dir, "update", "state.json"), "rb") as f:
        return f.read()


def staging_dirs(cam):
    d = os.path.join(cam.state_dir, "slots")
    return sorted(n for n in os.listdir(d) if n.endswith(".staging")) if os.path.isdir(d) else []


def free_bytes(path):
    v = os.statvfs(path)
    return v.f_bavail * v.f_frsize


def cache_bytes(state_dir):
    """Bytes under media-cache/ (the media process's GStreamer registry, ~1 MiB, written whenever it gets to
    it: once after this test had measured the free space, so the space it took was blamed on the update)."""
    total = 0
    for root, _dirs, files in os.walk(os.path.join(state_dir, "media-cache")):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def fill_disk(path):
    """Write zeros to `path` until the file system refuses even one byte (ENOSPC). Returns the bytes written."""
    n, size = 0, 1 << 20
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        while size >= 1:
            try:
                n += os.write(fd, b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                size //= 2
    finally:
        os.close(fd)
    return n


# ---------------------------------------------------------------- the camera on a small disk


def warm_video_pipeline(admin):
    """One snapshot, then wait until the pipeline idles again, so the disk-full update tests start from a camera
    whose video has run (test_first_frame_on_a_full_disk covers a first frame after the disk filled)."""
    deadline = time.monotonic() + 60
    r = admin.request("GET", "/api/v1/video/snapshot.jpg")
    while r.status == 503 and time.monotonic() < deadline:  # the media process is still starting
        time.sleep(0.3)
        r = admin.request("GET", "/api/v1/video/snapshot.jpg")
    assert r.status == 200, r
    st = None
    while time.monotonic() < deadline:
        st = admin.request("GET", "/api/v1/settings/stream").json()
        if st.get("pipeline") == "idle":
            return
        time.sleep(0.3)
    raise AssertionError(f"the video pipeline never idled after a snapshot: {st}")


@pytest.fixture
def small_disk_cam(vendor):
    """A camera whose whole state dir is a tmpfs of DISK_BYTES, its video run once; unmounted in teardown."""
    with small_disk_camera(vendor, warm=True) as cam:
        yield cam


@pytest.fixture
def cold_small_disk_cam(vendor):
    """The same camera before its video pipeline has made a frame."""
    with small_disk_camera(vendor, warm=False) as cam:
        yield cam


@contextlib.contextmanager
def small_disk_camera(vendor, warm):
    """A camera whose whole state dir is a tmpfs of DISK_BYTES, unmounted at the end whatever happened."""
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    state = os.path.join(tmp, "state")
    os.mkdir(state, 0o700)
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700", "tmpfs", state],
                           capture_output=True, text=True, timeout=30)
        why = r.stderr.strip() if r.returncode != 0 else None
    except OSError as e:
        why = str(e)
    if why is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"cannot mount a tmpfs for the state dir (needs root / CAP_SYS_ADMIN): {why}")
    cam = None
    try:
        cam = Camera(tmp, provision_args=["--update-pubkey", vendor / "v1.pub"])
        cam.start()
        if warm:
            warm_video_pipeline(cam.admin())
        yield cam
    finally:
        bad, log_tail = [], ""
        if cam is not None:
            cam.stop()
            bad = cam.sanitizer_report()
            log_tail = cam.read_log()[-6000:] if bad else ""
        if subprocess.run(["umount", state], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", state], capture_output=True, timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20]) + "\n" + log_tail


def test_first_frame_on_a_full_disk(cold_small_disk_cam):
    """The state disk fills before a snapshot (and more requests). ORC maps the code it generates from a file it makes in the media
    process's XDG_RUNTIME_DIR; when that was the state dir (media-cache/), a first frame on the full tmpfs
    touched that mapping and died with SIGBUS. Now the file is on a memory file system (MEDIA_SCRATCH_DIR): the
    mappings say where it is, the snapshot works and the media process is the same one."""
    cam = cold_small_disk_cam
    a = cam.admin()
    before = cam.pids()["media"]
    fill_disk(os.path.join(cam.state_dir, "filler"))
    assert free_bytes(cam.state_dir) < 64 * 1024
    deadline = time.monotonic() + 60
    r = a.request("GET", "/api/v1/video/snapshot.jpg")
    while r.status == 503 and time.monotonic() < deadline:  # the media process is still starting
        time.sleep(0.3)
        r = a.request("GET", "/api/v1/video/snapshot.jpg")
    assert r.status == 200 and r.body[:2] == b"\xff\xd8", (r, cam.read_log()[-3000:])
    # The session check could not record last_seen on the full disk and answered 500 to every request (about
    # one run in five, as the throttled touch fell): the session stays valid without it.
    for _ in range(5):
        r = a.request("GET", "/api/v1/device")
        assert r.status == 200, (r, cam.read_log()[-2000:])
    with open(f"/proc/{before}/maps") as f:
        orc = {line.split()[5] for line in f if "orcexec" in line}
    assert orc and all(p.startswith("/dev/shm/") for p in orc), orc
    time.sleep(1)
    assert cam.pids()["media"] == before, cam.read_log()[-3000:]
    assert "SIGBUS" not in cam.read_log() and "signal 7" not in cam.read_log()


def test_disk_full_bundle_larger_than_free_space(small_disk_cam, vendor):
    """Case A: the signed image does not fit: 507 no_space as soon as the manifest is known."""
    cam = small_disk_cam
    a = relogin(cam)
    free = free_bytes(cam.state_dir)
    cache = cache_bytes(cam.state_dir)
    assert free < DISK_BYTES
    (vendor / "huge.tar").write_bytes(os.urandom(free + 512 * 1024))
    b = sign(vendor, "huge.bundle", cam.label["model"], "1.0.1", [("rootfs.tar", vendor / "huge.tar")])
    data = b.read_bytes()
    assert len(data) > free
    before_state = state_json_bytes(cam)
    before = slot_view(a)
    r = upload(a, data)
    assert r.status == 507 and r.json() == {"error": "no_space"}, r
    assert staging_dirs(cam) == []
    assert state_json_bytes(cam) == before_state
    assert slot_view(a) == before
    st = status(a)
    assert st["state"] == "failed" and st["reason"] == "no_space" and st["health"] == "ok", st
    ev = last_event(a, "update_refused")
    assert ev and "reason=no_space" in ev["detail"] and ev["actor"] == cam.label["admin_user"], ev
    # refused before a payload byte was stored: the verifier had only header, manifest and signature
    rx = int(ev["detail"].split("received=")[1].split()[0])
    assert rx <= payload_offsets(data), ev
    # nothing of it stays on the disk (a little slack for the audit and vault journals)
    assert free_bytes(cam.state_dir) + (cache_bytes(cam.state_dir) - cache) >= free - 256 * 1024


def fill_while_streaming(cam, a, bundle, lo, hi, rate="1m"):
    """Upload `bundle` slowly; once the verifier received between lo and hi bytes (GET progress), fill the
    tmpfs. Returns (SlowUpload after its answer, bytes received when the filler was written, filler path)."""
    up = SlowUpload(cam, a, bundle, rate).start()
    rx = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not up.done():
        st = status(a)
        if st["state"] == "receiving" and st["received"] >= lo:
            rx = st["received"]
            break
        time.sleep(0.03)
    assert rx is not None, ("the upload never got going", up.result, cam.read_log()[-3000:])
    assert rx <= hi, f"the upload ran ahead of the test (received {rx} > {hi}); lower the rate"
    filler = os.path.join(cam.state_dir, "filler")
    fill_disk(filler)
    assert free_bytes(cam.state_dir) < 64 * 1024
    # No API call now: with the disk full even a session check (it records last_seen) may fail.
    up.wait()
    return up, rx, filler


def check_refused_cleanly(cam, a, before, before_state, code):
    assert staging_dirs(cam) == [], "staging dir left behind"
    assert state_json_bytes(cam) == before_state, "update/state.json changed by a refused upload"
    assert slot_view(a) == before, "the slots changed"
    st = status(a)
    assert st["state"] == "failed" and st["reason"] == code and st["health"] == "ok", st
    assert st["trying"] is None, st
    ev = last_event(a, "update_refused")
    assert ev and f"reason={code}" in ev["detail"] and ev["actor"] == cam.label["admin_user"], ev
    return ev


def install_after_freeing(cam, a, vendor, filler, version):
    os.unlink(filler)
    children = cam.pids()
    good = make(vendor, f"good-{version}.bundle", cam.label["model"], version, 1)
    r = upload(a, good.read_bytes())
    assert r.status == 202 and r.json()["version"] == version and r.json()["slot"] == "B", r
    s = wait_installed(cam, version, children)
    v = slot_view(s)
    assert v["running"] == "B" and v["slots"]["B"]["version"] == version and v["slots"]["B"]["good"], v
    assert status(s)["health"] == "ok"
    assert staging_dirs(cam) == []


def test_disk_fills_up_while_staging(small_disk_cam, vendor):
    """Case B: the image fits when the upload starts; while the first payload streams in, another writer
    takes the rest of the disk. The second payload cannot be stored: 507 no_space, nothing changed."""
    cam = small_disk_cam
    a = relogin(cam)
    b = sign(vendor, "two.bundle", cam.label["model"], "1.0.1", [("p1", vendor / "p1"), ("p2", vendor / "p2")])
    data = b.read_bytes()
    p1 = payload_offsets(data)
    p2 = p1 + (vendor / "p1").stat().st_size
    assert len(data) < free_bytes(cam.state_dir) - 1024 * 1024  # it fits when it starts
    before_state = state_json_bytes(cam)
    before = slot_view(a)
    up, rx_fill, filler = fill_while_streaming(cam, a, b, p1 + 128 * 1024, p2 - 384 * 1024)
    code, body = up.result
    assert (code, json.loads(body)) == (507, {"error": "no_space"}), (code, body, rx_fill, cam.read_log()[-3000:])
    ev = check_refused_cleanly(cam, a, before, before_state, "no_space")
    # refused mid-stream, at the second payload: not up front, not at the end
    rx = int(ev["detail"].split("received=")[1].split()[0])
    assert rx_fill < rx and p2 <= rx < len(data), (rx_fill, rx, p2, len(data), ev)
    assert "refused by the update process after" in cam.read_log()
    install_after_freeing(cam, a, vendor, filler, "1.0.2")


def test_disk_fills_up_inside_a_payload(small_disk_cam, vendor):
    """Case B with the usual one-payload bundle: the payload's space is reserved (posix_fallocate) when it
    starts, so the writes that fail are the last ones of staging (manifest.json, bundle.head). The refusal
    must still be clean; docs/update-bundle.md section 3 names it `no_space` ("the disk filled up while
    staging").

    Once a bug: the daemon answered 500 {"error":"io"}, because session_commit() writes manifest.json with
    safecam_file_write_atomic(), which returns SAFECAM_ERR_IO for ENOSPC, and update_session_finish() mapped
    only SAFECAM_ERR_TOOBIG to no_space (now it looks at errno too)."""
    cam = small_disk_cam
    a = relogin(cam)
    b = sign(vendor, "one.bundle", cam.label["model"], "1.0.1", [("rootfs.tar", vendor / "one")])
    data = b.read_bytes()
    p1 = payload_offsets(data)
    before_state = state_json_bytes(cam)
    before = slot_view(a)
    up, rx_fill, filler = fill_while_streaming(cam, a, b, p1 + 128 * 1024, len(data) - 512 * 1024)
    code, body = up.result
    err = json.loads(body).get("error")
    assert (code, err) == (507, "no_space"), (code, body)
    ev = check_refused_cleanly(cam, a, before, before_state, err)
    assert "reason=no_space" in ev["detail"], ev
    install_after_freeing(cam, a, vendor, filler, "1.0.2")


# ---------------------------------------------------------------- power loss: kill -9 of the whole camera


def proc_table():
    """{pid: (ppid, state)} of every process now."""
    out = {}
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            out[int(e)] = (int(rest[1]), rest[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


def process_tree(root):
    """root and all its live descendants (walked through /proc by ppid)."""
    table = proc_table()
    kids = {}
    for pid, (ppid, st) in table.items():
        if st != "Z":
            kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root] if root in table else []
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out, table


def power_cut(cam, snapshot):
    """SIGSTOP safecamd and every descendant (until no new process appears and all are stopped), run
    snapshot() on the frozen camera, then SIGKILL all of them and make sure none is left."""
    root = cam.proc.pid
    os.kill(root, signal.SIGSTOP)  # the moment of the cut: safecamd can fork no more
    stopped = [root]
    deadline = time.monotonic() + 10
    while True:
        tree, table = process_tree(root)
        new = [p for p in tree if p not in stopped]
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
            stopped.append(p)
        if not new and all(table.get(p, (0, "Z"))[1] in ("T", "t", "Z") for p in tree):
            break
        assert time.monotonic() < deadline, "cannot freeze the camera's processes"
        time.sleep(0.001)
    snap = snapshot({p for p in tree if table.get(p, (0, ""))[0] == root})
    for p in stopped:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    cam.proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while True:
        table = proc_table()
        left = [p for p in stopped if p in table and table[p][1] != "Z"]
        if not left:
            break
        assert time.monotonic() < deadline, f"processes survived SIGKILL: {left}"
        time.sleep(0.01)
    # A killed process shows as a zombie once its main thread is gone, while another of its threads (one
    # blocked in I/O on a loaded disk) still holds the descriptor table: the listening sockets close only
    # when that thread ends. Power comes back once nothing of the old camera holds its ports (a cold start
    # once failed with "cannot listen on ... Address already in use").
    for port in (cam.https_port, cam.rtsps_port):
        while not port_free(port):
            assert time.monotonic() < deadline, f"port {port} still held after the power cut"
            time.sleep(0.01)
    cam.proc = None
    cam.log.close()
    return snap, len(stopped)


def port_free(port):
    """True when a listening socket could be bound on 127.0.0.1:port now (as safecamd binds it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def read_state(cam):
    """update/state.json, which must parse whenever power comes back."""
    with open(os.path.join(cam.state_dir, "update", "state.json")) as f:
        st = json.load(f)
    assert st["active"] in ("A", "B") and set(st["slots"]) == {"A", "B"}, st
    return st


def leftovers(cam):
    upd = os.path.join(cam.state_dir, "update")
    tmp = [n for n in os.listdir(upd) if ".tmp." in n]
    return staging_dirs(cam) + tmp


def direct_children(pid):
    return {p for p, (ppid, st) in proc_table().items() if ppid == pid and st != "Z"}


def wait_settled(cam, sess, timeout=60):
    """Until no slot awaits its health check (a new upload would be refused as busy). Returns the status."""
    deadline = time.monotonic() + timeout
    while True:
        st = status(sess)
        if st["trying"] is None:
            return st
        assert time.monotonic() < deadline, (st, cam.read_log()[-4000:])
        time.sleep(0.1)


PHASES = ("upload", "after_202", "restart", "settled")


class PowerLossRig:
    """One camera; runs install-and-kill rounds on it."""

    def __init__(self, vendor, name):
        self.vendor, self.name = vendor, name
        self.tmp = tempfile.mkdtemp(prefix="safecam-test-")
        self.version_no = 0
        try:
            self.cam = Camera(self.tmp, provision_args=["--update-pubkey", vendor / "v1.pub"])
            self.cam.start()
            self.cam.admin()
            self.sess = relogin(self.cam)
        except BaseException:
            if getattr(self, "cam", None) and self.cam.proc:
                self.cam.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def bundle(self):
        self.version_no += 1
        version = f"2.{self.name}.{self.version_no}"
        return version, make(self.vendor, f"k9-{self.name}-{self.version_no}.bundle", self.cam.label["model"],
                             version, 1, payload="image.tar")

    def running_version(self, sess):
        d = device(sess)
        run = d["running_slot"]
        assert run in ("A", "B") and d["slots"][run]["running"] and d["slots"][run]["valid"], d
        return run, d["slots"][run]["version"]

    def calibrate(self):
        """One install without a kill: how long the upload and the whole window (to the slot's health
        check) take on this machine."""
        version, b = self.bundle()
        children = self.cam.pids()
        up = SlowUpload(self.cam, self.sess, b, UPLOAD_RATE).start()
        code, body = up.wait()
        assert code == 202, (code, body)
        upload_s = up.done_at - up.t0
        self.sess = wait_installed(self.cam, version, children)
        window_s = time.monotonic() - up.t0
        assert self.running_version(self.sess)[1] == version
        return upload_s, window_s

    def round(self, at):
        cam = self.cam
        old_slot, old = self.running_version(self.sess)
        new_slot = "B" if old_slot == "A" else "A"
        version, b = self.bundle()
        children = direct_children(cam.proc.pid)
        up = SlowUpload(cam, self.sess, b, UPLOAD_RATE).start()
        time.sleep(max(0.0, up.t0 + at - time.monotonic()))

        def snapshot(frozen_children):
            st = read_state(cam)  # the power-loss state itself parses
            new = st["slots"][new_slot]
            return {"answered": up.result if up.done() else None, "restarted": frozen_children != children,
                    "staging": bool(staging_dirs(cam)), "committed": bool(new.get("valid")) and
                    new.get("version") == version, "trying": st["trying"]}

        snap, nkilled = power_cut(cam, snapshot)
        up.thread.join(30)
        ans = snap["answered"]
        if ans is None:
            phase = "upload"
        else:
            assert not isinstance(ans, Exception) and ans[0] == 202, ("the install was not accepted", ans)
            if not snap["restarted"]:
                phase = "after_202"
            elif snap["trying"] is not None or not snap["committed"]:
                phase = "restart"
            else:
                phase = "settled"  # the window ran out: the new slot had already passed its health check
        read_state(cam)
        # power comes back
        cam.start()
        s = relogin(cam)
        _, run_version = self.running_version(s)
        assert run_version in (old, version), (old, version, run_version)
        read_state(cam)
        assert staging_dirs(cam) == [], "staging dir left after the start"
        st = status(s)
        assert st["health"] == "ok", st
        after_start = st["state"]
        st = wait_settled(cam, s)
        assert st["health"] == "ok", st
        _, run_version = self.running_version(s)
        # what was committed before the cut is what runs: an install cut short never becomes bootable,
        # a committed one passes its health check at the next start
        want = version if snap["committed"] else old
        assert run_version == want, (snap, old, version, run_version, st)
        assert leftovers(cam) == [], leftovers(cam)  # no staging dir, no temp file of an atomic write
        self.sess = s
        return {"phase": phase, "at": at, "killed": nkilled, "mid_upload": phase == "upload" and snap["staging"],
                "committed": snap["committed"], "runs": "new" if run_version == version else "old",
                "state_after_start": after_start}

    def close(self):
        """Stop the camera, remove its files; returns the sanitizer lines of its log."""
        if self.cam.proc:
            self.cam.stop()
        bad = self.cam.sanitizer_report()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return bad


def test_status_after_power_cut_mid_upload(vendor):
    """A power cut while an upload streams in: after the cold start the slots are as before, the staging dir
    is gone, the next upload is accepted, and GET /api/v1/system/update must not claim that an upload is
    still being received (no session runs: the state is idle, or failed with a stable reason).

    Once a bug: GET answered {"state":"receiving","reason":null,...} after the restart until the next upload
    (update/last.json kept the record written when the session opened); now the boot step that removes an
    interrupted install's leftovers also turns it into failed/interrupted."""
    rig = PowerLossRig(vendor, "9")
    try:
        cam, a = rig.cam, rig.sess
        before = slot_view(a)
        version, b = rig.bundle()
        up = SlowUpload(cam, a, b, "200k").start()
        deadline = time.monotonic() + 30
        while True:
            st = status(a)
            if st["state"] == "receiving" and st["received"] >= 128 * 1024:
                break
            assert time.monotonic() < deadline and not up.done(), (st, up.result)
            time.sleep(0.05)
        staging, _ = power_cut(cam, lambda kids: staging_dirs(cam))
        assert staging, "the cut did not land mid-upload"
        up.thread.join(30)
        cam.start()
        s = relogin(cam)
        read_state(cam)
        assert leftovers(cam) == []
        assert slot_view(s) == before
        st = status(s)
        assert st["health"] == "ok" and st["trying"] is None and st["running"] == before["running"], st
        assert st["state"] == "failed" and st["reason"] == "interrupted", st
        # the next upload is accepted (nothing of the cut session holds the install lock)
        version2, b2 = rig.bundle()
        r = upload(s, b2.read_bytes())
        assert r.status == 202 and r.json()["version"] == version2, r
    finally:
        bad = rig.close()
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])


def kill9_rounds(vendor, runs):
    """Power loss at random moments of an install through the API, on SAFECAM_KILL9_WORKERS cameras at once.
    Each camera first installs one bundle without a kill to measure its upload time and its window (first
    byte to the new slot's health check); then each round uploads a new version with curl --limit-rate and
    cuts the power at a random moment: a third of the moments inside the upload, the rest anywhere in the
    window. Where each cut landed is read from the frozen camera (the client's answer, the children's pids,
    the staging dir, state.json) and printed with -s."""
    workers = max(1, min(int(os.environ.get("SAFECAM_KILL9_WORKERS", "2")), runs))
    seed = int(os.environ.get("SAFECAM_KILL9_SEED", str(random.SystemRandom().randrange(1 << 30))))
    t_start = time.monotonic()
    stop = threading.Event()
    results, errors, calib = [], [], {}
    lock = threading.Lock()

    def worker(k):
        rig = None
        rng = random.Random(seed * 31 + k)
        try:
            rig = PowerLossRig(vendor, str(k))
            upload_s, window_s = rig.calibrate()
            with lock:
                calib[k] = (upload_s, window_s)
            for i in range(k, runs, workers):
                if stop.is_set():
                    break
                # every third kill lands inside the upload (the short phase); the others anywhere from the
                # first byte to the new slot's health check
                at = rng.uniform(0.1 * upload_s, 0.95 * upload_s) if i % 3 == 0 else rng.uniform(0, window_s)
                t = time.monotonic()
                r = rig.round(at)
                r.update(run=i, camera=k, seconds=time.monotonic() - t)
                print(f"  run {i:2d} cam {k}: kill at {at:5.2f}s -> {r['phase']:9s}"
                      f"{' (staging open)' if r['mid_upload'] else ''}{' (committed)' if r['committed'] else ''}"
                      f", {r['killed']} processes, GET after start: {r['state_after_start']}"
                      f", then the {r['runs']} version runs, {r['seconds']:.1f}s", flush=True)
                with lock:
                    results.append(r)
        except BaseException:  # noqa: BLE001 - reported below with the camera's log
            stop.set()
            log = rig.cam.read_log()[-4000:] if rig else ""
            with lock:
                errors.append(f"camera {k}:\n{traceback.format_exc()}\n--- safecamd log (tail) ---\n{log}")
        finally:
            if rig:
                bad = rig.close()
                if bad:
                    with lock:
                        errors.append(f"camera {k}: sanitizer report:\n" + "\n".join(bad[:20]))

    print(f"\nkill -9 through the API: {runs} runs on {workers} cameras, seed {seed}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        list(ex.map(worker, range(workers)))
    elapsed = time.monotonic() - t_start
    assert not errors, "\n\n".join(errors)
    assert len(results) == runs
    count = {p: sum(r["phase"] == p for r in results) for p in PHASES}
    mid = sum(r["mid_upload"] for r in results)
    new = sum(r["runs"] == "new" for r in results)
    stale = sum(r["phase"] == "upload" and r["state_after_start"] == "receiving" for r in results)
    cal = ", ".join(f"cam {k}: upload {u:.1f}s window {w:.1f}s" for k, (u, w) in sorted(calib.items()))
    print(f"kill -9 summary: {runs} runs in {elapsed:.0f}s ({cal})\n"
          f"  before the 202:                {count['upload']} (staging open, mid-upload: {mid})\n"
          f"  after the 202, before restart: {count['after_202']}\n"
          f"  during the restart:            {count['restart']}\n"
          f"  after the new slot was good:   {count['settled']} (the window ran out)\n"
          f"  afterwards the new version ran {new} times, the old one {runs - new} times\n"
          f"  GET said \"receiving\" after a cold start with no upload running: {stale} times "
          f"(see test_status_after_power_cut_mid_upload)")
    assert mid >= (3 if runs >= 9 else 1), f"too few kills landed mid-upload: {count}, mid-upload {mid}"


@pytest.mark.slow(60)
def test_kill9_at_random_moments_through_the_api(vendor):
    """kill9_rounds, a few rounds (KILL9_QUICK_RUNS): every phase of the install can be hit in `make check`."""
    kill9_rounds(vendor, KILL9_QUICK_RUNS)


@pytest.mark.soak
@pytest.mark.slow(350)
def test_kill9_soak_at_random_moments_through_the_api(vendor):
    """kill9_rounds in full: SAFECAM_KILL9_RUNS rounds (default 50; 12 under ASan). Run by CI once (-m soak)."""
    kill9_rounds(vendor, int(os.environ.get("SAFECAM_KILL9_RUNS", "12" if ASAN else "50")))
