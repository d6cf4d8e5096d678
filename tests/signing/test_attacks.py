"""Forged certified copies, each made the way the "PDF Insecurity" attacks make them, and each
rejected for the right reason."""

from __future__ import annotations

import io
import re

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.certify import certify_copy
from signing.devpki import ensure_dev_pki
from signing.keys import load_pkcs12_signer
from signing.verify import FAILED, INDETERMINATE, PASSED, verify_pdf

N = generic.NameObject


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _forged_content(writer: IncrementalPdfFileWriter) -> generic.IndirectObject:
    font = writer.add_object(generic.DictionaryObject({
        N("/Type"): N("/Font"), N("/Subtype"): N("/Type1"), N("/BaseFont"): N("/Helvetica"),
    }))
    page = writer.root["/Pages"]["/Kids"][0]
    page["/Resources"] = generic.DictionaryObject({N("/Font"): generic.DictionaryObject({N("/F1"): font})})
    return writer.add_object(generic.StreamObject(stream_data=b"BT /F1 48 Tf 72 400 Td (HO TEN: GIA MAO) Tj ET"))


def page_rewrite(signed: bytes) -> bytes:
    """Incremental saving attack: a new revision that replaces the page's content stream."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0]
    page["/Contents"] = _forged_content(writer)
    writer.update_container(page)
    return _write(writer)


def overlay_annotation(signed: bytes) -> bytes:
    """An opaque FreeText annotation that covers part of the page with other words."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0]
    appearance = generic.StreamObject(
        {N("/Type"): N("/XObject"), N("/Subtype"): N("/Form"),
         N("/BBox"): generic.ArrayObject(map(generic.NumberObject, (0, 0, 400, 120)))},
        stream_data=b"1 1 1 rg 0 0 400 120 re f",
    )
    annotation = writer.add_object(generic.DictionaryObject({
        N("/Type"): N("/Annot"), N("/Subtype"): N("/FreeText"),
        N("/Rect"): generic.ArrayObject(map(generic.NumberObject, (100, 300, 500, 420))),
        N("/Contents"): generic.TextStringObject("Số tiền: 999.000.000 đồng"),
        N("/DA"): generic.TextStringObject("/Helv 24 Tf 0 g"),
        N("/AP"): generic.DictionaryObject({N("/N"): writer.add_object(appearance)}),
    }))
    page["/Annots"] = generic.ArrayObject([*page.get("/Annots", generic.ArrayObject()), annotation])
    writer.update_container(page)
    return _write(writer)


def _byte_range(signed: bytes) -> list[int]:
    match = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", signed))[-1]
    return [int(x) for x in match.groups()]


def second_byte_range(signed: bytes) -> bytes:
    """Signature wrapping: a second /ByteRange, hidden in the unsigned /Contents gap (so the signed
    bytes are unchanged), claims to cover a forged revision appended to the file."""
    appended = page_rewrite(signed)[len(signed):]
    _, a1, b0, _ = _byte_range(signed)
    hole = signed[a1:b0]
    signature_hex = hole[1:-1].rstrip(b"0")
    signature_hex += b"0" * (len(signature_hex) % 2)
    total = len(signed) + len(appended)
    injected = b"<" + signature_hex + b"> /ByteRange [0 %d %d %d]" % (a1, b0, total - b0)
    assert len(injected) < len(hole)
    return signed[:a1] + injected.ljust(len(hole), b" ") + signed[b0:] + appended


def relocated_signature(signed: bytes) -> bytes:
    """Signature wrapping by relocation: the field's /V re-pointed at a copy of the signature
    dictionary (same /Contents, same /ByteRange) in a revision that also forges the page."""
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    copy = writer.add_object(generic.DictionaryObject({N(k): v for k, v in sig.sig_object.items()}))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/FT") == "/Sig":
            field["/V"] = copy
            writer.update_container(field)
    page = writer.root["/Pages"]["/Kids"][0]
    page["/Contents"] = _forged_content(writer)
    writer.update_container(page)
    return _write(writer)


def flip_byte(signed: bytes, offset: int) -> bytes:
    data = bytearray(signed)
    data[offset] ^= 0x01
    return bytes(data)


def flip_hex_digit(signed: bytes, offset: int) -> bytes:
    """Change the hex digit at ``offset`` to another hex digit (one bit of the value it encodes):
    a plain byte flip turns "F" into "G", and the file then fails to parse instead of to verify."""
    data = bytearray(signed)
    digit = int(chr(data[offset]), 16) ^ 0x01
    data[offset] = ord(format(digit, "X" if chr(data[offset]).isupper() else "x"))
    return bytes(data)


def _verify(data: bytes, roots):
    return verify_pdf(data, roots=roots, allow_fetching=False)


def test_genuine_copy_passes(certified, dev_roots):
    report = _verify(certified.pdf, dev_roots)
    assert report.status == PASSED
    assert report.exit_code == 0


def test_incremental_page_rewrite_is_rejected(certified, dev_roots):
    report = _verify(page_rewrite(certified.pdf), dev_roots)
    assert report.status == FAILED
    assert {"MODIFIED_AFTER_SIGNING", "DOCMDP_VIOLATION"} <= set(report.reasons)
    assert report.signatures[0].intact and report.signatures[0].valid  # the old bytes still verify


def test_overlay_annotation_is_rejected(certified, dev_roots):
    report = _verify(overlay_annotation(certified.pdf), dev_roots)
    assert report.status == FAILED
    assert {"MODIFIED_AFTER_SIGNING", "DOCMDP_VIOLATION"} <= set(report.reasons)


def test_flipped_byte_in_signed_content_is_a_hash_failure(certified, dev_roots):
    _, a1, _, _ = _byte_range(certified.pdf)
    report = _verify(flip_byte(certified.pdf, a1 // 2), dev_roots)
    assert report.status == FAILED
    assert "HASH_FAILURE" in report.reasons


def test_flipped_byte_in_signature_value_is_rejected(certified, dev_roots):
    _, a1, b0, _ = _byte_range(certified.pdf)
    cms_der = bytes.fromhex(certified.pdf[a1 + 1: b0 - 1].decode())
    signature_value = PdfFileReader(io.BytesIO(certified.pdf)).embedded_signatures[0].signer_info["signature"].native
    where = cms_der.find(signature_value) + 10  # a byte of the RSA signature itself, as hex in the file
    report = _verify(flip_hex_digit(certified.pdf, a1 + 1 + 2 * where), dev_roots)
    assert report.status == FAILED
    assert "SIG_CRYPTO_FAILURE" in report.reasons


def test_second_byte_range_wrapping_is_rejected(certified, dev_roots):
    report = _verify(second_byte_range(certified.pdf), dev_roots)
    assert report.status == FAILED
    assert "FORMAT_FAILURE" in report.reasons


def test_relocated_signature_wrapping_is_rejected(certified, dev_roots):
    report = _verify(relocated_signature(certified.pdf), dev_roots)
    assert report.status == FAILED
    assert "DOCMDP_VIOLATION" in report.reasons
    assert set(report.reasons) & {"NOT_WHOLE_FILE", "MODIFIED_AFTER_SIGNING"}


@pytest.mark.parametrize("keep", [2 / 3, -8])
def test_truncated_file_is_a_format_failure(certified, dev_roots, keep):
    data = certified.pdf[: int(len(certified.pdf) * keep)] if keep > 0 else certified.pdf[:keep]
    report = _verify(data, dev_roots)
    assert report.status == FAILED
    assert "FORMAT_FAILURE" in report.reasons


def test_bytes_after_the_last_revision_are_rejected(certified, dev_roots):
    report = _verify(certified.pdf + b"99 0 obj\n<< /Type /Catalog >>\nendobj\n", dev_roots)
    assert report.status == FAILED
    assert "NOT_WHOLE_FILE" in report.reasons


@pytest.mark.parametrize("maker", ["pikepdf", "pil"])
def test_unsigned_pdf_is_rejected(source_pdf, pil_source_pdf, dev_roots, maker):
    report = _verify(source_pdf if maker == "pikepdf" else pil_source_pdf, dev_roots)
    assert report.status == FAILED
    assert "NO_SIGNATURE" in report.reasons
    assert report.exit_code == 1


def test_signer_from_untrusted_ca_is_rejected(tmp_path, source_pdf, dev_roots, new_stamp):
    other = ensure_dev_pki(tmp_path / "other-pki")  # same names, different keys: a look-alike CA
    copy = certify_copy(source_pdf, load_pkcs12_signer(other.signer_p12_path, other.password), new_stamp())
    report = _verify(copy.pdf, dev_roots)
    assert report.status == INDETERMINATE
    assert "NO_CERTIFICATE_CHAIN_FOUND" in report.reasons
    assert not report.signatures[0].trusted
    assert report.exit_code == 2


def test_revoked_signer_is_rejected(live_pki, source_pdf, new_stamp):
    copy = certify_copy(source_pdf, live_pki.signer("signer-revoked"), new_stamp(), tsa_url=live_pki.tsa_url,
                        level="B-T")
    report = verify_pdf(copy.pdf, roots=[live_pki.root])
    assert report.status == FAILED
    assert "REVOKED" in report.reasons


def test_record_mismatch_fails_an_otherwise_valid_copy(certified, dev_roots):
    assert verify_pdf(certified.pdf, roots=dev_roots, expected_sha256=certified.sha256).record_match is True
    report = verify_pdf(certified.pdf, roots=dev_roots, record_lookup=lambda sha: False)
    assert report.status == FAILED
    assert report.record_match is False
    assert "RECORD_MISMATCH" in report.reasons
