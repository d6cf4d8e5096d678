"""Papers handed in already signed: kept byte for byte, their signatures verified at reception and
recorded with the dossier, and the searchable copy says it came from a signed original."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
from PIL import Image
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from core.settings import Settings
from flow.run import process_paths
from signing.keys import load_signer
from storage.audit import verify_chain
from storage.db import open_database
from storage.objects import open_store
from storage.records import dossier_by_code

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dossier"


def _signed_pdf(settings: Settings) -> bytes:
    """The sample marriage certificate as a PDF, signed (approval, PAdES) by the agency's key."""
    buf = io.BytesIO()
    Image.open(SAMPLES / "giay-chung-nhan-ket-hon.jpg").save(buf, "PDF", resolution=300)
    with pikepdf.open(io.BytesIO(buf.getvalue())) as pdf:
        clean = io.BytesIO()
        pdf.save(clean)
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    with load_signer(settings) as signer:
        return signers.sign_pdf(IncrementalPdfFileWriter(clean), meta, signer=signer.signer).getvalue()


def test_signed_original_is_verified_and_recorded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    original = tmp_path / "giay-chung-nhan-ket-hon-ky-so.pdf"
    original.write_bytes(_signed_pdf(settings))

    result = process_paths([original], settings, dossier_code="HS-KY-SO-1", certify=False)

    db = open_database(settings.resolved_database_url)
    [signed] = dossier_by_code(db, "HS-KY-SO-1").signed_originals
    assert signed.name == original.name and signed.status == "PASSED", signed
    [sig] = signed.signatures
    assert sig["status"] == "PASSED" and "DEVELOPMENT ONLY" in sig["signer"]
    store = open_store(settings.resolved_store_url)
    assert store.get_bytes(f"sha256/{signed.sha256[:2]}/{signed.sha256[2:4]}/{signed.sha256}") == original.read_bytes()
    [document] = result.documents
    with pikepdf.open(io.BytesIO(store.get_bytes(document.pdf_key))) as pdf:
        assert "chữ ký số" in str(pdf.docinfo["/Subject"])
    assert verify_chain(db).ok


def test_a_broken_signature_is_recorded_as_failed_and_the_paper_still_digitized(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    data = bytearray(_signed_pdf(settings))
    start = data.index(b"stream", len(data) // 4)  # inside the scan's image data, under the signature
    data[start + 200] ^= 0x01
    original = tmp_path / "da-sua.pdf"
    original.write_bytes(bytes(data))

    result = process_paths([original], settings, dossier_code="HS-KY-SO-2", certify=False)

    [signed] = dossier_by_code(open_database(settings.resolved_database_url), "HS-KY-SO-2").signed_originals
    assert signed.status == "FAILED" and signed.reasons
    assert len(result.documents) == 1 and result.documents[0].done
