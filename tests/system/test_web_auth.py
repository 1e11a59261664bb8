"""Web API: first login, forced password change, sessions, CSRF/Origin, roles, lockout and failed-login
answers, all through the real safecamd and real curl / hydra (QCVN 135 G1, G6 brute force and sessions;
EN 303 645 5.1-1..5.1-5; attack cases A2, A3, A7, A8)."""
import os
import shutil
import statistics
import subprocess
import time

import pytest

from conftest import strong_password

LOGIN = "/api/v1/session"


def pw_path(user):
    return f"/api/v1/users/{user}/password"


def error_of(r):
    return r.json().get("error")


# ---------------------------------------------------------------------------------------------------
# The first-boot flow: label password -> only the password change -> policy -> new password
# ---------------------------------------------------------------------------------------------------

def test_first_login_flow(camera):
    user = camera.label["admin_user"]
    initial = camera.label["initial_password"]
    s = camera.login(user, initial)
    assert s.password_change_required is True
    assert len(s.csrf) == 64
    # The cookie carries the flags that keep it on this origin and away from scripts.
    set_cookie = s.last.header("set-cookie")
    assert set_cookie.startswith("safecam_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in set_cookie, set_cookie
    assert len(s.cookie()) == 64

    # Only the own password change, the session read and the logout are open now.
    for method, path in (("GET", "/api/v1/device"), ("GET", "/api/v1/users"), ("GET", "/api/v1/events"),
                         ("GET", "/api/v1/settings/security")):
        r = s.request(method, path)
        assert (r.status, error_of(r)) == (403, "password_change_required"), (path, r)
    r = s.request("POST", "/api/v1/users", json_body={"username": "eve", "password": strong_password(),
                                                      "role": "admin"})
    assert (r.status, error_of(r)) == (403, "password_change_required")
    r = s.request("GET", LOGIN)
    assert r.status == 200 and r.json()["password_change_required"] is True and r.json()["username"] == user

    # Weak passwords: 422 with the reasons, nothing changed.
    for weak in ("short", "password123", user + "Zx9!abc", camera.label["serial"].lower() + "Aa1!"):
        r = s.request("PUT", pw_path(user), json_body={"current_password": initial, "new_password": weak})
        assert r.status == 422, (weak, r)
        j = r.json()
        assert j["error"] == "password_policy" and isinstance(j["reasons"], list) and j["reasons"], j
    # Wrong current password: 401.
    r = s.request("PUT", pw_path(user), json_body={"current_password": initial + "x",
                                                   "new_password": strong_password()})
    assert (r.status, error_of(r)) == (401, "invalid_credentials")

    new = strong_password()
    r = s.request("PUT", pw_path(user), json_body={"current_password": initial, "new_password": new})
    assert r.status == 204, r
    # The same session may now do everything its role allows.
    r = s.request("GET", "/api/v1/device")
    assert r.status == 200, r
    dev = r.json()
    assert dev["serial"] == camera.label["serial"]
    assert dev["model"] == camera.label["model"]
    assert dev["mac"] == camera.label["mac"]
    assert dev["api_version"] == 1 and dev["firmware_version"]
    # The label password is dead; the new one works.
    camera.login(user, initial, expect=401)
    s2 = camera.login(user, new)
    assert s2.password_change_required is False


def test_password_change_of_someone_else_refused_while_forced(camera):
    s = camera.login(camera.label["admin_user"], camera.label["initial_password"])
    r = s.request("PUT", pw_path("other"), json_body={"current_password": camera.label["initial_password"],
                                                      "new_password": strong_password()})
    assert (r.status, error_of(r)) == (403, "password_change_required")


# ---------------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------------

def test_unauthenticated_requests_refused(camera_module):
    cam = camera_module
    for method, path in (("GET", "/api/v1/device"), ("GET", "/api/v1/users"), ("GET", LOGIN),
                         ("GET", "/api/v1/events"), ("GET", "/api/v1/settings/security"),
                         ("GET", "/api/v1/settings/stream"), ("GET", "/api/v1/video/snapshot.jpg"),
                         ("DELETE", "/api/v1/users/admin"), ("PUT", "/api/v1/settings/security")):
        r = cam.request(method, path)
        assert (r.status, error_of(r)) == (401, "unauthorized"), (method, path, r)
        assert r.header("cache-control") == "no-store"
    # A forged or malformed cookie is no session either.
    for value in ("0" * 64, "zz", "A" * 64, "1" * 65):
        r = cam.request("GET", "/api/v1/device", headers={"Cookie": f"safecam_session={value}"})
        assert r.status == 401, (value, r)
    # A2: no credential in the query string is ever looked at.
    r = cam.request("GET", "/api/v1/users?auth=YWRtaW46MTIzNDU=")
    assert r.status == 400 and error_of(r) == "unknown_parameter"


def test_logout_kills_session_server_side(camera_module):
    s = camera_module.admin()
    stolen = s.cookie()
    r = s.request("DELETE", LOGIN)
    assert r.status == 204
    assert "Max-Age=0" in (r.header("set-cookie") or "")
    # Replaying the old cookie (as a thief would) fails.
    r = camera_module.request("GET", "/api/v1/device", headers={"Cookie": f"safecam_session={stolen}"})
    assert r.status == 401


def test_new_session_id_per_login_no_fixation(camera_module):
    a = camera_module.admin()
    b = camera_module.admin()
    assert a.cookie() != b.cookie() and a.csrf != b.csrf
    # A session id planted before the login is not adopted: the login answers with a fresh one.
    planted = a.cookie()
    s = camera_module.login(camera_module.label["admin_user"], camera_module.admin_password)
    r = camera_module.request("POST", LOGIN, json_body={"username": camera_module.label["admin_user"],
                                                        "password": camera_module.admin_password},
                              headers={"Cookie": f"safecam_session={planted}"})
    assert r.status == 200
    fresh = r.header("set-cookie").split(";")[0].split("=", 1)[1]
    assert fresh != planted
    assert s.request("GET", "/api/v1/device").status == 200


def test_session_read_echoes_csrf_and_role(camera_module):
    s = camera_module.admin()
    r = s.request("GET", LOGIN)
    assert r.status == 200
    j = r.json()
    assert j["username"] == camera_module.label["admin_user"] and j["role"] == "admin"
    assert j["password_change_required"] is False
    # A reloaded page gets its CSRF token back from the session (derived in the vault, never stored)...
    assert j["csrf_token"] == s.csrf
    # ...and it works for a state change, while another session's token does not.
    other = camera_module.login(camera_module.label["admin_user"], camera_module.admin_password)
    assert other.csrf != s.csrf
    r = s.request("PUT", "/api/v1/settings/security", json_body={"session_idle_s": 900},
                  headers={"X-CSRF-Token": other.csrf})
    assert r.status == 403 and r.json()["error"] == "csrf", r
    r = s.request("PUT", "/api/v1/settings/security", json_body={"session_idle_s": 900},
                  headers={"X-CSRF-Token": j["csrf_token"]})
    assert r.status in (200, 204), r


def test_password_change_kills_other_sessions(camera):
    admin = camera.admin()
    other = camera.login(camera.label["admin_user"], camera.admin_password)
    assert other.request("GET", "/api/v1/device").status == 200
    new = strong_password()
    r = admin.request("PUT", pw_path(camera.label["admin_user"]),
                      json_body={"current_password": camera.admin_password, "new_password": new})
    assert r.status == 204
    assert other.request("GET", "/api/v1/device").status == 401
    assert admin.request("GET", "/api/v1/device").status == 200
    camera.admin_password = new


# ---------------------------------------------------------------------------------------------------
# CSRF and Origin (A7)
# ---------------------------------------------------------------------------------------------------

def test_csrf_missing_or_wrong_refused_and_nothing_changes(camera_module):
    s = camera_module.admin()
    before = s.request("GET", "/api/v1/users").json()["users"]
    body = {"username": "csrfvictim", "password": strong_password(), "role": "admin"}
    for hdrs in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": s.csrf[:-1] + ("0" if s.csrf[-1] != "0" else "1")},
                 {"X-CSRF-Token": "not-hex"}, {"X-CSRF-Token": ""}):
        r = s.request("POST", "/api/v1/users", json_body=body, headers=hdrs, csrf=False)
        assert (r.status, error_of(r)) == (403, "csrf"), (hdrs, r)
    # A token from another session is not this session's token.
    other = camera_module.admin()
    r = s.request("POST", "/api/v1/users", json_body=body, headers={"X-CSRF-Token": other.csrf}, csrf=False)
    assert (r.status, error_of(r)) == (403, "csrf")
    # Logout needs the token too (no forced logout from a foreign page).
    r = s.request("DELETE", LOGIN, csrf=False)
    assert (r.status, error_of(r)) == (403, "csrf")
    after = s.request("GET", "/api/v1/users").json()["users"]
    assert after == before
    assert s.request("GET", "/api/v1/device").status == 200


def test_foreign_origin_refused(camera_module):
    cam = camera_module
    s = cam.admin()
    body = {"username": "originvictim", "password": strong_password(), "role": "viewer"}
    for origin in ("https://evil.example", f"https://evil.example:{cam.https_port}", "null",
                   f"http://127.0.0.1:{cam.https_port}", f"https://127.0.0.1:{cam.https_port + 1}"):
        r = s.request("POST", "/api/v1/users", json_body=body, headers={"Origin": origin})
        assert (r.status, error_of(r)) == (403, "csrf"), (origin, r)
        # Login from a foreign page (login CSRF) is refused too.
        r = cam.request("POST", LOGIN, json_body={"username": "admin", "password": "x"}, headers={"Origin": origin})
        assert (r.status, error_of(r)) == (403, "csrf"), (origin, r)
    # "Host: localhost" grants nothing.
    r = s.request("POST", "/api/v1/users", json_body=body,
                  headers={"Origin": "https://evil.example", "Host": "localhost"})
    assert r.status == 403
    users = [u["username"] for u in s.request("GET", "/api/v1/users").json()["users"]]
    assert "originvictim" not in users
    # The device's own origin is fine.
    r = s.request("POST", "/api/v1/users", json_body=body, headers={"Origin": cam.base_url})
    assert r.status == 201, r
    assert s.request("DELETE", "/api/v1/users/originvictim").status == 204


# ---------------------------------------------------------------------------------------------------
# Users and roles
# ---------------------------------------------------------------------------------------------------

def test_users_and_roles(camera_module):
    cam = camera_module
    admin = cam.admin()
    vpw = strong_password()
    r = admin.request("POST", "/api/v1/users", json_body={"username": "vera", "password": vpw, "role": "viewer"})
    assert r.status == 201 and r.json() == {"username": "vera", "role": "viewer"}, r
    r = admin.request("POST", "/api/v1/users", json_body={"username": "vera", "password": vpw, "role": "viewer"})
    assert (r.status, error_of(r)) == (409, "exists")
    r = admin.request("POST", "/api/v1/users", json_body={"username": "weak", "password": "abc", "role": "viewer"})
    assert r.status == 422 and error_of(r) == "password_policy"
    # A3: an unknown role is not silently mapped to anything.
    r = admin.request("POST", "/api/v1/users", json_body={"username": "x1", "password": vpw, "role": "root"})
    assert (r.status, error_of(r)) == (400, "invalid_field")
    r = admin.request("GET", "/api/v1/users")
    users = r.json()["users"]
    assert {"username": "vera", "role": "viewer", "password_change_required": False} in users or \
        any(u["username"] == "vera" for u in users)
    for u in users:
        assert set(u) == {"username", "role", "password_change_required"}, u  # no hash, ever

    # A password set by an administrator must be changed by its owner at the first login.
    viewer = cam.login("vera", vpw)
    assert viewer.password_change_required is True
    assert viewer.request("GET", "/api/v1/device").json()["error"] == "password_change_required"
    vpw2 = strong_password()
    assert viewer.request("PUT", pw_path("vera"), json_body={"current_password": vpw,
                                                             "new_password": vpw2}).status == 204
    vpw = vpw2
    assert viewer.request("GET", "/api/v1/device").status == 200
    for method, path, body in (("GET", "/api/v1/users", None),
                               ("POST", "/api/v1/users", {"username": "v2", "password": vpw, "role": "admin"}),
                               ("PATCH", "/api/v1/users/vera", {"role": "admin"}),
                               ("DELETE", "/api/v1/users/admin", None),
                               ("GET", "/api/v1/events", None),
                               ("GET", "/api/v1/settings/security", None),
                               ("PUT", "/api/v1/settings/security", {"lockout_threshold": 100})):
        r = viewer.request(method, path, json_body=body)
        assert (r.status, error_of(r)) == (403, "forbidden"), (method, path, r)
    # A viewer cannot change another user's password either.
    r = viewer.request("PUT", pw_path("admin"), json_body={"current_password": vpw, "new_password": strong_password()})
    assert r.status == 403
    # Promote, demote, delete.
    r = admin.request("PATCH", "/api/v1/users/vera", json_body={"role": "operator"})
    assert r.status == 200 and r.json()["role"] == "operator"
    r = admin.request("PATCH", "/api/v1/users/nosuchuser", json_body={"role": "viewer"})
    assert r.status == 404
    r = admin.request("DELETE", "/api/v1/users/vera")
    assert r.status == 204
    assert viewer.request("GET", "/api/v1/device").status == 401  # her sessions ended


def test_last_admin_cannot_be_deleted_or_demoted(camera_module):
    admin = camera_module.admin()
    user = camera_module.label["admin_user"]
    r = admin.request("DELETE", f"/api/v1/users/{user}")
    assert (r.status, error_of(r)) == (409, "last_admin")
    r = admin.request("PATCH", f"/api/v1/users/{user}", json_body={"role": "viewer"})
    assert (r.status, error_of(r)) == (409, "last_admin")
    assert admin.request("GET", "/api/v1/users").status == 200


def test_security_settings(camera_module):
    admin = camera_module.admin()
    r = admin.request("GET", "/api/v1/settings/security")
    assert r.status == 200
    s = r.json()
    assert s["lockout_threshold"] == 5 and s["lockout_window_s"] == 30 and s["lockout_duration_s"] == 300
    r = admin.request("PUT", "/api/v1/settings/security", json_body={"lockout_threshold": 0})
    assert r.status == 422 and error_of(r) == "invalid_setting"
    j = r.json()
    assert j["field"] == "lockout_threshold" and "min" in j and "max" in j
    r = admin.request("PUT", "/api/v1/settings/security", json_body={"lockout_threshold": "5"})
    assert (r.status, error_of(r)) == (400, "invalid_field")
    r = admin.request("PUT", "/api/v1/settings/security", json_body={"debug_backdoor": 1})
    assert (r.status, error_of(r)) == (400, "unknown_field")
    r = admin.request("PUT", "/api/v1/settings/security", json_body={"session_idle_s": 1200})
    assert r.status == 204, r
    assert admin.request("GET", "/api/v1/settings/security").json()["session_idle_s"] == 1200
    assert admin.request("PUT", "/api/v1/settings/security", json_body={"session_idle_s": 900}).status == 204


def test_events_query(camera_module):
    admin = camera_module.admin()
    r = admin.request("GET", "/api/v1/events?limit=50")
    assert r.status == 200
    events = r.json()["events"]
    assert any(e["type"] == "login_success" for e in events)
    times = [e["time"] for e in events]
    assert times == sorted(times, reverse=True)
    r = admin.request("GET", "/api/v1/events?type=login_success&limit=2")
    assert r.status == 200
    ev = r.json()["events"]
    assert 0 < len(ev) <= 2 and all(e["type"] == "login_success" for e in ev)
    for q in ("limit=0", "limit=1001", "limit=x", "since=-1", "type=Login", "type=a;b", "limit=1&limit=2",
              "bogus=1"):
        r = admin.request("GET", f"/api/v1/events?{q}")
        assert r.status == 400, (q, r)
    # Nothing secret travels in events.
    for e in admin.request("GET", "/api/v1/events?limit=1000").json()["events"]:
        assert camera_module.admin_password not in str(e)
        assert camera_module.label["initial_password"] not in str(e)


# ---------------------------------------------------------------------------------------------------
# Brute force: lockout, identical failures, hydra
# ---------------------------------------------------------------------------------------------------

def login_raw(cam, user, password):
    t0 = time.monotonic()
    r = cam.request("POST", LOGIN, json_body={"username": user, "password": password})
    return r, time.monotonic() - t0


def test_failed_login_answers_identical(camera):
    admin = camera.admin()
    vpw = strong_password()
    assert admin.request("POST", "/api/v1/users",
                         json_body={"username": "timer", "password": vpw, "role": "viewer"}).status == 201
    wrong, unknown = [], []
    for i in range(4):  # below the lockout threshold
        r1, t1 = login_raw(camera, "timer", "Wrong-Password-1!")
        r2, t2 = login_raw(camera, "nosuchuser", "Wrong-Password-1!")
        assert (r1.status, r1.body) == (r2.status, r2.body) == (401, b'{"error":"invalid_credentials"}')
        h1 = {k: v for k, v in r1.headers.items() if k != "date"}
        h2 = {k: v for k, v in r2.headers.items() if k != "date"}
        assert h1 == h2
        wrong.append(t1)
        unknown.append(t2)
    mw, mu = statistics.median(wrong), statistics.median(unknown)
    # Coarse on purpose (noisy machine, sanitizer builds): a short-cut for unknown names would answer
    # many times faster than an Argon2id verify. The exact proof (one verify at product cost on both
    # paths) is tests/unit/test_vault.c::test_identical_timing.
    assert 0.33 < mw / mu < 3.0, (wrong, unknown)


def test_lockout_then_right_password_refused(camera):
    user = camera.label["admin_user"]
    initial = camera.label["initial_password"]
    for i in range(5):
        r, _ = login_raw(camera, user, f"Wrong-{i}-Password!")
        assert r.status == 401, r
    r, _ = login_raw(camera, user, "Wrong-6-Password!")
    assert (r.status, error_of(r)) == (429, "locked")
    retry = int(r.header("retry-after"))
    assert 0 < retry <= 300
    # The right password is refused while locked.
    r, _ = login_raw(camera, user, initial)
    assert (r.status, error_of(r)) == (429, "locked")
    assert r.header("retry-after")


def hydra(camera, user, words, name):
    """Run hydra's https-post-form module against the login with a JSON body, one task, bounded."""
    wl = os.path.join(camera.tmp, name + ".txt")
    with open(wl, "w") as f:
        f.write("\n".join(words) + "\n")
    # Any answer carrying "error" (401 invalid_credentials, 429 locked) is a failure for hydra.
    form = LOGIN + ':{"username"\\:"^USER^","password"\\:"^PASS^"}:H=Content-Type\\: application/json:F=error'
    cmd = ["hydra", "-I", "-l", user, "-P", wl, "-s", str(camera.https_port), "-t", "1", "-w", "10",
           "127.0.0.1", "https-post-form", form]
    r = subprocess.run(cmd, capture_output=True, timeout=120, text=True, cwd=camera.tmp)
    return r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("hydra") is None, reason="hydra not installed")
@pytest.mark.slow(25)
def test_hydra_is_throttled_by_lockout(camera):
    """hydra with a 20-word list holding the right password at position 12 finds nothing: after five
    failures the account is locked for this source and every later answer is 429 'locked'. A control run
    shows that the same hydra command does find the password when it comes first."""
    admin = camera.admin()
    # hydra URL-encodes some characters (=, &, %, +) inside form values, so the target's password avoids them.
    # A random password can now and then look "systematic" to cracklib (seen once: Hy7!0d6080e077a7@Zq): draw again.
    for _ in range(10):
        target_pw = "Hy7!" + os.urandom(6).hex() + "@Zq"
        r = admin.request("POST", "/api/v1/users",
                          json_body={"username": "target", "password": target_pw, "role": "viewer"})
        if r.status != 422:
            break
    assert r.status == 201, r
    out = hydra(camera, "target", [target_pw, "Guess-Word-1!"], "control")
    assert "1 valid password found" in out, out

    words = [f"Guess{i:02d}-Word!" for i in range(20)]
    words[11] = target_pw
    out = hydra(camera, "target", words, "attack")
    assert "0 valid password" in out, out
    # The camera locked the account for this source: the right password is refused now.
    r, _ = login_raw(camera, "target", target_pw)
    assert (r.status, error_of(r)) == (429, "locked"), r
    # The lockout is an audit event the administrator can see.
    ev = admin.request("GET", "/api/v1/events?type=lockout").json()["events"]
    assert any(e.get("actor") == "target" or "target" in str(e) for e in ev), ev


# ---------------------------------------------------------------------------------------------------
# The vault away: fail closed, then carry on with the new channel
# ---------------------------------------------------------------------------------------------------

def test_vault_down_fails_closed_then_recovers(camera):
    import signal
    admin = camera.admin()
    pid = camera.pids()["vault"]
    os.kill(pid, signal.SIGSTOP)  # the vault hangs: nothing may be let through, and nothing may hang
    try:
        t0 = time.monotonic()
        r = admin.request("GET", "/api/v1/device")
        assert (r.status, error_of(r)) == (503, "unavailable"), r
        r = camera.request("POST", LOGIN, json_body={"username": "admin", "password": camera.admin_password})
        assert r.status == 503 and "set-cookie" not in r.headers, r
        assert time.monotonic() - t0 < 40
    finally:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    camera.wait_restarted("vault", pid)
    deadline = time.monotonic() + 20
    while True:
        r = admin.request("GET", "/api/v1/device")
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert r.status == 200, r  # same session, served through the fresh channel
