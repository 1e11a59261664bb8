"""End-to-end brute-force and session checks through the real camera (safecamd + vault + web) with curl:
QCVN 135 brute force / Decision 724 (checker BF-01, BF-03, SM-03, SM-04, SM-06), per-source isolation
(the attacker's address is locked, the owner's other address is not) and the vault's state surviving a
crash of the vault process (kill -9; the supervisor restarts it).
"""
import json
import os
import signal
import time

from conftest import strong_password

LOGIN = "/api/v1/session"


def login_from(camera, iface, user, pw):
    """POST the login with curl from the local address iface (127.0.0.0/8 is all ours). -> (status, body)."""
    r = camera.curl("--interface", iface, "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
                    "-H", "Content-Type: application/json", "--data-binary", "@-", camera.base_url + LOGIN,
                    input=json.dumps({"username": user, "password": pw}).encode())
    body, _, code = r.stdout.decode().rpartition("\n")
    return int(code), (json.loads(body) if body.strip() else None)


def kill_vault_and_wait(camera, probe):
    """kill -9 the vault, wait for the supervisor to restart it and for probe() to stop answering 503."""
    old = camera.pids()["vault"]
    os.kill(old, signal.SIGKILL)
    camera.wait_restarted("vault", old)
    deadline = time.monotonic() + 20
    while True:
        r = probe()
        if r[0] != 503 or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def test_failures_alike_locked_per_source(camera):
    admin, label_pw = camera.label["admin_user"], camera.label["initial_password"]
    attacker, owner = "127.0.0.1", "127.0.0.2"
    wrong = login_from(camera, attacker, admin, "Wrong#Passw0rd")
    unknown = login_from(camera, attacker, "nobody", "Wrong#Passw0rd")
    assert wrong == unknown == (401, {"error": "invalid_credentials"})
    for _ in range(4):  # with the first: 5 failures for (admin, attacker); "nobody" counts on its own
        assert login_from(camera, attacker, admin, "Wrong#Passw0rd")[0] == 401
    # 5 failures within 30 s: locked, and the right password is refused too
    status, body = login_from(camera, attacker, admin, label_pw)
    assert status == 429 and body["error"] == "locked", body
    r = camera.request("POST", LOGIN, json_body={"username": admin, "password": label_pw})
    assert r.status == 429 and 0 < int(r.header("Retry-After")) <= 300
    # the owner at another address is not locked out
    status, body = login_from(camera, owner, admin, label_pw)
    assert status == 200 and body["password_change_required"] is True
    # the lock lives in vault.db: it survives a crash of the vault process
    assert kill_vault_and_wait(camera, lambda: login_from(camera, attacker, admin, label_pw))[0] == 429


def test_sessions_survive_vault_crash_and_end(camera):
    s1 = camera.admin()
    s2 = camera.login(camera.label["admin_user"], camera.admin_password)
    c1, c2 = s1.cookie(), s2.cookie()
    assert c1 and c2 and c1 != c2  # a new id at every login
    assert s1.request("GET", "/api/v1/device").status == 200
    r = kill_vault_and_wait(camera, lambda: tuple(s1.request("GET", "/api/v1/device"))[:1])
    assert r[0] == 200
    # a password change ends the other session and keeps this one
    new = strong_password()
    r = s1.request("PUT", f"/api/v1/users/{camera.label['admin_user']}/password",
                   json_body={"current_password": camera.admin_password, "new_password": new})
    assert r.status == 204, r
    assert s2.request("GET", "/api/v1/device").status == 401
    assert s1.request("GET", "/api/v1/device").status == 200
    # logout ends it server-side: replaying the old cookie fails
    assert s1.request("DELETE", LOGIN).status == 204
    r = camera.curl("-o", "/dev/null", "-w", "%{http_code}", "-H", f"Cookie: safecam_session={c1}",
                    camera.base_url + "/api/v1/device")
    assert r.stdout.decode() == "401"
