"""WS-Discovery with the camera bound to the wildcard address (0.0.0.0) on a host with two links (issue 11
point 2, docs/onvif.md "WS-Discovery"): a camera namespace joined to two client namespaces by two veth pairs
(10.232.N.0/24 and 10.233.N.0/24; no traffic leaves the three namespaces). On each link, the Hello at start and
the Bye at stop are seen (captured with an AF_PACKET socket in the client's namespace), each from the camera's
address on that link, naming that address in its XAddr, with TTL 1; Debian's onvif-util -a finds the camera on
each link, and the ProbeMatches it got names the address of the link the probe came in on."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from test_discovery import PY, TOOL, NsCamera, nsrun, wait_for, xaddrs

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and the per-process users"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 missing"),
]


class TwoLinks:
    """The camera namespace with two veth links, one client namespace on each."""

    def __init__(self):
        n = os.getpid() % 200 + 20
        self.tag = f"{os.getpid()}"
        self.cam = f"scwild-cam-{self.tag}"
        self.links = []  # (client ns, camera-side if, client-side if, camera ip, client ip)
        subprocess.run(["ip", "netns", "add", self.cam], check=True, timeout=10)
        nsrun(self.cam, "ip", "link", "set", "lo", "up", check=True)
        for k, net in enumerate((232, 233)):
            cli = f"scwild-cli{k}-{self.tag}"
            cif, lif = f"swc{k}{self.tag}"[:15], f"swl{k}{self.tag}"[:15]
            cip, lip = f"10.{net}.{n}.1", f"10.{net}.{n}.2"
            subprocess.run(["ip", "netns", "add", cli], check=True, timeout=10)
            subprocess.run(["ip", "link", "add", cif, "type", "veth", "peer", "name", lif], check=True, timeout=10)
            for ns, ifn, ip in ((self.cam, cif, cip), (cli, lif, lip)):
                subprocess.run(["ip", "link", "set", ifn, "netns", ns], check=True, timeout=10)
                nsrun(ns, "ip", "addr", "add", f"{ip}/24", "dev", ifn, check=True)
                nsrun(ns, "ip", "link", "set", ifn, "up", check=True)
            nsrun(cli, "ip", "link", "set", "lo", "up", check=True)
            nsrun(cli, "ip", "route", "add", "default", "dev", lif, check=True)
            self.links.append((cli, cif, lif, cip, lip))
        # what NsCamera needs: curl in the camera namespace reaches the first link's address
        self.cam_ip = self.links[0][3]

    def close(self):
        for ns in [self.cam] + [l[0] for l in self.links]:
            subprocess.run(["ip", "netns", "del", ns], timeout=10)


class WildcardCamera(NsCamera):
    def command(self):
        cmd = super().command()
        cmd[cmd.index("--bind") + 1] = "0.0.0.0"
        return cmd


@pytest.fixture(scope="module")
def two():
    lab = TwoLinks()
    tmp = tempfile.mkdtemp(prefix="safecam-wild-")
    cam = None
    try:
        os.chmod(tmp, 0o755)
        cam = WildcardCamera(tmp, lab)
        cam.start()
        lab.camera = cam
        yield lab
    finally:
        if cam:
            cam.stop()
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


def sniff_start(cli, lif, wait):
    p = subprocess.Popen(["ip", "netns", "exec", cli, PY, TOOL, "sniff", "--iface", lif, "--wait", str(wait)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stderr.readline().strip() == b"ready"
    return p


def set_discovery(cam, on):
    r = cam.admin().request("PUT", "/api/v1/settings/onvif", json_body={"enabled": True, "discovery": on})
    assert r.status == 200, r


def test_hello_bye_and_probes_on_each_link_with_a_wildcard_bind(two):
    cam = two.camera
    sniffers = [sniff_start(cli, lif, 5) for cli, _, lif, _, _ in two.links]
    set_discovery(cam, True)
    for (cli, _, _, cip, _), sn in zip(two.links, sniffers):
        pk = json.loads(sn.communicate(timeout=30)[0])["packets"]
        hellos = [p for p in pk if "/discovery/Hello<" in p["text"]]
        assert len(hellos) == 1, pk
        h = hellos[0]
        assert h["src"] == cip and h["dst"] == "239.255.255.250" and h["ttl"] == 1, h
        assert xaddrs(h["text"]) == [f"https://{cip}:{cam.https_port}/onvif/device_service"], h["text"]
    log = cam.read_log()
    assert len(re.findall(r"discovery: Hello sent on ", log)) == 2, log[-2000:]

    # Debian's onvif-util on each link: found at that link's address, and the answer names it
    for cli, _, lif, cip, lip in two.links:
        sn = sniff_start(cli, lif, 4)
        t0 = time.monotonic()
        util = nsrun(cli, "onvif-util", "-a", timeout=30)
        print(f"onvif-util -a on {lif}: {time.monotonic() - t0:.2f} s")
        pk = json.loads(sn.communicate(timeout=30)[0])["packets"]
        assert util.returncode == 0 and "Found 1 cameras" in util.stdout.decode() and cip in util.stdout.decode(), \
            util
        matches = [p for p in pk if p["sport"] == 3702 and p["dst"] == lip and "ProbeMatches" in p["text"]]
        assert len(matches) == 1 and matches[0]["src"] == cip and matches[0]["ttl"] == 1, pk
        assert xaddrs(matches[0]["text"]) == [f"https://{cip}:{cam.https_port}/onvif/device_service"]
        other = [l[3] for l in two.links if l[3] != cip][0]
        assert other not in matches[0]["text"]  # never the other link's address

    # off: a Bye on each link
    sniffers = [sniff_start(cli, lif, 4) for cli, _, lif, _, _ in two.links]
    set_discovery(cam, False)
    for (cli, _, _, cip, _), sn in zip(two.links, sniffers):
        pk = json.loads(sn.communicate(timeout=30)[0])["packets"]
        byes = [p for p in pk if "/discovery/Bye<" in p["text"]]
        assert len(byes) == 1 and byes[0]["src"] == cip and byes[0]["ttl"] == 1, pk
        assert xaddrs(byes[0]["text"]) in ([], [f"https://{cip}:{cam.https_port}/onvif/device_service"])
