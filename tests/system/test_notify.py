"""The systemd notification protocol as safecamd speaks it to its unit (Type=notify, WatchdogSec): a fake
NOTIFY_SOCKET listener (a datagram unix socket, as systemd's) sees READY=1 once every child answers, then
WATCHDOG=1 at every heartbeat round; when a child hangs (SIGSTOP) the WATCHDOG=1 messages stop, and they come
back once the supervisor has killed and restarted the hung child. STOPPING=1 on SIGTERM.
QCVN 135 G8 (self-recovery) / EN 303 645 5.9-1."""
import os
import shutil
import signal
import socket
import tempfile
import threading
import time

import pytest

from conftest import Camera

HEARTBEAT_S = 2.0  # SUPERVISOR_HEARTBEAT_INTERVAL_MS


class NotifyListener:
    """Collects (monotonic time, message) of every datagram sent to the socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                for line in data.decode("utf-8", "replace").split("\n"):
                    if line:
                        self.messages.append((time.monotonic(), line))

    def seen(self, msg, since=0.0):
        with self.lock:
            return [t for t, m in self.messages if m == msg and t >= since]

    def wait_for(self, msg, since=0.0, count=1, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.seen(msg, since)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"{count}x {msg} not seen in {timeout}s; got {self.messages[-10:]}")

    def close(self):
        self.done = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def notify_camera(monkeypatch):
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    cam = Camera(tmp)
    listener = NotifyListener(os.path.join(tmp, "notify.sock"))
    monkeypatch.setenv("NOTIFY_SOCKET", listener.path)
    cam.start()
    yield cam, listener
    cam.stop()
    listener.close()
    shutil.rmtree(tmp, ignore_errors=True)


def test_ready_then_watchdog(notify_camera):
    cam, ln = notify_camera
    ready = ln.wait_for("READY=1")
    assert len(ready) == 1
    # fed round after round (every 2 s while all answer; the bound is generous for loaded sanitizer runs),
    # never before READY=1
    ln.wait_for("WATCHDOG=1", since=ready[0], count=3, timeout=90)
    assert not [t for t in ln.seen("WATCHDOG=1") if t < ready[0]]


def test_watchdog_stops_while_a_child_hangs(notify_camera):
    cam, ln = notify_camera
    ln.wait_for("READY=1")
    ln.wait_for("WATCHDOG=1", count=2, timeout=90)
    web = cam.pids()["web"]
    os.kill(web, signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        # the supervisor kills the hung child (SUPERVISOR_HEARTBEAT_MISSES_MAX rounds) and starts a new one
        new_web = cam.wait_restarted("web", web, timeout=60)
    finally:
        try:
            os.kill(web, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert new_web != web
    # one round may have been fed before the stopped child's heartbeat fell due; then nothing until the restart
    during = ln.seen("WATCHDOG=1", since=stopped_at + HEARTBEAT_S + 0.5)
    restarted_at = time.monotonic()
    assert not [t for t in during if t < restarted_at - 0.5], during
    resumed = ln.wait_for("WATCHDOG=1", since=restarted_at, count=1, timeout=90)
    last_before = max(t for t in ln.seen("WATCHDOG=1") if t <= stopped_at + HEARTBEAT_S + 0.5)
    print(f"watchdog gap while web hung and restarted: {resumed[0] - last_before:.1f} s")
    cam.wait_https()


def test_stopping_on_sigterm(notify_camera):
    cam, ln = notify_camera
    ln.wait_for("READY=1")
    cam.proc.send_signal(signal.SIGTERM)
    assert cam.proc.wait(timeout=20) == 0
    ln.wait_for("STOPPING=1", timeout=5)
