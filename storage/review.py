"""The verification station's records: the review queue, a document as the clerk sees it, and
each confirmation or correction recorded with who made it.

Circular 01/2023 makes the receiving official answerable for the digitized data matching the
paper, so every decision is kept twice: in the document's fields (the reviewed value, with the
machine's own reading beside it under ``machine``, written at the first review and never
overwritten) and in the hash-chained audit log (official, field, old → new, the machine's
confidence, the time). Values arrive here already checked: the validators are the classifiers',
applied by the caller (the API or the CLI), since a stage never imports a sibling stage.

A submission names the ``review_version`` it was made against; another clerk's review in between
makes it stale (:class:`StaleReview`), so two people on one document never overwrite each other
unseen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InputError
from core.model import ReviewState, nfc
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.learned import LearnedKind, Vouched, add_learned
from storage.models import Batch, Document, Dossier, Station

# The fields whose value names whom the document is about, in the order reuse looks them up.
PERSONAL_ID_FIELDS = ("personal_id", "owner_personal_id", "applicant_personal_id", "husband_personal_id")
_PERSONAL_ID = re.compile(r"\d{12}")


class StaleReview(InputError):
    """The document was reviewed by someone else since the version the clerk saw."""


class FieldRefused(InputError):
    """One submitted field cannot be recorded; ``field`` names it for the answer."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ReviewAction(StrEnum):
    CONFIRMED = "confirmed"  # the machine's value is right
    CORRECTED = "corrected"  # a person typed the right value


@dataclass(frozen=True)
class QueueItem:
    """A document waiting for a person, with the names of its flagged fields."""

    document_id: int
    dossier_code: str
    doc_type: str
    flagged: tuple[str, ...]
    created: datetime
    station: str | None


@dataclass(frozen=True)
class ReviewDocument:
    """A document as the verification station shows it: every field's stored entry (value,
    confidence, page, box, reason, and once reviewed ``machine`` and ``review``)."""

    document_id: int
    dossier_code: str
    doc_type: str
    machine_doc_type: str | None
    review_state: str
    version: int
    page_count: int
    pdf_key: str
    pdf_sha256: str
    personal_id: str | None
    created: datetime
    station: str | None
    fields: dict[str, dict[str, Any]]

    @property
    def flagged(self) -> tuple[str, ...]:
        return flagged_names(self.fields)


@dataclass(frozen=True)
class Decision:
    """What a person decided for one field: ``value`` None confirms the value shown, a string
    (already normalised and validated) replaces it."""

    field: str
    value: str | None = None

    @property
    def action(self) -> ReviewAction:
        return ReviewAction.CONFIRMED if self.value is None else ReviewAction.CORRECTED


def is_flagged(entry: Mapping[str, Any]) -> bool:
    return bool(entry.get("needs_review")) or not entry.get("valid", True)


def flagged_names(fields: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(name for name, entry in fields.items() if is_flagged(entry))


def review_queue(
    db: Database,
    *,
    station: str | None = None,
    dossier: str | None = None,
    doc_type: str | None = None,
    limit: int = 100,
) -> list[QueueItem]:
    """Documents needing review, oldest first (the citizen who came first waits least)."""
    query = (
        select(Document, Dossier.code, Station.code)
        .join(Dossier, Dossier.id == Document.dossier_id)
        .outerjoin(Batch, Batch.id == Document.batch_id)
        .outerjoin(Station, Station.id == Batch.station_id)
        .where(Document.review_state == ReviewState.NEEDS_REVIEW)
    )
    if station:
        query = query.where(Station.code == nfc(station).strip())
    if dossier:
        query = query.where(Dossier.code == nfc(dossier).strip())
    if doc_type:
        query = query.where(Document.doc_type == doc_type)
    query = query.order_by(Document.created, Document.id).limit(max(1, min(limit, 1000)))
    with db.session() as session:
        return [
            QueueItem(d.id, code, d.doc_type, flagged_names(d.fields or {}), d.created, station_code)
            for d, code, station_code in session.execute(query).all()
        ]


def _station_of(session: Session, document: Document) -> str | None:
    if document.batch_id is None:
        return None
    return session.scalar(
        select(Station.code).join(Batch, Batch.station_id == Station.id).where(Batch.id == document.batch_id)
    )


def _as_review(session: Session, d: Document) -> ReviewDocument:
    return ReviewDocument(
        document_id=d.id,
        dossier_code=d.dossier.code,
        doc_type=d.doc_type,
        machine_doc_type=d.machine_doc_type,
        review_state=d.review_state,
        version=d.review_version or 0,
        page_count=d.page_count,
        pdf_key=d.pdf_key,
        pdf_sha256=d.pdf_sha256,
        personal_id=d.personal_id,
        created=d.created,
        station=_station_of(session, d),
        fields={name: dict(entry) for name, entry in (d.fields or {}).items()},
    )


def document_for_review(db: Database, document_id: int) -> ReviewDocument | None:
    with db.session() as session:
        d = session.get(Document, document_id)
        return None if d is None else _as_review(session, d)


def _machine(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The machine's reading of a field, as extraction recorded it (kept once, at the first review)."""
    return {key: entry.get(key) for key in ("value", "confidence", "valid", "needs_review", "reason")}


def _personal_id(fields: Mapping[str, Mapping[str, Any]]) -> str | None:
    for name in PERSONAL_ID_FIELDS:
        entry = fields.get(name) or {}
        value = entry.get("value")
        if isinstance(value, str) and _PERSONAL_ID.fullmatch(value) and not is_flagged(entry):
            return value
    return None


def record_review(
    db: Database,
    document_id: int,
    *,
    version: int,
    decisions: Sequence[Decision],
    official: str,
    actor: str,
    doc_type: str | None = None,
    type_fields: Sequence[str] | None = None,
    learn: Mapping[str, LearnedKind] | None = None,
) -> ReviewDocument:
    """Record one submission of the verification station and answer the document as it now is.

    Each decision becomes the field's value (NFC) with ``needs_review`` cleared and who decided it;
    the machine's reading stays under ``machine``. ``doc_type`` (with ``type_fields``, the new
    type's field names) re-types the document: fields of the new type it lacks are added empty and
    flagged, fields it does not have are dropped (their values stay in the audit event). When no
    field is left flagged the document is ``reviewed``, and reuse offers it. ``learn`` names the
    fields whose decided value joins the learned words (``storage.learned``) and as what kind, in
    the same transaction: the caller knows which fields hold names and places.
    """
    official = nfc(official).strip()
    if not official:
        raise InputError("a review needs the official's full name")
    now = datetime.now(UTC)
    with db.transaction() as session:
        lock_chain(session)  # also serialises reviews of one document: the version check below holds
        row = session.get(Document, document_id)
        if row is None:
            raise InputError(f"no document {document_id}")
        current = row.review_version or 0
        if version != current:
            raise StaleReview(
                f"document {document_id} was reviewed since version {version} (now {current}); reload it"
            )
        fields = {name: dict(entry) for name, entry in (row.fields or {}).items()}
        subject = f"document:{row.id}"
        if doc_type and doc_type != row.doc_type:
            keep = list(type_fields or ())
            dropped = {n: e.get("value") for n, e in fields.items() if n not in keep}
            fields = {
                n: fields.get(n) or {"value": None, "confidence": 0.0, "page": None, "box": None, "valid": False,
                                     "needs_review": True, "reason": "the type was changed by review"}
                for n in keep
            }
            append_event(session, actor=actor, action="document.retyped", subject=subject, details={
                "official": official, "old": row.doc_type, "new": doc_type, "dropped": dropped, "at": now,
            })
            if row.machine_doc_type is None:
                row.machine_doc_type = row.doc_type
            row.doc_type = nfc(doc_type)
        for decision in decisions:
            name = nfc(decision.field)
            entry = fields.get(name)
            if entry is None:
                raise FieldRefused(name, f"a {row.doc_type} has no such field")
            old = entry.get("value")
            new = old if decision.value is None else nfc(decision.value)
            if new is None or new == "":
                raise FieldRefused(name, "there is no value to confirm; type the value on the paper")
            machine = entry.get("machine") or _machine(entry)
            entry.update(
                value=new, valid=True, needs_review=False, machine=machine,
                review={"action": decision.action.value, "by": official, "at": now.isoformat()},
            )
            fields[name] = entry
            append_event(session, actor=actor, action=f"field.{decision.action.value}", subject=subject, details={
                "official": official, "field": name, "old": old, "new": new,
                "machine_confidence": machine.get("confidence"), "at": now,
            })
        learn = learn or {}
        add_learned(session, (Vouched(learn[nfc(d.field)], fields[nfc(d.field)]["value"], official, row.id,
                                      nfc(d.field)) for d in decisions if nfc(d.field) in learn), at=now)
        state = ReviewState.NEEDS_REVIEW if flagged_names(fields) else ReviewState.REVIEWED
        row.fields = fields
        row.personal_id = _personal_id(fields) or row.personal_id
        row.review_state = state
        row.review_version = current + 1
        append_event(session, actor=actor, action="document.reviewed", subject=subject, details={
            "official": official, "state": state.value, "version": row.review_version,
            "fields": [nfc(d.field) for d in decisions],
        })
        session.flush()
        return _as_review(session, row)
