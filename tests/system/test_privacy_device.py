"""Privacy notice acknowledgement (QCVN 135 G7 / Decision 724) kept on the camera, not per browser, and the
device's support period (G2) — through the real daemon with curl."""


def test_privacy_notice_acknowledged_once_and_kept(camera):
    admin = camera.admin()
    r = admin.request("GET", "/api/v1/settings/privacy")
    assert r.status == 200, r
    p = r.json()
    assert p == {"acknowledged": False, "acknowledged_at": 0, "data_location": "device_only"}

    r = admin.request("PUT", "/api/v1/settings/privacy", json_body={"acknowledged": True, "data_location": "vietnam"})
    assert r.status == 200, r
    p = r.json()
    assert p["acknowledged"] is True and p["data_location"] == "vietnam" and p["acknowledged_at"] > 0

    # Refusals change nothing: bad value, unknown field, a client-chosen timestamp, no CSRF token.
    for body in ({"data_location": "usa"}, {"telemetry": True}, {"acknowledged_at": 1},
                 {"acknowledged": "yes"}):
        r = admin.request("PUT", "/api/v1/settings/privacy", json_body=body)
        assert 400 <= r.status < 500, (body, r)
    r = admin.request("PUT", "/api/v1/settings/privacy", json_body={"data_location": "device_only"}, csrf=False)
    assert r.status == 403 and r.json()["error"] == "csrf"
    assert admin.request("GET", "/api/v1/settings/privacy").json() == p

    # Kept across a restart of the whole camera, and recorded in the audit log.
    camera.restart()
    admin = camera.login(camera.label["admin_user"], camera.admin_password)
    assert admin.request("GET", "/api/v1/settings/privacy").json() == p
    ev = admin.request("GET", "/api/v1/events?type=config_change&limit=50").json()["events"]
    assert any("privacy" in e["detail"] for e in ev), ev


def test_privacy_settings_need_admin(camera):
    admin = camera.admin()
    from conftest import strong_password
    pw = strong_password()
    assert admin.request("POST", "/api/v1/users",
                         json_body={"username": "viewer1", "password": pw, "role": "viewer"}).status == 201
    v = camera.login("viewer1", pw)
    if v.password_change_required:
        pw2 = strong_password()
        assert v.request("PUT", "/api/v1/users/viewer1/password",
                         json_body={"current_password": pw, "new_password": pw2}).status == 204
        v = camera.login("viewer1", pw2)
    assert v.request("GET", "/api/v1/settings/privacy").status == 200
    r = v.request("PUT", "/api/v1/settings/privacy", json_body={"acknowledged": True})
    assert r.status == 403 and r.json()["error"] == "forbidden"
    assert camera.request("GET", "/api/v1/settings/privacy").status == 401


def test_device_shows_support_period(camera):
    d = camera.admin().request("GET", "/api/v1/device").json()
    assert d["firmware_version"] and d["serial"] == camera.label["serial"]
    y, m, day = d["support_until"].split("-")
    assert len(y) == 4 and 1 <= int(m) <= 12 and 1 <= int(day) <= 31
