"""Every service comes up however slowly its peers answer: the camera is started while a CPU hog runs (twice as
many busy processes as cores), and while the vault is frozen (SIGSTOP) for longer than the 3 s a single TLS
credentials fetch waits. No child gives up on a peer after a fixed timeout: web and media retry with bounded
back-off (100 ms doubling to 5 s) until they have the vault's TLS credentials, and a lost channel is asked for
again (PROTO_SUP_CHANNEL_RENEW). The checks: every child runs, a login over HTTPS works, an RTSPS viewer (real
ffmpeg) gets frames. Generous bounds (START_BOUND_S); the measured times are printed (pytest -s) for the report,
never asserted tightly. `make check` runs one start under the hog; the 5-start variant is marked soak (run
once by CI with -m soak). QCVN 135 G8 / EN 303 645 5.9-1 (resilience)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from urllib.parse import quote

import pytest

from conftest import Camera, _finish

START_BOUND_S = 90  # from safecamd's start to an RTSPS frame, under the hog
HOG_BOUND_S = 600   # the hog never outlives this, whatever happens to the test
VAULT_FROZEN_S = 5  # longer than one TLS fetch waits (3 s), shorter than the heartbeat kill (3 x 2 s)
SOAK_STARTS = 5


class CpuHog:
    """os.cpu_count()*2 busy processes (sha256sum /dev/zero), each bounded by `timeout`; all killed on exit."""

    def __init__(self, factor=2):
        self.n = (os.cpu_count() or 1) * factor
        self.procs = []

    def __enter__(self):
        for _ in range(self.n):
            self.procs.append(subprocess.Popen(["timeout", "-s", "KILL", str(HOG_BOUND_S), "sha256sum", "/dev/zero"],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                               stdin=subprocess.DEVNULL, start_new_session=True))
        return self

    def __exit__(self, *exc):
        # SIGTERM to timeout: it passes the signal on to its sha256sum and reaps it (no orphan left behind)
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)  # timeout and its sha256sum (own session, own group)
                p.wait(timeout=10)
        return False


def start_nowait(cam):
    """Start safecamd as Camera.start does, without waiting for HTTPS (the test times each service)."""
    cam.log = open(cam.log_path, "ab")
    cam.proc = subprocess.Popen(cam.command(), stdout=cam.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def rtsps_frames(cam, user, pw, seconds=2, timeout=60):
    """Frames a real ffmpeg viewer received over RTSPS in `seconds` (0 when it could not play)."""
    u = f"rtsps://{quote(user, safe='')}:{quote(pw, safe='')}@127.0.0.1:{cam.rtsps_port}/stream1"
    try:
        r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", u, "-t",
                            str(seconds), "-c", "copy", "-f", "null", "-"], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 0
    frames = re.findall(rb"frame=\s*(\d+)", r.stderr)
    return int(frames[-1]) if frames else 0


def wait_frames(cam, user, pw, deadline):
    while time.monotonic() < deadline:
        assert cam.proc.poll() is None, cam.read_log()
        if rtsps_frames(cam, user, pw) > 0:
            return True
        time.sleep(0.5)
    return False


def start_and_measure(cam, t0):
    """From a safecamd started at t0: seconds until HTTPS answers, a login works, RTSPS gives frames."""
    deadline = t0 + START_BOUND_S
    cam.wait_https(timeout=max(1, deadline - time.monotonic()))
    t_https = time.monotonic() - t0
    session = cam.admin()  # a login (and, the first time, the initial password's change) through the vault
    assert session.last.status == 200
    t_login = time.monotonic() - t0
    assert wait_frames(cam, cam.label["admin_user"], cam.admin_password, deadline), \
        f"no RTSPS frame {START_BOUND_S} s after the start:\n{cam.read_log()[-6000:]}"
    t_rtsps = time.monotonic() - t0
    pids = cam.pids()
    for child in ("vault", "web", "media", "update"):
        assert child in pids, (child, pids, cam.read_log()[-4000:])
    return t_https, t_login, t_rtsps


@pytest.fixture
def cam():
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    c = Camera(tmp)
    yield c
    if c.proc:
        _finish(c)
    shutil.rmtree(tmp, ignore_errors=True)


def starts_under_hog(cam, n):
    times = []
    with CpuHog():
        for i in range(n):
            t0 = time.monotonic()
            start_nowait(cam)
            times.append(start_and_measure(cam, t0))
            if i + 1 < n:
                cam.stop()
    for i, (h, l, r) in enumerate(times):
        print(f"start {i + 1}/{n} under the hog: HTTPS {h:.1f} s, login {l:.1f} s, RTSPS frame {r:.1f} s")
    log = cam.read_log()
    assert "safecamd exited" not in log
    return times


def test_start_under_cpu_hog(cam):
    """One start with 2 x cores busy processes: every service comes up within START_BOUND_S."""
    starts_under_hog(cam, 1)


@pytest.mark.soak
def test_start_under_cpu_hog_soak(cam):
    """SOAK_STARTS starts (stop, start again) under the hog; each brings every service up."""
    starts_under_hog(cam, SOAK_STARTS)


@pytest.mark.soak  # same-pid assertions: under ASan+UBSan a start is slow enough for a heartbeat restart
def test_vault_frozen_during_start_rtsps_comes_up(cam):
    """The original failure, deterministic: the vault is frozen (SIGSTOP) while web and media start, for longer
    than one TLS credentials fetch waits. Both keep retrying with back-off; after SIGCONT, HTTPS and RTSPS come
    up without any child being restarted (same pids) and without stopping the camera."""
    t0 = time.monotonic()
    start_nowait(cam)
    vault = None
    while time.monotonic() < t0 + 30 and not vault:
        assert cam.proc.poll() is None, cam.read_log()
        vault = cam.pids().get("vault")
        if not vault:
            time.sleep(0.005)
    assert vault, cam.read_log()
    os.kill(vault, signal.SIGSTOP)
    try:
        time.sleep(VAULT_FROZEN_S)
        frozen_pids = cam.pids()
    finally:
        os.kill(vault, signal.SIGCONT)
    t_https, t_login, t_rtsps = start_and_measure(cam, time.monotonic())
    after = cam.pids()
    print(f"vault frozen {VAULT_FROZEN_S} s during the start; after SIGCONT: HTTPS {t_https:.1f} s, "
          f"login {t_login:.1f} s, RTSPS frame {t_rtsps:.1f} s")
    assert after["vault"] == vault, "the vault was restarted: the freeze was longer than the heartbeat kill"
    for child in ("web", "media"):
        if child in frozen_pids:
            assert after[child] == frozen_pids[child], (child, cam.read_log()[-4000:])
    log = cam.read_log()
    # the waits were real: a fetch timed out, and each waiting side logged it a few times at most (a note at
    # the first failure, a warning when it lasts or its reason changes), not once per retry
    waits = [line for line in log.splitlines() if "waits for the TLS credentials from the vault" in line]
    assert any("media" in line for line in waits), log[-4000:]
    assert len(waits) <= 6, waits


def socket_inodes(pid):
    """{inode: fd} of the sockets process pid holds."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            m = re.match(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if m:
            out[int(m.group(1))] = int(fd)
    return out


def vault_fd_of_channel_to(vault, peer):
    """The descriptor number, in the vault, of its channel to process `peer` (ss -xa: each end's peer inode)."""
    mine, theirs = socket_inodes(vault), socket_inodes(peer)
    out = subprocess.run(["ss", "-xa"], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "u_seq" and f[5].isdigit() and f[7].isdigit():
            local, remote = int(f[5]), int(f[7])
            if local in mine and remote in theirs:
                return mine[local]
    return None


def vault_served_again(cam, child, user, pw):
    """One attempt at what needs child's vault channel: an RTSPS viewer (media), a login (web); update's
    channel is watched by its own loop, so the supervisor's re-pair in the log is the sign."""
    if child == "media":
        return rtsps_frames(cam, user, pw) > 0
    if child == "web":
        return cam.login(user, pw, expect=None).last.status == 200
    return "update lost its channel to vault" in cam.read_log()


@pytest.mark.skipif(not shutil.which("gdb"), reason="gdb shuts a channel down inside the vault")
@pytest.mark.parametrize("child", ["media", "web", "update"])
def test_dead_vault_channel_is_renewed_without_restart(cam, child):
    """A channel that dies while both sides run (here: the vault's end shut down from inside the vault with gdb,
    so both ends see it closed) is not left dead: the child sees it closed (media and web at their next call,
    update at once), asks the supervisor for a fresh one, and is served again; no process is restarted."""
    cam.start()
    cam.admin()
    user, pw = cam.label["admin_user"], cam.admin_password
    assert wait_frames(cam, user, pw, time.monotonic() + START_BOUND_S), cam.read_log()[-4000:]
    before = cam.pids()
    fd = vault_fd_of_channel_to(before["vault"], before[child])
    assert fd is not None and fd > 3
    r = subprocess.run(["gdb", "-p", str(before["vault"]), "-batch", "-nx", "-ex", f"call (int)shutdown({fd}, 2)"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # the first call meets the dead channel (503 at once), later ones go through the fresh one
    deadline = time.monotonic() + 60
    ok = False
    while time.monotonic() < deadline and not ok:
        ok = vault_served_again(cam, child, user, pw)
        if not ok:
            time.sleep(0.5)
    log = cam.read_log()
    assert ok, log[-4000:]
    assert f"{child} lost its channel to vault: a fresh one to both" in log, log[-4000:]
    lost = [line for line in log.splitlines() if "channel lost: asking the supervisor" in line
            or "channel to vault lost: asking the supervisor" in line]
    assert len(lost) == 1, lost  # one line for the loss, none per retry
    assert cam.pids() == before
    # and the fresh channel works end to end
    assert rtsps_frames(cam, user, pw) > 0
    assert cam.login(user, pw).last.status == 200
