"""WS-Discovery (issue 11 point 2, docs/onvif.md "WS-Discovery") with the real daemon started as root inside a
network namespace this module creates, and a client in a second namespace joined to it by a veth pair (the
camera binds 10.231.N.1, the client is 10.231.N.2; no traffic leaves the two namespaces).

- off by default: nothing listens on UDP (ss -uln and /proc/net/udp in the camera's namespace), a Probe gets
  no answer, no safecam-discovery process;
- on through PUT /api/v1/settings/onvif: Debian's onvif-util -a finds the camera, and the ProbeMatches it got on
  the link (captured with an AF_PACKET socket in the client namespace) carries only the https:// device_service
  XAddr; Hello at start, Bye when switched off; off again: the process is gone and nothing listens within a
  second (generous bound: 10 s);
- bad datagrams (malformed, a DOCTYPE, 9 KiB, no MessageID, other types, a Scopes filter, a probe so small the
  answer would be over 4x its size) get no answer, the child survives, and the refusals are summarised;
- 300 probes a second from one source get at most the per-source budget; every reply has TTL 1;
- the child's walls: its own user, Seccomp 2, NoNewPrivs 1, no capability, and its user cannot read the vault.
"""
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import Camera

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "wsd_tool.py")
PY = "/usr/bin/python3"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and the per-process users"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 missing"),
]


def nsrun(ns, *cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], **kw)


class Lab:
    """Two namespaces joined by a veth pair; the camera runs in `cam`, clients in `cli`."""

    def __init__(self):
        n = os.getpid() % 200 + 20
        self.tag = f"{os.getpid()}"
        self.cam, self.cli = f"scdisc-cam-{self.tag}", f"scdisc-cli-{self.tag}"
        self.cam_if, self.cli_if = f"scdc{self.tag}"[:15], f"scdl{self.tag}"[:15]
        self.cam_ip, self.cli_ip = f"10.231.{n}.1", f"10.231.{n}.2"
        for ns in (self.cam, self.cli):
            subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
        subprocess.run(["ip", "link", "add", self.cam_if, "type", "veth", "peer", "name", self.cli_if], check=True,
                       timeout=10)
        for ns, ifn, ip in ((self.cam, self.cam_if, self.cam_ip), (self.cli, self.cli_if, self.cli_ip)):
            subprocess.run(["ip", "link", "set", ifn, "netns", ns], check=True, timeout=10)
            for cmd in (["ip", "addr", "add", f"{ip}/24", "dev", ifn], ["ip", "link", "set", ifn, "up"],
                        ["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "default", "dev", ifn]):
                nsrun(ns, *cmd, check=True, timeout=10)

    def close(self):
        for ns in (self.cam, self.cli):
            subprocess.run(["ip", "netns", "del", ns], timeout=10)


class NsCamera(Camera):
    """The camera bound to its veth address inside the camera namespace; curl runs there too and connects to
    that address while verifying the certificate's 127.0.0.1 name (--connect-to)."""

    def __init__(self, tmp, lab):
        self.lab = lab
        super().__init__(tmp)

    def command(self):
        cmd = super().command()
        cmd[cmd.index("--bind") + 1] = self.lab.cam_ip
        return cmd + ["--no-media"]

    def curl(self, *args, timeout=60, **kw):
        return nsrun(self.lab.cam, "curl", "-sS", "--cacert", self.cacert, "--connect-to",
                     f"127.0.0.1:{self.https_port}:{self.lab.cam_ip}:{self.https_port}", "--max-time",
                     str(timeout), *args, timeout=timeout + 10, **kw)

    def start(self, wait_media=False):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.lab.cam, *self.command()], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 40
        while True:
            r = self.curl("-o", "/dev/null", "-w", "%{http_code}", f"{self.base_url}/.well-known/security.txt",
                          timeout=2)
            if r.stdout == b"200":
                return
            assert self.proc.poll() is None and time.monotonic() < deadline, self.read_log()
            time.sleep(0.2)

    def pids(self):
        # `ip netns exec` execs safecamd, so the Popen pid is safecamd's own; comm is cut at 15 bytes
        # ("safecam-discove")
        return {("discovery" if k == "discove" else k): v for k, v in super().pids().items()}


@pytest.fixture(scope="module")
def lab():
    lab = Lab()
    tmp = tempfile.mkdtemp(prefix="safecam-disc-")
    cam = None
    try:
        os.chmod(tmp, 0o755)
        cam = NsCamera(tmp, lab)
        cam.start()
        lab.camera = cam
        yield lab
        cam.stop()
        bad = cam.sanitizer_report()
        assert not bad, "sanitizer report in safecamd log:\n" + "\n".join(bad[:20])
    finally:
        if cam:
            cam.stop()
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


def udp_3702(lab):
    """(ss -uln lines on :3702, /proc/net/udp rows with local port 3702 = 0x0E76) in the camera namespace."""
    ss = nsrun(lab.cam, "ss", "-Hulnp", check=True).stdout.decode()
    proc = nsrun(lab.cam, "cat", "/proc/net/udp", check=True).stdout.decode()
    return ([l for l in ss.splitlines() if ":3702 " in l],
            [l for l in proc.splitlines()[1:] if l.split()[1].endswith(":0E76")])


def tool(lab, *args, timeout=60):
    r = nsrun(lab.cli, PY, TOOL, *args, timeout=timeout)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


def set_discovery(lab, enabled, discovery):
    admin = lab.camera.admin()
    r = admin.request("PUT", "/api/v1/settings/onvif", json_body={"enabled": enabled, "discovery": discovery})
    assert r.status == 200, r
    assert r.json() == {"enabled": enabled, "discovery": discovery}


def wait_for(pred, timeout=10, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def xaddrs(text):
    return re.findall(r"<wsd:XAddrs>([^<]*)</wsd:XAddrs>", text)


def test_off_by_default_nothing_listens_and_no_answer(lab):
    assert "discovery" not in lab.camera.pids()
    assert udp_3702(lab) == ([], [])
    assert nsrun(lab.cam, "ss", "-Huln", check=True).stdout.strip() == b""  # no UDP socket at all
    out = tool(lab, "probe", "--kind", "nvt", "--wait", "2")
    assert out["replies"] == [], out
    # ONVIF on but discovery off: still nothing on UDP
    set_discovery(lab, True, False)
    time.sleep(1.5)
    assert "discovery" not in lab.camera.pids()
    assert udp_3702(lab) == ([], [])
    assert tool(lab, "probe", "--to", lab.cam_ip, "--wait", "1")["replies"] == []


def test_on_onvif_util_finds_the_https_device_service_then_off(lab):
    cam = lab.camera
    # listen for the Hello on the client side before switching on
    hello = subprocess.Popen(["ip", "netns", "exec", lab.cli, PY, TOOL, "listen", "--wait", "6"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    set_discovery(lab, True, True)
    wait_for(lambda: udp_3702(lab)[0], what="the responder on UDP 3702")
    # on the camera's address and the group only, never on every address of the host
    local = sorted(line.split()[3] for line in udp_3702(lab)[0])
    assert local == sorted([f"{lab.cam_ip}:3702", "239.255.255.250:3702"]), local
    hello_out = json.loads(hello.communicate(timeout=30)[0])
    hellos = [m for m in hello_out["messages"] if "/discovery/Hello<" in m["text"]]
    assert hellos and hellos[0]["from"] == lab.cam_ip, hello_out
    assert xaddrs(hellos[0]["text"]) == [f"https://{lab.cam_ip}:{cam.https_port}/onvif/device_service"]

    # Debian's onvif-util: discovery, with the exchange captured on the client's link
    sniff = subprocess.Popen(["ip", "netns", "exec", lab.cli, PY, TOOL, "sniff", "--iface", lab.cli_if, "--wait",
                              "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert sniff.stderr.readline().strip() == b"ready"
    t0 = time.monotonic()
    util = nsrun(lab.cli, "onvif-util", "-a", timeout=30)
    print(f"onvif-util -a: {time.monotonic() - t0:.2f} s")
    pk = json.loads(sniff.communicate(timeout=30)[0])["packets"]
    assert util.returncode == 0, util
    found = util.stdout.decode()
    assert "Found 1 cameras" in found and lab.cam_ip in found, found
    probes = [p for p in pk if p["dport"] == 3702 and p["src"] == lab.cli_ip]
    matches = [p for p in pk if p["sport"] == 3702 and p["src"] == lab.cam_ip]
    assert probes and len(matches) == 1, pk
    m = matches[0]
    assert xaddrs(m["text"]) == [f"https://{lab.cam_ip}:{cam.https_port}/onvif/device_service"], m["text"]
    assert "http://" + lab.cam_ip not in m["text"]
    assert m["ttl"] == 1  # a reply cannot leave the local link
    assert "onvif://www.onvif.org/Profile/Streaming" in m["text"]
    msgid = re.search(r"<a:MessageID>([^<]*)</a:MessageID>", probes[0]["text"]).group(1)
    assert f"<wsa:RelatesTo>{msgid}</wsa:RelatesTo>" in m["text"]
    print(f"onvif-util probe {probes[0]['len']} bytes, ProbeMatches {m['len']} bytes: "
          f"factor {m['len'] / probes[0]['len']:.2f}")
    assert m["len"] <= 4 * probes[0]["len"]
    # the endpoint reference is stable: the same urn:uuid in the Hello and the answer
    uuid = re.search(r"<wsa:Address>(urn:uuid:[0-9a-f-]{36})</wsa:Address>", m["text"]).group(1)
    assert uuid in hellos[0]["text"]
    # the XAddr it gave is the camera's HTTPS device service (the public GetSystemDateAndTime answers there)
    body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>')
    r = nsrun(lab.cli, "curl", "-sS", "--cacert", cam.cacert, "--connect-to",
              f"127.0.0.1:{cam.https_port}:{lab.cam_ip}:{cam.https_port}", "-H",
              "Content-Type: application/soap+xml", "--data-binary", body,
              xaddrs(m["text"])[0].replace(lab.cam_ip, "127.0.0.1"))
    assert b"<tt:UTCDateTime>" in r.stdout, r

    # off: Bye, the process ends, nothing listens
    pid = cam.pids()["discovery"]
    bye = subprocess.Popen(["ip", "netns", "exec", lab.cli, PY, TOOL, "listen", "--wait", "4"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    t0 = time.monotonic()
    set_discovery(lab, True, False)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") and udp_3702(lab) == ([], []), what="the responder gone")
    print(f"discovery off: responder gone after {time.monotonic() - t0:.2f} s")
    msgs = json.loads(bye.communicate(timeout=30)[0])["messages"]
    assert any("/discovery/Bye<" in x["text"] and uuid in x["text"] for x in msgs), msgs
    assert tool(lab, "probe", "--wait", "1")["replies"] == []
    assert "discovery" not in cam.pids()
    assert "process_restart" not in json.dumps(
        cam.admin().request("GET", "/api/v1/events?type=process_restart&limit=100").json())
    # ONVIF off also stops it
    set_discovery(lab, True, True)
    wait_for(lambda: udp_3702(lab)[0], what="on again")
    set_discovery(lab, False, True)
    wait_for(lambda: udp_3702(lab) == ([], []), what="off with ONVIF")


NPM_ONVIF = "onvif@0.8.3"


@pytest.fixture(scope="module")
def npm_onvif(tmp_path_factory):
    """The npm package `onvif`, installed by npm into a directory of this test run (never into the tree). Skips
    when npm cannot fetch it (offline). SAFECAM_NPM_ONVIF=DIR uses a directory that already holds it."""
    d = os.environ.get("SAFECAM_NPM_ONVIF")
    if not d:
        if shutil.which("npm") is None or shutil.which("node") is None:
            pytest.skip("node/npm missing")
        d = str(tmp_path_factory.mktemp("npm-onvif"))
        with open(os.path.join(d, "package.json"), "w") as f:
            f.write('{"name": "safecam-onvif-client", "private": true}')
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", d, NPM_ONVIF],
                           capture_output=True, timeout=300)
        if r.returncode != 0:
            pytest.skip(f"npm cannot install {NPM_ONVIF}: {r.stderr.decode()[-300:]}")
    assert os.path.exists(os.path.join(d, "node_modules", "onvif", "package.json"))
    return d


@pytest.mark.plain_only  # a second external client; the responder runs under ASan with onvif-util
def test_npm_onvif_discovers_the_https_device_service(lab, npm_onvif):
    cam = lab.camera
    set_discovery(lab, True, True)
    wait_for(lambda: udp_3702(lab)[0], what="the responder")
    time.sleep(2.5)  # a fresh per-source budget
    r = nsrun(lab.cli, "env", f"NODE_PATH={npm_onvif}/node_modules", "node",
              os.path.join(HERE, "onvif_npm_discover.cjs"), "3000", timeout=60)
    assert r.returncode == 0, r
    out = json.loads(r.stdout)
    assert len(out["found"]) == 1, out
    dev = out["found"][0]
    assert dev["from"] == lab.cam_ip
    assert dev["xaddrs"] == f"https://{lab.cam_ip}:{cam.https_port}/onvif/device_service", dev
    assert dev["urn"].startswith("urn:uuid:")
    assert "NetworkVideoTransmitter" in dev["types"]
    set_discovery(lab, True, False)


def test_bad_datagrams_get_no_answer_and_the_child_survives(lab):
    cam = lab.camera
    set_discovery(lab, True, True)
    wait_for(lambda: udp_3702(lab)[0], what="the responder")
    pid = cam.pids()["discovery"]
    time.sleep(2.5)  # the per-source bucket refills after the previous test's probes
    for kind in ("malformed", "doctype", "oversized", "nomsgid", "printer", "scoped", "small"):
        for to in ("239.255.255.250", lab.cam_ip):
            out = tool(lab, "probe", "--kind", kind, "--to", to, "--wait", "0.5")
            assert out["replies"] == [], (kind, to, out)
    time.sleep(1.5)
    out = tool(lab, "probe", "--kind", "device", "--to", lab.cam_ip, "--wait", "1")
    assert len(out["replies"]) == 1, out
    assert cam.pids().get("discovery") == pid  # the same process answered
    # a flood from one source: 300 probes/s for 2 s get at most the per-source budget (burst 4 + 2/s)
    time.sleep(2.5)
    out = tool(lab, "probe", "--kind", "nvt", "--to", lab.cam_ip, "--count", "600", "--rate", "300", "--wait", "1",
               timeout=60)
    n = len(out["replies"])
    print(f"flood: {len(out['sent'])} probes, {n} answers")
    assert 1 <= n <= 4 + 2 * 4, n
    assert cam.pids().get("discovery") == pid
    # many sources at once (40 addresses of the client namespace, 3 probes each): at most the total budget
    # (10 a second, burst 10) however many sources ask
    srcs = [f"{lab.cli_ip.rsplit('.', 1)[0]}.{100 + i}" for i in range(40)]
    for a in srcs:
        nsrun(lab.cli, "ip", "addr", "add", f"{a}/24", "dev", lab.cli_if, check=True, timeout=10)
    time.sleep(1.5)
    out = tool(lab, "probe", "--kind", "nvt", "--to", lab.cam_ip, "--count", "3", "--wait", "1.5",
               *[x for a in srcs for x in ("--src", a)], timeout=60)
    n = len(out["replies"])
    print(f"40 sources: {len(out['sent'])} probes, {n} answers to {len({r['to'] for r in out['replies']})} sources")
    assert 1 <= n <= 10 + 10 * 2, n
    assert cam.pids().get("discovery") == pid
    # the refusals are summarised (the summary of a stopping responder is forced out)
    set_discovery(lab, True, False)
    wait_for(lambda: "discovery" not in cam.pids(), what="stopped")
    log = cam.read_log()
    summary = re.findall(r"discovery: \d+ answered, \d+ refused \(oversized (\d+), malformed (\d+), not_probe \d+, "
                         r"no_match (\d+), rate (\d+), amplification (\d+), source \d+\)", log)
    assert summary, log[-3000:]
    oversized, malformed, no_match, rate, amplification = map(int, summary[-1])
    # 2 each (multicast and unicast): oversized; malformed, doctype, nomsgid; printer, scoped; small
    assert (oversized, malformed, no_match, amplification) == (2, 6, 4, 2), summary[-1]
    assert rate > 500, summary[-1]
    assert "SIGSYS" not in log


def test_walls_of_the_discovery_child(lab):
    cam = lab.camera
    set_discovery(lab, True, True)
    pid = wait_for(lambda: cam.pids().get("discovery"), what="the responder")

    def status():
        st = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                st[k] = v.strip()
        return st

    # it raises its walls after opening its sockets, a moment after it starts: wait for the filter
    st = wait_for(lambda: (lambda s: s if s["Seccomp"] == "2" else None)(status()), what="seccomp on")
    want = pwd.getpwnam("safecam-discovery")
    assert st["Uid"].split() == [str(want.pw_uid)] * 4
    assert st["Gid"].split() == [str(want.pw_gid)] * 4
    assert st["Groups"] == ""
    assert st["Seccomp"] == "2" and st["NoNewPrivs"] == "1"
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    others = {pwd.getpwuid(os.stat(f"/proc/{p}").st_uid).pw_name for r, p in cam.pids().items()
              if r not in ("supervisor", "discovery")}
    assert "safecam-discovery" not in others
    # its user cannot read the vault's files (the ownership of the state dir keeps it out even without Landlock)
    vault = os.path.join(cam.state_dir, "vault")
    r = subprocess.run(["setpriv", f"--reuid={want.pw_uid}", f"--regid={want.pw_gid}", "--clear-groups", "ls",
                        vault], capture_output=True, timeout=10)
    assert r.returncode != 0 and b"Permission denied" in r.stderr, r
    for name in os.listdir(vault):
        r = subprocess.run(["setpriv", f"--reuid={want.pw_uid}", f"--regid={want.pw_gid}", "--clear-groups", "cat",
                            os.path.join(vault, name)], capture_output=True, timeout=10)
        assert r.returncode != 0, name
    # no socket of its own making: the one UDP socket it was handed, nothing listening on TCP
    fds = os.listdir(f"/proc/{pid}/fd")
    socks = [t for t in (os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds) if t.startswith("socket:")]
    assert len(socks) == 3, socks  # the supervisor channel and the two UDP sockets
    set_discovery(lab, True, False)
