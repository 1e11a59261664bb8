"""qcvn-check VM-03 (QCVN 135 G2 / EN 303 645 5.2-2: security advisories in machine-readable form, CSAF 2.0)
against real servers: the real safecamd (its provider metadata at /.well-known/csaf/provider-metadata.json,
served without login), and Debian's nginx in a network namespace this test creates, serving files written
here: no feed (404), a provider metadata without publisher.namespace, a feed with an on-device directory
distribution whose advisory is valid, one whose advisory lacks document.tracking.id, and an on-device ROLIE
feed; and a profile that declares no web service (NOT_APPLICABLE). lighttpd without
TLS (the corpus webcam) is covered in test_check_corpus.py."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import REPO, bin_path
from test_check_netns import netns, nsrun, wait_ns_port  # noqa: F401  (netns is a fixture)

sys.path.insert(0, os.path.join(REPO, "tests", "check"))
import corpus  # noqa: E402

WELL_KNOWN = ".well-known/csaf/provider-metadata.json"


def report(out):
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    return {x["id"]: x for x in rep["results"]}


def test_vm03_passes_on_safecamd(camera_module, tmp_path):
    cam = camera_module
    out = str(tmp_path / "out")
    p = subprocess.run([bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--https-port", str(cam.https_port),
                        "--ports", str(cam.https_port), "--only", "SC-01,VM-03", "--out", out, "--timeout", "15"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1), p.stderr
    vm = report(out)["VM-03"]
    ev = "\n".join(vm["evidence"])
    assert vm["verdict"] == "PASS", (vm["reason"], ev)
    url = f"https://127.0.0.1:{cam.https_port}/{WELL_KNOWN}"
    assert url in vm["reason"] and "safecam developers" in vm["reason"], vm["reason"]
    assert f"GET {url} -> 200" in ev, ev
    # the vendor's distribution is not on the device: named, not fetched (only the target is contacted)
    assert "distribution https://safecam.invalid/.well-known/csaf/white/ is not on the device" in ev, ev
    assert vm["data"]["publisher"] == "safecam developers" and vm["data"]["distributions"] == 1, vm["data"]
    assert vm["reason_vi"] and "CSAF 2.0" in vm["reason_vi"], vm


def provider(directory_url=None, drop=None, rolie=None):
    with open(os.path.join(REPO, "security", "provider-metadata.json")) as f:
        doc = json.load(f)
    if directory_url:
        doc["distributions"] = [{"directory_url": directory_url}]
    if rolie:
        doc["distributions"] = [{"rolie": {"feeds": [{"summary": "WHITE advisories", "tlp_label": "WHITE",
                                                      "url": rolie}]}}]
    if drop:
        obj, key = (doc, drop) if "." not in drop else (doc[drop.split(".")[0]], drop.split(".")[1])
        del obj[key]
    return json.dumps(doc)


def advisory(drop_tracking_id=False):
    with open(os.path.join(REPO, "security", "advisories", "safecam-2026-001.json")) as f:
        doc = json.load(f)
    if drop_tracking_id:
        del doc["document"]["tracking"]["id"]
    return json.dumps(doc)


pytestmark_ns = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None or
                                   not os.access("/usr/sbin/nginx", os.X_OK),
                                   reason="needs root, iproute2 and nginx (scripts/install-deps)")


@pytestmark_ns
def test_vm03_against_nginx_sites(netns):  # noqa: F811
    """Four HTTPS sites of one real nginx; qcvn-check runs inside the namespace, one port at a time."""
    no_feed, broken, good, bad_adv, rolie = 8443, 8444, 8445, 8446, 8447
    white = ".well-known/csaf/white/"
    sites = {
        no_feed: {"index.html": "<html><body>camera</body></html>"},
        broken: {WELL_KNOWN: provider(drop="publisher.namespace")},
        good: {WELL_KNOWN: provider(directory_url=f"https://127.0.0.1:{good}/{white}"),
               white + "index.txt": "2026/safecam-2026-001.json\n",
               white + "2026/safecam-2026-001.json": advisory()},
        bad_adv: {WELL_KNOWN: provider(directory_url=f"https://127.0.0.1:{bad_adv}/{white}"),
                  white + "index.txt": "2026/safecam-2026-001.json\n",
                  white + "2026/safecam-2026-001.json": advisory(drop_tracking_id=True)},
        rolie: {WELL_KNOWN: provider(rolie=f"https://127.0.0.1:{rolie}/{white}feed-white.json"),
                white + "feed-white.json": json.dumps({"feed": {"id": "w", "title": "advisories", "entry": [
                    {"id": "SAFECAM-2026-001", "title": "t", "content": {
                        "type": "application/json",
                        "src": f"https://127.0.0.1:{rolie}/{white}2026/safecam-2026-001.json"}}]}}),
                white + "2026/safecam-2026-001.json": advisory()},
    }
    with tempfile.TemporaryDirectory() as d:
        srv = corpus.nginx_https_sites(netns, d, sites)
        try:
            for port in sites:
                wait_ns_port(netns, port)
            r = {}
            for port in sites:
                out = os.path.join(d, f"out-{port}")
                p = nsrun(netns, bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--https-port", str(port),
                          "--ports", str(port), "--only", "SC-01,VM-03", "--out", out, "--timeout", "15", timeout=300)
                assert p.returncode in (0, 1), p.stderr
                r[port] = report(out)["VM-03"]
            # a profile declaring no web service at all, nothing listening on its port: not applicable
            prof = os.path.join(d, "profile.json")
            with open(prof, "w") as f:
                json.dump({"schema": "qcvn-check-profile/1",
                           "services": [{"port": 1883, "service": "mqtt", "purpose": "telemetry"}]}, f)
            out = os.path.join(d, "out-noweb")
            p = nsrun(netns, bin_path("qcvn-check"), "--quiet", "--target", "127.0.0.1", "--profile", prof,
                      "--ports", "declared", "--only", "SC-01,VM-03", "--out", out, "--timeout", "15", timeout=300)
            assert p.returncode in (0, 1), p.stderr
            noweb = report(out)["VM-03"]
        finally:
            srv.kill()
            srv.wait()

    def show(x):
        return x["verdict"] + ": " + x["reason"] + "\n" + "\n".join(x["evidence"])

    # no feed: neither PASS nor FAIL, the vendor is asked for the feed
    assert r[no_feed]["verdict"] == "NEEDS_EVIDENCE", show(r[no_feed])
    assert "No CSAF feed at the well-known URL" in r[no_feed]["reason"] and "status 404" in r[no_feed]["reason"]
    # a provider metadata without publisher.namespace: FAIL naming the member
    assert r[broken]["verdict"] == "FAIL", show(r[broken])
    assert r[broken]["reason"].endswith("has a missing or invalid publisher.namespace"), r[broken]["reason"]
    assert "publisher.namespace" in r[broken]["reason_vi"], r[broken]
    # an on-device directory distribution: index.txt read and the advisory checked as CSAF 2.0
    assert r[good]["verdict"] == "PASS", show(r[good])
    assert "advisory SAFECAM-2026-001 checked as CSAF 2.0" in r[good]["reason"], r[good]["reason"]
    ev = "\n".join(r[good]["evidence"])
    assert f"/{white}index.txt -> 200" in ev and f"/{white}2026/safecam-2026-001.json -> 200" in ev, ev
    assert r[good]["data"]["advisory_checked"] == "SAFECAM-2026-001", r[good]["data"]
    # the same feed with an advisory lacking its tracking id: FAIL naming the member
    assert r[bad_adv]["verdict"] == "FAIL", show(r[bad_adv])
    assert r[bad_adv]["reason"].endswith("has a missing or invalid document.tracking.id"), r[bad_adv]["reason"]
    # a ROLIE feed on the device: its first entry's advisory checked
    assert r[rolie]["verdict"] == "PASS", show(r[rolie])
    assert "advisory SAFECAM-2026-001 checked as CSAF 2.0" in r[rolie]["reason"], r[rolie]["reason"]
    assert "ROLIE feed: 1 entry, first advisory" in "\n".join(r[rolie]["evidence"]), show(r[rolie])
    # the profile declares no web service: NOT_APPLICABLE (the checker's rule for absent features)
    assert noweb["verdict"] == "NOT_APPLICABLE", show(noweb)
    assert noweb["reason"] == "No web surface to serve a CSAF feed (the profile declares none)", noweb["reason"]
