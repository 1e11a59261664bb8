"""qcvn-check against the real safecamd with ONVIF and WS-Discovery switched on through the API, the camera
in a network namespace and qcvn-check in a second one joined by a veth pair (test_discovery.py's Lab: the
camera binds 10.231.N.1, the client is 10.231.N.2; no traffic leaves the two namespaces). The checker probes
udp/3702 like any client on the link; safecamd's ProbeMatches carry only https:// XAddrs, so the
announcement gives no finding, and the demo profile with udp/3702 declared still PASSes the inventory, channel
and disclosure tests (the lab's verdict beside each ID). Needs root and iproute2."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import REPO
from test_discovery import Lab, NsCamera, set_discovery, udp_3702, wait_for

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and the per-process users"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 missing"),
]

PROFILE = os.path.join(REPO, "data", "check", "profiles", "safecamd-demo.json")


@pytest.fixture(scope="module")
def lab():
    lab = Lab()
    tmp = tempfile.mkdtemp(prefix="safecam-chkdisc-")
    cam = None
    try:
        os.chmod(tmp, 0o755)
        cam = NsCamera(tmp, lab)
        cam.start()
        lab.camera = cam
        lab.tmp = tmp
        yield lab
        cam.stop()
        bad = cam.sanitizer_report()
        assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])
    finally:
        if cam:
            cam.stop()
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


def audit(lab, name, services, only):
    cam = lab.camera
    with open(PROFILE) as f:
        prof = json.load(f)
    prof["services"] = services
    path = os.path.join(lab.tmp, f"{name}.json")
    with open(path, "w") as f:
        json.dump(prof, f)
    out = os.path.join(lab.tmp, name)
    p = subprocess.run(["ip", "netns", "exec", lab.cli, cam.bin("qcvn-check"), "--quiet", "--target", lab.cam_ip,
                        "--profile", path, "--https-port", str(cam.https_port), "--rtsps-port", str(cam.rtsps_port),
                        "--only", only, "--out", out], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, QCVN_ADMIN_PASSWORD=cam.admin_password or "",
                                QCVN_USER_PASSWORD="", QCVN_INITIAL_PASSWORD=cam.label["initial_password"]))
    assert p.returncode in (0, 1), p.stderr
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    return p, rep, {x["id"]: x for x in rep["results"]}


def ev(x):
    return "\n".join(x["evidence"])


def test_safecamd_discovery_on_gives_no_finding(lab):
    cam = lab.camera
    set_discovery(lab, True, True)
    try:
        wait_for(lambda: udp_3702(lab)[0], what="the responder on UDP 3702")
        tcp = [{"port": cam.https_port, "protocol": "tcp", "service": "https", "purpose": "admin API and web UI"},
               {"port": cam.rtsps_port, "protocol": "tcp", "service": "rtsps", "purpose": "video (RTSP over TLS)"}]
        wsd = [{"port": 3702, "protocol": "udp", "service": "onvif", "purpose": "WS-Discovery (ONVIF), when on"}]
        p, rep, r = audit(lab, "disc-declared", tcp + wsd, "SC-01,SC-04,IF-01,IF-02")
        lab_says = {
            "SC-01": ("PASS", "full scan from the link; the HTTPS port named, WS-Discovery answered on udp/3702"),
            "SC-04": ("PASS", "no cleartext channel; the ProbeMatch announces only an https:// device service"),
            "IF-01": ("PASS", "every open port is declared, udp/3702 included"),
            "IF-02": ("PASS", "no version banner in any unauthenticated answer"),
        }
        wrong = {i: (r[i]["verdict"], v, r[i]["reason"], ev(r[i])) for i, (v, _) in lab_says.items()
                 if r[i]["verdict"] != v}
        assert not wrong, wrong
        e1 = ev(r["SC-01"])
        assert f'udp/3702 WS-Discovery answer: XAddrs "https://{lab.cam_ip}:{cam.https_port}/onvif/device_service"' \
            in e1, e1
        assert "dn:NetworkVideoTransmitter" in e1, e1
        e4 = ev(r["SC-04"])
        assert "udp/3702 WS-Discovery XAddrs: https://" in e4 and "(no http:// address)" in e4, e4
        assert "FAIL" not in e4, e4
        assert p.returncode == 0, p.stdout + p.stderr
        # the same camera, the vendor's list without the discovery port: it is an undeclared service
        p, rep, r = audit(lab, "disc-undeclared", tcp, "IF-01")
        assert r["IF-01"]["verdict"] == "FAIL", r["IF-01"]
        assert "FAIL udp/3702 open but not declared" in ev(r["IF-01"]), ev(r["IF-01"])
    finally:
        set_discovery(lab, False, False)
