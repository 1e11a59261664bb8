"""System tests for safecam-provision (the factory step): unique identity per device, ECDSA P-256
certificate with the right SANs, file modes, refusal to re-provision, argument validation, and the label
password: policy-conformant and nowhere under the state dir. QCVN 135 G1, G4 / EN 303 645 5.1-1, 5.4-1.
Runs the real tool from $SAFECAM_BUILD (default <repo>/build) and the real openssl/pwscore."""
import datetime
import hashlib
import json
import os
import re
import stat
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SAFECAM_BUILD", os.path.join(REPO, "build"))
PROVISION = os.path.join(BUILD, "tools", "safecam-provision")

LOOKALIKES = set("0Oo1lIi|`'\" ")
ALPHABET = set("ABCDEFGHJKLMNPQRSTUVWXYZ" "abcdefghjkmnpqrstuvwxyz" "23456789" "#%+=?@^*-_!~")


def run(*args, timeout=60):
    return subprocess.run([PROVISION, *args], capture_output=True, text=True, timeout=timeout)


def provision(tmp_path, name="dev", *extra):
    state = tmp_path / name / "state"
    label = tmp_path / name / "label.json"
    (tmp_path / name).mkdir(parents=True, exist_ok=True)
    r = run("--state-dir", str(state), "--label-out", str(label), *extra)
    assert r.returncode == 0, r.stderr
    with open(label) as f:
        return state, label, json.load(f)


def all_files(root):
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            yield os.path.join(dirpath, f)


def snapshot(root):
    """{relative path: (mode, sha256)} of everything under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for d in dirs:
            p = os.path.join(dirpath, d)
            out[os.path.relpath(p, root)] = (os.lstat(p).st_mode, None)
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = (os.lstat(p).st_mode, hashlib.sha256(fh.read()).hexdigest())
    return out


def x509_text(cert):
    return subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"], capture_output=True,
                          text=True, check=True).stdout


def pubkey_der(cert):
    return subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"], capture_output=True,
                          check=True).stdout


def normalise(s):
    return re.sub(r"[:\-._ ]", "", s).lower()


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prov")
    return provision(tmp, "a"), provision(tmp, "b")


def test_tool_is_built():
    assert os.access(PROVISION, os.X_OK), f"{PROVISION} missing: build first (SAFECAM_BUILD={BUILD})"


def test_label_shape_and_device_json(two_devices):
    (state, label_path, label), _ = two_devices
    assert set(label) == {"serial", "model", "mac", "admin_user", "initial_password"}
    assert re.fullmatch(r"SC[A-Z0-9]{10}", label["serial"])
    assert label["model"] == "SC-100"
    assert re.fullmatch(r"02(:[0-9a-f]{2}){5}", label["mac"]), "default MAC is locally administered 02:..."
    assert label["admin_user"] == "admin"
    with open(state / "factory" / "device.json") as f:
        dev = json.load(f)
    assert set(dev) == {"serial", "model", "mac", "product", "provisioned_at"}
    assert (dev["serial"], dev["model"], dev["mac"]) == (label["serial"], label["model"], label["mac"])
    assert dev["product"] == "safecam"
    assert isinstance(dev["provisioned_at"], int) and dev["provisioned_at"] > 1_600_000_000
    with open(state / "factory" / "initial_admin.json") as f:
        admin = json.load(f)
    assert set(admin) == {"username", "hash"}
    assert admin["username"] == "admin"
    assert admin["hash"].startswith("$argon2id$")


def test_two_devices_share_nothing(two_devices):
    (sa, _, la), (sb, _, lb) = two_devices
    assert la["initial_password"] != lb["initial_password"]
    assert la["serial"] != lb["serial"]
    assert la["mac"] != lb["mac"]
    for rel in ("factory/storage.key", "factory/tls.crt", "factory/tls.key.sealed", "factory/initial_admin.json"):
        with open(sa / rel, "rb") as fa, open(sb / rel, "rb") as fb:
            assert fa.read() != fb.read(), rel
    assert pubkey_der(sa / "factory" / "tls.crt") != pubkey_der(sb / "factory" / "tls.crt")
    sa_serial = subprocess.run(["openssl", "x509", "-in", str(sa / "factory" / "tls.crt"), "-noout", "-serial"],
                               capture_output=True, text=True, check=True).stdout
    sb_serial = subprocess.run(["openssl", "x509", "-in", str(sb / "factory" / "tls.crt"), "-noout", "-serial"],
                               capture_output=True, text=True, check=True).stdout
    assert sa_serial != sb_serial


def test_certificate(two_devices):
    (state, _, label), _ = two_devices
    text = x509_text(state / "factory" / "tls.crt")
    assert "Public Key Algorithm: id-ecPublicKey" in text
    assert "NIST CURVE: P-256" in text or "prime256v1" in text
    assert "Public-Key: (256 bit)" in text
    assert text.count("Signature Algorithm: ecdsa-with-SHA256") >= 1
    assert f"Subject: CN = {label['serial']}" in text
    san = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.*)\n", text).group(1)
    names = [n.strip() for n in san.split(",")]
    assert "DNS:localhost" in names
    assert "IP Address:127.0.0.1" in names
    assert "IP Address:0:0:0:0:0:0:0:1" in names
    assert "CA:FALSE" in text
    assert re.search(r"X509v3 Key Usage:.*\n\s*Digital Signature\s*\n", text)
    assert "TLS Web Server Authentication" in text
    serial_hex = re.search(r"Serial Number:\s*\n\s*([0-9a-f:]+)", text).group(1)
    assert len(serial_hex.split(":")) == 16
    dates = subprocess.run(["openssl", "x509", "-in", str(state / "factory" / "tls.crt"), "-noout", "-startdate",
                            "-enddate"], capture_output=True, text=True, check=True).stdout
    fmt = "%b %d %H:%M:%S %Y %Z"
    start = datetime.datetime.strptime(re.search(r"notBefore=(.*)", dates).group(1).replace("  ", " "), fmt)
    end = datetime.datetime.strptime(re.search(r"notAfter=(.*)", dates).group(1).replace("  ", " "), fmt)
    assert 3650 <= (end - start).days <= 3654
    # The certificate verifies against itself (it is its own trust anchor for clients).
    v = subprocess.run(["openssl", "verify", "-CAfile", str(state / "factory" / "tls.crt"),
                        str(state / "factory" / "tls.crt")], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr


def test_hostname_and_identity_options(tmp_path):
    state, _, label = provision(tmp_path, "c", "--serial", "CAM-0042-XY", "--model", "Bullet_4K.v2",
                                "--mac", "0A-1B-2C-3D-4E-5F", "--hostname", "cam42.example.lan")
    assert label["serial"] == "CAM-0042-XY"
    assert label["model"] == "Bullet_4K.v2"
    assert label["mac"] == "0a:1b:2c:3d:4e:5f"
    text = x509_text(state / "factory" / "tls.crt")
    assert "DNS:cam42.example.lan" in text
    assert "Subject: CN = CAM-0042-XY" in text


def test_modes(two_devices):
    (state, label_path, _), _ = two_devices
    assert stat.S_IMODE(os.lstat(state).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(state / "factory").st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(label_path).st_mode) == 0o600
    seen = set()
    for p in all_files(state):
        st = os.lstat(p)
        assert stat.S_ISREG(st.st_mode), p
        assert stat.S_IMODE(st.st_mode) == 0o600, f"{p}: {oct(st.st_mode)}"
        seen.add(os.path.relpath(p, state))
    for rel in ("factory/device.json", "factory/storage.key", "factory/tls.crt", "factory/tls.key.sealed",
                "factory/initial_admin.json", "vault/vault.db"):
        assert rel in seen, rel
    assert os.path.getsize(state / "factory" / "storage.key") == 32


def test_no_plaintext_secret_under_state_dir(two_devices):
    (state, _, label), _ = two_devices
    pw = label["initial_password"].encode()
    for p in all_files(state):
        with open(p, "rb") as f:
            data = f.read()
        assert pw not in data, f"initial password found in {p}"
        assert pw.lower() not in data.lower(), f"initial password (case-folded) found in {p}"
        assert b"PRIVATE KEY" not in data, f"clear private key in {p}"
    with open(state / "factory" / "tls.key.sealed", "rb") as f:
        sealed = f.read()
    assert sealed[:4] == b"SCS1"
    assert 200 < len(sealed) < 400  # an ECDSA P-256 PKCS#8 PEM (~240 bytes) + 44 bytes of seal overhead


def test_label_password_meets_policy(two_devices):
    for (_state, _label_path, label) in two_devices:
        pw = label["initial_password"]
        assert len(pw) == 16
        assert not (set(pw) & LOOKALIKES), pw
        assert set(pw) <= ALPHABET, pw
        assert re.search(r"[a-z]", pw) and re.search(r"[A-Z]", pw) and re.search(r"[0-9]", pw)
        assert re.search(r"[^A-Za-z0-9]", pw)
        n = normalise(pw)
        for ident in (label["serial"], label["mac"], label["model"], "safecam", "admin"):
            assert normalise(ident) not in n, ident
        # The dictionary part, judged independently by libpwquality's own tool.
        r = subprocess.run(["pwscore"], input=pw + "\n", capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_refuses_reprovision_without_force(tmp_path):
    state, label_path, label = provision(tmp_path, "d")
    before = snapshot(state)
    other_label = tmp_path / "d" / "label2.json"
    r = run("--state-dir", str(state), "--label-out", str(other_label))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "already provisioned" in lines[0]
    assert r.stdout == ""
    assert snapshot(state) == before, "a refused run changed the state dir"
    assert not other_label.exists()


def test_force_reprovisions(tmp_path):
    state, label_path, label = provision(tmp_path, "e")
    with open(state / "factory" / "tls.crt", "rb") as f:
        old_cert = f.read()
    with open(state / "factory" / "storage.key", "rb") as f:
        old_key = f.read()
    r = run("--state-dir", str(state), "--label-out", str(label_path), "--force")
    assert r.returncode == 0, r.stderr
    with open(label_path) as f:
        new_label = json.load(f)
    assert new_label["initial_password"] != label["initial_password"]
    with open(state / "factory" / "tls.crt", "rb") as f:
        assert f.read() != old_cert
    with open(state / "factory" / "storage.key", "rb") as f:
        assert f.read() != old_key
    for p in all_files(state):
        assert stat.S_IMODE(os.lstat(p).st_mode) == 0o600, p
        with open(p, "rb") as f:
            assert new_label["initial_password"].encode() not in f.read()


BAD_ARGS = [
    [],
    ["--state-dir", "{s}"],
    ["--label-out", "{l}"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--serial", "sc-lower"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--serial", "AB"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--serial", "A" * 33],
    ["--state-dir", "{s}", "--label-out", "{l}", "--serial", "SC$(id)"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--model", ""],
    ["--state-dir", "{s}", "--label-out", "{l}", "--model", "a/b"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--model", "M" * 33],
    ["--state-dir", "{s}", "--label-out", "{l}", "--mac", "02:1a:2b:3c:4d"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--mac", "02:1a:2b:3c:4d:5g"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--mac", "02:1a-2b:3c:4d:5e"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--mac", "01:00:5e:00:00:01"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--mac", "ff:ff:ff:ff:ff:ff"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--mac", "00:00:00:00:00:00"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--hostname", "bad_host!"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--hostname", "-x.example"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--bogus"],
    ["--state-dir", "{s}", "--label-out", "{l}", "stray"],
    ["--state-dir", "{s}", "--label-out", "{l}", "--serial"],
    ["--state-dir", "{s}", "--state-dir", "{s}", "--label-out", "{l}"],
    ["--state-dir", "{s}", "--label-out", "{s}/label.json"],
    ["--state-dir", "{s}", "--label-out", "/nonexistent-dir/label.json"],
]


@pytest.mark.parametrize("args", BAD_ARGS, ids=[" ".join(a) or "no-args" for a in BAD_ARGS])
def test_bad_arguments(tmp_path, args):
    s = tmp_path / "state"
    l = tmp_path / "label.json"
    argv = [a.format(s=s, l=l) for a in args]
    r = run(*argv)
    assert r.returncode == 2, (argv, r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("safecam-provision: ")
    assert r.stdout == ""
    assert not s.exists(), "a refused run created the state dir"
    assert not l.exists()


def test_state_dir_is_a_file(tmp_path):
    f = tmp_path / "notadir"
    f.write_text("x")
    r = run("--state-dir", str(f), "--label-out", str(tmp_path / "l.json"))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert f.read_text() == "x"


def test_help():
    r = run("--help")
    assert r.returncode == 0
    assert "--state-dir" in r.stdout and "--label-out" in r.stdout


def _openssl(*args):
    subprocess.run(["openssl", *map(str, args)], capture_output=True, check=True, timeout=60)


def test_update_ca(tmp_path):
    """--update-ca installs the vendor update server's CA (re-encoded certificates only, public 0644) at
    factory/update-ca.pem, where safecam-update looks by default; a file that is not a valid CA
    certificate is refused with one line, exit 2, and nothing is created. QCVN 135 G3."""
    pki = tmp_path / "pki"
    pki.mkdir()
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             pki / "ca.key", "-out", pki / "ca.crt", "-days", "2", "-subj", "/CN=vendor update CA",
             "-addext", "basicConstraints=critical,CA:TRUE")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             pki / "leaf.key", "-out", pki / "leaf.crt", "-days", "2", "-subj", "/CN=leaf",
             "-addext", "basicConstraints=critical,CA:FALSE")
    # a CA file with comment text around the certificate: only the certificate is installed
    (pki / "commented.pem").write_text("vendor CA, 2025\n" + (pki / "ca.crt").read_text() + "trailing words\n")
    state, _label, _ = provision(tmp_path, "ok", "--update-ca", str(pki / "commented.pem"))
    installed = state / "factory" / "update-ca.pem"
    assert stat.S_IMODE(os.lstat(installed).st_mode) == 0o644
    text = installed.read_text()
    assert "vendor CA, 2025" not in text and "trailing" not in text
    assert pubkey_der(installed) == pubkey_der(pki / "ca.crt")
    # the installed file verifies a server certificate the CA signed (what the online check relies on)
    (pki / "srv.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", pki / "srv.key",
             "-out", pki / "srv.csr", "-subj", "/CN=srv")
    _openssl("x509", "-req", "-in", pki / "srv.csr", "-CA", pki / "ca.crt", "-CAkey", pki / "ca.key",
             "-set_serial", "3", "-days", "1", "-out", pki / "srv.crt", "-extfile", pki / "srv.ext")
    v = subprocess.run(["openssl", "verify", "-CAfile", str(installed), str(pki / "srv.crt")],
                       capture_output=True, text=True, timeout=30)
    assert v.returncode == 0, v.stderr

    (pki / "with-key.pem").write_text((pki / "ca.crt").read_text() + (pki / "ca.key").read_text())
    (pki / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    (pki / "empty.pem").write_bytes(b"")
    (pki / "huge.pem").write_text((pki / "ca.crt").read_text() * 200)  # over the 64 KiB cap
    bad = {"leaf": pki / "leaf.crt", "private_key": pki / "with-key.pem", "garbage": pki / "garbage.pem",
           "empty": pki / "empty.pem", "huge": pki / "huge.pem", "missing": pki / "nope.pem",
           "key_only": pki / "ca.key"}
    for name, f in bad.items():
        s = tmp_path / f"bad-{name}" / "state"
        lab = tmp_path / f"bad-{name}" / "label.json"
        s.parent.mkdir()
        r = run("--state-dir", str(s), "--label-out", str(lab), "--update-ca", str(f))
        assert r.returncode == 2, (name, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("safecam-provision: --update-ca"), (name, r.stderr)
        assert r.stdout == ""
        assert not s.exists() and not lab.exists(), name
    # a refused --update-ca on an already provisioned device changes nothing there either
    before = snapshot(state)
    r = run("--state-dir", str(state), "--label-out", str(tmp_path / "ok" / "l2.json"), "--force",
            "--update-ca", str(pki / "leaf.crt"))
    assert r.returncode == 2 and snapshot(state) == before
