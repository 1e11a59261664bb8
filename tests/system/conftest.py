"""System-test harness: provisions a real camera state dir and runs the real safecamd on free loopback
ports; every request goes through real clients (curl, openssl, ffprobe...). Debian's /usr/bin/python3 only.

Fixtures: `camera` (one per test), `camera_module` (shared by a module's tests). Build dir: $SAFECAM_BUILD
(default: <repo>/build).
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from ports import free_port  # noqa: F401 - race-free between xdist workers; the tests import it from here

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SAFECAM_BUILD", os.path.join(REPO, "build"))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def bin_path(name):
    """Path of a built executable (daemon/ or tools/ in the build dir)."""
    for sub in ("daemon", "tools", "tests/check", "tests/sandbox", "bench"):
        p = os.path.join(BUILD, sub, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{name} not built in {BUILD}")


def make_reachable(path):
    """Started as root, safecamd runs each child as its own user (the walls): those users must be able to
    reach the state dir, so every directory from path up to / gets search permission for others (o+x).
    A directory that is not ours is left alone (safecamd then says which one blocks)."""
    p = os.path.abspath(path)
    while True:
        st = os.stat(p)
        if not st.st_mode & 0o001 and st.st_uid == os.geteuid():
            os.chmod(p, (st.st_mode & 0o7777) | 0o011)
        parent = os.path.dirname(p)
        if parent == p:
            return
        p = parent


def strong_password():
    """A fresh password that satisfies the policy (four classes, no dictionary word)."""
    return "Qz7#" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y") + "!9a"


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict of lower-case name -> list of values
        self.body = body  # bytes

    def header(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __iter__(self):  # allows: status, headers, body = resp
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def parse_headers(text):
    headers = {}
    # curl -D writes every response's headers (e.g. after 100-continue): keep the last block.
    blocks = [b for b in re.split(r"\r?\n\r?\n", text) if b.strip()]
    if not blocks:
        return 0, headers
    lines = blocks[-1].splitlines()
    m = re.match(r"HTTP/\S+ (\d+)", lines[0])
    status = int(m.group(1)) if m else 0
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
    return status, headers


class Session:
    """A browser-like session driven by curl: a cookie jar and the CSRF token."""

    def __init__(self, camera, username):
        self.camera = camera
        self.username = username
        fd, self.cookie_jar = tempfile.mkstemp(prefix="jar-", dir=camera.tmp)
        os.close(fd)
        self.csrf = None
        self.password_change_required = None

    def cookie(self):
        """The session cookie value from the jar (or None)."""
        with open(self.cookie_jar) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 7 and parts[5] == "safecam_session":
                    return parts[6]
        return None

    def request(self, method, path, json_body=None, headers=None, csrf=True, data=None, content_type=None):
        hdrs = dict(headers or {})
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            hdrs.setdefault("X-CSRF-Token", self.csrf)
        return self.camera.request(method, path, json_body=json_body, headers=hdrs, jar=self.cookie_jar,
                                   data=data, content_type=content_type)


class Camera:
    def __init__(self, tmp, source=None, extra_args=None, provision_args=None):
        self.tmp = tmp
        make_reachable(tmp)
        self.state_dir = os.path.join(tmp, "state")
        self.label_path = os.path.join(tmp, "label.json")
        self.log_path = os.path.join(tmp, "safecamd.log")
        self.https_port = free_port()
        self.rtsps_port = free_port()
        self.source = source
        self.extra_args = list(extra_args or [])
        self.proc = None
        self.admin_password = None
        self._admin = None
        self.provision(*(provision_args or []))

    # -- set-up ------------------------------------------------------------------------------------
    def bin(self, name):
        return bin_path(name)

    def provision(self, *extra):
        subprocess.run([self.bin("safecam-provision"), "--state-dir", self.state_dir, "--label-out",
                        self.label_path, *extra], check=True, capture_output=True, timeout=60)
        with open(self.label_path) as f:
            self.label = json.load(f)
        self.cacert = os.path.join(self.state_dir, "factory", "tls.crt")

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self.https_port}"

    def command(self):
        cmd = [self.bin("safecamd"), "--state-dir", self.state_dir, "--bind", "127.0.0.1",
               "--https-port", str(self.https_port), "--rtsps-port", str(self.rtsps_port),
               "--ui-dir", os.path.join(REPO, "ui")]
        if self.source:
            cmd += ["--source", self.source]
        return cmd + self.extra_args

    def start(self, wait_media=False):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.wait_https()
        if wait_media:
            self.wait_port(self.rtsps_port)

    def wait_port(self, port, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"safecamd exited ({self.proc.returncode}):\n{self.read_log()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"port {port} not listening after {timeout}s:\n{self.read_log()}")

    def wait_https(self, timeout=30):
        """Wait until the web process completes a TLS handshake (it gets its key from the vault first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"safecamd exited ({self.proc.returncode}):\n{self.read_log()}")
            try:
                # read each time: a factory reset replaces the certificate while the camera starts
                ctx = ssl.create_default_context(cafile=self.cacert)
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=2) as s:
                    with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                        return
            except (OSError, ssl.SSLError):
                time.sleep(0.1)
        raise TimeoutError(f"HTTPS not up after {timeout}s:\n{self.read_log()}")

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def restart(self):
        self.stop()
        self.start()

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def pids(self):
        """{"supervisor": pid, "vault": pid, "web": pid, "media": pid} of the running processes."""
        out = {"supervisor": self.proc.pid}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid != self.proc.pid:
                    continue
                with open(f"/proc/{entry}/comm") as f:
                    comm = f.read().strip()
            except (OSError, ValueError, IndexError):
                continue
            if comm.startswith("safecam-"):
                out[comm[len("safecam-"):]] = int(entry)
        return out

    def wait_restarted(self, name, old_pid, timeout=20):
        """Wait until child `name` runs again with a new pid; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.pids().get(name)
            if pid and pid != old_pid:
                return pid
            time.sleep(0.1)
        raise TimeoutError(f"{name} not restarted:\n{self.read_log()}")

    # -- clients -----------------------------------------------------------------------------------
    def curl(self, *args, timeout=60, **kw):
        """Run the real curl against this camera (device certificate trusted). Returns CompletedProcess."""
        cmd = ["curl", "-sS", "--cacert", self.cacert, "--max-time", str(timeout), *args]
        return subprocess.run(cmd, capture_output=True, timeout=timeout + 10, **kw)

    def request(self, method, path, json_body=None, headers=None, jar=None, data=None, content_type=None):
        """One HTTPS request with curl; returns Response(status, headers, body)."""
        fd, hfile = tempfile.mkstemp(prefix="hdr-", dir=self.tmp)
        os.close(fd)
        fd, bfile = tempfile.mkstemp(prefix="body-", dir=self.tmp)
        os.close(fd)
        args = ["-X", method, "-D", hfile, "-o", bfile]
        if jar:
            args += ["-b", jar, "-c", jar]
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = content_type or "application/json"
        elif data is not None:
            body = data if isinstance(data, bytes) else data.encode()
        if content_type:
            args += ["-H", f"Content-Type: {content_type}"]
        for k, v in (headers or {}).items():
            args += ["-H", f"{k}: {v}"]
        if body is not None:
            args += ["--data-binary", "@-"]
        args.append(self.base_url + path)
        r = self.curl(*args, input=body)
        with open(hfile, encoding="latin-1") as f:
            status, hdrs = parse_headers(f.read())
        with open(bfile, "rb") as f:
            content = f.read()
        os.unlink(hfile)
        os.unlink(bfile)
        if r.returncode != 0 and status == 0:
            raise RuntimeError(f"curl failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
        return Response(status, hdrs, content)

    def login(self, username, password, expect=200):
        s = Session(self, username)
        r = s.request("POST", "/api/v1/session", json_body={"username": username, "password": password})
        if expect is not None:
            assert r.status == expect, r
        if r.status == 200:
            j = r.json()
            s.csrf = j["csrf_token"]
            s.password_change_required = j["password_change_required"]
        s.last = r
        return s

    def admin(self):
        """A logged-in admin session; the first call changes the label's initial password."""
        if self.admin_password is None:
            s = self.login(self.label["admin_user"], self.label["initial_password"])
            # A random password can now and then be judged "systematic" by cracklib: draw again on 422.
            for _ in range(10):
                new = strong_password()
                r = s.request("PUT", f"/api/v1/users/{self.label['admin_user']}/password",
                              json_body={"current_password": self.label["initial_password"], "new_password": new})
                if r.status != 422:
                    break
            assert r.status == 204, r
            self.admin_password = new
        return self.login(self.label["admin_user"], self.admin_password)

    def sanitizer_report(self):
        log = self.read_log()
        return [line for line in log.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


def _make_camera(tmp, request):
    marker = request.node.get_closest_marker("camera_args") if hasattr(request, "node") else None
    kwargs = marker.kwargs if marker else {}
    cam = Camera(tmp, **kwargs)
    try:
        cam.start()
    except BaseException:
        if cam.proc:
            cam.stop()
        raise
    return cam


def _finish(cam):
    cam.stop()
    bad = cam.sanitizer_report()
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])


@pytest.fixture
def camera(request):
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    cam = _make_camera(tmp, request)
    yield cam
    _finish(cam)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def camera_module(request):
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    cam = _make_camera(tmp, request)
    yield cam
    _finish(cam)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def camera_users(tmp_path_factory):
    """The per-process users safecamd's children run as when it is started as root (scripts/create-users,
    the same step `make` runs through scripts/install-deps), and pytest's temporary directories reachable
    by them (tests that make a state dir under tmp_path)."""
    subprocess.run([os.path.join(REPO, "scripts", "create-users")], check=True, capture_output=True, timeout=60)
    make_reachable(str(tmp_path_factory.getbasetemp()))


@pytest.fixture
def tmp_path(tmp_path):
    """pytest's tmp_path, reachable by the camera's per-process users (tests make state dirs in it)."""
    make_reachable(str(tmp_path))
    return tmp_path


def pytest_configure(config):
    config.addinivalue_line("markers", "camera_args(**kw): arguments for the Camera fixture (source=..., "
                                       "extra_args=[...] for safecamd, provision_args=[...] for safecam-provision)")


def _slow_seconds(item):
    m = item.get_closest_marker("slow")
    return float(m.args[0]) if m and m.args else 0.0


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the long tests (marker slow(seconds)) go first, longest first: xdist deals the first
    quarter of the collected tests out round-robin, so each long test starts at once on its own worker instead
    of one of them ending up as the tail of the run. Serial runs keep the file order (module fixtures)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # stable: the rest keep their order. Tests of an xdist_group (order-dependent, one shared camera) are
        # never marked slow, so their file order holds.
        items.sort(key=lambda it: -_slow_seconds(it))
