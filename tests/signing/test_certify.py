"""Certifying a copy: stamp, DocMDP certification signature as the last, incremental write."""

from __future__ import annotations

import hashlib
import io

import pikepdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm

from core.errors import InputError
from signing.certify import certify_copy
from signing.stamp import MARGIN_PT, STAMP_HEIGHT_PT, STAMP_WIDTH_PT
from signing.verify import PASSED, verify_pdf


def test_certified_copy_record(certified, source_pdf, dev_signer):
    assert certified.document_sha256 == hashlib.sha256(source_pdf).hexdigest()
    assert certified.sha256 == hashlib.sha256(certified.pdf).hexdigest()
    assert certified.signer == dev_signer.subject
    assert certified.certification_number == "CT-2026-000123"
    assert certified.timestamp is None


def test_signature_is_a_docmdp_certification_and_the_last_write(certified):
    reader = PdfFileReader(io.BytesIO(certified.pdf))
    [sig] = reader.embedded_signatures
    assert sig.docmdp_level == MDPPerm.NO_CHANGES
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert "Chứng thực bản sao điện tử từ bản chính" in str(sig.sig_object["/Reason"])
    # Two revisions: the pikepdf rewrite with the stamp, then the signature appended to it.
    assert reader.xrefs.total_revisions == 2
    start, _, offset_b, length_b = sig.byte_range
    assert start == 0 and offset_b + length_b == len(certified.pdf)


def test_stamp_has_a_strip_of_its_own(certified, source_pdf):
    """The stamp goes in a strip added below the page, so it covers nothing of the original."""
    with pikepdf.open(io.BytesIO(source_pdf)) as original, pikepdf.open(io.BytesIO(certified.pdf)) as pdf:
        before, after = original.pages[-1].mediabox, pdf.pages[-1].mediabox
        assert float(after[1]) == float(before[1]) - (STAMP_HEIGHT_PT + 2 * MARGIN_PT)
        assert [float(v) for v in after[2:]] == [float(v) for v in before[2:]]
        page = pdf.pages[-1]
        forms = [x for x in page.resources.XObject.values() if x.get("/Subtype") == "/Form"]
        stamp = next(f for f in forms if "/StampQR" in f.Resources.XObject)
        assert stamp.Resources.XObject.StampText.ImageMask
        assert float(stamp.BBox[2]) == STAMP_WIDTH_PT


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_rotated_pages_are_stamped_upright(source_pdf, dev_signer, dev_roots, new_stamp, rotate):
    with pikepdf.open(io.BytesIO(source_pdf)) as pdf:
        pdf.pages[0].obj.Rotate = rotate
        out = io.BytesIO()
        pdf.save(out)
    copy = certify_copy(out.getvalue(), dev_signer, new_stamp())
    assert verify_pdf(copy.pdf, roots=dev_roots).status == PASSED
    with pikepdf.open(io.BytesIO(copy.pdf)) as pdf:
        content = pdf.pages[0].obj.Contents[-1].read_bytes().decode()
        a, b, c, d = (float(v) for v in content.split(" cm")[0].split()[-6:-2])
        # The stamp's own axes are turned by the page's /Rotate in the opposite sense.
        expected = {90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}[rotate]
        assert [round(x / max(abs(a), abs(b))) for x in (a, b, c, d)] == list(expected)


def test_pil_made_pdf_is_normalised_and_certified(pil_source_pdf, dev_signer, dev_roots, new_stamp):
    copy = certify_copy(pil_source_pdf, dev_signer, new_stamp())
    assert verify_pdf(copy.pdf, roots=dev_roots).status == PASSED


def test_recertifying_a_signed_copy_replaces_its_signature(certified, dev_signer, dev_roots, new_stamp):
    again = certify_copy(certified.pdf, dev_signer, new_stamp("CT-2026-000124"))
    report = verify_pdf(again.pdf, roots=dev_roots)
    assert report.status == PASSED
    assert len(report.signatures) == 1


@pytest.mark.parametrize("data", [b"", b"hello, not a pdf", b"%PDF-1.7\n garbage"])
def test_bad_input_is_an_input_error(data, dev_signer, new_stamp):
    with pytest.raises(InputError):
        certify_copy(data, dev_signer, new_stamp())


def test_encrypted_input_is_an_input_error(source_pdf, dev_signer, new_stamp):
    with pikepdf.open(io.BytesIO(source_pdf)) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(owner="o", user="u"))
    with pytest.raises(InputError, match="encrypted"):
        certify_copy(out.getvalue(), dev_signer, new_stamp())


def test_too_small_placeholder_is_resized(monkeypatch, source_pdf, dev_signer, dev_roots, new_stamp):
    import signing.certify

    monkeypatch.setattr(signing.certify, "RESERVED_B_B", 64)
    copy = certify_copy(source_pdf, dev_signer, new_stamp())
    assert verify_pdf(copy.pdf, roots=dev_roots).status == PASSED


def test_the_stamp_words_are_in_the_text_layer(certified) -> None:
    """Searching a copy for its certification number finds it: the stamp's words are laid over its
    stencil as invisible text (a copy of a file sohoa did not digitize: the stamp on its last page)."""
    import subprocess

    from signing.stamp import CERTIFICATION_STATEMENT

    text = subprocess.run(["pdftotext", "-", "-"], input=certified.pdf, capture_output=True, check=True).stdout.decode()
    assert f"Số chứng thực: {certified.certification_number}" in text
    assert CERTIFICATION_STATEMENT in text and "Người chứng thực: Nguyễn Thị Minh Khai" in text
