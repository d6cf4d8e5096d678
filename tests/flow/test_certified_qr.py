"""The certified copy's QR code, read back from the rendered copy: the dossier, the paper, its
register number, the document's hash, its digitization result code and where to verify it — and no
personal data."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

from core.result_code import parse_result_qr, result_code_valid
from core.settings import Settings
from flow.run import process_paths
from pipeline.qr import read_qr_codes
from storage.objects import open_store

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dossier"


def test_qr_of_a_rendered_certified_copy(tmp_path: Path) -> None:
    scan = tmp_path / "giay-chung-nhan-ket-hon.jpg"
    shutil.copy(SAMPLES / scan.name, scan)
    settings = Settings(data_dir=tmp_path / "data", workers=1, public_base_url="https://sohoa.example.gov.vn/")
    [document] = process_paths([scan], settings, dossier_code="HS-QR-1", procedure_code="1.000894").documents
    copy = open_store(settings.resolved_store_url).get_bytes(document.certified_key)

    document_pdf = pdfium.PdfDocument(copy)
    document_pdf.init_forms()  # the stamp is the certification signature's widget: a form field's appearance
    page = document_pdf[0]
    image = np.asarray(page.render(scale=300 / 72, may_draw_forms=True).to_pil().convert("L"))
    [payload] = [p for p in read_qr_codes(image) if parse_result_qr(p)]
    qr = parse_result_qr(payload)
    assert qr["MaHoSo"] == "HS-QR-1" and qr["MaTTHC"] == "1.000894" and qr["TenGiayTo"] == "marriage_certificate"
    assert qr["SoChungThuc"] == document.certification_number and qr["SHA256"] == document.pdf_sha256
    assert qr["URL"] == f"https://sohoa.example.gov.vn/auditor#sha256={document.pdf_sha256}"
    assert qr["SoDinhDanh"] == ""  # no personal data on a copy that travels
    assert result_code_valid(qr["MaKetQua"]) and qr["MaKetQua"].startswith(settings.agency_code)
    # Personal ID numbers (9-digit ID cards, 12-digit citizen IDs) read from the paper: none on the QR.
    # Shorter numbers (a register's "Số: 279") may occur by chance inside the document's hash.
    pids = {f["value"] for f in document.fields.values() if re.fullmatch(r"\d{9}|\d{12}", str(f.get("value") or ""))}
    assert pids  # the marriage certificate names both spouses' IDs
    for pid in pids:
        assert pid not in payload
