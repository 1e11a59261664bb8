"""System tests for safecam-sign, the vendor's bundle tool: keygen (modes, passphrase sealing), sign,
verify (the device's own verifier: every bad-input case of issue #4 gets its stable refusal code) and
inspect, plus one-line errors on bad command lines. QCVN 135 G3 / EN 303 645 5.3-2.
Runs the real tool from $SAFECAM_BUILD (default <repo>/build); no daemon needed."""
import base64
import hashlib
import json
import os
import stat
import struct
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SAFECAM_BUILD", os.path.join(REPO, "build"))
SIGN = os.path.join(BUILD, "tools", "safecam-sign")
MODEL = "SC-100"


def sign_tool(*args, timeout=120):
    return subprocess.run([SIGN, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def one_line_error(r):
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("safecam-sign: ")
    return lines[0]


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor")
    r = sign_tool("keygen", "--out", d / "v1")
    assert r.returncode == 0, r.stderr
    r = sign_tool("keygen", "--out", d / "v2")
    assert r.returncode == 0, r.stderr
    payload = d / "rootfs.tar"
    payload.write_bytes(os.urandom(200_000))
    bundle = d / "good.bundle"
    r = sign_tool("sign", "--key", d / "v1.key", "--model", MODEL, "--version", "1.2.3", "--security-version", 5,
                  "--payload", payload, "--out", bundle)
    assert r.returncode == 0, r.stderr
    return d


def verify(vendor, path, *extra, pub="v1.pub"):
    return sign_tool("verify", "--pub", vendor / pub, *extra, path)


def refused(r):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    line = one_line_error(r)
    assert line.startswith("safecam-sign: refused: ")
    return line.split(": ")[-1]


def test_keygen_files_and_modes(vendor):
    key, pub = vendor / "v1.key", vendor / "v1.pub"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(pub).st_mode) == 0o644
    p = json.loads(pub.read_text())
    assert p["format"] == "safecam-update-pubkey"
    raw = base64.b64decode(p["public_key"])
    assert len(raw) == 32
    assert p["key_id"] == hashlib.sha256(raw).hexdigest()[:16]
    # the public file never holds secret material
    assert "secret" not in pub.read_text()
    k = json.loads(key.read_text())
    assert k["kdf"] == "none" and len(base64.b64decode(k["secret_key"])) == 64
    # never overwrites an existing key
    r = sign_tool("keygen", "--out", vendor / "v1")
    assert "refusing to overwrite" in one_line_error(r)


def test_passphrase_sealed_key(tmp_path):
    pw = tmp_path / "pass"
    pw.write_text("correct horse battery staple\n")
    r = sign_tool("keygen", "--out", tmp_path / "enc", "--passphrase-file", pw)
    assert r.returncode == 0, r.stderr
    k = json.loads((tmp_path / "enc.key").read_text())
    assert k["kdf"] == "argon2id13" and "secret_key" not in k and "sealed_key" in k
    payload = tmp_path / "p.bin"
    payload.write_bytes(b"x" * 1000)
    args = ["sign", "--key", tmp_path / "enc.key", "--model", MODEL, "--version", "1.0.0", "--security-version", 1,
            "--payload", payload, "--out", tmp_path / "b.bundle"]
    assert "passphrase" in one_line_error(sign_tool(*args))
    bad = tmp_path / "wrong"
    bad.write_text("wrong horse\n")
    assert "wrong passphrase" in one_line_error(sign_tool(*args, "--passphrase-file", bad))
    assert not (tmp_path / "b.bundle").exists()
    r = sign_tool(*args, "--passphrase-file", pw)
    assert r.returncode == 0, r.stderr
    r = sign_tool("verify", "--pub", tmp_path / "enc.pub", tmp_path / "b.bundle")
    assert r.returncode == 0 and r.stdout.startswith("valid: version=1.0.0"), r.stderr


def test_verify_good_and_inspect(vendor):
    r = verify(vendor, vendor / "good.bundle", "--model", MODEL, "--min-security-version", 5)
    assert r.returncode == 0, r.stderr
    assert "version=1.2.3 security_version=5" in r.stdout
    r = sign_tool("inspect", vendor / "good.bundle")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    m = info["manifest"]
    assert m["version"] == "1.2.3" and m["models"] == [MODEL] and m["security_version"] == 5
    assert m["payloads"][0]["sha256"] == hashlib.sha256((vendor / "rootfs.tar").read_bytes()).hexdigest()
    assert "NOT CHECKED" in info["signature"]
    # the file layout is the documented one
    data = (vendor / "good.bundle").read_bytes()
    magic, fmt, flags, mlen = struct.unpack(">8sHHI", data[:16])
    assert (magic, fmt, flags) == (b"SCUPDATE", 1, 0)
    assert data[16:24].hex() == m["key_id"]
    assert len(data) == 24 + mlen + 64 + 200_000


def _layout(data):
    mlen = struct.unpack(">I", data[12:16])[0]
    return 24 + mlen, 24 + mlen + 64  # signature offset, payload offset


@pytest.mark.parametrize("case,expect", [
    ("flip_payload", "hash_mismatch"),
    ("flip_payload_last", "hash_mismatch"),
    ("flip_manifest", "bad_signature"),
    ("flip_signature", "bad_signature"),
    ("flip_magic", "malformed_bundle"),
    ("flip_key_id", "untrusted_key"),
    ("huge_manifest_len", "too_large"),
    ("truncated_header", "truncated"),
    ("truncated_signature", "truncated"),
    ("truncated_payload", "truncated"),
    ("empty", "truncated"),
    ("trailing_byte", "malformed_bundle"),
])
def test_verify_refuses_tampering(vendor, tmp_path, case, expect):
    data = bytearray((vendor / "good.bundle").read_bytes())
    sig, pay = _layout(data)
    if case == "flip_payload":
        data[pay + 1000] ^= 1
    elif case == "flip_payload_last":
        data[-1] ^= 0x80
    elif case == "flip_manifest":
        data[30] ^= 0x01
    elif case == "flip_signature":
        data[sig + 10] ^= 0x40
    elif case == "flip_magic":
        data[0] ^= 0x20
    elif case == "flip_key_id":
        data[20] ^= 0xff
    elif case == "huge_manifest_len":
        data[12:16] = struct.pack(">I", 65537)
    elif case == "truncated_header":
        data = data[:10]
    elif case == "truncated_signature":
        data = data[:sig + 20]
    elif case == "truncated_payload":
        data = data[:-1]
    elif case == "empty":
        data = b""
    elif case == "trailing_byte":
        data = data + b"\0"
    p = tmp_path / "bad.bundle"
    p.write_bytes(bytes(data))
    assert refused(verify(vendor, p)) == expect
    # inspect never claims the file is fine when it cannot even be parsed



def test_verify_policy_refusals(vendor, tmp_path):
    good = vendor / "good.bundle"
    assert refused(verify(vendor, good, pub="v2.pub")) == "untrusted_key"
    assert refused(verify(vendor, good, "--model", "SC-200")) == "wrong_model"
    assert refused(verify(vendor, good, "--min-security-version", 6)) == "rollback"
    size = os.path.getsize(good)
    assert refused(verify(vendor, good, "--max-bytes", size - 1)) == "too_large"
    assert verify(vendor, good, "--max-bytes", size).returncode == 0
    # key rotation: trusting both keys accepts bundles from either
    r = sign_tool("verify", "--pub", vendor / "v2.pub", "--pub", vendor / "v1.pub", good)
    assert r.returncode == 0, r.stderr


def test_sign_revocation_and_multi_payload(vendor, tmp_path):
    v2 = json.loads((vendor / "v2.pub").read_text())["key_id"]
    v1 = json.loads((vendor / "v1.pub").read_text())["key_id"]
    (tmp_path / "a").write_bytes(b"A" * 10)
    (tmp_path / "b").write_bytes(b"")
    out = tmp_path / "r.bundle"
    r = sign_tool("sign", "--key", vendor / "v1.key", "--model", MODEL, "--model", "SC-101", "--version",
                  "2.0.0-rc.1", "--security-version", 6, "--payload", f"app.bin={tmp_path / 'a'}",
                  "--payload", f"empty={tmp_path / 'b'}", "--revoke", v2, "--out", out, "--build-time", 1700000000)
    assert r.returncode == 0, r.stderr
    m = json.loads(sign_tool("inspect", out).stdout)["manifest"]
    assert m["revoke_key_ids"] == [v2]
    assert [p["name"] for p in m["payloads"]] == ["app.bin", "empty"]
    assert m["build_time"] == 1700000000
    assert verify(vendor, out, "--model", "SC-101").returncode == 0
    # a bundle cannot revoke its own key
    r = sign_tool("sign", "--key", vendor / "v1.key", "--model", MODEL, "--version", "2.0.0", "--security-version",
                  6, "--payload", tmp_path / "a", "--revoke", v1, "--out", tmp_path / "self.bundle")
    one_line_error(r)
    assert not (tmp_path / "self.bundle").exists()


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["keygen"],
    ["sign", "--key", "K"],
    ["sign", "--key", "K", "--model", MODEL, "--version", "1.2", "--security-version", "1", "--payload", "/etc/hostname", "--out", "/tmp/x"],
    ["sign", "--key", "K", "--model", MODEL, "--version", "1.2.3", "--security-version", "-1", "--payload", "/etc/hostname", "--out", "/tmp/x"],
    ["sign", "--key", "K", "--model", MODEL, "--version", "1.2.3", "--security-version", "4294967296", "--payload", "/etc/hostname", "--out", "/tmp/x"],
    ["sign", "--key", "K", "--model", "a/b", "--version", "1.2.3", "--security-version", "1", "--payload", "/etc/hostname", "--out", "/tmp/x"],
    ["sign", "--key", "K", "--model", MODEL, "--version", "1.2.3", "--security-version", "1", "--payload", "../x=/etc/hostname", "--out", "/tmp/x"],
    ["sign", "--key", "K", "--model", MODEL, "--version", "1.2.3", "--security-version", "1", "--payload", "/etc/hostname", "--out", "/tmp/x", "--revoke", "xyz"],
    ["sign", "--key", "/nonexistent.key", "--model", MODEL, "--version", "1.2.3", "--security-version", "1", "--payload", "/etc/hostname", "--out", "/tmp/x"],
    ["verify", "/nonexistent"],
    ["verify", "--pub", "/nonexistent.pub", "/etc/hostname"],
    ["verify", "--pub", "/etc/hostname", "/etc/hostname"],
    ["inspect"],
    ["inspect", "/nonexistent"],
    ["inspect", "/etc/hostname"],
])
def test_bad_command_lines(args):
    r = sign_tool(*args)
    one_line_error(r)
    assert r.stdout == ""


def test_sign_missing_payload_leaves_nothing(vendor, tmp_path):
    out = tmp_path / "x.bundle"
    r = sign_tool("sign", "--key", vendor / "v1.key", "--model", MODEL, "--version", "1.0.0", "--security-version",
                  1, "--payload", tmp_path / "missing.tar", "--out", out)
    one_line_error(r)
    assert list(tmp_path.iterdir()) == []
