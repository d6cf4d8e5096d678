"""The certifying officer in the loop (Decree 23/2015, Art. 20; Decree 45/2020): a certified-copy
request waits here until an official with the certifier role compares the copy with the original
and confirms it (then it is signed with that officer's key) or refuses it, with the reason.

A request is decided once: the decision is taken under the records' write lock, so two officers
confirming the same request at once make one copy, and the second is told who decided first. An
officer's claim checks the paper under that same lock, in the same transaction (``check``): a paper
of its dossier recorded meanwhile waits for the claim, or is seen by the check — never slips between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.errors import InputError
from core.model import nfc
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.models import Base, Document, utcnow


class RequestState(StrEnum):
    WAITING = "waiting"
    CONFIRMING = "confirming"  # an officer confirmed; the copy is being signed
    CONFIRMED = "confirmed"
    REFUSED = "refused"


class CertifyRequestRow(Base):
    __tablename__ = "certify_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(255))  # the caller, as the audit trail names it
    purpose: Mapped[str | None] = mapped_column(String(500))
    requested: Mapped[datetime] = mapped_column(default=utcnow)
    officer: Mapped[str | None] = mapped_column(String(255))  # the deciding official's full name
    decided_by: Mapped[str | None] = mapped_column(String(255))  # their key, as the trail names it
    decided: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)  # why it was refused, or why signing failed
    certified_copy_id: Mapped[int | None] = mapped_column(ForeignKey("certified_copies.id"))


@dataclass(frozen=True)
class CertifyRequest:
    id: int
    document_id: int
    state: RequestState
    requested_by: str
    purpose: str | None
    requested: datetime
    officer: str | None
    decided_by: str | None
    decided: datetime | None
    reason: str | None
    certified_copy_id: int | None


def _value(row: CertifyRequestRow) -> CertifyRequest:
    return CertifyRequest(row.id, row.document_id, RequestState(row.state), row.requested_by, row.purpose,
                          row.requested, row.officer, row.decided_by, row.decided, row.reason,
                          row.certified_copy_id)


@dataclass(frozen=True)
class Paper:
    """One recorded paper of a dossier, as the dossier's agreement check compares it."""

    id: int
    doc_type: str
    fields: dict[str, Any]
    review_state: str


PaperCheck = Callable[[int, tuple[Paper, ...]], None]
"""Given a request's document and the papers of its dossier (itself among them), raises to leave
the request waiting."""


def papers_in(session: Session, document_ids: Iterable[int]) -> dict[int, tuple[Paper, ...]]:
    """Each document's dossier's papers (itself included), in the order they were recorded, read in
    ``session``: one read for all of them. A check run under the records' write lock reads them
    here, in its own transaction (the claim below, a register reservation)."""
    wanted = set(document_ids)
    if not wanted:
        return {}
    dossier_of: dict[int, int] = {d: dossier for d, dossier in session.execute(
        select(Document.id, Document.dossier_id).where(Document.id.in_(wanted)))}
    by_dossier: dict[int, list[Paper]] = {}
    for row in session.scalars(select(Document).where(Document.dossier_id.in_(set(dossier_of.values())))
                               .order_by(Document.id)):
        by_dossier.setdefault(row.dossier_id, []).append(
            Paper(row.id, row.doc_type, dict(row.fields or {}), str(row.review_state)))
    return {d: tuple(by_dossier.get(dossier, ())) for d, dossier in dossier_of.items()}


def dossier_papers(db: Database, document_ids: Iterable[int]) -> dict[int, tuple[Paper, ...]]:
    """The papers of each document's dossier (itself included), for the queue's list to show which
    requests the agreement check holds. Documents not recorded are left out."""
    with db.session() as session:
        return papers_in(session, document_ids)


class AlreadyDecided(InputError):
    """The request is no longer waiting (another officer decided it first)."""


def enqueue(db: Database, *, document_id: int, requested_by: str, purpose: str | None = None) -> CertifyRequest:
    with db.transaction() as session:
        lock_chain(session)
        row = CertifyRequestRow(document_id=document_id, state=RequestState.WAITING, requested_by=requested_by,
                                purpose=nfc(purpose)[:500] if purpose else None)
        session.add(row)
        session.flush()
        append_event(session, actor=requested_by, action="certify_request.queued", subject=f"certify_request:{row.id}",
                     details={"document": document_id})
        return _value(row)


def get_request(db: Database, request_id: int) -> CertifyRequest | None:
    with db.session() as session:
        row = session.get(CertifyRequestRow, request_id)
        return _value(row) if row is not None else None


def list_requests(db: Database, state: RequestState | None = RequestState.WAITING, limit: int = 200) -> list[CertifyRequest]:
    with db.session() as session:
        query = select(CertifyRequestRow).order_by(CertifyRequestRow.id).limit(limit)
        if state is not None:
            query = query.where(CertifyRequestRow.state == state)
        return [_value(row) for row in session.scalars(query)]


def certifier_may_see(db: Database, document_id: int, actor: str) -> bool:
    """Whether a certifying officer (``actor``, as the trail names their key) has business with a
    document's pages: a request for it waits in the queue (every officer's), or they took or
    confirmed one. Anything else of the archive is not theirs to read."""
    open_states = (RequestState.WAITING, RequestState.CONFIRMING)
    mine = (RequestState.CONFIRMING, RequestState.CONFIRMED)
    with db.session() as session:
        found = session.scalar(
            select(CertifyRequestRow.id).where(
                CertifyRequestRow.document_id == document_id,
                CertifyRequestRow.state.in_(open_states)
                | (CertifyRequestRow.state.in_(mine) & (CertifyRequestRow.decided_by == actor)),
            ).limit(1)
        )
    return found is not None


def _decide(db: Database, request_id: int, *, state: RequestState, officer: str, actor: str,
            reason: str | None = None, from_state: RequestState = RequestState.WAITING,
            certified_copy_id: int | None = None, check: PaperCheck | None = None) -> CertifyRequest:
    with db.transaction() as session:
        lock_chain(session)
        row = session.get(CertifyRequestRow, request_id)
        if row is None:
            raise InputError(f"no certification request {request_id}")
        if row.state != from_state:
            who = f" by {row.officer}" if row.officer else ""
            raise AlreadyDecided(f"certification request {request_id} is already {row.state}{who}")
        if check is not None:  # under the write lock: no paper is recorded until this commits
            check(row.document_id, papers_in(session, [row.document_id]).get(row.document_id, ()))
        row.state = state
        row.officer = nfc(officer)
        row.decided_by = actor
        row.decided = utcnow()
        if reason is not None:
            row.reason = nfc(reason)[:2000]
        if certified_copy_id is not None:
            row.certified_copy_id = certified_copy_id
        append_event(session, actor=actor, action=f"certify_request.{state}", subject=f"certify_request:{row.id}",
                     details={"document": row.document_id, "officer": row.officer,
                              **({"reason": row.reason} if state is RequestState.REFUSED else {}),
                              **({"certified_copy_id": certified_copy_id} if certified_copy_id else {})})
        return _value(row)


def claim(db: Database, request_id: int, *, officer: str, actor: str, check: PaperCheck | None = None) -> CertifyRequest:
    """An officer takes a waiting request to confirm it: no one else can decide it meanwhile.
    ``check`` runs in the same transaction, under the same write lock, before the request is taken:
    what it raises leaves the request waiting (a paper another paper of its dossier contradicts)."""
    return _decide(db, request_id, state=RequestState.CONFIRMING, officer=officer, actor=actor, check=check)


def confirmed(db: Database, request_id: int, *, officer: str, actor: str, certified_copy_id: int) -> CertifyRequest:
    return _decide(db, request_id, state=RequestState.CONFIRMED, officer=officer, actor=actor,
                   from_state=RequestState.CONFIRMING, certified_copy_id=certified_copy_id)


def release(db: Database, request_id: int, *, officer: str, actor: str, reason: str) -> CertifyRequest:
    """Signing failed after the officer confirmed: the request waits again, with why."""
    return _decide(db, request_id, state=RequestState.WAITING, officer=officer, actor=actor, reason=reason,
                   from_state=RequestState.CONFIRMING)


def refuse(db: Database, request_id: int, *, officer: str, actor: str, reason: str) -> CertifyRequest:
    if not reason or not reason.strip():
        raise InputError("a refusal needs its reason")
    return _decide(db, request_id, state=RequestState.REFUSED, officer=officer, actor=actor, reason=reason.strip())
