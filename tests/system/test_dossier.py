"""The lab dossier (qcvn-check dossier, lib/check/dossier.c) of safecamd's own profile
(data/check/profiles/safecamd-demo.json), with a real report: the real qcvn-check run against the real safecamd
(the unauthenticated tests only, on the two declared ports, to keep it short), a bundle signed by the real
safecam-sign and the SBOM the build made (tools/sbom.py). Checked: every QCVN 135 row of the catalogue and every
EN 303 645 provision it names appears exactly once in the Vietnamese and in the English HTML, both HTML files are
well-formed (every tag closed in order, by Python's html.parser, and no error from libxml2's xmllint --html), the
firmware identity is the bundle's real SHA-256 and the SBOM's real component count, each verdict of the report
stands beside its clause; a profile without a field the ICS needs is one line naming field and clause, exit 2, and
no dossier or temporary directory left; a non-empty --out is refused without --force.
QCVN 135 / ETSI TS 103 701 (ICS, IXIT)."""
import hashlib
import html.parser
import json
import os
import shutil
import subprocess

import pytest

from conftest import BUILD, REPO, bin_path, strong_password

PROFILE = os.path.join(REPO, "data", "check", "profiles", "safecamd-demo.json")
SBOM = os.path.join(BUILD, "sbom.cdx.json")
QUICK_TESTS = "SC-01,SC-02,SC-04,SC-05,IF-02,VM-02,VM-03"
VOID = {"meta", "br", "link", "img", "hr", "input", "col", "wbr"}


def qcvn(*args, env=None, timeout=300):
    return subprocess.run([bin_path("qcvn-check"), *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)


def catalogue():
    """Test IDs and EN 303 645 provisions, as qcvn-check --list-tests prints its catalogue."""
    p = qcvn("--list-tests")
    assert p.returncode == 0, p.stderr
    ids, provs = [], set()
    for line in p.stdout.splitlines():
        # id, group, level, the EN 303 645 provisions (comma list), automated|evidence, title
        f = line.split()
        ids.append(f[0])
        for tok in f[3:]:
            if tok in ("automated", "evidence"):
                break
            provs.add(tok.rstrip(","))
    return ids, provs


class Strict(html.parser.HTMLParser):
    """Collects the ICS rows and every tag-nesting fault."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.faults, self.clauses, self.provisions = [], [], [], []
        self.row = None
        self.rows = {}
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-clause" in a:
            self.clauses.append(a["data-clause"])
            self.row = a["data-clause"]
            self.rows[self.row] = []
        if "data-provision" in a:
            self.provisions.append(a["data-provision"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.faults.append((tag, self.getpos(), list(self.stack[-3:])))
            return
        self.stack.pop()
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        self.text.append(data)
        if self.row:
            self.rows[self.row].append(data)


def parse(path):
    p = Strict()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    p.close()
    return p


@pytest.fixture(scope="module")
def made(camera_module, tmp_path_factory):
    """The dossier of the demo profile with a real report, bundle and SBOM."""
    cam = camera_module
    d = tmp_path_factory.mktemp("dossier")
    env = dict(os.environ, QCVN_ADMIN_PASSWORD=strong_password(), QCVN_USER_PASSWORD=strong_password(),
               QCVN_INITIAL_PASSWORD=cam.label["initial_password"])
    p = qcvn("--quiet", "--target", "127.0.0.1", "--profile", PROFILE, "--https-port", cam.https_port,
             "--rtsps-port", cam.rtsps_port, "--ports", "declared", "--only", QUICK_TESTS, "--timeout", "15",
             "--out", d / "audit", env=env)
    assert p.returncode in (0, 1), p.stderr
    sign = bin_path("safecam-sign")
    r = subprocess.run([sign, "keygen", "--out", d / "v1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (d / "rootfs.tar").write_bytes(os.urandom(300_000))
    r = subprocess.run([sign, "sign", "--key", d / "v1.key", "--model", "SC-100", "--version", "0.1.0",
                        "--security-version", "1", "--payload", d / "rootfs.tar", "--out", d / "fw.scb"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = d / "out"
    # the dossier never needs a password: run it without any in the environment
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QCVN_")}
    p = qcvn("dossier", "--profile", PROFILE, "--out", out, "--report", d / "audit" / "report.json",
             "--bundle", d / "fw.scb", "--sbom", SBOM, env=clean)
    assert p.returncode == 0, p.stderr
    return d, out


def test_every_clause_exactly_once_in_both_languages(made):
    _, out = made
    ids, provs = catalogue()
    assert len(ids) > 60 and len(provs) > 30
    for lang in ("vi", "en"):
        h = parse(out / f"dossier.{lang}.html")
        assert not h.faults, (lang, h.faults[:5])
        assert not h.stack, (lang, h.stack)
        assert sorted(h.clauses) == sorted(ids), lang
        assert len(set(h.clauses)) == len(h.clauses), lang
        assert sorted(h.provisions) == sorted(provs), (lang, set(h.provisions) ^ provs)
        assert len(set(h.provisions)) == len(h.provisions), lang
        text = "".join(h.text)
        if lang == "vi":
            assert "Bản công bố tính năng thực hiện (ICS)" in text
            assert "Thông tin bổ sung để thử nghiệm (IXIT)" in text
            assert "Có hỗ trợ" in text and "Không áp dụng" in text
        else:
            assert "Implementation conformance statement (ICS)" in text
            assert "Implementation extra information for testing (IXIT)" in text
    d = json.loads((out / "dossier.json").read_text())
    assert d["schema"] == "qcvn-check-dossier/1"
    assert [r["clause"] for r in d["ics"]["qcvn"]] == ids
    assert {r["provision"] for r in d["ics"]["en303645"]} == provs


def test_html_is_well_formed_for_libxml2(made):
    _, out = made
    xmllint = shutil.which("xmllint")
    assert xmllint, "xmllint missing: scripts/install-deps installs libxml2-utils"
    for lang in ("vi", "en"):
        p = subprocess.run([xmllint, "--html", "--noout", out / f"dossier.{lang}.html"], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0 and p.stderr == "", (lang, p.stderr[:2000])


def test_firmware_identity_and_sbom(made):
    d, out = made
    doc = json.loads((out / "dossier.json").read_text())
    fw = doc["firmware"]
    data = (d / "fw.scb").read_bytes()
    assert fw["bundle"] == {"file": "fw.scb", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    with open(SBOM, "rb") as f:
        sbom_bytes = f.read()
    assert (out / "sbom.cdx.json").read_bytes() == sbom_bytes
    sbom = json.loads(sbom_bytes)
    assert fw["sbom"]["components"] == len(sbom["components"]) > 0
    assert fw["sbom"]["sha256"] == hashlib.sha256(sbom_bytes).hexdigest()
    assert fw["version"] == "0.1.0"
    for lang in ("vi", "en"):
        text = (out / f"dossier.{lang}.html").read_text()
        assert fw["bundle"]["sha256"] in text and ">%d<" % len(sbom["components"]) in text


def test_report_verdicts_beside_their_clauses(made):
    d, out = made
    src = (d / "audit" / "report.json").read_bytes()
    assert (out / "report.json").read_bytes() == src
    rep = json.loads(src)
    verdicts = {r["id"]: r["verdict"] for r in rep["results"]}
    assert set(QUICK_TESTS.split(",")) <= set(verdicts)
    assert verdicts["SC-02"] == "PASS" and verdicts["SC-05"] == "PASS", verdicts
    doc = json.loads((out / "dossier.json").read_text())
    assert doc["report"]["summary"] == rep["summary"]
    assert doc["report"]["sha256"] == hashlib.sha256(src).hexdigest()
    labels = {"vi": {"PASS": "ĐẠT", "FAIL": "KHÔNG ĐẠT", "INCONCLUSIVE": "CHƯA KẾT LUẬN",
                     "NOT_APPLICABLE": "KHÔNG ÁP DỤNG", "NEEDS_EVIDENCE": "CẦN BẰNG CHỨNG"},
              "en": {v: v for v in ("PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "NEEDS_EVIDENCE")}}
    for lang in ("vi", "en"):
        h = parse(out / f"dossier.{lang}.html")
        for test_id, v in verdicts.items():
            row = "".join(h.rows[test_id])
            assert labels[lang][v] in row, (lang, test_id, v, row)
        # a row the report did not run says so with a dash, never a verdict
        assert "".join(h.rows["UP-03"]).rstrip().endswith("—"), "".join(h.rows["UP-03"])


def test_profile_missing_a_field_names_field_and_clause(tmp_path):
    prof = json.loads(open(PROFILE, encoding="utf-8").read())
    del prof["ics"]["PW-02"]["vi"]
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "profile.json"
    path.write_text(json.dumps(prof, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    p = qcvn("dossier", "--profile", path, "--out", out)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "ics.PW-02.vi" in lines[0] and "QCVN 135 G1 PW-02" in lines[0], lines[0]
    assert not out.exists()
    assert os.listdir(tmp_path) == ["in"], os.listdir(tmp_path)


def test_non_empty_out_refused_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the lab's own file\n")
    p = qcvn("dossier", "--profile", PROFILE, "--out", out)
    assert p.returncode == 2 and "not empty" in p.stderr, p.stderr
    p = qcvn("dossier", "--profile", PROFILE, "--out", out, "--force")
    assert p.returncode == 2 and "no earlier dossier" in p.stderr, p.stderr
    assert (out / "notes.txt").read_text() == "the lab's own file\n"
    fresh = tmp_path / "fresh"
    assert qcvn("dossier", "--profile", PROFILE, "--out", fresh).returncode == 0
    first = (fresh / "dossier.json").read_text()
    assert qcvn("dossier", "--profile", PROFILE, "--out", fresh).returncode == 2
    p = qcvn("dossier", "--profile", PROFILE, "--out", fresh, "--force")
    assert p.returncode == 0, p.stderr
    assert json.loads((fresh / "dossier.json").read_text())["ics"] == json.loads(first)["ics"]
    assert sorted(os.listdir(tmp_path)) == ["fresh", "out"]


@pytest.mark.parametrize("opt,content,needle", [
    ("--report", "[1]", "top level must be a JSON object"),
    ("--report", '{"schema": "something-else/1", "results": []}', "not a qcvn-check report"),
    ("--report", "# not json", "not valid JSON at line 1"),
    ("--sbom", '{"bomFormat": "SPDX", "components": []}', "not a CycloneDX SBOM"),
])
def test_bad_report_or_sbom_is_one_line_and_leaves_nothing(tmp_path, opt, content, needle):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    p = qcvn("dossier", "--profile", PROFILE, "--out", tmp_path / "out", opt, bad)
    assert p.returncode == 2 and needle in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert os.listdir(tmp_path) == ["bad.json"]
