"""The append-only audit log: each event carries the hash of the one before it.

An event's hash covers its sequence number, time, actor, action, subject, details and the previous
hash, canonicalised with RFC 8785 (JSON Canonicalization Scheme) so any backend and any later reader
recompute the same bytes. Changing, removing or reordering an event breaks the chain at that event,
and :func:`verify_chain` names the first broken link. Appends go through the one-row ``audit_head``
table, updated first, so concurrent writers queue instead of forking the chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.model import nfc
from storage.db import Database
from storage.models import AuditEvent, AuditHead

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    hash: str
    prev_hash: str


@dataclass(frozen=True)
class ChainReport:
    """The verdict of a walk over the whole log."""

    ok: bool
    events: int
    last_hash: str
    first_broken_seq: int | None = None
    reason: str = ""


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *, seq: int, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any], prev_hash: str
) -> str:
    payload = {
        "seq": seq,
        "at": _iso(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(payload)).hexdigest()


def _normalise(value: Any) -> Any:
    """NFC strings and JSON-friendly values, so what is hashed is exactly what is stored and read back."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, dict):
        return {nfc(str(k)): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def lock_chain(session: Session) -> None:
    """Take the log's write lock for the rest of the transaction.

    Called first by writers that append events, so whole transactions queue on it: a row lock on
    PostgreSQL, the database write lock on SQLite (whose driver opens the transaction at the first
    write, so a read-only statement here would lock nothing).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(AuditHead.seq).where(AuditHead.id == 1).with_for_update())
    else:
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))


def append_event(
    session: Session, *, actor: str, action: str, subject: str, details: dict[str, Any] | None = None
) -> AuditRecord:
    """Append one event inside the caller's transaction (it commits or rolls back with the records)."""
    row = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one()
    seq, prev_hash = int(row.seq), row.last_hash
    at = datetime.now(UTC)
    clean = _normalise(details or {})
    actor, action, subject = nfc(actor), nfc(action), nfc(subject)
    digest = event_hash(
        seq=seq, at=at, actor=actor, action=action, subject=subject, details=clean, prev_hash=prev_hash
    )
    session.add(
        AuditEvent(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            details=clean,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=digest))
    session.flush()
    return AuditRecord(seq, digest, prev_hash)


def record_event(
    db: Database, *, actor: str, action: str, subject: str, details: dict[str, Any] | None = None
) -> AuditRecord:
    """Append one event in its own transaction (for actions that write no other record, e.g. an export)."""
    with db.transaction() as session:
        return append_event(session, actor=actor, action=action, subject=subject, details=details)


def verify_chain(db: Database, *, batch: int = 5000) -> ChainReport:
    """Walk the log in order; recompute every hash; name the first event that does not fit."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    with db.session() as session:
        last_seq = 0
        while True:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
            ).all()
            if not rows:
                break
            for ev in rows:
                if ev.seq != expected_seq:
                    return ChainReport(False, count, prev, expected_seq, f"event {expected_seq} is missing")
                if ev.prev_hash != prev:
                    return ChainReport(
                        False,
                        count,
                        prev,
                        ev.seq,
                        f"event {ev.seq} does not point at the hash of event {ev.seq - 1}",
                    )
                digest = event_hash(
                    seq=ev.seq,
                    at=ev.at,
                    actor=ev.actor,
                    action=ev.action,
                    subject=ev.subject,
                    details=ev.details,
                    prev_hash=ev.prev_hash,
                )
                if digest != ev.hash:
                    return ChainReport(
                        False, count, prev, ev.seq, f"event {ev.seq} was altered after it was written"
                    )
                prev = ev.hash
                expected_seq += 1
                count += 1
                last_seq = ev.seq
            session.expunge_all()
        head = session.get(AuditHead, 1)
    if head is None:
        return ChainReport(False, count, prev, None, "the audit head row is missing")
    if head.seq != count or head.last_hash != prev:
        return ChainReport(
            False,
            count,
            prev,
            count + 1,
            f"the log ends at event {count} but {head.seq} were written (events removed at the end)",
        )
    return ChainReport(True, count, prev)
