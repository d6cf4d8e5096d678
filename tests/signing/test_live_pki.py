"""Certification against a real test PKI with a live TSA, OCSP responder and CRLs on loopback."""

from __future__ import annotations

from datetime import UTC, datetime

from signing.certify import Level, certify_copy
from signing.verify import FAILED, INDETERMINATE, PASSED, verify_pdf


def test_b_lta_with_live_tsa_ocsp_crl_passes_offline(live_pki, source_pdf, new_stamp):
    signer = live_pki.signer("signer")
    copy = certify_copy(source_pdf, signer, new_stamp(), tsa_url=live_pki.tsa_url)
    assert copy.timestamp is not None
    # Offline: everything needed (OCSP, CRLs, certificates) must be inside the file.
    report = verify_pdf(copy.pdf, roots=[live_pki.root], allow_fetching=False)
    assert report.status == PASSED, report.to_dict()
    assert report.level == "B-LTA"
    kinds = [s.kind for s in report.signatures]
    assert kinds == ["signature", "document_timestamp"]
    sig = report.signatures[0]
    assert sig.timestamp_time == copy.timestamp
    assert sig.revocation == "good"
    assert sig.docmdp_level == "NO_CHANGES" and sig.docmdp_ok
    assert sig.modification_level == "LTA_UPDATES"


def test_revoked_signer_is_rejected_as_revoked(live_pki, source_pdf, new_stamp):
    # Revoked in 2024; the timestamp proves the signature was made after that.
    signer = live_pki.signer("signer-revoked")
    copy = certify_copy(source_pdf, signer, new_stamp(), tsa_url=live_pki.tsa_url, level=Level.B_T)
    report = verify_pdf(copy.pdf, roots=[live_pki.root])
    assert report.status == FAILED, report.to_dict()
    assert "REVOKED" in report.reasons
    assert report.signatures[0].revocation == "revoked"
    assert report.exit_code == 1


def test_expired_signer_is_rejected_as_expired(live_pki, source_pdf, new_stamp):
    # Valid 2020 only; the timestamp proves the signature was made long after.
    signer = live_pki.signer("signer-expired")
    copy = certify_copy(source_pdf, signer, new_stamp(), tsa_url=live_pki.tsa_url, level=Level.B_T)
    report = verify_pdf(copy.pdf, roots=[live_pki.root])
    assert report.status != PASSED, report.to_dict()
    assert "EXPIRED" in report.reasons


def test_b_t_good_signer_checked_online(live_pki, source_pdf, new_stamp):
    signer = live_pki.signer("signer")
    copy = certify_copy(source_pdf, signer, new_stamp(), tsa_url=live_pki.tsa_url, level=Level.B_T)
    report = verify_pdf(copy.pdf, roots=[live_pki.root])
    assert report.status == PASSED, report.to_dict()
    assert report.level == "B-T"
    assert report.signatures[0].revocation == "good"


def test_revocation_unknown_offline_is_indeterminate(live_pki, source_pdf, new_stamp):
    # B-T embeds no revocation answers: offline, nobody can say the signer was not revoked.
    signer = live_pki.signer("signer")
    copy = certify_copy(source_pdf, signer, new_stamp(), tsa_url=live_pki.tsa_url, level=Level.B_T)
    report = verify_pdf(copy.pdf, roots=[live_pki.root], allow_fetching=False)
    assert report.status == INDETERMINATE, report.to_dict()
    assert report.exit_code == 2
    assert report.reasons == ["TRY_LATER"]
    assert any("checked offline" in m for m in report.signatures[0].messages)


def test_dev_root_does_not_trust_test_pki(live_pki, source_pdf, dev_roots, new_stamp):
    signer = live_pki.signer("signer")
    copy = certify_copy(source_pdf, signer, new_stamp(), tsa_url=live_pki.tsa_url)
    report = verify_pdf(copy.pdf, roots=dev_roots, allow_fetching=False)
    assert report.status == INDETERMINATE
    assert "NO_CERTIFICATE_CHAIN_FOUND" in report.reasons


YEARS_LATER = datetime(2030, 1, 1, tzinfo=UTC)  # the "signer-short" certificate expires in mid-2027


def test_b_lta_still_verifies_after_the_signer_certificate_expired(live_pki, source_pdf, new_stamp):
    copy = certify_copy(source_pdf, live_pki.signer("signer-short"), new_stamp(), tsa_url=live_pki.tsa_url)
    report = verify_pdf(copy.pdf, roots=[live_pki.root], validation_time=YEARS_LATER)
    assert report.status == PASSED, report.to_dict()
    sig = report.signatures[0]
    assert sig.trusted and any("PAdES-LTA" in m for m in sig.messages)


def test_b_t_without_preserved_evidence_is_indeterminate_years_later(live_pki, source_pdf, new_stamp):
    copy = certify_copy(source_pdf, live_pki.signer("signer-short"), new_stamp(), tsa_url=live_pki.tsa_url,
                        level=Level.B_T)
    report = verify_pdf(copy.pdf, roots=[live_pki.root], validation_time=YEARS_LATER)
    assert report.status == INDETERMINATE, report.to_dict()


def test_b_b_signer_with_revocation_pointers_offline_is_indeterminate(live_pki, source_pdf, new_stamp):
    # The signer's certificate names an OCSP responder and a CRL, the file embeds neither answer:
    # offline this must be a report saying revocation could not be checked, never an exception.
    copy = certify_copy(source_pdf, live_pki.signer("signer"), new_stamp(), level=Level.B_B)
    report = verify_pdf(copy.pdf, roots=[live_pki.root], allow_fetching=False)
    assert report.status == INDETERMINATE, report.to_dict()
    assert report.exit_code == 2
    assert report.level == "B-B"
    assert report.reasons == ["TRY_LATER"]  # ETSI EN 319 102-1: revocation status not obtainable
    sig = report.signatures[0]
    assert sig.status == INDETERMINATE and sig.reasons == ("TRY_LATER",)
    assert sig.intact and sig.valid and not sig.trusted
    assert sig.revocation == "unknown"
    assert any(m.startswith("revocation could not be checked offline") for m in sig.messages), sig.messages


def test_timestamp_from_an_authority_not_configured_only_loses_the_proof_of_time(
    live_pki, source_pdf, new_stamp, dev_signer, dev_roots
):
    """The signer chains to a configured root, its timestamp authority does not: the signature
    stands (validated as of now), and the report says the signing time is not proven."""
    copy = certify_copy(source_pdf, dev_signer, new_stamp(), tsa_url=live_pki.tsa_url, level=Level.B_T)
    report = verify_pdf(copy.pdf, roots=dev_roots, allow_fetching=False)
    assert report.status == PASSED, report.to_dict()
    sig = report.signatures[0]
    assert sig.trusted and "TIMESTAMP_UNVERIFIED" in sig.reasons
    assert any("does not chain to a configured root" in m and "not proven" in m for m in sig.messages)
