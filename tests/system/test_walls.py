"""The walls the kernel enforces between safecam's processes (docs/ARCHITECTURE.md "Walls"): the real
safecamd started as root runs each child as its own user with no_new_privs, no capabilities, a seccomp
allowlist and a Landlock view; the state dir's ownership follows trust. The attack of issue "walls"
is repeated with the web process's exact user and sandbox (tests/sandbox/sandbox_probe.c applies them
with the product's own functions): no key is read and no session can be forged.
"""
import os
import pwd
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import Camera, bin_path, make_reachable

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="privilege separation needs safecamd started as root")

ROLES = ("vault", "web", "media", "update")


def status_fields(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def probe(state_dir, role, *action, sandbox=True, ui_dir=None):
    cmd = [bin_path("sandbox-probe"), "--role", role, "--state-dir", state_dir]
    if ui_dir:
        cmd += ["--ui-dir", ui_dir]
    if not sandbox:
        cmd.append("--no-sandbox")
    return subprocess.run(cmd + list(action), capture_output=True, text=True, timeout=30)


def events(session, etype):
    r = session.request("GET", f"/api/v1/events?type={etype}&limit=100")
    assert r.status == 200, r
    return r.json()["events"]


def test_every_child_runs_walled(camera_module):
    pids = camera_module.pids()
    assert set(ROLES) <= set(pids), pids
    uids = set()
    for role in ROLES:
        st = status_fields(pids[role])
        want = pwd.getpwnam(f"safecam-{role}")
        assert st["Uid"].split() == [str(want.pw_uid)] * 4, (role, st["Uid"])
        assert st["Gid"].split() == [str(want.pw_gid)] * 4, (role, st["Gid"])
        assert st["Groups"] == "", (role, st["Groups"])
        assert st["NoNewPrivs"] == "1", role
        assert st["Seccomp"] == "2", role
        for caps in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"):
            assert int(st[caps], 16) == 0, (role, caps, st[caps])
        uids.add(want.pw_uid)
    assert len(uids) == len(ROLES)  # one user per role
    # not dumpable: /proc/PID/environ and mem belong to root, not to the child's user
    for role in ROLES:
        assert os.stat(f"/proc/{pids[role]}/mem").st_uid == 0, role


def test_state_dir_ownership_follows_trust(camera_module):
    sd = camera_module.state_dir

    def owner_mode(rel):
        st = os.lstat(os.path.join(sd, rel))
        return pwd.getpwuid(st.st_uid).pw_name, stat.S_IMODE(st.st_mode)

    assert owner_mode("factory/storage.key") == ("safecam-vault", 0o600)
    assert owner_mode("factory/tls.key.sealed") == ("safecam-vault", 0o600)
    assert owner_mode("factory/initial_admin.json") == ("root", 0o600)
    assert owner_mode("factory/tls.crt") == ("root", 0o644)
    assert owner_mode("factory/device.json") == ("root", 0o644)
    assert owner_mode("vault") == ("safecam-vault", 0o700)
    assert owner_mode("vault/vault.db") == ("safecam-vault", 0o600)
    assert owner_mode("vault/audit.db") == ("safecam-vault", 0o600)
    assert owner_mode("captures") == ("safecam-vault", 0o700)
    assert owner_mode("update") == ("safecam-update", 0o700)
    assert owner_mode("slots")[0] == "safecam-update"
    assert owner_mode("media-cache") == ("safecam-media", 0o700)
    assert owner_mode("") == ("root", 0o711)


@pytest.mark.parametrize("role", ["web", "media"])
def test_network_facing_user_reads_no_secret(camera_module, role):
    """The attack that worked before the walls, with web's (and media's) exact credentials: the storage
    key, the sealed TLS key, vault.db (hashes, sessions, CSRF key) and audit.db can be neither read nor
    written, so no session row can be inserted and no key read. Unix permissions alone stop it, and the
    full sandbox stops it again."""
    sd = camera_module.state_dir
    for sandbox in (False, True):
        for rel in ("factory/storage.key", "factory/tls.key.sealed", "factory/initial_admin.json",
                    "vault/vault.db", "vault/audit.db", "update/state.json"):
            for verb in ("read", "write"):
                r = probe(sd, role, verb, os.path.join(sd, rel), sandbox=sandbox)
                assert r.stdout.strip() == "errno=EACCES", (role, sandbox, verb, rel, r.stdout, r.stderr)
    # what it needs is readable: the public certificate and identity
    for rel in ("factory/tls.crt", "factory/device.json"):
        r = probe(sd, role, "read", os.path.join(sd, rel))
        assert r.stdout.strip() == "ok", (rel, r.stdout, r.stderr)


def test_landlock_view_hides_what_unix_permissions_allow(camera_module):
    """A world-readable file outside web's row is still out of reach under its sandbox (Landlock), and
    nothing outside its row can be opened for writing, not even a world-writable file."""
    d = tempfile.mkdtemp(prefix="safecam-walls-")
    try:
        make_reachable(d)
        plain = os.path.join(d, "world-readable.txt")
        with open(plain, "w") as f:
            f.write("x")
        os.chmod(plain, 0o666)
        for role in ("web", "media"):
            assert probe(camera_module.state_dir, role, "read", plain, sandbox=False).stdout.strip() == "ok"
            assert probe(camera_module.state_dir, role, "read", plain).stdout.strip() == "errno=EACCES", role
            assert probe(camera_module.state_dir, role, "write", plain).stdout.strip() == "errno=EACCES", role
        # the UI directory is in web's view when it is given
        ui = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "ui")
        r = probe(camera_module.state_dir, "web", "read", os.path.join(ui, "index.html"), ui_dir=ui)
        assert r.stdout.strip() == "ok", r
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("role", ROLES)
def test_forbidden_calls_kill(camera_module, role):
    """execve, ptrace and fork are in no allowlist: the kernel kills the process (SIGSYS)."""
    for action in (("exec", "/bin/true"), ("ptrace", str(camera_module.proc.pid)), ("fork",)):
        r = probe(camera_module.state_dir, role, *action)
        assert r.returncode == -signal.SIGSYS, (role, action, r.returncode, r.stdout, r.stderr)


def test_violation_is_audited_and_survived(camera):
    """A forbidden call made inside the running web process (gdb makes it call execve): the kernel kills
    it, the supervisor audits a sandbox_violation and restarts it; the vault and media keep running and
    the owner's session survives."""
    admin = camera.admin()
    camera.wait_port(camera.rtsps_port)
    before = camera.pids()
    assert set(ROLES) <= set(before), before
    gdb = shutil.which("gdb")
    assert gdb, "gdb is installed by scripts/install-deps"
    # gdb may itself fail once its target dies mid-call: no core file of it, and its cwd is the test's
    subprocess.run([gdb, "-batch", "-nx", "-p", str(before["web"]), "-ex", "call (long)syscall(59, 0, 0, 0)"],
                   capture_output=True, timeout=120, cwd=camera.tmp,
                   preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
    camera.wait_restarted("web", before["web"])
    camera.wait_https()
    deadline = time.monotonic() + 20
    while True:
        r = admin.request("GET", "/api/v1/device")
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status == 200, r
    after = camera.pids()
    assert after["vault"] == before["vault"] and after["media"] == before["media"]
    ev = events(admin, "sandbox_violation")
    assert any("process=web" in e["detail"] and "SIGSYS" in e["detail"] for e in ev), ev
    assert "web killed by its syscall filter" in camera.read_log() or "process=web killed" in camera.read_log()


def test_legacy_layout_is_migrated(tmp_path):
    """A camera provisioned before the walls kept vault.db and audit.db in the state dir itself: the first
    start moves them into vault/, owned by the vault, and the users are kept."""
    make_reachable(str(tmp_path))
    cam = Camera(str(tmp_path), extra_args=["--no-media"])
    sd = cam.state_dir
    for name in os.listdir(os.path.join(sd, "vault")):
        os.rename(os.path.join(sd, "vault", name), os.path.join(sd, name))
    os.rmdir(os.path.join(sd, "vault"))
    cam.start()
    try:
        assert not os.path.exists(os.path.join(sd, "vault.db"))
        st = os.stat(os.path.join(sd, "vault", "vault.db"))
        assert pwd.getpwuid(st.st_uid).pw_name == "safecam-vault"
        cam.login(cam.label["admin_user"], cam.label["initial_password"])  # the provisioned admin is kept
        assert "moved vault.db into vault/" in cam.read_log()
    finally:
        cam.stop()


def test_wrong_modes_are_repaired_as_root(tmp_path):
    make_reachable(str(tmp_path))
    cam = Camera(str(tmp_path), extra_args=["--no-media"])
    key = os.path.join(cam.state_dir, "factory", "storage.key")
    os.chmod(key, 0o644)
    cam.start()
    try:
        st = os.stat(key)
        assert stat.S_IMODE(st.st_mode) == 0o600 and pwd.getpwuid(st.st_uid).pw_name == "safecam-vault"
    finally:
        cam.stop()


def test_wrong_modes_refused_without_root(tmp_path):
    """Not root: a secret open to others is one clear line naming the file, and a non-zero exit."""
    make_reachable(str(tmp_path))
    cam = Camera(str(tmp_path), extra_args=["--no-media"])
    user = pwd.getpwnam("safecam-web")  # any unprivileged user that can own the state dir
    for root, dirs, files in os.walk(str(tmp_path)):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), user.pw_uid, user.pw_gid)
    os.chmod(os.path.join(cam.state_dir, "factory", "storage.key"), 0o640)
    r = subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--",
                        *cam.command()], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "storage.key has mode 0640: expected 0600" in r.stderr, r.stderr


def test_unreachable_state_dir_is_named(tmp_path):
    make_reachable(str(tmp_path))
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    os.chmod(closed, 0o700)
    cam = Camera(str(tmp_path))
    target = closed / "state"
    shutil.move(cam.state_dir, target)
    os.chmod(closed, 0o700)
    cam.state_dir = str(target)
    r = subprocess.run(cam.command(), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert f"{closed} (above the state dir) has mode 0700" in r.stderr, r.stderr


def test_privileged_ports_are_handed_down(tmp_path):
    """The children hold no capability, so the supervisor binds HTTPS on 443 and RTSPS on 322 and hands the
    listening sockets down; the web process, restarted, serves on the same socket. In a network namespace
    this test makes (nothing else listens there)."""
    ns = f"safecam-walls-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        make_reachable(str(tmp_path))
        cam = Camera(str(tmp_path))
        cmd = [bin_path("safecamd"), "--state-dir", cam.state_dir, "--bind", "127.0.0.1", "--https-port", "443",
               "--rtsps-port", "322"]
        log = open(cam.log_path, "wb")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=log, stderr=subprocess.STDOUT)
        cam.proc = proc

        def https_ok():
            r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "5", "--cacert", cam.cacert,
                                "-o", "/dev/null", "-w", "%{http_code}",
                                "https://127.0.0.1:443/.well-known/security.txt"], capture_output=True, text=True)
            return r.stdout == "200"

        try:
            deadline = time.monotonic() + 60
            while not https_ok():
                assert proc.poll() is None and time.monotonic() < deadline, cam.read_log()
                time.sleep(0.3)
            pids = cam.pids()
            ss = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Htlnp"], capture_output=True, text=True).stdout
            assert "127.0.0.1:443" in ss and "127.0.0.1:322" in ss, ss
            for role in ("web", "media"):
                assert int(status_fields(pids[role])["CapEff"], 16) == 0
            os.kill(pids["web"], signal.SIGKILL)
            cam.wait_restarted("web", pids["web"])
            deadline = time.monotonic() + 60
            while not https_ok():
                assert time.monotonic() < deadline, cam.read_log()
                time.sleep(0.3)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
