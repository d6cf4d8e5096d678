"""Results of procedures: the paper an agency issues at the end of a dossier (a birth certificate
extract, a licence, a confirmation), handed to sohoa by the workflow system.

The file is kept byte for byte (its signatures stay checkable) and recorded twice over: as a
``procedure_results`` row (owner, type, validity, the verdict on its signatures, the digitization
result code) and as a ``documents`` row of the dossier pointing at the same blob, so the reuse
look-ups and the owner's store find an issued result exactly as they find a received paper
(Decision 766/QĐ-TTg counts results issued electronically and offered for reuse).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.errors import InputError
from core.model import ReviewState, nfc
from storage.archive import upsert_dossier
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.models import Base, Document, Dossier, utcnow
from storage.objects import ObjectStore
from storage.result_codes import issue_result_code

log = logging.getLogger(__name__)

_OWNER = re.compile(r"\d{12}|\d{10}")  # a personal ID (số định danh) or an enterprise code
_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")


class TextSource(StrEnum):
    """Where a result's text came from: its own text layer, or OCR of its pages."""

    TEXT_LAYER = "text_layer"
    OCR = "ocr"


class ProcedureResult(Base):
    __tablename__ = "procedure_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    owner_id: Mapped[str] = mapped_column(String(12))
    result_type: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(512))
    object_key: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    text_source: Mapped[str] = mapped_column(String(16))
    signature_status: Mapped[str | None] = mapped_column(String(32))
    signatures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_code: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class ResultFile:
    """A result as read by the caller (the API reads the text and verifies the signatures first)."""

    dossier_code: str
    owner_id: str
    result_type: str
    name: str
    data: bytes
    page_count: int
    text: str
    text_source: TextSource
    fields: dict[str, Any]
    signatures: dict[str, Any] | None = None  # the verification summary, for a signed file
    valid_from: date | None = None
    valid_until: date | None = None
    procedure_code: str | None = None


@dataclass(frozen=True)
class RecordedResult:
    id: int
    document_id: int
    dossier_code: str
    owner_id: str
    result_type: str
    result_code: str
    name: str
    sha256: str
    size: int
    text_source: str
    signature_status: str | None
    valid_from: date | None
    valid_until: date | None
    created: datetime
    existed: bool = False  # the same file was already recorded for this dossier

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "document_id": self.document_id,
            "dossier_code": self.dossier_code,
            "owner_id": self.owner_id,
            "result_type": self.result_type,
            "result_code": self.result_code,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "text_source": self.text_source,
            "signature_status": self.signature_status,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "created": self.created.isoformat(),
        }


def check_owner_id(value: str) -> str:
    value = value.strip()
    if not _OWNER.fullmatch(value):
        raise InputError("owner_id is a 12-digit personal ID or a 10-digit enterprise code")
    return value


def check_result_type(value: str) -> str:
    value = value.strip()
    if not _TYPE.fullmatch(value):
        raise InputError("result_type is a lower-case name such as birth_certificate (letters, digits, _)")
    return value


def provisional_result_code(dossier_code: str, result_id: int) -> str:
    """The code a result holds until the agency's digitization result code is issued to it (in the
    same call, right after it is recorded): unique and stable, "KQ-<MaHoSo>-<n>"."""
    return f"KQ-{dossier_code}-{result_id}"


@dataclass(frozen=True)
class CodeIssuer:
    """How the agency numbers digitized papers (SOHOA_AGENCY_CODE, SOHOA_RESULT_CODE_FORMAT), and
    the day in Vietnam the result was digitized."""

    agency_code: str
    fmt: str
    day: date


def _info(row: ProcedureResult, dossier_code: str, *, existed: bool = False) -> RecordedResult:
    return RecordedResult(
        id=row.id, document_id=row.document_id, dossier_code=dossier_code, owner_id=row.owner_id,
        result_type=row.result_type, result_code=row.result_code, name=row.name, sha256=row.sha256,
        size=row.size, text_source=row.text_source, signature_status=row.signature_status,
        valid_from=row.valid_from, valid_until=row.valid_until, created=row.created, existed=existed,
    )


def record_result(db: Database, store: ObjectStore, result: ResultFile, *, actor: str,
                  codes: CodeIssuer | None = None) -> RecordedResult:
    """Store the file as is and record it with its dossier, then give it the agency's digitization
    result code (Circular 01/2023/TT-VPCP, Art. 8) when ``codes`` says how. The same file posted
    again for the same dossier answers the first record (a workflow system retrying is not a
    second result)."""
    owner_id = check_owner_id(result.owner_id)
    result_type = check_result_type(result.result_type)
    if result.valid_from and result.valid_until and result.valid_until < result.valid_from:
        raise InputError("valid_until is before valid_from")
    stored = store.put_bytes(result.data, "application/pdf")
    with db.transaction() as session:
        lock_chain(session)
        dossier, _ = upsert_dossier(session, code=result.dossier_code, procedure_code=result.procedure_code)
        earlier = session.scalar(select(ProcedureResult).where(
            ProcedureResult.dossier_id == dossier.id, ProcedureResult.sha256 == stored.sha256))
        if earlier is not None:
            return _info(earlier, dossier.code, existed=True)
        document = Document(
            dossier_id=dossier.id, batch_id=None, doc_type=result_type, type_confidence=1.0,
            personal_id=owner_id, fields=result.fields, pdf_key=stored.key, pdf_sha256=stored.sha256,
            pdf_size=stored.size, page_count=result.page_count, page_hashes=[], pages_sha256=None,
            source_keys=[stored.key], review_state=ReviewState.OK,
        )
        session.add(document)
        session.flush()
        row = ProcedureResult(
            dossier_id=dossier.id, document_id=document.id, owner_id=owner_id, result_type=result_type,
            valid_from=result.valid_from, valid_until=result.valid_until, name=nfc(result.name)[:512],
            object_key=stored.key, sha256=stored.sha256, size=stored.size,
            text_source=str(result.text_source),
            signature_status=(result.signatures or {}).get("status"), signatures=result.signatures,
            result_code="", actor=actor,
        )
        session.add(row)
        session.flush()
        row.result_code = provisional_result_code(dossier.code, row.id)
        session.flush()
        append_event(session, actor=actor, action="result.recorded", subject=f"document:{document.id}", details={
            "dossier": dossier.code, "result": row.id, "result_type": result_type,
            "sha256": stored.sha256, "text_source": row.text_source, "signatures": row.signature_status,
        })
        info = _info(row, dossier.code)
    if codes is not None:
        code = issue_result_code(db, document_id=info.document_id, agency_code=codes.agency_code, fmt=codes.fmt,
                                 day=codes.day, actor=actor)
        with db.transaction() as session:
            session.execute(update(ProcedureResult).where(ProcedureResult.id == info.id).values(result_code=code))
        info = replace(info, result_code=code)
    log.info("dossier %s: result %s recorded (%s, text from %s)", info.dossier_code, info.result_code,
             result_type, info.text_source)
    return info


def results_of(session: Session, dossier_id: int) -> list[ProcedureResult]:
    return list(session.scalars(select(ProcedureResult).where(ProcedureResult.dossier_id == dossier_id)
                                .order_by(ProcedureResult.id)))


def dossier_results(db: Database, code: str) -> list[RecordedResult]:
    """The results recorded for a dossier, oldest first."""
    with db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == nfc(code).strip()))
        if dossier is None:
            raise InputError(f"no dossier with code {code!r}")
        return [_info(r, dossier.code) for r in results_of(session, dossier.id)]
