"""The components of a dossier that were not scanned at its reception, and where it was received.

Reuse is an act, not only a look-up (Decree 45/2020, Art. 14; Decision 766/QĐ-TTg counts it): a
station or workflow system records that a component of dossier B is the paper digitized earlier
for dossier A. The record keeps both ends (B's component, A's document), the audit trail says who
took what, and the figures count it. A component handed in on paper and not digitized is declared
too, so "every component digitized" can be false.

Where a dossier was received (the commune and province after the 2025 reorganisation) is kept
beside it in ``dossier_places``, so figures and look-ups work by the new units.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, bindparam, func, select
from sqlalchemy.orm import Mapped, mapped_column

from core.errors import InputError
from core.model import REUSABLE_REVIEW_STATES, nfc
from storage.archive import upsert_dossier
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.models import Base, Document, Dossier, utcnow
from storage.result_codes import ResultCode
from storage.results import ProcedureResult, check_result_type
from storage.reuse import today_in_vietnam, valid_until_of

log = logging.getLogger(__name__)

_CODE = re.compile(r"[0-9A-Za-z.\-]{1,16}")


class ComponentState(StrEnum):
    REUSED = "reused"  # taken from an earlier digitized paper
    PAPER = "paper"  # handed in on paper and not digitized


class DossierComponent(Base):
    __tablename__ = "dossier_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"))
    state: Mapped[str] = mapped_column(String(16))
    doc_type: Mapped[str] = mapped_column(String(64))
    reused_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    owner_id: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class DossierPlace(Base):
    __tablename__ = "dossier_places"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), primary_key=True)
    agency: Mapped[str | None] = mapped_column(String(255))  # the receiving agency (dossiers.agency: the digitizing one)
    commune_code: Mapped[str | None] = mapped_column(String(16))
    province_code: Mapped[str | None] = mapped_column(String(8))
    commune_name: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    ambiguous: Mapped[bool] = mapped_column(Boolean, default=False)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@dataclass(frozen=True)
class ComponentInfo:
    id: int
    dossier_code: str
    state: str
    doc_type: str
    reused_document_id: int | None
    reused_from_dossier: str | None
    actor: str
    created: datetime
    existed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "dossier_code": self.dossier_code, "state": self.state, "doc_type": self.doc_type,
            "reused_document_id": self.reused_document_id, "reused_from_dossier": self.reused_from_dossier,
            "actor": self.actor, "created": self.created.isoformat(), "existed": self.existed,
        }


@dataclass(frozen=True)
class Place:
    """Where a dossier was received. Codes are the post-2025 units (province 2 digits, commune 5)."""

    commune_code: str | None = None
    province_code: str | None = None
    commune_name: str | None = None
    address: str | None = None  # the printed text the codes were derived from, if any
    confidence: float | None = None
    ambiguous: bool = False


def record_reuse(db: Database, dossier_code: str, reuse_document_id: int, *, actor: str,
                 procedure_code: str | None = None, note: str | None = None, on: date | None = None) -> ComponentInfo:
    """Record that a component of ``dossier_code`` is the earlier digitized document
    ``reuse_document_id``. Refused: a document still under review or rejected, one no longer
    valid (an expired ID card, a lapsed residence confirmation), one of the same dossier. The same
    reuse recorded twice answers the first record."""
    on = on or today_in_vietnam()
    with db.transaction() as session:
        lock_chain(session)
        source = session.get(Document, reuse_document_id)
        if source is None:
            raise InputError(f"no document {reuse_document_id} to reuse")
        if source.review_state not in REUSABLE_REVIEW_STATES:
            raise InputError(f"document {reuse_document_id} is {source.review_state}; only confirmed papers are reused")
        result_until = session.scalar(select(ProcedureResult.valid_until)
                                      .where(ProcedureResult.document_id == source.id))
        until = valid_until_of(source.doc_type, source.fields, result_until)
        if until is not None and until < on:
            raise InputError(f"document {reuse_document_id} ({source.doc_type}) was valid until "
                             f"{until.strftime('%d/%m/%Y')}; it cannot be reused")
        source_dossier = session.get(Dossier, source.dossier_id)
        dossier, _ = upsert_dossier(session, code=dossier_code, procedure_code=procedure_code)
        if dossier.id == source.dossier_id:
            raise InputError(f"document {reuse_document_id} already belongs to dossier {dossier.code}")
        earlier = session.scalar(select(DossierComponent).where(
            DossierComponent.dossier_id == dossier.id, DossierComponent.reused_document_id == source.id))
        if earlier is not None:
            return _component(earlier, dossier.code, source_dossier.code, existed=True)
        row = DossierComponent(dossier_id=dossier.id, state=ComponentState.REUSED, doc_type=source.doc_type,
                               reused_document_id=source.id, owner_id=source.personal_id,
                               note=nfc(note)[:500] if note else None, actor=actor)
        session.add(row)
        session.flush()
        append_event(session, actor=actor, action="document.reused", subject=f"dossier:{dossier.code}", details={
            "component": row.id, "document": source.id, "from_dossier": source_dossier.code,
            "doc_type": source.doc_type, "note": row.note,
        })
        info = _component(row, dossier.code, source_dossier.code)
    log.info("dossier %s: %s reused from dossier %s (document %d) by %s", info.dossier_code, info.doc_type,
             info.reused_from_dossier, reuse_document_id, actor)
    return info


def declare_paper(db: Database, dossier_code: str, doc_type: str, *, actor: str,
                  procedure_code: str | None = None, note: str | None = None) -> ComponentInfo:
    """Record a component handed in on paper and not digitized (it keeps the dossier out of the
    "every component digitized" count until it is)."""
    doc_type = check_result_type(doc_type)
    with db.transaction() as session:
        lock_chain(session)
        dossier, _ = upsert_dossier(session, code=dossier_code, procedure_code=procedure_code)
        row = DossierComponent(dossier_id=dossier.id, state=ComponentState.PAPER, doc_type=doc_type,
                               note=nfc(note)[:500] if note else None, actor=actor)
        session.add(row)
        session.flush()
        append_event(session, actor=actor, action="component.declared", subject=f"dossier:{dossier.code}",
                     details={"component": row.id, "doc_type": doc_type, "state": "paper"})
        return _component(row, dossier.code, None)


def _component(row: DossierComponent, dossier_code: str, source_dossier: str | None, *,
               existed: bool = False) -> ComponentInfo:
    return ComponentInfo(id=row.id, dossier_code=dossier_code, state=row.state, doc_type=row.doc_type,
                         reused_document_id=row.reused_document_id, reused_from_dossier=source_dossier,
                         actor=row.actor, created=row.created, existed=existed)


def components_of(db: Database, dossier_code: str) -> list[ComponentInfo]:
    """The recorded components (reused and paper-only) of a dossier, oldest first."""
    with db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == nfc(dossier_code).strip()))
        if dossier is None:
            raise InputError(f"no dossier with code {dossier_code!r}")
        rows = session.execute(
            select(DossierComponent, Dossier.code)
            .outerjoin(Document, Document.id == DossierComponent.reused_document_id)
            .outerjoin(Dossier, Dossier.id == Document.dossier_id)
            .where(DossierComponent.dossier_id == dossier.id)
            .order_by(DossierComponent.id)
        ).all()
        return [_component(c, dossier.code, source) for c, source in rows]


def check_place(place: Place) -> Place:
    for name in ("commune_code", "province_code"):
        value = getattr(place, name)
        if value is not None and not _CODE.fullmatch(value):
            raise InputError(f"{name} is a unit code of letters, digits, '.' or '-' (at most 16), not {value!r}")
    if place.confidence is not None and not 0.0 <= place.confidence <= 1.0:
        raise InputError("confidence is between 0 and 1")
    return place


def set_reception(db: Database, dossier_code: str, *, actor: str, procedure_code: str | None = None,
                  agency: str | None = None, place: Place | None = None,
                  received: datetime | None = None) -> dict[str, Any]:
    """The workflow system's record of a dossier's reception: procedure, receiving agency, the
    commune and province that received it, and (for a dossier new to sohoa) when it was received."""
    place = check_place(place or Place())
    with db.transaction() as session:
        lock_chain(session)
        dossier, created = upsert_dossier(session, code=dossier_code, procedure_code=procedure_code, agency=agency)
        if created and received is not None:
            dossier.created = received
        row = session.get(DossierPlace, dossier.id)
        if row is None:
            row = DossierPlace(dossier_id=dossier.id)
            session.add(row)
        for name in ("commune_code", "province_code", "commune_name", "address", "confidence"):
            value = getattr(place, name)
            if value is not None:
                setattr(row, name, nfc(value) if isinstance(value, str) else value)
        row.ambiguous = place.ambiguous
        if agency:
            row.agency = nfc(agency)
        session.flush()
        append_event(session, actor=actor, action="dossier.received", subject=f"dossier:{dossier.code}", details={
            "procedure": dossier.procedure_code, "agency": row.agency, "commune": row.commune_code,
            "province": row.province_code, "created": created,
        })
        return {"dossier_code": dossier.code, "procedure_code": dossier.procedure_code, "agency": row.agency,
                "received": dossier.created.isoformat(), "commune_code": row.commune_code,
                "province_code": row.province_code, "commune_name": row.commune_name,
                "confidence": row.confidence, "ambiguous": row.ambiguous, "created": created}


_OWNER_ID = re.compile(r"\d{12}|\d{10}")


def _owner_statement():
    d, s, p, r = Document.__table__, Dossier.__table__, DossierPlace.__table__, ProcedureResult.__table__
    rc, c = ResultCode.__table__, DossierComponent.__table__
    docs = (
        select(d.c.id, d.c.doc_type, d.c.review_state, d.c.created, d.c.pdf_sha256, d.c.page_count, d.c.fields,
               d.c.reused_from_id, s.c.code, s.c.procedure_code, func.coalesce(p.c.agency, s.c.agency).label("agency"),
               p.c.commune_code, p.c.province_code,
               r.c.id.label("result_id"), func.coalesce(r.c.result_code, rc.c.code).label("result_code"),
               r.c.valid_from, r.c.valid_until, r.c.signature_status)
        .select_from(d)
        .join(s, s.c.id == d.c.dossier_id)
        .outerjoin(p, p.c.dossier_id == s.c.id)
        .outerjoin(r, r.c.document_id == d.c.id)
        .outerjoin(rc, rc.c.document_id == d.c.id)
        .where(d.c.personal_id == bindparam("owner"))
        .order_by(d.c.created.desc(), d.c.id.desc())
        .limit(1000)
        .subquery("docs")
    )
    taker = s.alias("taker")
    return (
        select(docs, taker.c.code.label("reused_in"))
        .select_from(docs)
        .outerjoin(c, c.c.reused_document_id == docs.c.id)
        .outerjoin(taker, taker.c.id == c.c.dossier_id)
        .order_by(docs.c.created.desc(), docs.c.id.desc(), c.c.id)
    )


_OWNER_STATEMENT = _owner_statement()


def owner_documents(db: Database, owner_id: str, *, on: date | None = None) -> list[dict[str, Any]]:
    """The owner's data store: every paper digitized or issued under this personal ID or enterprise
    code, across dossiers, agencies and communes, newest first, each with where it came from,
    whether it is an issued result, whether it is still valid and which dossiers reused it.

    One round trip over a statement built once: a range scan of the index (personal_id, doc_type,
    created), with the dossier, its place, the result record, the result code and the dossiers
    that reused each paper joined by key."""
    owner_id = owner_id.strip()
    if not _OWNER_ID.fullmatch(owner_id):
        raise InputError("an owner is a 12-digit personal ID or a 10-digit enterprise code")
    on = on or today_in_vietnam()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        joined = conn.execute(_OWNER_STATEMENT, {"owner": owner_id}).all()
    rows: dict[int, Any] = {}
    reuses: defaultdict[int, list[str]] = defaultdict(list)
    for row in joined:  # one row per (document, dossier that reused it)
        rows.setdefault(row.id, row)
        if row.reused_in is not None and row.reused_in not in reuses[row.id]:
            reuses[row.id].append(row.reused_in)
    out = []
    for row in rows.values():
        until = valid_until_of(row.doc_type, row.fields, row.valid_until)
        out.append({
            "document_id": row.id,
            "doc_type": row.doc_type,
            "kind": "result" if row.result_id is not None else "digitized",
            "dossier_code": row.code,
            "procedure_code": row.procedure_code,
            "agency": row.agency,
            "commune_code": row.commune_code,
            "province_code": row.province_code,
            "created": row.created.isoformat(),
            "review_state": row.review_state,
            "result_code": row.result_code,
            "signature_status": row.signature_status,
            "valid_from": row.valid_from.isoformat() if row.valid_from else None,
            "valid_until": until.isoformat() if until else None,
            "valid": (until is None or until >= on) and row.review_state in REUSABLE_REVIEW_STATES,
            "fields": {k: (v or {}).get("value") if isinstance(v, dict) else v for k, v in (row.fields or {}).items()},
            "pdf_sha256": row.pdf_sha256,
            "page_count": row.page_count,
            "reused_from": row.reused_from_id,
            "reused_in": reuses.get(row.id, []),
        })
    return out
