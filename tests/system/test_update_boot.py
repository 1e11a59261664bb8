"""The PC boot chain with real slot images (issue #4: "the health-check rollback proven by installing a
bundle whose safecamd fails to start").

A bundle that carries the daemon's executables (safecamd, safecam-vault, -web, -media, -update) is a
bootable image: after the upload the camera restarts, its boot loader (the safecamd the test started)
authenticates slot B again (signature + every payload hash) and runs slots/B/safecamd, which runs the
helpers from slots/B. Then images that cannot come up: an entry point that exits at once, and a real
safecamd whose web helper dies at every start (never healthy: the boot watchdog stops it after
--boot-timeout). Each time the boot counter runs out and the previous slot comes back by itself, and
the camera keeps serving. Finally a known-good image that no longer verifies (one flipped byte) is not
run: the boot loader's own (factory) image serves instead, with an audit event.
QCVN 135 G3 / G8, EN 303 645 5.3-x, 5.7-1, 5.9-1. Keys are made at test time (tmp)."""
import os
import shutil
import signal
import tempfile
import time

import pytest

from conftest import Camera, bin_path
from test_update_api import relogin, sign_tool, slot_view, status, upload

BOOT_TIMEOUT = 8
HELPERS = ("safecam-vault", "safecam-web", "safecam-media", "safecam-update")


# The tests share one module camera and build on each other's slots (A, then B...): under xdist they stay
# together on one worker, in file order.
pytestmark = pytest.mark.xdist_group("update_boot")


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor-img")
    r = sign_tool("keygen", "--out", d / "v1")
    assert r.returncode == 0, r.stderr
    # a safecamd that fails to start, and a web helper that dies at every start
    for name, text in (("fails-at-start", "#!/bin/sh\necho 'broken image: exiting' >&2\nexit 1\n"),
                       ("web-dies", "#!/bin/sh\nexit 3\n")):
        (d / name).write_text(text)
        (d / name).chmod(0o755)
    return d


def make_image(vendor, name, model, version, sv, replace=None):
    """A signed image bundle of this build's executables; replace maps payload name -> file to use."""
    replace = replace or {}
    payloads = []
    for exe in ("safecamd",) + HELPERS:
        payloads += ["--payload", f"{exe}={replace.get(exe, bin_path(exe))}"]
    out = vendor / name
    r = sign_tool("sign", "--key", vendor / "v1.key", "--model", model, "--version", version,
                  "--security-version", sv, *payloads, "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def tree(root_pid):
    """{pid: exe path} of root_pid and all its descendants."""
    kids = {}
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(e))
    out, todo = {}, [root_pid]
    while todo:
        p = todo.pop()
        try:
            out[p] = os.readlink(f"/proc/{p}/exe")
        except OSError:
            continue
        todo += kids.get(p, [])
    return out


def wait_for(cond, timeout, what, cam):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{cam.read_log()[-5000:]}")


def events(sess, type_, limit=50):
    r = sess.request("GET", f"/api/v1/events?type={type_}&limit={limit}")
    assert r.status == 200, r
    return [e["detail"] for e in r.json()["events"]]


def state_when(cam, want, timeout):
    """Log in again and again until GET /api/v1/system/update reports state `want`."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        try:
            s = cam.login(cam.label["admin_user"], cam.admin_password, expect=None)
            if s.last.status == 200:
                st = status(s)
                if st["state"] == want:
                    return s, st
        except (RuntimeError, AssertionError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"update state never became {want}: {st}\n{cam.read_log()[-5000:]}")


@pytest.fixture(scope="module")
def cam(vendor):
    tmp = tempfile.mkdtemp(prefix="safecam-test-")
    c = Camera(tmp, provision_args=["--update-pubkey", vendor / "v1.pub"],
               extra_args=["--no-media", "--boot-timeout", str(BOOT_TIMEOUT)])
    c.start()
    c.session = c.admin()
    yield c
    c.stop()
    bad = c.sanitizer_report()
    shutil.rmtree(tmp, ignore_errors=True)
    assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])


def slot_dir(cam, slot):
    return os.path.realpath(os.path.join(cam.state_dir, "slots", slot))


def test_image_bundle_runs_from_its_slot(cam, vendor):
    s = cam.session
    model = cam.label["model"]
    assert slot_view(s)["running"] == "A"
    r = upload(s, make_image(vendor, "img110.bundle", model, "1.1.0", 2).read_bytes())
    assert r.status == 202 and r.json()["slot"] == "B", r
    s, st = state_when(cam, "installed", 90)
    assert st["version"] == "1.1.0", st
    v = slot_view(s)
    assert v["running"] == "B" and v["slots"]["B"]["active"], v
    # the processes really are the slot's files: safecamd and every helper run from slots/B
    b = slot_dir(cam, "B")
    procs = tree(cam.proc.pid)
    from_b = sorted(os.path.basename(p) for p in procs.values() if p.startswith(b + "/"))
    assert from_b == sorted(("safecamd", "safecam-vault", "safecam-web", "safecam-update")), procs
    assert procs[cam.proc.pid] == os.path.realpath(bin_path("safecamd")), procs  # the boot loader
    for name in ("safecamd",) + HELPERS:
        assert os.stat(os.path.join(b, name)).st_mode & 0o111, name
    wait_for(lambda: "boot: slot B passed its health check" in cam.read_log(), 10, "the boot watchdog", cam)
    assert any("(slot image)" in d for d in events(s, "device_start"))
    cam.session = s


def test_crashed_image_is_started_again_by_the_boot_loader(cam):
    """Self-recovery of a healthy image (G8): SIGKILL of the image's safecamd takes its helpers down with it
    (PDEATHSIG); the boot loader records the crash and starts the same slot again."""
    b = slot_dir(cam, "B")
    procs = tree(cam.proc.pid)
    image = [p for p, exe in procs.items() if exe == os.path.join(b, "safecamd")]
    assert len(image) == 1, procs
    helpers = [p for p, exe in procs.items() if exe.startswith(b + "/") and p != image[0]]
    os.kill(image[0], signal.SIGKILL)
    wait_for(lambda: "boot: slot B image ended (signal_9); starting again" in cam.read_log(), 10, "the crash", cam)
    assert "signal_9) before its health check" not in cam.read_log()
    for p in helpers:  # none of the old helpers is left behind
        wait_for(lambda: not os.path.exists(f"/proc/{p}") or open(f"/proc/{p}/stat").read().split()[2] == "Z",
                 10, f"helper {p} to die", cam)

    def back_on_b():
        now = tree(cam.proc.pid)
        new = [p for p, exe in now.items() if exe == os.path.join(b, "safecamd")]
        return new and new[0] != image[0] and sum(1 for exe in now.values() if exe.startswith(b + "/")) == 4

    wait_for(back_on_b, 30, "the image to run again", cam)
    s = relogin(cam)
    assert slot_view(s)["running"] == "B"
    assert any("process=safecamd slot=B status=signal_9" in d for d in events(s, "process_restart"))
    cam.session = s


def test_image_whose_safecamd_fails_to_start_rolls_back(cam, vendor):
    s = cam.session
    bad = make_image(vendor, "img120.bundle", cam.label["model"], "1.2.0", 2,
                     replace={"safecamd": vendor / "fails-at-start"})
    r = upload(s, bad.read_bytes())
    assert r.status == 202 and r.json()["slot"] == "A", r
    # three starts (1 s, 2 s, 4 s apart), then slot B again, by itself
    s, st = state_when(cam, "failed", 90)
    assert st["reason"] == "health_check_failed", st
    v = slot_view(s)
    assert v["running"] == "B" and v["slots"]["B"]["version"] == "1.1.0" and v["slots"]["A"]["valid"] is False, v
    log = cam.read_log()
    assert log.count("broken image: exiting") == 3, log[-4000:]
    assert log.count("boot: slot A image ended (exit_1) before its health check") == 3, log[-4000:]
    restarts = [d for d in events(s, "process_restart") if "slot=A" in d]
    assert len(restarts) == 3 and all("status=exit_1" in d for d in restarts), restarts
    assert any("event=rollback from=A version=1.2.0 to=B reason=health_check_failed" in d
               for d in events(s, "update_install")), events(s, "update_install")
    b = slot_dir(cam, "B")
    assert all(p.startswith(b + "/") or p == os.path.realpath(bin_path("safecamd"))
               for p in tree(cam.proc.pid).values())
    cam.session = s


@pytest.mark.plain_only  # waits out the health deadline; the rollback path runs under ASan in the test before
def test_image_that_never_becomes_healthy_rolls_back(cam, vendor):
    """A real safecamd whose web helper dies at every start: the supervisor keeps restarting it with
    back-off, the slot is never marked good, and the boot watchdog stops it after --boot-timeout."""
    s = cam.session
    bad = make_image(vendor, "img130.bundle", cam.label["model"], "1.3.0", 2,
                     replace={"safecam-web": vendor / "web-dies"})
    r = upload(s, bad.read_bytes())
    assert r.status == 202 and r.json()["slot"] == "A", r
    s, st = state_when(cam, "failed", 3 * (BOOT_TIMEOUT + 12) + 30)
    assert st["reason"] == "health_check_failed", st
    v = slot_view(s)
    assert v["running"] == "B" and v["slots"]["A"]["valid"] is False, v
    log = cam.read_log()
    assert log.count(f"boot: slot A not healthy within {BOOT_TIMEOUT} s") == 3, log[-4000:]
    refused = [d for d in events(s, "update_refused") if "reason=boot_timeout" in d]
    assert len(refused) == 3 and all("slot=A" in d for d in refused), refused
    cam.session = s


def test_known_good_image_that_no_longer_verifies_is_not_run(cam):
    """One flipped byte in the active slot's web helper (same size): verified boot refuses the slot and
    the boot loader's own image serves instead. Users and settings are still there."""
    b = slot_dir(cam, "B")
    p = os.path.join(b, "safecam-web")
    cam.stop()
    with open(p, "r+b") as f:
        f.seek(5000)
        c = f.read(1)
        f.seek(5000)
        f.write(bytes([c[0] ^ 0x01]))
    cam.start()
    s = relogin(cam)
    factory = os.path.realpath(os.path.dirname(bin_path("safecamd")))
    procs = tree(cam.proc.pid)
    assert procs and all(os.path.dirname(x) == factory for x in procs.values()), procs
    assert not any(x.startswith(b + "/") for x in procs.values()), procs
    assert "boot: slot B refused by verified boot: hash_mismatch" in cam.read_log()
    assert any("event=verified_boot slot=B reason=hash_mismatch" in d for d in events(s, "update_refused"))
    r = s.request("GET", "/api/v1/users")
    assert r.status == 200 and cam.label["admin_user"] in {u["username"] for u in r.json()["users"]}
