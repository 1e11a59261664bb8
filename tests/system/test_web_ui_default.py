"""The installed layout works without flags: safecamd started without --ui-dir serves the web UI (from the tree's
ui/ in a build-tree run; from <datadir>/safecam/ui once installed, which meson installs). Issue 10, item 9."""
import json
import os
import subprocess

import pytest

from conftest import BUILD, REPO, Camera, _finish


class CameraNoUiDir(Camera):
    def command(self):
        cmd = super().command()
        i = cmd.index("--ui-dir")
        return cmd[:i] + cmd[i + 2:]


@pytest.fixture
def cam_default_ui(tmp_path):
    cam = CameraNoUiDir(str(tmp_path))
    assert "--ui-dir" not in cam.command()
    cam.start()
    yield cam
    _finish(cam)


def test_ui_served_without_ui_dir(cam_default_ui):
    cam = cam_default_ui
    r = cam.request("GET", "/")
    assert r.status == 200, r
    assert r.header("content-type") == "text/html; charset=utf-8"
    with open(os.path.join(REPO, "ui", "index.html"), "rb") as f:
        assert r.body == f.read()
    r = cam.request("GET", "/index.html")
    assert r.status == 200 and r.header("x-frame-options") == "DENY"
    for name in sorted(os.listdir(os.path.join(REPO, "ui", "js")))[:2]:
        rj = cam.request("GET", "/js/" + name)
        assert rj.status == 200 and rj.header("content-type") == "text/javascript; charset=utf-8", (name, rj)
    assert cam.request("GET", "/nonexistent.html").status == 404
    assert "static UI: " in cam.read_log()


def test_ui_is_installed(tmp_path):
    """meson installs every UI file under <prefix>/<datadir>/safecam/ui, the web process's default directory."""
    out = subprocess.run(["meson", "introspect", "--buildoptions", BUILD], capture_output=True, check=True, timeout=60)
    opts = {o["name"]: o["value"] for o in json.loads(out.stdout)}
    dest = tmp_path / "dest"
    subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", str(dest)],
                   capture_output=True, check=True, timeout=300)
    ui_dir = os.path.join(str(dest) + opts["prefix"], opts["datadir"], "safecam", "ui")
    ui_src = os.path.join(REPO, "ui")
    for dirpath, _, files in os.walk(ui_src):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), ui_src)
            with open(os.path.join(dirpath, name), "rb") as a, open(os.path.join(ui_dir, rel), "rb") as b:
                assert a.read() == b.read(), rel
    # the web process's default for installed runs names the same directory
    with open(os.path.join(BUILD, "daemon", "safecam-web"), "rb") as f:
        assert os.path.join(opts["prefix"], opts["datadir"], "safecam", "ui").encode() in f.read()
