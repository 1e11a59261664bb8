"""Red-team attacks from a compromised child process (threat model attacker 4): a malicious "web" speaks the
ipc.h wire format to the real safecam-vault (as test_vault_process.py drives it) and, as a fake safecam-web
started by the real safecamd (SAFECAM_LIBEXEC_DIR), to the real supervisor. The vault must refuse everything a
web process may not do (forge vault-owned audit events, act without an admin session, act for another user,
leak descriptors), and no peer may freeze the vault or the supervisor by not reading its replies.
Run: SAFECAM_BUILD=/path/to/build /usr/bin/python3 -m pytest -q tests/system/test_attack_ipc.py"""
import json
import os
import socket
import struct
import subprocess
import time


from conftest import bin_path, free_port, strong_password
from test_vault_process import (AUDIT_QUERY, AUDIT_RECORD, LOGIN, MAGIC, PASSWORD_CHANGE, SESSION_CHECK,
                                SETTINGS_GET, SETTINGS_SET, SUP_HEARTBEAT, TLS_CREDENTIALS, USER_CREATE,
                                USER_DELETE, USER_LIST, admin_session, login, vault_env)  # noqa: F401 (fixture)

FLAG_REPLY = 0x0001


def frame(mtype, body, mid=1, flags=0):
    payload = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return struct.pack("<IIHHI", MAGIC, len(payload), mtype, flags, mid) + payload


def vault_fd_count(v):
    try:
        return len(os.listdir(f"/proc/{v.proc.pid}/fd"))
    except PermissionError:
        return None  # the vault is non-dumpable: only root may look


# ---------------------------------------------------------------------------------------------------
# What a compromised web process must not get from the vault
# ---------------------------------------------------------------------------------------------------

def test_web_cannot_forge_vault_owned_audit_events(vault_env):
    v, label = vault_env
    web, sess, _ = admin_session(v, label)
    for t in ("login_success", "login_failure", "lockout", "session_end", "password_change", "user_create",
              "user_update", "user_delete", "LOGIN_SUCCESS", "login_success ", "", "x" * 100):
        assert web.call(AUDIT_RECORD, {"type": t, "actor": "admin", "source": "127.0.0.1", "detail": "forged"}) == \
            {"error": "invalid_type"}, t
    # allowed types, but over-long or non-UTF-8-clean fields are refused
    r = web.call(AUDIT_RECORD, {"type": "config_change", "detail": "d" * 100000})
    assert r.get("error") == "invalid_request", r
    ev = web.call(AUDIT_QUERY, {"session_id": sess["session_id"], "limit": 1000})["events"]
    assert not any(e["detail"] == "forged" for e in ev)
    assert not any(e["type"] == "login_success" and e["actor"] == "admin" and e["source"] == "127.0.0.1"
                   and "forged" in (e["detail"] or "") for e in ev)


def test_web_cannot_act_without_an_admin_session(vault_env):
    v, label = vault_env
    web, sess, admin_pw = admin_session(v, label)
    sid = sess["session_id"]
    vpw = strong_password()
    assert web.call(USER_CREATE, {"session_id": sid, "username": "eve", "password": vpw, "role": "viewer"}) == \
        {"ok": True}
    eve = login(web, "eve", vpw)
    assert eve["ok"] is True and eve["password_change_required"] is True
    # a fresh viewer (password not yet changed), then the same viewer after the change
    evpw = strong_password()
    assert web.call(PASSWORD_CHANGE, {"session_id": eve["session_id"], "username": "eve", "current_password": vpw,
                                      "new_password": evpw, "source": "127.0.0.1"}) == {"ok": True}
    bogus = [eve["session_id"], eve["session_id"].upper(), eve["session_id"][:63], eve["csrf_token"],
             sess["csrf_token"], sid[:32] + "0" * 32, "", "0" * 64]
    for s in bogus:
        for mtype, extra in ((USER_LIST, {}), (SETTINGS_GET, {}),
                             (USER_CREATE, {"username": "mallory", "password": strong_password(), "role": "admin"}),
                             (USER_DELETE, {"username": "admin"}),
                             (SETTINGS_SET, {"settings": {"lockout_threshold": 20, "lockout_duration_s": 1}}),
                             (AUDIT_QUERY, {})):
            r = web.call(mtype, {"session_id": s, **extra})
            assert r.get("error") in ("forbidden", "no_session", "invalid_request"), (mtype, s[:8], r)
    # a viewer cannot change the administrator's password, whatever it claims
    r = web.call(PASSWORD_CHANGE, {"session_id": eve["session_id"], "username": "admin", "current_password": evpw,
                                   "new_password": strong_password(), "source": "127.0.0.1"})
    assert r.get("error") == "forbidden", r
    # a session check never grants CSRF with another session's token
    r = web.call(SESSION_CHECK, {"session_id": eve["session_id"], "csrf_token": sess["csrf_token"], "touch": False})
    assert r["ok"] is True and r["csrf_ok"] is False and r["role"] == "viewer"
    # nothing changed
    users = {u["username"]: u["role"] for u in web.call(USER_LIST, {"session_id": sid})["users"]}
    assert users == {"admin": "admin", "eve": "viewer"}
    assert web.call(SETTINGS_GET, {"session_id": sid})["settings"]["lockout_threshold"] == 5
    assert login(web, "admin", admin_pw)["ok"] is True


def test_update_peer_gets_nothing_but_audit(vault_env):
    v, label = vault_env
    for mtype, body in ((LOGIN, {"username": "admin", "password": label["initial_password"], "source": "::1"}),
                        (SESSION_CHECK, {"session_id": "0" * 64}), (USER_LIST, {"session_id": "0" * 64}),
                        (TLS_CREDENTIALS, {}), (SETTINGS_SET, {"session_id": "0" * 64, "settings": {}})):
        up = v.channel("update")
        up.send_raw(frame(mtype, body))
        assert up.closed_by_peer(), mtype
    up = v.channel("update")
    assert up.call(AUDIT_RECORD, {"type": "update_refused", "detail": "red team"}).get("ok") is True
    assert v.sup.call(SUP_HEARTBEAT) == {"ok": True}


def test_unsolicited_replies_oversized_frames_and_passed_fds(vault_env):
    v, label = vault_env
    # a message flagged as a reply is not a request: violation, channel closed
    c = v.channel("web")
    c.send_raw(frame(SESSION_CHECK, {"session_id": "0" * 64}, flags=FLAG_REPLY))
    assert c.closed_by_peer()
    # a frame over IPC_PAYLOAD_MAX_BYTES (256 KiB): only root can raise the send buffer enough to send one
    if os.geteuid() == 0:
        c = v.channel("web")
        c.sock.setsockopt(socket.SOL_SOCKET, 32, 1 << 20)  # SO_SNDBUFFORCE
        c.send_raw(frame(LOGIN, b'{"username":"' + b"a" * (300 * 1024) + b'"}'))
        assert c.closed_by_peer()
    # JSON nested beyond IPC_JSON_DEPTH_MAX
    c = v.channel("web")
    c.send_raw(frame(LOGIN, b'{"a":' * 20 + b'1' + b'}' * 20))
    assert c.closed_by_peer()
    # descriptors passed with ordinary requests are closed, never kept (no fd exhaustion of the vault)
    web = v.channel("web")
    before = vault_fd_count(v)
    r, w = os.pipe()
    try:
        for i in range(64):
            web.send_raw(frame(SESSION_CHECK, {"session_id": "0" * 64}, mid=1000 + i), fds=[r, w])
            web.sock.settimeout(10)
            reply = web.sock.recv(65536)
            if not reply:
                break  # two fds in one message is a violation: also fine, as long as nothing leaks
    finally:
        os.close(r)
        os.close(w)
    web = v.channel("web")
    for i in range(64):
        p = json.dumps({"session_id": "0" * 64}).encode()
        r2, w2 = os.pipe()
        web.send_raw(struct.pack("<IIHHI", MAGIC, len(p), SESSION_CHECK, 0, 2000 + i) + p, fds=[r2])
        os.close(r2)
        os.close(w2)
        web.sock.settimeout(10)
        assert web.sock.recv(65536)
    after = vault_fd_count(v)
    if before is not None:
        assert after <= before + 1, (before, after)
    assert v.sup.call(SUP_HEARTBEAT) == {"ok": True}


# ---------------------------------------------------------------------------------------------------
# A peer that never reads its replies must not freeze the vault or the supervisor
# ---------------------------------------------------------------------------------------------------

# Regression: was a strict xfail until ipc_send() got a deadline (lib/ipc/ipc.c) and the callers
# started dropping a peer that does not read (daemon/vault.c, daemon/safecamd.c).
def test_vault_survives_a_peer_that_never_reads(vault_env):
    v, _ = vault_env
    bad = v.channel("web")
    bad.sock.setblocking(False)
    p = json.dumps({"session_id": "0" * 64}).encode()
    # keep the requests coming for 2 s (the vault drains them while it can send its replies)
    end = time.monotonic() + 2
    i = 0
    while time.monotonic() < end and i < 50000:
        try:
            bad.sock.send(struct.pack("<IIHHI", MAGIC, len(p), SESSION_CHECK, 0, i + 1) + p)
            i += 1
        except BlockingIOError:
            time.sleep(0.01)
    time.sleep(0.5)
    try:
        ok = v.sup.call(SUP_HEARTBEAT, timeout=5) == {"ok": True}
    except (TimeoutError, socket.timeout, OSError):
        ok = False
    assert ok, "the vault stopped answering its supervisor"


EVIL_WEB = r'''#!/usr/bin/python3
# A compromised safecam-web: floods the supervisor with PROTO_SUP_PRIVACY_GET and never reads the replies.
import os, socket, struct, time
s = socket.socket(fileno=3)
s.setblocking(False)
n = 0
try:
    end = time.monotonic() + 2
    while time.monotonic() < end and n < 100000:
        try:
            s.send(struct.pack("<IIHHI", 0x31494353, 2, 7, 0, n + 1) + b"{}")
            n += 1
        except BlockingIOError:
            time.sleep(0.01)
except OSError:
    pass
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "evil.out"), "a") as f:
    f.write(f"{os.getpid()} {n}\n")
time.sleep(120)
'''


# Regression: was a strict xfail until ipc_send() got a deadline (lib/ipc/ipc.c) and the callers
# started dropping a peer that does not read (daemon/vault.c, daemon/safecamd.c).
def test_supervisor_survives_a_child_that_never_reads(tmp_path):
    libexec = tmp_path / "libexec"
    libexec.mkdir()
    libexec.chmod(0o777)  # the fake child (safecam-web's user when run as root) writes evil.out here
    evil = libexec / "safecam-web"
    evil.write_text(EVIL_WEB)
    evil.chmod(0o755)
    os.symlink(bin_path("safecam-vault"), libexec / "safecam-vault")
    state = tmp_path / "state"
    subprocess.run([bin_path("safecam-provision"), "--state-dir", str(state), "--label-out",
                    str(tmp_path / "label.json")], check=True, capture_output=True, timeout=60)
    out = libexec / "evil.out"  # the supervisor gives its children a clean environment: next to the script
    env = dict(os.environ, SAFECAM_LIBEXEC_DIR=str(libexec))
    log = open(tmp_path / "log", "wb")
    proc = subprocess.Popen([bin_path("safecamd"), "--state-dir", str(state), "--bind", "127.0.0.1",
                             "--https-port", str(free_port()), "--rtsps-port", str(free_port()), "--no-media"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    evil_pids = []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not out.exists():
            time.sleep(0.1)
        assert out.exists() or "started web" in (tmp_path / "log").read_text(), "the fake web child did not start"
        # The child stops reading: the supervisor must give up on it (send deadline or missed heartbeats),
        # kill it and start a new one within ~12 s. (A killed fake child may die before it logs to evil.out,
        # so count the supervisor's own restarts.)
        deadline = time.monotonic() + 12
        restarted = False
        while time.monotonic() < deadline and not restarted:
            text = (tmp_path / "log").read_text(errors="replace")
            restarted = "killed web" in text and "started web" in text.split("killed web", 1)[1]
            time.sleep(0.2)
        evil_pids = [int(line.split()[0]) for line in out.read_text().splitlines()] if out.exists() else []
        proc.send_signal(15)
        try:
            proc.wait(timeout=10)
            stopped = True
        except subprocess.TimeoutExpired:
            stopped = False
        assert restarted and stopped, f"restarted={restarted} stopped_on_sigterm={stopped}"
    finally:
        for pid in set(evil_pids + [int(line.split()[0]) for line in out.read_text().splitlines()]
                       if out.exists() else evil_pids):
            try:
                os.kill(pid, 9)  # the fake children this test started (unblocks a stuck supervisor)
            except OSError:
                pass
        if proc.poll() is None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
