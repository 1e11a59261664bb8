"""The software bill of materials (tools/sbom.py, built by meson as <build>/sbom.cdx.json, installed as
/usr/share/safecam/sbom.cdx.json): valid CycloneDX 1.5 JSON (the schema kept in tests/schemas/cyclonedx, checked
with Debian's python3-jsonschema), naming safecam with its version and commit and, for each executable, the
Debian packages of what it links (checked here with ldd and dpkg-query themselves); a library no package owns
fails the generation with its name; served to an admin only at GET /api/v1/system/sbom.
QCVN 135 G3 / EN 303 645 5.3."""
import json
import os
import re
import subprocess

import jsonschema
import pytest

from conftest import BUILD, REPO, bin_path, strong_password

SCHEMA_DIR = os.path.join(REPO, "tests", "schemas", "cyclonedx")
SBOM = os.path.join(BUILD, "sbom.cdx.json")
EXECUTABLES = ["safecamd", "safecam-vault", "safecam-web", "safecam-media", "safecam-update", "safecam-provision",
               "safecam-sign", "qcvn-check"]


def validator():
    def load(name):
        with open(os.path.join(SCHEMA_DIR, name)) as f:
            return json.load(f)
    bom = load("bom-1.5.SNAPSHOT.schema.json")
    store = {}
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        s = load(name)
        store[s["$id"]] = s
        store["http://cyclonedx.org/schema/" + name] = s
    resolver = jsonschema.RefResolver.from_schema(bom, store=store)
    return jsonschema.Draft7Validator(bom, resolver=resolver, format_checker=jsonschema.FormatChecker())


def load_sbom():
    with open(SBOM) as f:
        return json.load(f)


def project_version():
    m = re.search(r"version\s*:\s*'([^']+)'", open(os.path.join(REPO, "meson.build")).read())
    return m.group(1)


def test_schema_refuses_a_broken_bom():
    """The validator is live: a BOM with a wrong specVersion type and an unknown top-level key is refused."""
    v = validator()
    bad = dict(load_sbom(), specVersion=1.5, telnet=True)
    assert len(list(v.iter_errors(bad))) >= 2


def test_built_sbom_is_cyclonedx_1_5():
    bom = load_sbom()
    errors = sorted(validator().iter_errors(bom), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    subject = bom["metadata"]["component"]
    assert subject["name"] == "safecam" and subject["version"] == project_version()
    commit = {p["name"]: p["value"] for p in subject["properties"]}["safecam:commit"]
    assert re.fullmatch(r"[0-9a-f]{40}", commit), commit
    # the commit the build was made from: this tree's HEAD or, when only later commits are not built yet, one
    # of its ancestors
    head = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        r = subprocess.run(["git", "-C", REPO, "merge-base", "--is-ancestor", commit, "HEAD"], capture_output=True)
        assert r.returncode == 0, f"SBOM names {commit}, not HEAD {head.stdout.strip()} or an ancestor"
    names = {c["name"] for c in bom["components"] if c["type"] == "application"}
    assert set(EXECUTABLES) <= names, names


def debian_packages_of(paths):
    """{path: package} for library files, with one dpkg-query -S over every /usr-merged spelling of each."""
    spellings = {}
    for p in paths:
        for q in (p, os.path.realpath(p)):
            for v in (q, q[4:] if q.startswith("/usr/") else "/usr" + q):
                spellings.setdefault(v, p)
    r = subprocess.run(["dpkg-query", "-S", *spellings], capture_output=True, text=True)
    owner = {}
    for line in r.stdout.splitlines():
        pkgs, _, found = line.partition(": ")
        if found in spellings and "," not in pkgs and "diversion" not in line:
            owner.setdefault(spellings[found], pkgs.split(":")[0])
    missing = [p for p in paths if p not in owner]
    assert not missing, f"no package owns {missing}"
    return owner


@pytest.mark.parametrize("exe", EXECUTABLES)
def test_each_linked_library_is_its_debian_package(exe):
    """Cross-check with the tools themselves: every NEEDED entry of the executable resolves (ldd) to a file whose
    package (dpkg-query -S) at its installed version (dpkg-query -W) is among the executable's dependencies."""
    bom = load_sbom()
    deps = {d["ref"]: set(d["dependsOn"]) for d in bom["dependencies"]}[f"safecam:{exe}"]
    path = bin_path(exe)
    dyn = subprocess.run(["readelf", "-d", "--wide", path], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    assert needed, dyn
    ldd = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    files = dict(re.findall(r"^\s*(\S+) => (\S+) \(0x", ldd, re.M))
    owner = debian_packages_of([files[soname] for soname in needed])
    pkgs = sorted(set(owner.values()))
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n", *pkgs], capture_output=True,
                         text=True, check=True).stdout
    versions = dict(line.split("\t") for line in out.splitlines())
    for soname in needed:
        pkg = owner[files[soname]]
        assert any(ref.startswith(f"pkg:deb/debian/{pkg}@{versions[pkg]}?") for ref in deps), (soname, pkg)


def test_a_library_no_package_owns_fails_with_its_name(tmp_path):
    (tmp_path / "lib.c").write_text("int safecam_orphan(void) { return 42; }\n")
    (tmp_path / "main.c").write_text("int safecam_orphan(void);\nint main(void) { return safecam_orphan(); }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(tmp_path / "libsafecamorphan.so"), str(tmp_path / "lib.c")],
                   check=True)
    subprocess.run(["cc", "-o", str(tmp_path / "orphan"), str(tmp_path / "main.c"), f"-L{tmp_path}",
                    "-lsafecamorphan", f"-Wl,-rpath,{tmp_path}"], check=True)
    out = tmp_path / "sbom.json"
    r = subprocess.run(["/usr/bin/python3", os.path.join(REPO, "tools", "sbom.py"), "--out", str(out), "--version",
                        "0", "--source-root", REPO, bin_path("safecamd"), str(tmp_path / "orphan")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "libsafecamorphan.so" in r.stderr, r.stderr
    assert not out.exists()


def test_served_to_an_admin_only(camera):
    r = camera.request("GET", "/api/v1/system/sbom")
    assert r.status == 401, r
    admin = camera.admin()
    r = admin.request("GET", "/api/v1/system/sbom")
    assert r.status == 200, r
    assert r.header("content-type").startswith("application/vnd.cyclonedx+json")
    with open(SBOM, "rb") as f:
        assert r.body == f.read()
    pw = strong_password()
    for _ in range(10):
        c = admin.request("POST", "/api/v1/users", json_body={"username": "watcher", "password": pw,
                                                              "role": "viewer"})
        if c.status != 422:
            break
        pw = strong_password()
    assert c.status == 201, c
    viewer = camera.login("watcher", pw)
    r = viewer.request("GET", "/api/v1/system/sbom")
    assert r.status == 403 and r.json()["error"], r
