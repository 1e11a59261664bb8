"""qcvn-check against the real safecamd (the lead's `camera` fixture) with the demo profile shipped in
data/check/profiles/safecamd-demo.json: every automated test must PASS. The camera is fresh (factory
state): run 1 checks the label password and the forced change (PW-02, PW-03; qcvn-check sets the
lab's admin password like an installer would); the test then adds a viewer through the API, and run 2
is the full audit. Only the camera's two declared ports are scanned (--ports declared): the loopback of
this machine carries services that are not ours (the full-range scan runs in a namespace, see
test_check_netns.py)."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import REPO, Camera, strong_password

PROFILE = os.path.join(REPO, "data", "check", "profiles", "safecamd-demo.json")

# Tests that cannot PASS by design on any device over the network: vendor evidence, destructive
# (not consented), gateway position, or a wait longer than --max-wait.
NOT_AUTOMATED_OK = {"NEEDS_EVIDENCE", "NOT_APPLICABLE"}


def run(camera, out, env, *extra, timeout=600):
    p = subprocess.run([camera.bin("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--profile", PROFILE,
                        "--https-port", str(camera.https_port), "--rtsps-port", str(camera.rtsps_port),
                        "--ports", "declared", "--out", out, "--format", "json,html,sarif,junit", "--timeout", "15",
                        *extra],
                       capture_output=True, text=True, env=env, timeout=timeout)
    rep_path = os.path.join(out, "report.json")
    assert os.path.exists(rep_path), p.stderr
    with open(rep_path) as f:
        rep = json.load(f)
    return p, rep, {r["id"]: r for r in rep["results"]}


def show(r):
    return "\n".join(f"{i} {x['verdict']}: {x['reason']}\n    " + "\n    ".join(x["evidence"][:12])
                     for i, x in sorted(r.items()) if x["verdict"] in ("FAIL", "INCONCLUSIVE"))


@pytest.mark.slow(80)
@pytest.mark.plain_only  # mostly the paced failed logins of BF-03/PW-01 (waits on the clock); the checker's code
# runs under ASan against the third-party corpus (test_check_corpus.py), safecamd's against real clients elsewhere
def test_safecamd_passes_every_automated_test(camera, tmp_path):
    admin_pw = strong_password()
    viewer_pw = strong_password()
    env = dict(os.environ, QCVN_ADMIN_PASSWORD=admin_pw, QCVN_USER_PASSWORD=viewer_pw,
               QCVN_INITIAL_PASSWORD=camera.label["initial_password"])
    # run 1: factory state (the viewer does not exist yet: SC-06 is not part of this run)
    p1, rep1, r1 = run(camera, str(tmp_path / "factory"), env, "--only", "PW-02,PW-03,SC-01")
    assert r1["PW-03"]["verdict"] == "PASS", show(r1)
    assert r1["PW-02"]["verdict"] == "PASS", show(r1)
    assert p1.returncode == 0, p1.stderr + show(r1)

    # the lab's admin password is now set; add the low-privilege user the profile declares
    s = camera.login("admin", admin_pw)
    first = strong_password()
    st, _, body = s.request("POST", "/api/v1/users", json_body={"username": "viewer", "password": first, "role": "viewer"})
    assert st in (200, 201, 204), body
    v = camera.login("viewer", first)  # a new user must change the password the admin gave it
    st, _, body = v.request("PUT", "/api/v1/users/viewer/password",
                            json_body={"current_password": first, "new_password": viewer_pw})
    assert st == 204, body

    # run 2: the full audit
    p2, rep, r = run(camera, str(tmp_path / "full"), env, "--skip", "PW-03")
    print(json.dumps(rep["timing"]), json.dumps({k: v for k, v in rep["summary"].items() if k != "groups"}))
    # --ports declared (this machine's loopback carries other services): the inventory and the port
    # comparison say honestly that the rest of the range was not probed
    for i in ("SC-01", "IF-01"):
        assert r[i]["verdict"] == "INCONCLUSIVE" and "65535" in r[i]["reason"], r[i]
        assert "tcp/%d open" % camera.https_port in "\n".join(r[i]["evidence"]), r[i]["evidence"]
    # BF-03's timing rule: PASS, or on a machine so loaded that the answer times spread over more than
    # their median, INCONCLUSIVE saying so with the numbers — never a FAIL from noise
    bf03 = r["BF-03"]
    noisy = bf03["verdict"] == "INCONCLUSIVE" and "too noisy" in bf03["reason"]
    assert bf03["verdict"] == "PASS" or noisy, show(r)
    assert "Mann-Whitney U" in "\n".join(bf03["evidence"]), bf03["evidence"]
    failing = {i: x for i, x in r.items()
               if x["verdict"] not in {"PASS"} | NOT_AUTOMATED_OK and i not in ("SC-01", "IF-01", "BF-03")}
    assert not failing, show(r)
    # the headline counts the undecided tests beside FAIL and PASS
    assert rep["summary"]["mandatory_fail"] == 0 and rep["summary"]["mandatory_undecided"] > 0, rep["summary"]
    assert rep["summary"]["state"] == "UNDECIDED"
    # TLS 1.3 is seen on both endpoints and SC-08 judged the signalled fallback
    for port in (camera.https_port, camera.rtsps_port):
        assert rep["tls_endpoints"][str(port)]["versions"]["TLS1.3"] is True, rep["tls_endpoints"][str(port)]
    assert any("TLS_FALLBACK_SCSV -> refused" in e for e in r["SC-08"]["evidence"]), r["SC-08"]["evidence"]
    assert p2.returncode == 0, p2.stderr
    automated = [i for i, x in r.items() if x["verdict"] == "PASS"]
    for must in ("SC-02", "SC-04", "SC-05", "SC-06", "SC-08", "IF-02", "IF-04", "VM-02", "VM-03", "IV-01",
                 "IV-02", "PW-01", "PW-04", "PW-05", "PW-06", "BF-01", "BF-03", "BF-05", "SM-01", "SM-02", "SM-03", "SM-04",
                 "SM-06"):
        if must == "BF-03" and noisy:
            continue
        assert must in automated, f"{must}: {r[must]['verdict']} {r[must]['reason']}"
    # PW-05: the change made over HTTPS was checked on RTSPS (old refused, new accepted), then undone
    ev5 = "\n".join(r["PW-05"]["evidence"])
    assert "OLD password" in ev5 and "-> 401" in ev5 and "restore the lab's admin password -> 204" in ev5, ev5
    # UP-05 runs when the profile declares the update upload (the update route of safecamd)
    with open(PROFILE) as f:
        if "update" in json.load(f):
            assert r["UP-05"]["verdict"] == "PASS", show(r) + r["UP-05"]["reason"]
    # how HTTPS certificates were verified is in the evidence: pinned on first use from SC-02's handshake
    assert any("pinned on first use" in e for e in r["SC-02"]["evidence"]), r["SC-02"]["evidence"]
    assert any(e.startswith("TLS: ") for e in r["SC-05"]["evidence"]), r["SC-05"]["evidence"]
    # evidence is real: TLS facts of the camera's certificate and both endpoints
    assert str(camera.https_port) in rep["tls_endpoints"] and str(camera.rtsps_port) in rep["tls_endpoints"]
    cert = rep["tls_endpoints"][str(camera.https_port)]["certificate"]
    assert cert["key_type"].startswith("EC") or cert["key_type"] == "RSA"
    assert rep["tls_endpoints"][str(camera.https_port)]["versions"]["TLS1.0"] is False
    # "Device under test": what the camera itself says (GET /api/v1/device with the lab's admin session)
    # beside the profile's declarations; asked at the end of the run (run 1: after PW-03 set the password)
    assert rep1["device"]["reported"]["model"], rep1["device"]  # asked after PW-03 set the lab password
    said = rep["device"]["reported"]
    sess = camera.login("admin", admin_pw)
    st, _, body = sess.request("GET", "/api/v1/device")
    assert st == 200, body
    truth = json.loads(body)
    for k in ("model", "serial", "firmware_version"):
        if isinstance(truth.get(k), str):
            assert said.get(k) == truth[k], (k, said, truth)
    expect_mismatch = [k for k in ("model", "firmware_version")
                       if rep["device"][k] and said.get(k) and rep["device"][k] != said[k]]
    assert len(rep["device"]["mismatches"]) == len(expect_mismatch), rep["device"]
    # nothing secret in any report file
    for d in ("factory", "full"):
        for name in os.listdir(tmp_path / d):
            data = (tmp_path / d / name).read_bytes()
            for secret in (admin_pw, viewer_pw, camera.label["initial_password"]):
                assert secret.encode() not in data, (d, name)
    # the audit leaves the camera usable with the lab's password
    camera.login("admin", admin_pw)
    # the report splits its time into active work and waits; the 60 s target for the active part is measured
    # in bench/check_audit.sh (a bound here failed on a loaded 2-core machine while every verdict was right)
    t = rep["timing"]
    parts = ("active_ms", "pacing_wait_ms", "lockout_wait_ms", "other_wait_ms")
    assert all(isinstance(t.get(k), int) and t[k] >= 0 for k in parts), t
    assert t["active_ms"] > 0 and t["pacing_wait_ms"] > 0, t


def test_safecamd_passes_the_deletion_tests(tmp_path):
    """DEL-01..04 (QCVN 135 G9) against the real camera with the lab's consent to destructive tests:
    captures are seeded, one deleted selectively, deletions without {"confirm":true} are refused, and the
    factory reset comes back with the label password, a new TLS key and the seeded data gone."""
    cam = Camera(tempfile.mkdtemp(prefix="safecam-test-"))
    try:
        cam.start(wait_media=True)
        admin_pw = strong_password()
        s = cam.login("admin", cam.label["initial_password"])
        st, _, body = s.request("PUT", "/api/v1/users/admin/password",
                                json_body={"current_password": cam.label["initial_password"], "new_password": admin_pw})
        assert st == 204, body
        with open(PROFILE) as f:
            prof = json.load(f)
        prof["consent"] = {"destructive": True, "deletion": True, "factory_reset": True}
        prof["documents"] = {}
        path = tmp_path / "profile.json"
        path.write_text(json.dumps(prof))
        env = dict(os.environ, QCVN_ADMIN_PASSWORD=admin_pw, QCVN_USER_PASSWORD=strong_password(),
                   QCVN_INITIAL_PASSWORD=cam.label["initial_password"])
        p = subprocess.run([cam.bin("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--profile", str(path),
                            "--https-port", str(cam.https_port), "--rtsps-port", str(cam.rtsps_port),
                            "--ports", "declared", "--out", str(tmp_path / "del"), "--format", "json",
                            "--only", "SC-01,DEL-01,DEL-02,DEL-04,DEL-03", "--allow-destructive", "--max-wait", "60"],
                           capture_output=True, text=True, env=env, timeout=300)
        with open(tmp_path / "del" / "report.json") as f:
            r = {x["id"]: x for x in json.load(f)["results"]}
        for t in ("DEL-01", "DEL-02", "DEL-03", "DEL-04"):
            assert r[t]["verdict"] == "PASS", t + "\n" + show(r) + p.stderr
        assert "new TLS key" in r["DEL-03"]["reason"] and "seeded data gone" in r["DEL-03"]["reason"], r["DEL-03"]
        # DEL-03 gave the lab its password back after the reset; the seeded captures are gone
        s = cam.login("admin", admin_pw)
        st, _, body = s.request("GET", "/api/v1/captures")
        assert st == 200 and json.loads(body)["captures"] == [], body
        cdir = os.path.join(cam.state_dir, "captures")
        assert not os.path.isdir(cdir) or os.listdir(cdir) == [], os.listdir(cdir)
    finally:
        cam.stop()
        shutil.rmtree(cam.tmp, ignore_errors=True)
