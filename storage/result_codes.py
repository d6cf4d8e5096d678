"""Digitization result codes (Circular 01/2023/TT-VPCP, Art. 8): one per digitized paper, unique,
issued once its data is extracted and before it is stored, and quoted by reuse and the portal.

The sequence runs per agency code and day in Vietnam; the next one is taken under the records'
write lock (the audit chain's), so concurrent documents never share a number, and a document
processed again keeps the code it was given.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from core.errors import InputError
from core.result_code import format_result_code
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.models import Base, utcnow


class ResultCode(Base):
    """The result code of one digitized document."""

    __tablename__ = "result_codes"
    __table_args__ = (UniqueConstraint("agency_code", "day", "sequence", name="uq_result_codes_sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agency_code: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column()
    sequence: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(default=utcnow)


def issue_result_code(db: Database, *, document_id: int, agency_code: str, fmt: str, day: date,
                      actor: str, digitized_by: str | None = None) -> str:
    """The document's result code: the one it has, or the next of ``agency_code``'s ``day``. The
    audit event names the official who digitized (and signed) the paper."""
    agency_code = agency_code.strip()
    if not agency_code:
        raise InputError("the result code needs the agency's code (SOHOA_AGENCY_CODE)")
    with db.transaction() as session:
        lock_chain(session)
        existing = session.scalar(select(ResultCode.code).where(ResultCode.document_id == document_id))
        if existing:
            return existing
        last = session.scalar(select(func.max(ResultCode.sequence)).where(
            ResultCode.agency_code == agency_code, ResultCode.day == day))
        sequence = (last or 0) + 1
        try:
            code = format_result_code(fmt, agency=agency_code, day=day, seq=sequence)
        except ValueError as exc:
            raise InputError(f"SOHOA_RESULT_CODE_FORMAT: {exc}") from exc
        session.add(ResultCode(document_id=document_id, code=code, agency_code=agency_code, day=day,
                               sequence=sequence))
        session.flush()
        append_event(session, actor=actor, action="result_code.issued", subject=f"document:{document_id}",
                     details={"code": code, **({"digitized_by": digitized_by} if digitized_by else {})})
        return code


def result_code_of(db: Database, document_id: int) -> str | None:
    with db.session() as session:
        return session.scalar(select(ResultCode.code).where(ResultCode.document_id == document_id))


def result_codes_of(db: Database, document_ids: list[int]) -> dict[int, str]:
    if not document_ids:
        return {}
    with db.session() as session:
        rows = session.execute(select(ResultCode.document_id, ResultCode.code)
                               .where(ResultCode.document_id.in_(document_ids)))
        return {row.document_id: row.code for row in rows}


def document_of_result_code(db: Database, code: str) -> int | None:
    with db.session() as session:
        return session.scalar(select(ResultCode.document_id).where(ResultCode.code == code.strip()))
