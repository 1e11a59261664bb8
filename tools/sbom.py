#!/usr/bin/env python3
"""Write the software bill of materials (CycloneDX 1.5 JSON) of the executables just built, from what they
actually link: each executable's ELF NEEDED entries (readelf -d), resolved to files the way the dynamic loader
resolves them (ldd), then to the Debian package that owns each file (dpkg-query -S) and its version
(dpkg-query -W); the libraries those load in turn are listed too. safecam itself is the BOM's subject, with
its version and commit. A library no Debian package owns fails the build with the library's name.

Usage: sbom.py --out FILE --version V --source-root DIR [--commit-file FILE] [--loader-list CMD]... EXECUTABLE...
A cross build names the loader that lists an executable of its architecture (--loader-list, one word each,
from the cross file's sbom_loader_list property: qemu-aarch64-static /lib/ld-linux-aarch64.so.1 --list);
the default is the build host's ldd. A library that no installed package owns but that a .deb file in
--deb-dir holds (the cross build's unpacked packages: scripts/install-deps --arm64) is named after that .deb.
Run by meson at build time (meson.build, target sbom); served by GET /api/v1/system/sbom (docs/api)."""
import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid

ENV = dict(os.environ, LC_ALL="C")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=120)


def needed(path):
    """The DT_NEEDED entries of an ELF file, in order."""
    r = run(["readelf", "-d", "--wide", path])
    if r.returncode != 0:
        sys.exit(f"sbom: readelf -d {path}: {r.stderr.strip()}")
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)


def resolved(path, loader_list):
    """{soname: file} of everything the dynamic loader maps for path (loader_list: ldd, or the target's
    loader with --list under an emulator; both print the same lines), and the interpreter's file."""
    r = run([*loader_list, path])
    if r.returncode != 0:
        sys.exit(f"sbom: {' '.join(loader_list)} {path}: {r.stderr.strip() or r.stdout.strip()}")
    out, interp = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+) \(0x", line)
        if m:
            if m.group(2) == "not":
                sys.exit(f"sbom: {os.path.basename(path)}: library {m.group(1)} not found")
            out[m.group(1)] = m.group(2)
            continue
        m = re.match(r"\s*(/\S+) \(0x", line)
        if m:
            interp = m.group(1)
    return out, interp


_deb_files = None
_deb_path = {}  # a file the loader named beneath an unpacked tree -> its path in the .deb (where a camera has it)


def deb_holding(deb_dir, candidates):
    """The .deb file in deb_dir that holds one of the candidate paths (as itself or beneath the directory it
    was unpacked into), or None."""
    global _deb_files
    if _deb_files is None:
        _deb_files = {}
        for name in sorted(os.listdir(deb_dir)) if deb_dir and os.path.isdir(deb_dir) else []:
            if not name.endswith(".deb"):
                continue
            deb = os.path.join(deb_dir, name)
            r = run(["dpkg-deb", "-c", deb])
            if r.returncode != 0:
                sys.exit(f"sbom: dpkg-deb -c {deb}: {r.stderr.strip()}")
            for line in r.stdout.splitlines():
                m = re.search(r" \.(/\S+)(?: -> \S+)?$", line)
                if m:
                    _deb_files[m.group(1)] = deb
    # the loader may name the file where it was unpacked (the emulator's -L prefix): the .deb's path ends it
    for p in candidates:
        for f, deb in _deb_files.items():
            if p == f or p.endswith(f):
                _deb_path[p] = f
                return deb
    return None


def spellings(path):
    """The names dpkg may have recorded for a library file: as given and resolved, each with and without the
    /usr prefix (a /usr-merged system), in the order they are tried."""
    out = []
    for p in (path, os.path.realpath(path)):
        out += [p, p[4:] if p.startswith("/usr/") else "/usr" + p]
    return out


def dpkg_owners(paths):
    """{path: (package, arch)} for those of paths that exactly one package owns, from ONE dpkg-query: each
    query reads the whole package database (about 0.2 s), and the executables map some 150 library files."""
    if not paths:
        return {}
    r = run(["dpkg-query", "-S", *sorted(set(paths))])  # exit 1 when some path has no owner: expected
    found = {}
    for line in r.stdout.splitlines():
        pkgs, _, p = line.partition(": ")
        if "diversion" in line or "," in pkgs or not p:
            continue
        pkg, _, arch = pkgs.strip().partition(":")
        found[p.strip()] = (pkg, arch)
    return found


def owners_of(paths, deb_dir=None):
    """{path: (package, arch)} for every library path: the installed package that owns one of its spellings
    (all looked up with one dpkg_owners call), else the .deb in deb_dir holding it (package is then the .deb's
    path). Exits naming the first library nothing owns."""
    found = dpkg_owners([c for p in paths for c in spellings(p)])
    owners = {}
    for p in paths:
        owner = next((found[c] for c in spellings(p) if c in found), None)
        if owner is None:
            deb = deb_holding(deb_dir, spellings(p))
            if not deb:
                sys.exit(f"sbom: no Debian package owns the library {os.path.basename(p)} ({p}): install it from "
                         "Debian's archive")
            owner = (deb, None)
        owners[p] = owner
    return owners


_info_cache = {}
INFO_FORMAT = "${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\t${Homepage}"


def info_fields(line):
    name, version, arch, src, srcver, homepage = line.split("\t")
    return {"name": name, "version": version, "arch": arch, "source": src, "source_version": srcver,
            "homepage": homepage.strip()}


def infos_prefetch(owners):
    """Reads name, version, source and homepage of every installed package in owners ((package, arch) pairs)
    with one dpkg-query; package_info() then answers from memory."""
    queries = sorted({f"{p}:{a}" if a else p for p, a in owners if not p.endswith(".deb")})
    if not queries:
        return
    r = run(["dpkg-query", "-W", "-f", INFO_FORMAT + "\n", *queries])
    for line in r.stdout.splitlines():
        info = info_fields(line)
        _info_cache[(info["name"], info["arch"])] = info
        _info_cache.setdefault((info["name"], ""), info)


def package_info(pkg, arch):
    """Name, version, architecture, source and homepage of an installed package or of a .deb file."""
    if (pkg, arch or "") not in _info_cache:
        _info_cache[(pkg, arch or "")] = _package_info_lookup(pkg, arch)
    return _info_cache[(pkg, arch or "")]


def _package_info_lookup(pkg, arch):
    if pkg.endswith(".deb"):
        r = run(["dpkg-deb", "--showformat=" + INFO_FORMAT, "--show", pkg])
        if r.returncode != 0:
            sys.exit(f"sbom: dpkg-deb --show {pkg}: {r.stderr.strip()}")
        return info_fields(r.stdout)
    q = f"{pkg}:{arch}" if arch else pkg
    r = run(["dpkg-query", "-W", "-f", INFO_FORMAT, q])
    if r.returncode != 0:
        sys.exit(f"sbom: dpkg-query -W {q}: {r.stderr.strip()}")
    return info_fields(r.stdout)


def debian_release():
    try:
        with open("/etc/os-release") as f:
            kv = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        return kv.get("ID", "debian").strip('"'), kv.get("VERSION_ID", "").strip('"')
    except OSError:
        return "debian", ""


def commit_of(root):
    r = run(["git", "-C", root, "rev-parse", "HEAD"])
    if r.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", r.stdout.strip()):
        return r.stdout.strip()
    try:  # a copy of the tree without .git (scripts/build-package writes .commit)
        with open(os.path.join(root, ".commit")) as f:
            c = f.read().strip()
        if re.fullmatch(r"[0-9a-f]{40}", c):
            return c
    except OSError:
        pass
    return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--commit-file", help="a file holding the commit (meson's vcs_tag); else git or .commit")
    ap.add_argument("--loader-list", action="append",
                    help="the command that lists what the loader maps (repeat for each word; default ldd)")
    ap.add_argument("--deb-dir", help="a directory of .deb files whose unpacked libraries the build links")
    ap.add_argument("executables", nargs="+")
    a = ap.parse_args()

    distro, distro_ver = debian_release()
    distro_q = f"&distro={distro}-{distro_ver}" if distro_ver else ""
    commit = commit_of(a.source_root)
    if a.commit_file:
        with open(a.commit_file) as f:
            c = f.read().strip()
        if re.fullmatch(r"[0-9a-f]{40}", c):
            commit = c
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch else \
        datetime.datetime.now(datetime.timezone.utc)
    subject = f"pkg:generic/safecam@{a.version}"

    packages = {}   # purl -> component
    files = {}      # purl -> set of library files
    deps = {}       # bom-ref -> set of bom-refs
    components = []
    exes = sorted(a.executables, key=os.path.basename)
    maps = {exe: resolved(exe, a.loader_list or ["ldd"]) for exe in exes}
    owners = owners_of(sorted({p for sonames, interp in maps.values() for p in [*sonames.values(), interp] if p}),
                       a.deb_dir)
    infos_prefetch(set(owners.values()))
    for exe in exes:
        name = os.path.basename(exe)
        ref = f"safecam:{name}"
        sha = hashlib.sha256(open(exe, "rb").read()).hexdigest()
        components.append({
            "type": "application", "bom-ref": ref, "name": name, "version": a.version,
            "hashes": [{"alg": "SHA-256", "content": sha}],
            "properties": [{"name": "safecam:build-hash-note",
                            "value": "hash of the unstripped build output; the package ships it stripped"}],
        })
        sonames, interp = maps[exe]
        direct = needed(exe)
        deps[ref] = set()
        libs = [(s, sonames[s]) for s in sonames] + ([(os.path.basename(interp), interp)] if interp else [])
        for soname in direct:
            if soname not in sonames and not (interp and os.path.basename(interp) == soname):
                sys.exit(f"sbom: {name}: NEEDED {soname} not resolved by the loader")
        for soname, path in libs:
            pkg, arch = owners[path]
            info = package_info(pkg, arch)
            purl = f"pkg:deb/{distro}/{info['name']}@{info['version']}?arch={info['arch']}{distro_q}"
            if purl not in packages:
                comp = {"type": "library", "bom-ref": purl, "name": info["name"], "version": info["version"],
                        "purl": purl, "properties": []}
                if info["source"]:
                    comp["properties"].append({"name": "debian:source", "value": info["source"]})
                    comp["properties"].append({"name": "debian:source-version",
                                               "value": info["source_version"] or info["version"]})
                if info["homepage"]:
                    comp["externalReferences"] = [{"type": "website", "url": info["homepage"]}]
                packages[purl] = comp
                files[purl] = set()
            files[purl].add(_deb_path.get(path, _deb_path.get(os.path.realpath(path), path)))
            if soname in direct:
                deps[ref].add(purl)

    for purl, comp in packages.items():
        for f in sorted(files[purl]):
            comp["properties"].append({"name": "safecam:linked-file", "value": f})
        components.append(comp)

    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{subject}#{commit}")),
        "version": 1,
        "metadata": {
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "safecam tools/sbom.py",
                                      "version": a.version}]},
            "component": {
                "type": "firmware", "bom-ref": subject, "name": "safecam", "version": a.version,
                "purl": subject,
                "licenses": [{"license": {"id": "GPL-2.0-or-later"}}],
                "properties": [{"name": "safecam:commit", "value": commit}],
            },
        },
        "components": components,
        "dependencies": [{"ref": subject, "dependsOn": sorted(c["bom-ref"] for c in components
                                                               if c["type"] == "application")}] +
                        [{"ref": r, "dependsOn": sorted(d)} for r, d in sorted(deps.items())],
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(bom, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
