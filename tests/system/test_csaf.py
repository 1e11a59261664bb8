"""CSAF 2.0 (QCVN 135 G2 / EN 303 645 5.2-1): the advisories kept in security/advisories/ are valid against the
CSAF 2.0 JSON schema kept in tests/schemas/csaf (Debian's python3-jsonschema), so is the publisher of the
provider metadata, and the camera serves the vendor's provider metadata, without a login like security.txt, at /.well-known/csaf/provider-metadata.json."""
import glob
import json
import os

import jsonschema
import pytest

from conftest import REPO

SCHEMAS = os.path.join(REPO, "tests", "schemas", "csaf")
ADVISORIES = sorted(glob.glob(os.path.join(REPO, "security", "advisories", "*.json")))
PROVIDER = os.path.join(REPO, "security", "provider-metadata.json")


def validator():
    with open(os.path.join(SCHEMAS, "csaf_json_schema.json")) as f:
        schema = json.load(f)
    store = {}
    for name in ("cvss-v2.0.json", "cvss-v3.0.json", "cvss-v3.1.json"):
        with open(os.path.join(SCHEMAS, name)) as f:
            s = json.load(f)
        store[s["$id"]] = s
        store["https://www.first.org/cvss/" + name] = s
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    return jsonschema.Draft202012Validator(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())


def test_there_are_advisories():
    assert ADVISORIES


@pytest.mark.parametrize("path", ADVISORIES, ids=[os.path.basename(p) for p in ADVISORIES])
def test_advisory_is_valid_csaf_2_0(path):
    with open(path) as f:
        doc = json.load(f)
    errors = list(validator().iter_errors(doc))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:10]]
    # CSAF 5.1: the file name is the tracking id in lower case
    assert os.path.basename(path) == doc["document"]["tracking"]["id"].lower() + ".json"


def test_schema_refuses_a_broken_advisory():
    with open(ADVISORIES[0]) as f:
        doc = json.load(f)
    doc["document"]["tracking"]["status"] = "published-ish"
    del doc["document"]["publisher"]
    assert len(list(validator().iter_errors(doc))) >= 2


def test_provider_metadata_publisher_is_valid_csaf():
    # The provider metadata's schema (CSAF 2.0 7.1.20) takes its publisher from the CSAF schema kept here; the
    # other members are checked against the standard in the test below.
    v = validator()
    ref = {"$ref": v.schema["$id"] + "#/properties/document/properties/publisher"}
    pub = jsonschema.Draft202012Validator(ref, resolver=v.resolver, format_checker=jsonschema.FormatChecker())
    with open(PROVIDER) as f:
        doc = json.load(f)
    errors = list(pub.iter_errors(doc["publisher"]))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert list(pub.iter_errors(dict(doc["publisher"], category="camera maker")))


def test_provider_metadata_served_without_login(camera_module):
    cam = camera_module
    r = cam.request("GET", "/.well-known/csaf/provider-metadata.json")
    assert r.status == 200, r
    assert r.header("content-type").startswith("application/json")
    served = r.json()
    with open(PROVIDER) as f:
        assert served == json.load(f)
    # CSAF 2.0 7.1.20 (provider-metadata.json): the members a provider metadata document must have
    assert {"canonical_url", "last_updated", "list_on_CSAF_aggregators", "metadata_version",
            "mirror_on_CSAF_aggregators", "publisher", "role"} <= set(served)
    assert served["metadata_version"] == "2.0" and served["role"] in ("csaf_publisher", "csaf_provider",
                                                                      "csaf_trusted_provider")
    assert served["canonical_url"].endswith("/.well-known/csaf/provider-metadata.json")
    assert served["canonical_url"].startswith("https://")


def test_provider_metadata_refuses_other_methods(camera_module):
    r = camera_module.request("POST", "/.well-known/csaf/provider-metadata.json", data=b"{}",
                              content_type="application/json")
    assert 400 <= r.status < 500, r
