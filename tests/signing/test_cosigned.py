"""Documents signed by several people, one after another, as provincial decisions are: the officer,
the seal, the official gazette. Each later signature is an incremental update the earlier ones
allow; each must still verify, and a hybrid-reference update that quietly redefines the page
under them must not.
"""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm

from signing.keys import AgencySigner
from signing.verify import FAILED, PASSED, verify_pdf
from tests.support.hybrid_pdf import hybrid_pdf, redirect_page_in_hybrid_update

DECISION = ["UY BAN NHAN DAN TINH QUANG NGAI", "QUYET DINH so 123/QD-UBND", "Ve viec phe duyet ke hoach"]
CO_SIGNERS = ("signer", "seal", "gazette")


def approve(pdf: bytes, signer: AgencySigner, field_name: str) -> bytes:
    """An approval signature (PAdES, no DocMDP) added as an incremental update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(field_name=field_name, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(writer, meta, signer=signer.signer).getvalue()


@pytest.fixture(scope="module")
def co_signed(live_pki) -> bytes:
    """A hybrid-reference decision signed by three signers in turn."""
    pdf = hybrid_pdf(DECISION)
    for number, label in enumerate(CO_SIGNERS, start=1):
        pdf = approve(pdf, live_pki.signer(label), f"Signature{number}")
    return pdf


def test_three_signatures_on_a_hybrid_file_all_pass(co_signed, live_pki) -> None:
    report = verify_pdf(co_signed, roots=[live_pki.root])
    assert report.status == PASSED, report.to_dict()
    assert [s.status for s in report.signatures] == [PASSED] * 3
    signers_seen = [s.signer_subject for s in report.signatures]
    assert any("UBND phường Bến Nghé" in s for s in signers_seen)
    assert any("UBND tỉnh Quảng Ngãi" in s for s in signers_seen)
    assert any("Công báo" in s for s in signers_seen)
    assert sorted(s.revision for s in report.signatures) == [1, 2, 3]  # each covers its own revision
    first = min(report.signatures, key=lambda s: s.revision)
    assert first.modification_level == "FORM_FILLING"
    assert any("add signatures" in m for m in first.messages)
    assert any("hybrid-reference" in m for m in report.messages)


def test_page_redirected_in_a_hybrid_update_fails(co_signed, live_pki) -> None:
    forged = redirect_page_in_hybrid_update(co_signed, ["QUYET DINH so 999/QD-UBND (forged)"])
    report = verify_pdf(forged, roots=[live_pki.root])
    assert report.status == FAILED, report.to_dict()
    assert all("MODIFIED_AFTER_SIGNING" in s.reasons for s in report.signatures)


def test_certified_then_approved_passes_when_the_certification_allows_it(live_pki, source_pdf) -> None:
    """A certification that allows form filling (DocMDP 2), then an approval signature: both valid.
    (sohoa's own copies are certified "no changes": pyHanko will not even sign one again, and any
    later revision of one fails as DOCMDP_VIOLATION, see test_attacks.)"""
    writer = IncrementalPdfFileWriter(io.BytesIO(source_pdf), strict=False)
    meta = signers.PdfSignatureMetadata(field_name="Certification", md_algorithm="sha256", certify=True,
                                        docmdp_permissions=MDPPerm.FILL_FORMS,
                                        subfilter=fields.SigSeedSubFilter.PADES)
    allowing = signers.sign_pdf(writer, meta, signer=live_pki.signer("signer").signer).getvalue()
    report = verify_pdf(approve(allowing, live_pki.signer("seal"), "Approval"), roots=[live_pki.root])
    assert report.status == PASSED, report.to_dict()
    assert [s.status for s in report.signatures] == [PASSED, PASSED]
    assert report.signatures[0].docmdp_level == MDPPerm.FILL_FORMS.name
