"""Reuse look-ups: the latest valid digitized or certified result for a person, by document type.

This is the point of digitizing (Decision 06/QD-TTg, Decree 45/2020): a paper digitized once is
found again by personal ID and type, so nobody hands it in twice. Each look-up is one range scan
of the index (personal_id, doc_type, created).

A paper past its validity is not offered: an ID card after its expiry date, a residence
confirmation a year after it was issued, an issued result after the ``valid_until`` its agency gave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, or_, select

from core.errors import InputError
from core.model import REUSABLE_REVIEW_STATES
from core.vietnam_time import VIETNAM_TIME
from storage.db import Database
from storage.models import CertifiedCopy, Document, Dossier
from storage.results import ProcedureResult

_PERSONAL_ID = re.compile(r"\d{12}")



def today_in_vietnam() -> date:
    """Days are Vietnam's (UTC+7, no daylight saving): a paper valid "until 31/03" is valid all of
    that day at the desk, and a dossier received at 06:00 on 1 April is April's."""
    return datetime.now(VIETNAM_TIME).date()


# A residence confirmation (xác nhận thông tin về cư trú) is valid for a year from its issue
# (Circular 55/2021/TT-BCA, Art. 17, as amended by Circular 66/2023/TT-BCA).
RESIDENCE_CONFIRMATION_YEARS = 1


def _iso_date(value: Any) -> date | None:
    if isinstance(value, dict):
        value = value.get("value")
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def valid_until_of(doc_type: str, fields: dict[str, Any] | None, result_valid_until: date | None = None) -> date | None:
    """The last day a paper may be reused on, or None when it does not lapse (a birth certificate).

    An issued result carries the validity its agency gave; an ID card its printed expiry date; a
    residence confirmation lapses a year after its issue date."""
    if result_valid_until is not None:
        return result_valid_until
    fields = fields or {}
    if doc_type == "cccd":
        return _iso_date(fields.get("date_of_expiry"))
    if doc_type == "residence_confirmation":
        issued = _iso_date(fields.get("issue_date"))
        return _plus_years(issued, RESIDENCE_CONFIRMATION_YEARS) if issued else None
    return None


@dataclass(frozen=True)
class CertifiedRef:
    id: int
    certification_number: str
    signer: str
    signed_at: datetime
    object_key: str
    sha256: str


@dataclass(frozen=True)
class ReusableResult:
    """One reusable result. ``original_id`` is the record first digitized (itself unless it was reused)."""

    document_id: int
    original_id: int
    dossier_code: str
    procedure_code: str | None
    doc_type: str
    personal_id: str
    review_state: str
    created: datetime
    pdf_key: str
    pdf_sha256: str
    fields: dict[str, Any]
    certified: CertifiedRef | None
    valid_until: date | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "original_id": self.original_id,
            "dossier_code": self.dossier_code,
            "procedure_code": self.procedure_code,
            "doc_type": self.doc_type,
            "personal_id": self.personal_id,
            "review_state": self.review_state,
            "created": self.created.isoformat(),
            "pdf_key": self.pdf_key,
            "pdf_sha256": self.pdf_sha256,
            "fields": {k: v.get("value") for k, v in self.fields.items()},
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "certified": None
            if self.certified is None
            else {
                "certification_number": self.certified.certification_number,
                "signer": self.certified.signer,
                "signed_at": self.certified.signed_at.isoformat(),
                "object_key": self.certified.object_key,
                "sha256": self.certified.sha256,
            },
        }


_D = Document.__table__
_S = Dossier.__table__
_C = CertifiedCopy.__table__
_R = ProcedureResult.__table__
_COLUMNS = (
    _D.c.id,
    _D.c.reused_from_id,
    _D.c.doc_type,
    _D.c.personal_id,
    _D.c.review_state,
    _D.c.created,
    _D.c.pdf_key,
    _D.c.pdf_sha256,
    _D.c.fields,
    _S.c.code,
    _S.c.procedure_code,
    _R.c.valid_until.label("result_valid_until"),
)


def _pick(rows: list[Row]) -> tuple[list[Row], dict[int, CertifiedRef]]:
    """Split joined rows into documents (first row of each) and each one's newest certified copy."""
    docs: dict[int, Row] = {}
    certified: dict[int, CertifiedRef] = {}
    for r in rows:
        docs.setdefault(r.id, r)
        if r.cert_id is not None:
            ref = CertifiedRef(
                r.cert_id, r.certification_number, r.signer, r.signed_at, r.object_key, r.cert_sha256
            )
            best = certified.get(r.id)
            if best is None or (ref.signed_at, ref.id) > (best.signed_at, best.id):
                certified[r.id] = ref
    return list(docs.values()), certified


def _result(row: Row, certified: dict[int, CertifiedRef]) -> ReusableResult:
    return ReusableResult(
        document_id=row.id,
        original_id=row.reused_from_id or row.id,
        dossier_code=row.code,
        procedure_code=row.procedure_code,
        doc_type=row.doc_type,
        personal_id=row.personal_id or "",
        review_state=row.review_state,
        created=row.created,
        pdf_key=row.pdf_key,
        pdf_sha256=row.pdf_sha256,
        fields=row.fields,
        certified=certified.get(row.id),
        valid_until=valid_until_of(row.doc_type, row.fields, row.result_valid_until),
    )


def _with_certified(docs):
    """Left-join each chosen document to its certified copies and those of the record it reuses:
    one round trip per look-up."""
    return (
        select(
            docs,
            _C.c.id.label("cert_id"),
            _C.c.certification_number,
            _C.c.signer,
            _C.c.signed_at,
            _C.c.object_key,
            _C.c.sha256.label("cert_sha256"),
        )
        .select_from(docs)
        .outerjoin(_C, or_(_C.c.document_id == docs.c.id, _C.c.document_id == docs.c.reused_from_id))
    )


def _statements():
    """Both look-ups, built once with bound parameters: building a statement costs more CPU than running it."""
    base = (
        select(*_COLUMNS)
        .join_from(_D, _S, _S.c.id == _D.c.dossier_id)
        .outerjoin(_R, _R.c.document_id == _D.c.id)
        .where(_D.c.personal_id == bindparam("pid"), _D.c.review_state.in_(REUSABLE_REVIEW_STATES))
    )
    # A few of the newest per type: the newest may have lapsed while an older one is still valid.
    typed = base.where(_D.c.doc_type == bindparam("doc_type")).order_by(_D.c.created.desc(), _D.c.id.desc())
    return _with_certified(typed.limit(_CANDIDATES).subquery()), _with_certified(base.subquery())


_CANDIDATES = 8


_BY_TYPE, _ALL_TYPES = _statements()


def find_reusable(db: Database, personal_id: str, doc_type: str | None = None, *,
                  on: date | None = None) -> list[ReusableResult]:
    """The latest reusable result per document type for this person (one type if ``doc_type`` is given),
    newest first. Results still needing review, and papers no longer valid ``on`` that day (today
    by default), are not offered.

    One round trip over prebuilt Core statements (no ORM objects): the look-up sits on the reception
    desk's critical path.
    """
    personal_id = personal_id.strip()
    if not _PERSONAL_ID.fullmatch(personal_id):
        raise InputError(f"a personal ID has 12 digits, not {personal_id!r}")
    # Autocommit: no BEGIN and no ROLLBACK round trips around a single read.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if doc_type is not None:
            joined = conn.execute(_BY_TYPE, {"pid": personal_id, "doc_type": doc_type}).all()
        else:
            joined = conn.execute(_ALL_TYPES, {"pid": personal_id}).all()
    chosen, certified = _pick(joined)
    on = on or today_in_vietnam()
    latest: dict[str, ReusableResult] = {}  # newest valid per type
    for row in sorted(chosen, key=lambda r: (r.created, r.id), reverse=True):
        result = _result(row, certified)
        if result.valid_until is None or result.valid_until >= on:
            latest.setdefault(row.doc_type, result)
    return sorted(latest.values(), key=lambda r: (r.created, r.document_id), reverse=True)
