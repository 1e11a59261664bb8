"""System tests for the real safecam-vault process, driven the way the supervisor drives it: a state dir made
by the real safecam-provision, the vault fork+exec'd with its supervisor channel on --ipc-fd, client channels
handed over with PROTO_SUP_CHANNEL (fd passing), and the wire format of include/safecam/ipc.h spoken
byte for byte. Covers: narrow per-peer tables (violations close the channel, are audited, and the vault
lives on), uniform login answers, lockout and sessions surviving a restart, TLS credentials unsealed,
no network sockets, clean shutdown, exit when the supervisor goes away.
Run: SAFECAM_BUILD=/path/to/build /usr/bin/python3 -m pytest -q tests/system/test_vault_process.py
"""
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import SANITIZER_MARKERS, bin_path, strong_password

MAGIC = 0x31494353
FLAG_REPLY = 0x0001
SUP_HEARTBEAT, SUP_CHANNEL, SUP_SHUTDOWN = 1, 2, 3
SUP_LINK_STATE = 28  # vault -> supervisor: whether a linked service is configured
(LOGIN, AUTH_CHECK, SESSION_CHECK, SESSION_END, PASSWORD_CHANGE, USER_LIST, USER_CREATE, USER_UPDATE,
 USER_DELETE, SETTINGS_GET, SETTINGS_SET, AUDIT_RECORD, AUDIT_QUERY, TLS_CREDENTIALS) = range(100, 114)


class Channel:
    """One end of an AF_UNIX SOCK_SEQPACKET channel speaking the safecam IPC framing."""

    def __init__(self, sock):
        self.sock = sock
        self.next_id = 1
        self.notes = []

    def send_raw(self, data, fds=()):
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.send(data)

    def call(self, mtype, body=None, fds=(), timeout=10.0):
        payload = json.dumps(body if body is not None else {}).encode()
        mid = self.next_id
        self.next_id += 1
        self.send_raw(struct.pack("<IIHHI", MAGIC, len(payload), mtype, 0, mid) + payload, fds)
        self.sock.settimeout(timeout)
        for _ in range(8):  # the vault's own notes to its supervisor come first (SUP_LINK_STATE at its start)
            data = self.sock.recv(300 * 1024)
            if not data:
                raise ConnectionError("channel closed by the vault")
            magic, length, rtype, flags, rid = struct.unpack("<IIHHI", data[:16])
            if rtype == SUP_LINK_STATE and not flags & FLAG_REPLY:
                self.notes.append(json.loads(data[16:]))
                continue
            break
        assert magic == MAGIC and rtype == mtype and rid == mid and flags & FLAG_REPLY
        assert length == len(data) - 16
        return json.loads(data[16:])

    def closed_by_peer(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(300 * 1024) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


class Vault:
    """A running safecam-vault with its supervisor channel."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.proc = None
        self.sup = None
        self.logs = []  # stderr of every vault process run so far
        self.start()

    def start(self):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [bin_path("safecam-vault"), "--state-dir", self.state_dir, "--ipc-fd", str(child.fileno())],
            pass_fds=[child.fileno()], stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        child.close()
        self.sup = Channel(parent)
        assert self.sup.call(SUP_HEARTBEAT) == {"ok": True}

    def channel(self, peer):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        assert self.sup.call(SUP_CHANNEL, {"peer": peer}, fds=[child.fileno()]) == {"ok": True}
        child.close()
        return Channel(parent)

    def _collect(self):
        self.sup.close()
        self.logs.append(self.proc.stderr.read().decode(errors="replace"))
        self.proc.stderr.close()

    def stop(self):
        """Clean stop through PROTO_SUP_SHUTDOWN: exit status 0."""
        if self.proc.poll() is None:
            assert self.sup.call(SUP_SHUTDOWN) == {"ok": True}
            assert self.proc.wait(timeout=10) == 0
        self._collect()

    def finish(self):
        """Stop whatever runs (clean stop when possible, else kill) and return all stderr text."""
        if self.proc.poll() is None:
            try:
                self.sup.call(SUP_SHUTDOWN, timeout=5)
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)
        if not self.proc.stderr.closed:
            self._collect()
        return "\n".join(self.logs)


@pytest.fixture
def vault_env():
    tmp = tempfile.mkdtemp(prefix="safecam-vault-test-")
    try:
        state = os.path.join(tmp, "state")
        label_path = os.path.join(tmp, "label.json")
        subprocess.run([bin_path("safecam-provision"), "--state-dir", state, "--label-out", label_path],
                       check=True, capture_output=True, timeout=60)
        with open(label_path) as f:
            label = json.load(f)
        v = Vault(state)
        try:
            yield v, label
        finally:
            logs = v.finish()
        for marker in SANITIZER_MARKERS:
            assert marker not in logs, logs
        # no secret ever reaches the operational log
        assert label["initial_password"] not in logs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def login(web, user, pw, source="127.0.0.1"):
    return web.call(LOGIN, {"username": user, "password": pw, "source": source})


def admin_session(v, label):
    """Log in with the label password and change it; returns (web channel, session reply, new password)."""
    web = v.channel("web")
    r = login(web, label["admin_user"], label["initial_password"])
    assert r["ok"] is True and r["password_change_required"] is True
    newpw = strong_password()
    r2 = web.call(PASSWORD_CHANGE, {"session_id": r["session_id"], "username": "admin",
                                    "current_password": label["initial_password"], "new_password": newpw,
                                    "source": "127.0.0.1"})
    assert r2 == {"ok": True}
    return web, r, newpw


def test_login_answers_and_session(vault_env):
    v, label = vault_env
    web = v.channel("web")
    wrong = login(web, "admin", "not-the-password")
    unknown = login(web, "operator7", "not-the-password")
    assert wrong == unknown == {"error": "invalid_credentials"}
    ok = login(web, "admin", label["initial_password"], source="::1")
    assert ok["ok"] is True and ok["role"] == "admin" and ok["password_change_required"] is True
    assert len(ok["session_id"]) == 64 and len(ok["csrf_token"]) == 64
    int(ok["session_id"], 16)
    again = login(web, "admin", label["initial_password"], source="::1")
    assert again["session_id"] != ok["session_id"]
    chk = web.call(SESSION_CHECK, {"session_id": ok["session_id"], "csrf_token": ok["csrf_token"], "touch": True})
    assert chk["ok"] is True and chk["csrf_ok"] is True and chk["username"] == "admin"
    # nothing an admin-only request may do before the initial password is changed
    assert web.call(USER_LIST, {"session_id": ok["session_id"]}) == {"error": "password_change_required"}
    assert web.call(SESSION_END, {"session_id": ok["session_id"], "source": "::1"}) == {"ok": True}
    assert web.call(SESSION_CHECK, {"session_id": ok["session_id"]}) == {"error": "no_session"}
    # the vault never stores the plaintext, and its db is private
    db = os.path.join(v.state_dir, "vault", "vault.db")
    assert os.stat(db).st_mode & 0o777 == 0o600
    for name in os.listdir(v.state_dir):
        p = os.path.join(v.state_dir, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                assert label["initial_password"].encode() not in f.read()


def test_violations_close_only_that_channel(vault_env):
    v, label = vault_env
    web, sess, _ = admin_session(v, label)
    # web may not send supervisor messages: channel closed, vault alive
    bad = v.channel("web")
    bad.send_raw(struct.pack("<IIHHI", MAGIC, 2, SUP_SHUTDOWN, 0, 1) + b"{}")
    assert bad.closed_by_peer()
    assert v.sup.call(SUP_HEARTBEAT) == {"ok": True}
    # a new web channel replaced the first one: the old one is closed by the vault
    assert web.closed_by_peer()
    web = v.channel("web")
    # media may not log in (only RTSP credential checks)
    media = v.channel("media")
    media.send_raw(struct.pack("<IIHHI", MAGIC, 2, LOGIN, 0, 1) + b"{}")
    assert media.closed_by_peer()
    media = v.channel("media")
    r = media.call(AUTH_CHECK, {"username": "admin", "password": "wrong", "source": "127.0.0.2", "surface": "rtsp"})
    assert r == {"error": "invalid_credentials"}
    # malformed frames: bad magic, length mismatch, non-JSON payload
    for frame in (b"XXXX" + b"\0" * 12 + b"{}",
                  struct.pack("<IIHHI", MAGIC, 50, LOGIN, 0, 1) + b"{}",
                  struct.pack("<IIHHI", MAGIC, 5, SESSION_CHECK, 0, 1) + b"{nope"):
        c = v.channel("media")
        c.send_raw(frame)
        assert c.closed_by_peer()
    assert v.sup.call(SUP_HEARTBEAT) == {"ok": True}
    # every violation is an audit event
    ev = web.call(AUDIT_QUERY, {"session_id": sess["session_id"], "type": "protocol_violation"})
    assert ev["ok"] is True and len(ev["events"]) >= 5
    assert all(e["type"] == "protocol_violation" for e in ev["events"])


def test_tls_credentials(vault_env):
    v, label = vault_env
    for peer in ("web", "media"):
        c = v.channel(peer)
        r = c.call(TLS_CREDENTIALS)
        assert r["ok"] is True
        with open(os.path.join(v.state_dir, "factory", "tls.crt")) as f:
            assert r["cert_pem"] == f.read()
        assert "PRIVATE KEY-----" in r["key_pem"]
        # the key belongs to the certificate
        pub_cert = subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=r["cert_pem"].encode(),
                                  capture_output=True, check=True).stdout
        pub_key = subprocess.run(["openssl", "pkey", "-pubout"], input=r["key_pem"].encode(),
                                 capture_output=True, check=True).stdout
        assert pub_cert == pub_key
    # the supervisor has no business with the key
    v.sup.send_raw(struct.pack("<IIHHI", MAGIC, 2, TLS_CREDENTIALS, 0, 99) + b"{}")
    assert v.sup.closed_by_peer()
    assert v.proc.wait(timeout=10) != 0  # without its supervisor the vault exits


def test_lockout_and_sessions_survive_restart(vault_env):
    v, label = vault_env
    web, sess, newpw = admin_session(v, label)
    attacker = "127.0.0.66"
    for _ in range(5):
        assert login(web, "admin", "guess-" + secrets.token_hex(4), attacker) == {"error": "invalid_credentials"}
    r = login(web, "admin", newpw, attacker)
    assert r["error"] == "locked" and 290 <= r["retry_after"] <= 300
    # another source is not locked out
    assert login(web, "admin", newpw, "127.0.0.7")["ok"] is True
    v.stop()
    v.start()
    web = v.channel("web")
    r = login(web, "admin", newpw, attacker)
    assert r["error"] == "locked" and 0 < r["retry_after"] <= 300
    chk = web.call(SESSION_CHECK, {"session_id": sess["session_id"], "csrf_token": sess["csrf_token"]})
    assert chk["ok"] is True and chk["password_change_required"] is False
    ev = web.call(AUDIT_QUERY, {"session_id": sess["session_id"], "type": "lockout"})
    assert len(ev["events"]) == 1 and ev["events"][0]["source"] == attacker


def test_admin_requests_checked_by_vault(vault_env):
    v, label = vault_env
    web, sess, newpw = admin_session(v, label)
    sid = sess["session_id"]
    oppw = strong_password()
    assert web.call(USER_CREATE, {"session_id": sid, "username": "op1", "password": oppw, "role": "operator"}) == \
        {"ok": True}
    assert web.call(USER_CREATE, {"session_id": sid, "username": "op1", "password": oppw, "role": "operator"}) == \
        {"error": "exists"}
    assert web.call(USER_CREATE, {"session_id": sid, "username": "Root", "password": oppw, "role": "operator"}) == \
        {"error": "invalid_username"}
    assert web.call(USER_CREATE, {"session_id": sid, "username": "op2", "password": oppw, "role": "god"}) == \
        {"error": "invalid_role"}
    weak = web.call(USER_CREATE, {"session_id": sid, "username": "op2", "password": "password", "role": "viewer"})
    assert weak["error"] == "password_policy" and weak["reasons"]
    users = web.call(USER_LIST, {"session_id": sid})["users"]
    assert {u["username"] for u in users} == {"admin", "op1"}
    assert all(set(u) == {"username", "role", "password_change_required"} for u in users)
    # an operator's session cannot do admin things, whatever it claims
    op = login(web, "op1", oppw)
    assert web.call(USER_DELETE, {"session_id": op["session_id"], "username": "admin"})["error"] in \
        ("forbidden", "password_change_required")
    assert web.call(USER_UPDATE, {"session_id": sid, "username": "admin", "role": "viewer"}) == \
        {"error": "last_admin"}
    assert web.call(USER_DELETE, {"session_id": sid, "username": "admin"}) == {"error": "last_admin"}
    bad = web.call(SETTINGS_SET, {"session_id": sid, "settings": {"lockout_threshold": 2}})
    assert bad == {"error": "invalid_setting", "field": "lockout_threshold", "min": 3, "max": 20}
    assert web.call(SETTINGS_SET, {"session_id": sid, "settings": {"lockout_duration_s": 120}}) == {"ok": True}
    assert web.call(SETTINGS_GET, {"session_id": sid})["settings"]["lockout_duration_s"] == 120
    assert web.call(USER_DELETE, {"session_id": sid, "username": "op1"}) == {"ok": True}
    assert web.call(SESSION_CHECK, {"session_id": op["session_id"]}) == {"error": "no_session"}


def test_no_network_sockets(vault_env):
    v, _ = vault_env
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{v.proc.pid}/fd")
    except PermissionError:
        # the vault makes itself non-dumpable: only root may look into its /proc entries
        assert os.geteuid() != 0
        pytest.skip("needs root to inspect a non-dumpable process")
    for fd in fds:
        target = os.readlink(f"/proc/{v.proc.pid}/fd/{fd}")
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    assert inodes  # at least the supervisor channel
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        with open(f"/proc/{v.proc.pid}/net/{table}") as f:
            for line in f.readlines()[1:]:
                assert line.split()[9] not in inodes, f"vault owns a {table} socket"


def test_not_traceable(vault_env):
    v, _ = vault_env
    with open(f"/proc/{v.proc.pid}/status") as f:
        status = f.read()
    assert "NoNewPrivs:\t1" in status
    # non-dumpable: /proc/PID/environ etc. are owned by root, core dumps are off
    with open(f"/proc/{v.proc.pid}/limits") as f:
        core = [line for line in f if line.startswith("Max core file size")][0]
    assert core.split()[4] == "0"


def test_bad_command_line():
    for args in ([], ["--state-dir", "/nonexistent"], ["--ipc-fd", "3"], ["--state-dir", "/tmp", "--ipc-fd", "x"],
                 ["--state-dir", "/tmp", "--ipc-fd", "200"], ["--bogus"]):
        r = subprocess.run([bin_path("safecam-vault")] + args, capture_output=True, timeout=10)
        assert r.returncode == 2, args
        assert len(r.stderr.decode().strip().splitlines()) == 1
