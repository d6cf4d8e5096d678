"""A source's audit trail, kept verifiable after the merger.

The source's events cannot join this deployment's chain (their sequence numbers and hashes are
their own), and must not be re-signed as if this deployment had seen them happen. They are copied
verbatim into a segment, checked link by link on the way in; once the whole trail is in, one event
of this deployment's chain (``import.audit_segment``) records the segment's head hash. From then on
changing an imported event breaks the segment's own links, and changing the segment's head breaks
the event that sealed it, which ``sohoa audit verify`` walks as part of this chain.

A segment copied half-way (the import was killed) is continued by the next run and sealed only when
complete. A source that kept working after an import is brought in as a further segment that starts
at the head of the one before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import IntegrityError
from storage.audit import GENESIS, append_event, event_hash, lock_chain
from storage.db import Database
from storage.importer.ledger import AuditSegment, ImportedAuditEvent
from storage.importer.merge import copy_rows
from storage.importer.model import Source, SourceEvent
from storage.models import AuditEvent

SEAL_ACTION = "import.audit_segment"


@dataclass(frozen=True)
class SegmentResult:
    copied: int
    present: int
    sealed_segment: int | None


def _check(ev: SourceEvent, expected_seq: int, prev: str) -> None:
    if ev.seq != expected_seq:
        raise IntegrityError(f"the source's audit trail lacks event {expected_seq}: not imported")
    if ev.prev_hash != prev:
        raise IntegrityError(f"the source's audit event {ev.seq} does not follow event {ev.seq - 1}: not imported")
    digest = event_hash(
        seq=ev.seq, at=ev.at, actor=ev.actor, action=ev.action, subject=ev.subject, details=ev.details,
        prev_hash=ev.prev_hash,
    )
    if digest != ev.hash:
        raise IntegrityError(f"the source's audit event {ev.seq} was altered after it was written: not imported")


def import_audit(
    unit: Callable[[], AbstractContextManager[Session]],
    source: Source,
    source_id: int,
    *,
    label: str,
    actor: str,
    chunk: int,
    progress: Callable[[int], None],
) -> SegmentResult:
    """Copy the events the segments here lack, checking the source's chain; seal the open segment."""
    with unit() as session:
        segments = session.scalars(
            select(AuditSegment).where(AuditSegment.source_id == source_id).order_by(AuditSegment.first_seq)
        ).all()
        present = sum(s.last_seq - s.first_seq + 1 for s in segments if s.last_seq >= s.first_seq)
        open_segment = next((s for s in segments if s.sealed_seq is None), None)
        last_seq = segments[-1].last_seq if segments else 0
        prev = segments[-1].head_hash if segments else GENESIS
        segment_id = open_segment.id if open_segment else None
    copied = 0
    for events in source.iter_audit(last_seq, chunk):
        for ev in events:
            _check(ev, last_seq + 1, prev)
            last_seq, prev = ev.seq, ev.hash
        with unit() as session:
            if segment_id is None:
                seg = AuditSegment(
                    source_id=source_id, first_seq=events[0].seq, last_seq=events[0].seq - 1,
                    start_hash=events[0].prev_hash, head_hash=events[0].prev_hash,
                )
                session.add(seg)
                session.flush()
                segment_id = seg.id
            copy_rows(
                session, ImportedAuditEvent.__table__,
                [
                    {
                        "segment_id": segment_id, "seq": ev.seq, "at": ev.at, "actor": ev.actor,
                        "action": ev.action, "subject": ev.subject, "details": ev.details,
                        "prev_hash": ev.prev_hash, "hash": ev.hash,
                    }
                    for ev in events
                ],
            )
            seg = session.get(AuditSegment, segment_id)
            seg.last_seq, seg.head_hash = last_seq, prev
        copied += len(events)
        progress(len(events))
    if segment_id is None:
        return SegmentResult(copied, present, None)
    with unit() as session:
        lock_chain(session)
        seg = session.get(AuditSegment, segment_id)
        record = append_event(
            session, actor=actor, action=SEAL_ACTION, subject=f"audit-segment:{seg.id}",
            details={
                "source": label, "first_seq": seg.first_seq, "last_seq": seg.last_seq,
                "events": seg.last_seq - seg.first_seq + 1, "start_hash": seg.start_hash,
                "head_hash": seg.head_hash,
            },
        )
        seg.sealed_seq = record.seq
    return SegmentResult(copied, present, segment_id)


@dataclass(frozen=True)
class SegmentReport:
    """The verdict on every imported segment: ``ok`` only if each sealed one holds."""

    ok: bool
    segments: int
    events: int
    unsealed: int
    broken_segment: int | None = None
    reason: str = ""


def verify_segments(db: Database, *, batch: int = 5000) -> SegmentReport:
    """Walk each sealed segment's events, recompute every hash, and check its head against the
    event of this chain that sealed it (this chain itself is :func:`storage.audit.verify_chain`'s)."""
    events = 0
    unsealed = 0
    with db.session() as session:
        segments = session.scalars(select(AuditSegment).order_by(AuditSegment.source_id, AuditSegment.first_seq)).all()
        heads: dict[int, str] = {}
        for seg in segments:
            if seg.sealed_seq is None:
                unsealed += 1
                continue
            fail = _verify_one(session, seg, heads.get(seg.source_id), batch)
            if isinstance(fail, str):
                return SegmentReport(False, len(segments), events, unsealed, seg.id, fail)
            events += fail
            heads[seg.source_id] = seg.head_hash
    return SegmentReport(True, len(segments), events, unsealed)


def _verify_one(session: Session, seg: AuditSegment, previous_head: str | None, batch: int) -> int | str:
    seal = session.get(AuditEvent, seg.sealed_seq)
    if seal is None or seal.action != SEAL_ACTION or seal.subject != f"audit-segment:{seg.id}":
        return f"imported audit segment {seg.id}: the event that sealed it ({seg.sealed_seq}) is not its seal"
    details = seal.details or {}
    if (details.get("head_hash"), details.get("first_seq"), details.get("last_seq")) != (
        seg.head_hash, seg.first_seq, seg.last_seq
    ):
        return f"imported audit segment {seg.id} does not match what event {seal.seq} sealed"
    if previous_head is not None and seg.start_hash != previous_head:
        return f"imported audit segment {seg.id} does not continue the segment before it"
    prev, expected, count, last = seg.start_hash, seg.first_seq, 0, seg.first_seq - 1
    while True:
        rows = session.scalars(
            select(ImportedAuditEvent)
            .where(ImportedAuditEvent.segment_id == seg.id, ImportedAuditEvent.seq > last)
            .order_by(ImportedAuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            where = f"imported audit segment {seg.id}, event {ev.seq}"
            if ev.seq != expected:
                return f"imported audit segment {seg.id} lacks event {expected}"
            if ev.prev_hash != prev:
                return f"{where} does not point at the hash of the event before it"
            digest = event_hash(
                seq=ev.seq, at=ev.at, actor=ev.actor, action=ev.action, subject=ev.subject,
                details=ev.details, prev_hash=ev.prev_hash,
            )
            if digest != ev.hash:
                return f"{where} was altered after it was imported"
            prev, expected, last, count = ev.hash, expected + 1, ev.seq, count + 1
        session.expunge_all()
    if expected - 1 != seg.last_seq or prev != seg.head_hash:
        return f"imported audit segment {seg.id} ends at event {expected - 1}, its seal says {seg.last_seq}"
    return count
