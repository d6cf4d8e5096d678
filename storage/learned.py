"""Words people vouched for at the verification station: the names and places a clerk confirmed
or typed, each with the official, the document and field it came from, and when.

They live in the records, not on one machine's disk, so every machine that extracts (the
in-process runner, each Celery worker, the API's jobs) reads the same words: the flow loads them
with :func:`learned_words` and hands them to extraction. Each confirmation is its own row (two
officials vouching for one name are two rows of provenance); extraction only needs the distinct
words. They are written in the same transaction as the review that vouched for them, so a review
is never recorded without its feedback, nor feedback without its review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.model import nfc
from storage.db import Database
from storage.models import LearnedWord


class LearnedKind(StrEnum):
    NAME = "name"  # a person's full name: its syllables are name words
    PLACE = "place"  # an address or place: its comma-separated parts are place names


@dataclass(frozen=True)
class Vouched:
    """One value a person vouched for, with its provenance."""

    kind: LearnedKind
    text: str
    official: str
    document_id: int | None = None
    field: str | None = None
    created: datetime | None = None


MAX_TEXT = 500  # as the longest value the verification station accepts


def add_learned(session: Session, entries: Iterable[Vouched], *, at: datetime | None = None) -> int:
    """Add confirmations inside the caller's transaction; answers how many were added. Text is
    stored NFC, trimmed; empty values are skipped."""
    now = at or datetime.now(UTC)
    added = 0
    for entry in entries:
        text = " ".join(nfc(entry.text).split())[:MAX_TEXT]
        if not text:
            continue
        session.add(LearnedWord(kind=LearnedKind(entry.kind).value, text=text, official=nfc(entry.official).strip(),
                                document_id=entry.document_id, field=entry.field, created=entry.created or now))
        added += 1
    return added


def learn(db: Database, entries: Iterable[Vouched]) -> int:
    """Add confirmations in a transaction of their own (the review records them with the review)."""
    with db.transaction() as session:
        return add_learned(session, entries)


def learned_words(db: Database) -> tuple[tuple[LearnedKind, str], ...]:
    """Every distinct (kind, text) people vouched for, oldest first: what extraction consults."""
    query = select(LearnedWord.kind, LearnedWord.text).group_by(LearnedWord.kind, LearnedWord.text).order_by(
        LearnedWord.kind, LearnedWord.text)
    with db.session() as session:
        return tuple((LearnedKind(kind), text) for kind, text in session.execute(query).all())


def vouched(db: Database, *, kind: LearnedKind | None = None, limit: int = 1000) -> list[Vouched]:
    """The confirmations with their provenance, newest first (who taught the lexicon what)."""
    query = select(LearnedWord).order_by(LearnedWord.id.desc()).limit(max(1, min(limit, 100_000)))
    if kind is not None:
        query = query.where(LearnedWord.kind == kind.value)
    with db.session() as session:
        return [Vouched(LearnedKind(row.kind), row.text, row.official, row.document_id, row.field, row.created)
                for row in session.scalars(query)]
