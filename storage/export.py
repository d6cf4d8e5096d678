"""Export of a dossier for the national public service portal (Cổng Dịch vụ công quốc gia), in the
portal's field names: MaHoSo, MaTTHC, the dossier's flags as the figures count them (DuocSoHoa,
DuocTaiSuDung, CoKetQuaDienTu, DuocLienKetKhoDuLieu) and per paper DuocSoHoa, DuocTaiSuDung
(taken from an earlier digitization), MaGiayToKetQua (an issued result's digitization result code,
else the certification number of the paper's certified copy, else the record's own code) and
DuongDanTepTinKetQua: a link the portal can reach — under SOHOA_PUBLIC_BASE_URL when it is set
(the API serves the file to the portal's key), else a presigned URL of the store.

Statuses go out in Vietnamese, as the portal shows them to citizens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from core.doctypes import PORTAL_NAMES
from core.errors import InputError
from core.model import DossierStatus, ReviewState
from storage.components import DossierPlace, components_of
from storage.db import Database
from storage.objects import ObjectStore
from storage.records import DocumentInfo, document_by_id, dossier_by_code
from storage.result_codes import result_code_of, result_codes_of
from storage.results import ProcedureResult
from storage.stats import dossier_flags

DOSSIER_STATUS_VI: dict[str, str] = {
    DossierStatus.RECEIVED: "Đã tiếp nhận",
    DossierStatus.PROCESSING: "Đang số hóa",
    DossierStatus.DIGITIZED: "Đã số hóa",
    DossierStatus.NEEDS_REVIEW: "Chờ kiểm tra dữ liệu số hóa",
    DossierStatus.FAILED: "Số hóa không thành công",
}
WITH_RESULT_VI = "Đã có kết quả"
REVIEW_STATE_VI: dict[str, str] = {
    ReviewState.OK: "Đạt",
    ReviewState.NEEDS_REVIEW: "Cần kiểm tra",
    ReviewState.REVIEWED: "Đã kiểm tra",
    ReviewState.REJECTED: "Không đạt",
}
SIGNATURE_VI: dict[str, str] = {"PASSED": "Chữ ký số hợp lệ", "FAILED": "Chữ ký số không hợp lệ"}


def _signature_vi(status: str | None) -> str:
    if status is None:
        return "Không có chữ ký số"
    return SIGNATURE_VI.get(status, "Không kiểm tra được chữ ký số")


def result_code(doc: DocumentInfo, stored: str | None = None) -> str:
    """MaGiayToKetQua of a received paper: its digitization result code (``stored``, from
    :mod:`storage.result_codes`); for a paper recorded before codes were issued, the certification
    number if certified, else a stable code of the record."""
    if stored:
        return stored
    if doc.certified:
        return doc.certified[-1].certification_number
    return f"SOHOA-{doc.dossier_code}-{doc.id}"


class _Links:
    def __init__(self, store: ObjectStore, expires: timedelta, public_base_url: str | None) -> None:
        self.store, self.expires = store, expires
        self.base = public_base_url.rstrip("/") if public_base_url else None

    def document(self, doc: DocumentInfo) -> str:
        if doc.certified:
            copy = doc.certified[-1]
            if self.base:
                return f"{self.base}/v1/certified-copies/{copy.id}"
            return self.store.presigned_url(copy.object_key, self.expires)
        if self.base:
            return f"{self.base}/v1/documents/{doc.id}/file"
        return self.store.presigned_url(doc.pdf_key, self.expires)


def _document_entry(doc: DocumentInfo, links: _Links, result: ProcedureResult | None,
                    code: str | None = None) -> dict[str, Any]:
    sha = doc.certified[-1].sha256 if doc.certified and result is None else doc.pdf_sha256
    entry = {
        "TenGiayTo": PORTAL_NAMES.get(doc.doc_type, doc.doc_type),
        "LoaiGiayTo": doc.doc_type,
        "MaGiayToKetQua": result.result_code if result is not None else result_code(doc, code),
        "DuongDanTepTinKetQua": links.document(doc),
        "LaKetQuaGiaiQuyet": 1 if result is not None else 0,
        "DuocSoHoa": 1,
        "DuocTaiSuDung": 1 if doc.reused_from is not None else 0,
        "DuocChungThuc": 1 if doc.certified else 0,
        "SoTrang": doc.page_count,
        "MaBam": sha,  # SHA-256 of the file the link serves
        "TrangThaiKiemTra": REVIEW_STATE_VI.get(doc.review_state, doc.review_state),
    }
    if result is not None:
        entry["TrangThaiChuKySo"] = _signature_vi(result.signature_status)
        entry["HieuLucTu"] = result.valid_from.strftime("%d/%m/%Y") if result.valid_from else None
        entry["HieuLucDen"] = result.valid_until.strftime("%d/%m/%Y") if result.valid_until else None
    return entry


def _reused_entry(db: Database, document_id: int, source_dossier: str | None, links: _Links) -> dict[str, Any] | None:
    doc = document_by_id(db, document_id)
    if doc is None:
        return None
    return {
        "TenGiayTo": PORTAL_NAMES.get(doc.doc_type, doc.doc_type),
        "LoaiGiayTo": doc.doc_type,
        "MaGiayToKetQua": result_code(doc, result_code_of(db, doc.id)),
        "DuongDanTepTinKetQua": links.document(doc),
        "LaKetQuaGiaiQuyet": 0,
        "DuocSoHoa": 1,
        "DuocTaiSuDung": 1,
        "MaHoSoGoc": source_dossier,  # the dossier it was digitized for
        "DuocChungThuc": 1 if doc.certified else 0,
        "SoTrang": doc.page_count,
        "MaBam": doc.certified[-1].sha256 if doc.certified else doc.pdf_sha256,
        "TrangThaiKiemTra": REVIEW_STATE_VI.get(doc.review_state, doc.review_state),
    }


def export_dossier(db: Database, store: ObjectStore, code: str, expires: timedelta = timedelta(days=7), *,
                   public_base_url: str | None = None) -> dict[str, Any]:
    """One dossier as the portal's JSON object; its flags are the ones the figures count."""
    dossier = dossier_by_code(db, code)
    if dossier is None:
        raise InputError(f"no dossier with code {code!r}")
    links = _Links(store, expires, public_base_url)
    with db.session() as session:
        results = {r.document_id: r for r in session.scalars(
            select(ProcedureResult).where(ProcedureResult.dossier_id == dossier.id))}
        place = session.get(DossierPlace, dossier.id)
    codes = result_codes_of(db, [d.id for d in dossier.documents])
    papers = [_document_entry(d, links, results.get(d.id), codes.get(d.id)) for d in dossier.documents]
    for component in components_of(db, dossier.code):
        if component.reused_document_id is not None:
            entry = _reused_entry(db, component.reused_document_id, component.reused_from_dossier, links)
            if entry is not None:
                papers.append(entry)
    flags = dossier_flags(db, dossier.code)
    status = WITH_RESULT_VI if results else DOSSIER_STATUS_VI.get(dossier.status, dossier.status)
    return {
        "MaHoSo": dossier.code,
        "MaTTHC": dossier.procedure_code,
        "CoQuanTiepNhan": (place.agency if place and place.agency else dossier.agency),
        "MaXa": place.commune_code if place else None,
        "MaTinh": place.province_code if place else None,
        "SoDinhDanhNguoiNop": dossier.applicant_personal_id,
        "TrangThaiHoSo": status,
        "DuocSoHoa": int(flags["digitized"]),
        "DuocTaiSuDung": int(flags["reuse"]),
        "CoKetQuaDienTu": int(flags["electronic_result"]),
        "DuocLienKetKhoDuLieu": int(flags["linked"]),
        "DanhSachGiayToKetQua": papers,
    }
