"""The electronic certification register ("sổ chứng thực bản sao điện tử", Decree 23/2015, Circular
01/2020/TT-BTP): every certified copy gets the next number of its agency's book for the year.

Numbers are gap-free and never given twice, under any number of concurrent requests: a number is
reserved in a transaction that holds the records' write lock (the audit chain's lock, a row lock on
PostgreSQL, the database lock on SQLite), printed on the stamp, then marked used with the copy it
went to — or voided with the reason the signing failed, as a paper register annotates a spoilt
entry instead of skipping it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select

from core.errors import InputError
from core.model import nfc
from storage.audit import append_event, lock_chain
from storage.certify_queue import PaperCheck, papers_in
from storage.db import Database
from storage.models import RegisterEntry


class EntryState(StrEnum):
    RESERVED = "reserved"
    USED = "used"
    VOIDED = "voided"


@dataclass(frozen=True)
class RegisterNumber:
    """A reserved number of the register: its entry id, number, and the book it is in."""

    entry_id: int
    agency: str
    year: int
    book: int
    number: int


def reserve_number(
    db: Database,
    *,
    agency: str,
    year: int,
    book: int = 1,
    document_id: int | None = None,
    subject: str | None = None,
    actor: str,
    check: PaperCheck | None = None,
) -> RegisterNumber:
    """The next number of ``agency``'s book ``book`` for ``year``, reserved for one certification.
    ``check`` (with ``document_id``) is given the document's dossier's papers read in the same
    transaction, under the same write lock, before the number is taken: what it raises reserves
    nothing (no gap in the book), and a paper of the dossier recorded meanwhile waits for it."""
    agency = nfc(agency).strip()
    if not agency:
        raise InputError("the certification register needs the agency's name (SOHOA_AGENCY)")
    with db.transaction() as session:
        lock_chain(session)  # concurrent reservations queue here: no two read the same maximum
        if check is not None and document_id is not None:
            check(document_id, papers_in(session, [document_id]).get(document_id, ()))
        last = session.scalar(
            select(func.max(RegisterEntry.number)).where(
                RegisterEntry.agency == agency, RegisterEntry.year == year, RegisterEntry.book == book
            )
        )
        entry = RegisterEntry(
            agency=agency, year=year, book=book, number=(last or 0) + 1, state=EntryState.RESERVED,
            document_id=document_id, subject=nfc(subject) if subject else None, actor=actor,
        )
        session.add(entry)
        session.flush()
        append_event(
            session, actor=actor, action="register.reserved", subject=f"register:{entry.id}",
            details={"agency": agency, "year": year, "book": book, "number": entry.number, "document": document_id},
        )
        return RegisterNumber(entry.id, agency, year, book, entry.number)


def mark_used(
    db: Database, entry_id: int, *, certified_copy_id: int | None, actor: str, note: str | None = None
) -> None:
    """The entry's number went to this copy (``None``: a file certified outside any dossier,
    named in ``note``)."""
    _settle(db, entry_id, EntryState.USED, actor=actor, certified_copy_id=certified_copy_id, note=note)


def void_number(db: Database, entry_id: int, *, reason: str, actor: str) -> None:
    """The entry of a certification that did not happen, with why: the number stays in the book."""
    _settle(db, entry_id, EntryState.VOIDED, actor=actor, note=nfc(reason)[:2000])


def _settle(db: Database, entry_id: int, state: EntryState, *, actor: str, **values: object) -> None:
    with db.transaction() as session:
        lock_chain(session)
        entry = session.get(RegisterEntry, entry_id)
        if entry is None:
            raise InputError(f"no register entry {entry_id}")
        if entry.state != EntryState.RESERVED:
            raise InputError(f"register entry {entry.number} is already {entry.state}")
        entry.state = state
        for name, value in values.items():
            setattr(entry, name, value)
        append_event(
            session, actor=actor, action=f"register.{state}", subject=f"register:{entry.id}",
            details={"number": entry.number, "year": entry.year, "book": entry.book, **{
                k: v for k, v in values.items() if k == "certified_copy_id"}},
        )
