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

A source that was itself a merge target holds segments it imported (another province's trail,
sealed by an event of the source's chain). Those come too, verbatim, as nested segments: each is
sealed here by the very event that sealed it there, which is now an event of an imported segment
(``parent_id``), so `sohoa audit verify` walks from this chain to the source's segment to the
segments inside it. Each nested trail is a source of its own in the ledger ("A through B"), so the
same province imported directly and through another is kept apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import IntegrityError
from storage.audit import GENESIS, append_event, event_hash, lock_chain
from storage.db import Database
from storage.importer.ledger import (
    AuditSegment,
    ImportedAuditEvent,
    ImportRecord,
    ImportSource,
    Outcome,
    RecordKind,
    SourceState,
)
from storage.importer.merge import copy_rows, ledger_lookup
from storage.importer.model import Source, SourceEvent, SourceSegment
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


def _copy_events(session: Session, segment_id: int, events: list[SourceEvent]) -> None:
    copy_rows(
        session, ImportedAuditEvent.__table__,
        [
            {
                "segment_id": segment_id, "seq": ev.seq, "at": ev.at, "actor": ev.actor, "action": ev.action,
                "subject": ev.subject, "details": ev.details, "prev_hash": ev.prev_hash, "hash": ev.hash,
            }
            for ev in events
        ],
    )


def _nested_source(session: Session, identity: str, label: str, seg: SourceSegment) -> int:
    """The ledger's source row of one trail the source had imported (kept apart per source)."""
    key = hashlib.sha256(f"nested:{identity}:{seg.trail}".encode()).hexdigest()
    row = session.scalar(select(ImportSource).where(ImportSource.identity == key))
    if row is None:
        row = ImportSource(identity=key, kind="nested", label=f"{seg.trail_label} (through {label})",
                           agency_map={}, state=SourceState.DONE)
        session.add(row)
        session.flush()
    return row.id


def _parent(session: Session, source_id: int, seg: SourceSegment, mapped: dict[str, int]) -> int:
    """The segment here holding the event that sealed ``seg`` at the source."""
    if seg.parent_ref is not None:
        if seg.parent_ref not in mapped:
            raise IntegrityError(f"the source's audit segment {seg.ref} is sealed in segment {seg.parent_ref}, "
                                 "which it does not hold sealed: not imported")
        return mapped[seg.parent_ref]
    parent = session.scalar(select(AuditSegment.id).where(
        AuditSegment.source_id == source_id, AuditSegment.parent_id.is_(None), AuditSegment.sealed_seq.is_not(None),
        AuditSegment.first_seq <= seg.sealed_seq, AuditSegment.last_seq >= seg.sealed_seq,
    ))
    if parent is None:
        raise IntegrityError(f"the source's audit segment {seg.ref} is sealed by event {seg.sealed_seq} of its "
                             "chain, which is not here: not imported")
    return parent


def import_nested(
    unit: Callable[[], AbstractContextManager[Session]],
    source: Source,
    source_id: int,
    *,
    identity: str,
    label: str,
    chunk: int,
    progress: Callable[[int], None],
) -> tuple[int, int]:
    """Copy the segments the source had imported itself (after its own trail is sealed here);
    returns (events copied, events already here)."""
    segments: list[SourceSegment] = source.segments()  # type: ignore[attr-defined]
    if not segments:
        return 0, 0
    copied = present = 0
    with unit() as session:
        done = ledger_lookup(session, source_id, RecordKind.SEGMENT, (s.ref for s in segments))
    mapped = {ref: target for ref, (_outcome, target) in done.items() if target is not None}
    for seg in segments:
        if seg.ref in done:
            present += seg.last_seq - seg.first_seq + 1
            continue
        with unit() as session:
            parent = _parent(session, source_id, seg, mapped)
            nested = _nested_source(session, identity, label, seg)
            row = session.scalar(select(AuditSegment).where(
                AuditSegment.source_id == nested, AuditSegment.first_seq == seg.first_seq))
            if row is None:
                row = AuditSegment(source_id=nested, first_seq=seg.first_seq, last_seq=seg.first_seq - 1,
                                   start_hash=seg.start_hash, head_hash=seg.start_hash)
                session.add(row)
                session.flush()
            segment_id, last_seq, prev = row.id, row.last_seq, row.head_hash
            present += last_seq - seg.first_seq + 1
        for events in source.iter_segment_events(seg.ref, last_seq, chunk):  # type: ignore[attr-defined]
            for ev in events:
                _check(ev, last_seq + 1, prev)
                last_seq, prev = ev.seq, ev.hash
            with unit() as session:
                _copy_events(session, segment_id, events)
                row = session.get(AuditSegment, segment_id)
                row.last_seq, row.head_hash = last_seq, prev
            copied += len(events)
            progress(len(events))
        if (last_seq, prev) != (seg.last_seq, seg.head_hash):
            raise IntegrityError(f"the source's audit segment {seg.ref} does not end where its seal says: not imported")
        with unit() as session:
            seal = session.scalar(select(ImportedAuditEvent).where(
                ImportedAuditEvent.segment_id == parent, ImportedAuditEvent.seq == seg.sealed_seq))
            if seal is None or _seal_problem(seal, seg.sealed_as, seg.first_seq, seg.last_seq, seg.head_hash):
                raise IntegrityError(f"the source's audit segment {seg.ref} is not what its seal recorded: not imported")
            row = session.get(AuditSegment, segment_id)
            row.parent_id, row.sealed_seq, row.sealed_as = parent, seg.sealed_seq, seg.sealed_as
            session.add(ImportRecord(source_id=source_id, kind=RecordKind.SEGMENT, source_ref=seg.ref,
                                     target_id=segment_id, outcome=Outcome.COPIED))
        mapped[seg.ref] = segment_id
    return copied, present


def _seal_problem(seal: AuditEvent | ImportedAuditEvent, named: int, first: int, last: int, head: str) -> str | None:
    if seal.action != SEAL_ACTION or seal.subject != f"audit-segment:{named}":
        return "is not its seal"
    details = seal.details or {}
    if (details.get("head_hash"), details.get("first_seq"), details.get("last_seq")) != (head, first, last):
        return "does not match what it sealed"
    return None


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


def _seal_of(session: Session, seg: AuditSegment) -> AuditEvent | ImportedAuditEvent | None:
    """The event that sealed ``seg``: of this chain, or (nested) of the sealed segment it came in."""
    if seg.parent_id is None:
        return session.get(AuditEvent, seg.sealed_seq)
    parent = session.get(AuditSegment, seg.parent_id)
    if parent is None or parent.sealed_seq is None or not parent.first_seq <= seg.sealed_seq <= parent.last_seq:
        return None
    return session.scalar(select(ImportedAuditEvent).where(
        ImportedAuditEvent.segment_id == parent.id, ImportedAuditEvent.seq == seg.sealed_seq))


def _verify_one(session: Session, seg: AuditSegment, previous_head: str | None, batch: int) -> int | str:
    seal = _seal_of(session, seg)
    named = seg.id if seg.parent_id is None else seg.sealed_as
    problem = "is not its seal" if seal is None else _seal_problem(
        seal, named, seg.first_seq, seg.last_seq, seg.head_hash)
    where = "" if seg.parent_id is None else f" of imported segment {seg.parent_id}"
    if problem:
        return f"imported audit segment {seg.id}: the event that sealed it ({seg.sealed_seq}{where}) {problem}"
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
