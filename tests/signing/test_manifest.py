"""Signed dossier manifests: RFC 8785 JSON with a detached CMS signature."""

from __future__ import annotations

import json

from signing.manifest import build_manifest, canonical, sign_manifest, verify_manifest
from signing.verify import FAILED, INDETERMINATE, PASSED

MANIFEST = {
    "dossier": "000.00.19.H99-261124-0001",
    "objects": {"sha256/ab/cd/abcd": "ab" * 32, "sha256/12/34/1234": "12" * 32},
    "fields": {"full_name": "NGUYỄN VĂN AN", "date_of_birth": "1990-05-17", "area_m2": "120.5"},
    "documents": 2,
}


def test_sign_and_verify(dev_signer, dev_roots):
    data = canonical(MANIFEST)
    assert data == canonical(json.loads(data))  # stable under re-serialisation
    cms = sign_manifest(MANIFEST, dev_signer)
    report = verify_manifest(data, cms, dev_roots)
    assert report.status == PASSED, report
    assert report.canonical and report.intact and report.trusted
    assert report.exit_code == 0


def test_changed_field_fails(dev_signer, dev_roots):
    cms = sign_manifest(MANIFEST, dev_signer)
    forged = canonical({**MANIFEST, "fields": {**MANIFEST["fields"], "full_name": "NGUYỄN VĂN BÌNH"}})
    report = verify_manifest(forged, cms, dev_roots)
    assert report.status == FAILED and "HASH_FAILURE" in report.reasons


def test_untrusted_root_and_garbage_signature(dev_signer, live_pki):
    cms = sign_manifest(MANIFEST, dev_signer)
    report = verify_manifest(canonical(MANIFEST), cms, [live_pki.root])
    assert report.status == INDETERMINATE and "NO_CERTIFICATE_CHAIN_FOUND" in report.reasons
    broken = verify_manifest(canonical(MANIFEST), b"\x30\x03\x02\x01\x00", [live_pki.root])
    assert broken.status == FAILED and "FORMAT_FAILURE" in broken.reasons


def test_non_canonical_bytes_are_noted(dev_signer, dev_roots):
    pretty = json.dumps(MANIFEST, indent=2, ensure_ascii=False).encode()
    cms = sign_manifest(MANIFEST, dev_signer)
    report = verify_manifest(pretty, cms, dev_roots)
    assert report.status == FAILED  # not the signed bytes
    assert not report.canonical


def test_build_manifest_normalises_text(dev_signer, dev_roots):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "NGUYỄN VĂN AN")
    manifest = build_manifest("H99-0001", {"sha256/ab/cd/x": "ab" * 32},
                              {"doc-1": {"full_name": decomposed}})
    assert manifest["fields"]["doc-1"]["full_name"] == unicodedata.normalize("NFC", decomposed)
    report = verify_manifest(canonical(manifest), sign_manifest(manifest, dev_signer), dev_roots)
    assert report.status == PASSED


def test_offline_without_revocation_data_is_indeterminate(live_pki):
    # The signer's certificate names an OCSP responder and a CRL; a detached CMS carries neither.
    cms = sign_manifest(MANIFEST, live_pki.signer("signer"))
    report = verify_manifest(canonical(MANIFEST), cms, [live_pki.root], allow_fetching=False)
    assert report.status == INDETERMINATE and report.reasons == ["TRY_LATER"], report
    assert report.exit_code == 2 and report.intact and report.valid and not report.trusted
    assert any(m.startswith("revocation could not be checked offline") for m in report.messages)
    online = verify_manifest(canonical(MANIFEST), cms, [live_pki.root])
    assert online.status == PASSED, online
