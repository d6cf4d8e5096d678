"""The verdict corpus: signed files of every kind an auditor meets, each with the verdict ETSI EN
319 102-1 (and pyHanko's own tests) expect beside it, made with a certomancer PKI (live TSA, OCSP and
CRLs on loopback) and the development PKI. One row a case; every case must come out as expected.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm

from signing.certify import Level, certify_copy
from signing.verify import FAILED, INDETERMINATE, PASSED, verify_pdf
from tests.signing.test_algorithm_policy import AFTER, BEFORE, document_timestamp, preserved, signed_at
from tests.signing.test_attacks import (
    overlay_annotation,
    page_rewrite,
    relocated_signature,
    second_byte_range,
)
from tests.signing.test_cosigned import CO_SIGNERS, DECISION, approve
from tests.signing.test_trust import _signed_without_chain
from tests.support.hybrid_pdf import hybrid_pdf, redirect_page_in_hybrid_update


@dataclass(frozen=True)
class Kit:
    """What the cases are made from."""

    live: object  # the certomancer PKI
    dev_signer: object
    dev_roots: list
    source: bytes
    stamp: Callable


def _certified_allowing_forms(kit: Kit) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(kit.source), strict=False)
    meta = signers.PdfSignatureMetadata(field_name="Certification", md_algorithm="sha256", certify=True,
                                        docmdp_permissions=MDPPerm.FILL_FORMS,
                                        subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(writer, meta, signer=kit.live.signer("signer").signer).getvalue()


def _co_signed(kit: Kit) -> bytes:
    pdf = hybrid_pdf(DECISION)
    for number, label in enumerate(CO_SIGNERS, start=1):
        pdf = approve(pdf, kit.live.signer(label), f"Signature{number}")
    return pdf


def _dev_copy(kit: Kit) -> bytes:
    return certify_copy(kit.source, kit.dev_signer, kit.stamp()).pdf


def _live_copy(kit: Kit, label: str, level: Level) -> bytes:
    return certify_copy(kit.source, kit.live.signer(label), kit.stamp(), tsa_url=kit.live.tsa_url, level=level).pdf


DEV, LIVE = "dev", "live"  # which roots the case is verified against
OLD = "live+old"  # the certomancer root and a root of 2000-2020, expired since
LATE = datetime(2021, 5, 4, 8, 0, tzinfo=UTC)  # after the old root expired
# name, how the file is made, the roots, whether revocation may be fetched, the expected verdict
CASES: list[tuple[str, Callable[[Kit], bytes], str, bool, str]] = [
    ("certified copy (B-B)", _dev_copy, DEV, False, PASSED),
    ("certified copy, page rewritten in an update", lambda k: page_rewrite(_dev_copy(k)), DEV, False, FAILED),
    ("certified copy, annotation added", lambda k: overlay_annotation(_dev_copy(k)), DEV, False, FAILED),
    ("certified copy, second /ByteRange", lambda k: second_byte_range(_dev_copy(k)), DEV, False, FAILED),
    ("certified copy, signature relocated", lambda k: relocated_signature(_dev_copy(k)), DEV, False, FAILED),
    ("certified copy, bytes after %%EOF", lambda k: _dev_copy(k) + b"\n1 0 obj\n<<>>\nendobj\n", DEV, False, FAILED),
    ("certified copy, truncated", lambda k: _dev_copy(k)[:-200], DEV, False, FAILED),
    ("unsigned PDF", lambda k: k.source, DEV, False, FAILED),
    # An opaque annotation written over the page: pyHanko's difference analysis does not accept it as
    # a mere annotation (it rewrites the page's /Annots with an appearance of its own), so it fails.
    ("approval signature, then an opaque annotation", lambda k: overlay_annotation(
        approve(k.source, k.live.signer("signer"), "Approval")), LIVE, True, FAILED),
    ("approval signature, then a page rewritten", lambda k: page_rewrite(
        approve(k.source, k.live.signer("signer"), "Approval")), LIVE, True, FAILED),
    ("hybrid-reference file co-signed by three", _co_signed, LIVE, True, PASSED),
    ("co-signed, page redirected in a hybrid update", lambda k: redirect_page_in_hybrid_update(
        _co_signed(k), ["forged"]), LIVE, True, FAILED),
    ("certified (fill forms), then approved", lambda k: approve(
        _certified_allowing_forms(k), k.live.signer("seal"), "Approval"), LIVE, True, PASSED),
    ("B-LTA, checked offline", lambda k: certify_copy(
        k.source, k.live.signer("signer"), k.stamp(), tsa_url=k.live.tsa_url).pdf, LIVE, False, PASSED),
    ("B-T, revocation checked online", lambda k: _live_copy(k, "signer", Level.B_T), LIVE, True, PASSED),
    ("B-T, revocation unavailable offline", lambda k: _live_copy(k, "signer", Level.B_T), LIVE, False,
     INDETERMINATE),
    ("signer revoked before signing", lambda k: _live_copy(k, "signer-revoked", Level.B_T), LIVE, True, FAILED),
    ("signer expired before signing", lambda k: _live_copy(k, "signer-expired", Level.B_T), LIVE, True, FAILED),
    ("signer's CA not in the file nor configured", lambda k: _signed_without_chain(
        k.source, k.live.signer("signer")), LIVE, True, INDETERMINATE),
    ("signer trusted, timestamp authority not configured", lambda k: certify_copy(
        k.source, k.dev_signer, k.stamp(), tsa_url=k.live.tsa_url, level=Level.B_T).pdf, DEV, False, PASSED),
    ("chain to a root that is not configured", _dev_copy, LIVE, False, INDETERMINATE),
    # Dated algorithm rules (default policy: SHA-1 and RSA keys under 2048 bits only for signatures
    # proven before 01/01/2014, MD5 never). Signed and timestamped at frozen times, kept as B-LTA.
    ("SHA-1 of 2012, preserved (proven before the cut-off)", lambda k: preserved(
        k.source, k.live, "legacy", BEFORE, md="sha1"), LIVE, False, PASSED),
    ("SHA-1 of 2015, preserved (proven after the cut-off)", lambda k: preserved(
        k.source, k.live, "legacy", AFTER, md="sha1"), LIVE, False, INDETERMINATE),
    ("SHA-1, no timestamp", lambda k: signed_at(
        k.source, k.live, "legacy", BEFORE, md="sha1", timestamped=False), LIVE, True, INDETERMINATE),
    ("MD5 of 2012, preserved", lambda k: preserved(k.source, k.live, "legacy", BEFORE, md="md5"), LIVE, False,
     INDETERMINATE),
    ("RSA 1024-bit key of 2012, preserved", lambda k: preserved(
        k.source, k.live, "legacy-1024", BEFORE, md="sha256"), LIVE, False, PASSED),
    ("RSA 1024-bit key of 2015, preserved", lambda k: preserved(
        k.source, k.live, "legacy-1024", AFTER, md="sha256"), LIVE, False, INDETERMINATE),
    ("SHA-256 signature, then a SHA-1 document timestamp", lambda k: document_timestamp(
        signed_at(k.source, k.live, "legacy", BEFORE), k.live, BEFORE, md="sha1"), LIVE, True, INDETERMINATE),
    # A trust root that has expired (2000-2020) anchors only what is proven older than its expiry.
    ("expired root, no timestamp", lambda k: signed_at(
        k.source, k.live, "old-signer", BEFORE, timestamped=False), OLD, True, INDETERMINATE),
    ("expired root, signature of 2012 preserved", lambda k: preserved(
        k.source, k.live, "old-signer-2019", BEFORE, md="sha256", crl_repo="old-root"), OLD, False, PASSED),
    ("expired root, signature of 2021 preserved", lambda k: preserved(
        k.source, k.live, "old-signer", LATE, md="sha256", crl_repo="old-root"), OLD, False, INDETERMINATE),
]
# The sub-indication (or note) each of those cases must name, beside its verdict.
REASONS = {
    "SHA-1 of 2012, preserved (proven before the cut-off)": "LEGACY_ALGORITHM",
    "SHA-1 of 2015, preserved (proven after the cut-off)": "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    "SHA-1, no timestamp": "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    "MD5 of 2012, preserved": "CRYPTO_CONSTRAINTS_FAILURE",
    "RSA 1024-bit key of 2012, preserved": "LEGACY_ALGORITHM",
    "RSA 1024-bit key of 2015, preserved": "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    "SHA-256 signature, then a SHA-1 document timestamp": "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    "expired root, no timestamp": "OUT_OF_BOUNDS_NO_POE",
    "expired root, signature of 2021 preserved": "OUT_OF_BOUNDS_NO_POE",
}


@pytest.fixture(scope="module")
def kit(live_pki, dev_signer, dev_roots, source_pdf, new_stamp) -> Kit:
    return Kit(live_pki, dev_signer, dev_roots, source_pdf, new_stamp)


@pytest.mark.parametrize(("name", "make", "roots", "fetch", "expected"), CASES, ids=[c[0] for c in CASES])
def test_verdict(kit: Kit, name: str, make, roots: str, fetch: bool, expected: str) -> None:
    anchors = {DEV: kit.dev_roots, LIVE: [kit.live.root], OLD: [kit.live.root, kit.live.old_root]}[roots]
    report = verify_pdf(make(kit), roots=anchors, allow_fetching=fetch)
    assert report.status == expected, (name, report.reasons, report.messages,
                                       [(s.field_name, s.reasons, s.messages) for s in report.signatures])
    if name in REASONS:
        assert REASONS[name] in report.reasons, (name, report.reasons, report.signatures[0].messages)
