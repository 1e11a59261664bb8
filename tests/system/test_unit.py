"""The systemd unit (packaging/safecamd.service): `systemd-analyze verify` finds nothing to say, its exposure
score (`systemd-analyze security --offline=yes`) is the one docs/packaging.md states, and its system-call
filter lets through every system call the children's own seccomp allowlists (lib/supervisor/child_table.c)
allow, plus what they call to wall themselves in: a child must never be killed by the unit's filter for a call
its own wall allows. QCVN 135 G6 / EN 303 645 5.6-7."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import REPO, bin_path

UNIT = os.path.join(REPO, "packaging", "safecamd.service")
pytestmark = pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")


def unit_values(key):
    with open(UNIT) as f:
        return [line.split("=", 1)[1].strip() for line in f if line.startswith(key + "=")]


def test_verify_clean(tmp_path):
    # the unit as installed, but naming this build's safecamd (verify checks that ExecStart is executable)
    text = open(UNIT).read().replace("/usr/bin/safecamd", bin_path("safecamd"))
    unit = tmp_path / "safecamd.service"
    unit.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), r.stdout + r.stderr


def test_exposure_score_is_the_documented_one():
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", UNIT], capture_output=True,
                       text=True, timeout=60)
    m = re.search(r"Overall exposure level for safecamd.service: ([0-9.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    score = float(m.group(1))
    doc = open(os.path.join(REPO, "docs", "packaging.md")).read()
    d = re.search(r"exposure score: \*\*([0-9.]+)\*\*", doc)
    assert d, "docs/packaging.md does not state the exposure score"
    assert float(d.group(1)) == score, f"docs/packaging.md says {d.group(1)}, systemd-analyze says {score}"


def expand(name, seen=None):
    """The system calls a systemd filter name stands for (a @group, recursively, or a single call)."""
    if not name.startswith("@"):
        return {name}
    seen = seen if seen is not None else set()
    if name in seen:
        return set()
    seen.add(name)
    r = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = set()
    for line in r.stdout.splitlines()[1:]:
        item = line.strip()
        if item and not item.startswith("#"):
            out |= expand(item, seen)
    return out


def child_allowlists():
    src = open(os.path.join(REPO, "lib", "supervisor", "child_table.c")).read()
    lists = {}
    for m in re.finditer(r"static const char \*const (syscalls_\w+)\[\] = \{(.*?)\};", src, re.S):
        body = re.sub(r"/\*.*?\*/", "", m.group(2), flags=re.S)
        lists[m.group(1)] = set(re.findall(r'"([a-z0-9_]+)"', body))
    assert {"syscalls_common", "syscalls_vault", "syscalls_web", "syscalls_media", "syscalls_update"} <= set(lists)
    return lists


def test_syscall_filter_covers_every_wall():
    allowed, denied = set(), set()
    for value in unit_values("SystemCallFilter"):
        if value.startswith("~"):
            for name in value[1:].split():
                denied |= expand(name)
        else:
            for name in value.split():
                allowed |= expand(name)
    allowed -= denied
    needed = set().union(*child_allowlists().values())
    needed |= {"clone", "clone3", "execve", "seccomp", "landlock_create_ruleset", "landlock_add_rule",
               "landlock_restrict_self", "setresuid", "setresgid", "setgroups", "capset", "fchown", "chown"}
    missing = sorted(needed - allowed)
    assert not missing, f"the unit's SystemCallFilter would refuse what a wall allows: {missing}"


def test_unit_fences_match_the_walls():
    """What each child sets itself is not undone by the unit: no new privileges, only the listed capabilities
    (each child empties them all), address families the children use, the state dir created 0711."""
    assert unit_values("NoNewPrivileges") == ["yes"]
    caps = set(unit_values("CapabilityBoundingSet")[0].split())
    # no CAP_KILL: test_supervisor.py::test_hung_child_restarted_and_all_stopped_without_cap_kill
    assert caps == {"CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE",
                    "CAP_NET_BIND_SERVICE"}, caps
    assert unit_values("AmbientCapabilities") == [""]
    assert set(unit_values("RestrictAddressFamilies")[0].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert unit_values("StateDirectoryMode") == ["0711"]
    assert unit_values("ProtectSystem") == ["strict"]
    # PrivateDevices: a /dev of pseudo-devices; every device a child's Landlock view names is among them, but
    # the media process's /dev/dri (and its source), which a camera's drop-in binds in (docs/packaging.md)
    assert unit_values("PrivateDevices") == ["yes"]
    src = open(os.path.join(REPO, "lib", "supervisor", "child_table.c")).read()
    devices = set(re.findall(r'SANDBOX_FS_ABSOLUTE, "(/dev/[^"]+)"', src))
    private = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/shm"}
    assert devices and devices - private == {"/dev/dri"}, devices
    assert unit_values("Type") == ["notify"] and unit_values("NotifyAccess") == ["main"]
