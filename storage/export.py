"""Export of a dossier for the national public service portal (Cổng Dịch vụ công quốc gia), in the
portal's field names: MaHoSo, MaTTHC, and per result paper DuocSoHoa (digitized), DuocTaiSuDung
(reused from an earlier digitization), MaGiayToKetQua (the result paper's code: the certification
number of its certified copy, else the record's own code) and DuongDanTepTinKetQua (a download
link: a presigned URL on S3, a file URL on a local store)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.doctypes import PORTAL_NAMES
from core.errors import InputError
from storage.db import Database
from storage.objects import ObjectStore
from storage.records import DocumentInfo, dossier_by_code


def result_code(doc: DocumentInfo) -> str:
    """MaGiayToKetQua: the certification number if certified, else a stable code of the record."""
    if doc.certified:
        return doc.certified[-1].certification_number
    return f"SOHOA-{doc.dossier_code}-{doc.id}"


def _document_entry(doc: DocumentInfo, store: ObjectStore, expires: timedelta) -> dict[str, Any]:
    key = doc.certified[-1].object_key if doc.certified else doc.pdf_key
    sha = doc.certified[-1].sha256 if doc.certified else doc.pdf_sha256
    return {
        "TenGiayTo": PORTAL_NAMES.get(doc.doc_type, doc.doc_type),
        "LoaiGiayTo": doc.doc_type,
        "MaGiayToKetQua": result_code(doc),
        "DuongDanTepTinKetQua": store.presigned_url(key, expires),
        "DuocSoHoa": 1,
        "DuocTaiSuDung": 1 if doc.reused_from is not None else 0,
        "DuocChungThuc": 1 if doc.certified else 0,
        "SoTrang": doc.page_count,
        "MaBam": sha,  # SHA-256 of the file the link serves
        "TrangThaiKiemTra": doc.review_state,
    }


def export_dossier(
    db: Database, store: ObjectStore, code: str, expires: timedelta = timedelta(days=7)
) -> dict[str, Any]:
    """One dossier as the portal's JSON object."""
    dossier = dossier_by_code(db, code)
    if dossier is None:
        raise InputError(f"no dossier with code {code!r}")
    docs = [_document_entry(d, store, expires) for d in dossier.documents]
    return {
        "MaHoSo": dossier.code,
        "MaTTHC": dossier.procedure_code,
        "CoQuanTiepNhan": dossier.agency,
        "SoDinhDanhNguoiNop": dossier.applicant_personal_id,
        "TrangThaiHoSo": dossier.status,
        "DuocSoHoa": 1 if docs and all(d["DuocSoHoa"] for d in docs) else 0,
        "DuocTaiSuDung": 1 if any(d["DuocTaiSuDung"] for d in docs) else 0,
        "DanhSachGiayToKetQua": docs,
    }
