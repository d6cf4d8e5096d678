"""The batch record as the API sees it: an upload recorded ``queued``, claimed by a runner,
followed, finished, and read back with its documents.

There is one record per batch (``batches``), whichever runner processes it: the row made when a
station's upload is accepted is the one the in-process runner (``flow.run.process_paths``) or the
Celery workers continue (``batch_id=``), so progress and documents are read from the records the
runners write, never copied. Clients know a batch by its ``public_id`` (random, in URLs); the
runners and ``sohoa status`` by its integer ``id``.

The upload path (:func:`record_upload`, :func:`find_by_idempotency_key`) takes no audit lock: it
must answer in milliseconds, and an accepted upload is not yet an act on the dossier. The audit
event ``batch.started`` is written when a runner claims the batch (:func:`claim_batch`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, String, Text, column, or_, select, table, update
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session, selectinload

from core.errors import InputError
from core.model import BatchStatus, DossierStatus, nfc
from storage.archive import _station, batch_status, upsert_dossier
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.models import Batch, CertifiedCopy, Document, Dossier, Station

INSERT_TRIES = 3  # a new station or dossier made by another upload at the same moment: try again

# The lease columns of ``batches`` (migration 0005), written only here: who runs a batch, and until
# when (seconds since the epoch) that holds unless the runner renews it.
_leases = table(
    "batches",
    column("id", Integer),
    column("public_id", String),
    column("status", String),
    column("spool_dir", Text),
    column("attempts", Integer),
    column("lease_owner", String),
    column("lease_until", Float),
)


@dataclass(frozen=True)
class Lease:
    """A runner's claim on a batch: ``owner`` names the process (host, pid, a nonce), and the claim
    lapses ``seconds`` after its last renewal. The runner renews it every quarter of that, so a
    lapsed lease means the runner is gone, never merely slow (the rule the Celery runner keeps
    with its visibility timeout: longer than anything a live worker goes without a word)."""

    owner: str
    seconds: float


@dataclass(frozen=True)
class BatchRecord:
    """One batch as recorded. ``files`` is what the upload handed in (name, size, sha256,
    media_type, pages, spool_name), empty for batches not made through the API."""

    id: int
    public_id: str
    station: str
    dossier_code: str | None
    procedure_code: str | None
    status: BatchStatus
    certify: bool
    files: tuple[dict[str, Any], ...]
    file_count: int
    spool_dir: str | None
    idempotency_key: str | None
    fingerprint: str | None
    pages_total: int
    pages_done: int
    attempts: int
    error: str | None
    errors: tuple[str, ...]
    created: datetime
    started: datetime | None
    finished: datetime | None
    official: str | None = None  # who the scans are signed for: the uploading key's official, if it names one


@dataclass(frozen=True)
class BatchDocument:
    """A document the batch produced, as recorded (``pages`` are labels, "file p.N" when the
    upload's files tell which page each one was, otherwise "p.N" within the document)."""

    index: int
    document_id: int
    doc_type: str
    confidence: float
    pages: tuple[str, ...]
    fields: dict[str, Any]
    needs_review: tuple[str, ...]
    sha256: str
    certification_number: str | None
    reused_from: int | None


@dataclass(frozen=True)
class BatchReport:
    """A batch with its progress and documents: the one answer for both runners."""

    batch: BatchRecord
    pages_total: int
    pages_done: int
    documents: tuple[BatchDocument, ...]


def _now() -> datetime:
    return datetime.now(UTC)


def _record(row: Batch) -> BatchRecord:
    return BatchRecord(
        id=row.id,
        public_id=row.public_id,
        station=row.station.code,
        dossier_code=row.dossier.code if row.dossier else None,
        procedure_code=row.procedure_code,
        status=batch_status(row.status),
        certify=bool(row.certify),
        files=tuple(dict(f) for f in row.uploaded_files or ()),
        file_count=row.files,
        spool_dir=row.spool_dir,
        idempotency_key=row.idempotency_key,
        fingerprint=row.fingerprint,
        pages_total=row.pages_total or 0,
        pages_done=row.pages_done or 0,
        attempts=row.attempts or 0,
        error=row.error,
        errors=tuple(row.errors or ()),
        created=row.created,
        started=row.started,
        finished=row.finished,
        official=row.official,
    )


def _select() -> Any:
    return select(Batch).options(selectinload(Batch.station), selectinload(Batch.dossier))


def _one(session: Session, *conditions: Any) -> Batch | None:
    return session.scalar(_select().where(*conditions))


# -- the upload --------------------------------------------------------------------------------------


def record_upload(
    db: Database,
    *,
    public_id: str,
    station: str,
    dossier_code: str,
    procedure_code: str | None,
    certify: bool,
    files: Sequence[dict[str, Any]],
    spool_dir: str,
    fingerprint: str,
    idempotency_key: str | None = None,
    official: str | None = None,
) -> tuple[BatchRecord, bool]:
    """Record an accepted upload as ``queued``; returns (record, created). ``official`` is the
    uploading key's holder, for whom the runner signs the scans.

    With an ``idempotency_key`` the station used before, nothing is written and the earlier batch
    comes back with ``created`` False (the caller compares fingerprints). The station and the
    dossier are created if this is their first batch; an existing dossier is not changed here."""
    station = nfc(station)
    for attempt in range(INSERT_TRIES):
        if idempotency_key is not None:
            existing = find_by_idempotency_key(db, station, idempotency_key)
            if existing is not None:
                return existing, False
        try:
            with db.transaction() as session:
                st = _station(session, station)
                row = Batch(
                    public_id=public_id,
                    station_id=st.id,
                    dossier_id=_dossier_for_upload(session, dossier_code, procedure_code).id,
                    procedure_code=procedure_code,
                    status=BatchStatus.QUEUED,
                    certify=certify,
                    files=len(files),
                    uploaded_files=[dict(f) for f in files],
                    spool_dir=spool_dir,
                    idempotency_key=idempotency_key,
                    fingerprint=fingerprint,
                    official=nfc(official) if official else None,
                    errors=[],
                    created=_now(),
                )
                session.add(row)
                session.flush()
                return _record(row), True
        except DbIntegrityError:
            if attempt == INSERT_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def _dossier_for_upload(session: Session, code: str, procedure_code: str | None) -> Dossier:
    code = nfc(code).strip()
    if not code:
        raise InputError("a dossier needs a code (MaHoSo)")
    row = session.scalar(select(Dossier).where(Dossier.code == code))
    if row is None:
        row = Dossier(code=code, procedure_code=procedure_code, status=DossierStatus.RECEIVED)
        session.add(row)
        session.flush()
    return row


def find_by_idempotency_key(db: Database, station: str, key: str) -> BatchRecord | None:
    """The batch a station's earlier upload with this Idempotency-Key made, if any."""
    with db.session() as session:
        row = session.scalar(
            _select().where(Batch.idempotency_key == key, Batch.station.has(code=nfc(station)))
        )
        return None if row is None else _record(row)


def retire_idempotency_key(db: Database, public_id: str) -> bool:
    """Let a failed batch's Idempotency-Key go, so that the station's retry with the same key is a
    new attempt rather than the failure replayed for ever. The failed batch keeps its id, its
    error and its trail; only the key moves to the new batch. False when the batch is not failed
    (or its key was already let go by a concurrent retry)."""
    with db.transaction() as session:
        return bool(session.execute(
            update(Batch)
            .where(Batch.public_id == public_id, Batch.status == BatchStatus.FAILED,
                   Batch.idempotency_key.is_not(None))
            .values(idempotency_key=None)
        ).rowcount)


# -- the runner's side -------------------------------------------------------------------------------


def claim_batch(
    db: Database, public_id: str, *, agency: str | None = None, lease: Lease | None = None
) -> BatchRecord | None:
    """``queued`` → ``processing`` in one conditional UPDATE, so a batch submitted twice runs once;
    None when there was nothing to claim. The claim counts an attempt, takes the ``lease`` (see
    :func:`renew_lease`), starts progress afresh, marks the dossier processing and writes
    ``batch.started`` to the audit log, in the same transaction."""
    with db.transaction() as session:
        lock_chain(session)  # first, as every other writer of the chain does: no lock-order deadlock
        claimed = session.execute(
            update(Batch)
            .where(Batch.public_id == public_id, Batch.status == BatchStatus.QUEUED)
            .values(status=BatchStatus.PROCESSING, started=_now(), attempts=Batch.attempts + 1, pages_done=0)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return None
        session.execute(
            update(_leases).where(_leases.c.public_id == public_id).values(
                lease_owner=lease.owner if lease else None,
                lease_until=time.time() + lease.seconds if lease else None,
            )
        )
        row = _one(session, Batch.public_id == public_id)
        assert row is not None
        if row.dossier is not None:
            upsert_dossier(
                session, code=row.dossier.code, procedure_code=row.procedure_code, agency=agency,
                status=DossierStatus.PROCESSING,
            )
        append_event(
            session,
            actor=row.station.code,
            action="batch.started",
            subject=f"batch:{row.id}",
            details={"station": row.station.code, "dossier": row.dossier.code if row.dossier else None,
                     "files": row.files, "attempt": row.attempts},
        )
        return _record(row)


def record_progress(db: Database, batch_id: int, *, pages_total: int | None = None,
                    pages_done: int | None = None) -> None:
    """Absolute page counts, written without the audit lock: progress is frequent and no act."""
    values: dict[str, int] = {}
    if pages_total is not None:
        values["pages_total"] = pages_total
    if pages_done is not None:
        values["pages_done"] = pages_done
    if values:
        with db.transaction() as session:
            session.execute(update(Batch).where(Batch.id == batch_id).values(**values))


def fail_batch(db: Database, public_id: str, error: str) -> bool:
    """Mark a batch failed with the one line its station is shown; False when it had finished
    well already. A line the runner recorded first is kept (the first reason is the real one), and
    the line also joins ``errors`` for ``sohoa status``."""
    line = nfc(error).replace("\n", " ").strip() or "failed"
    with db.transaction() as session:
        lock_chain(session)  # serialises appends to ``errors`` with update_batch
        row = session.scalar(select(Batch).where(Batch.public_id == public_id))
        if row is None or row.status == BatchStatus.DONE:
            return False
        row.status = BatchStatus.FAILED
        row.finished = row.finished or _now()
        row.error = row.error or line
        if line not in (row.errors or []):
            row.errors = [*(row.errors or []), line]
        return True


def release_spool(db: Database, batch_id: int) -> None:
    """The upload's files left the spool (processed, or stored by the workers): nothing to resume."""
    with db.transaction() as session:
        session.execute(update(Batch).where(Batch.id == batch_id).values(spool_dir=None))


def renew_lease(db: Database, public_id: str, lease: Lease) -> bool:
    """The runner's heartbeat: extend its lease; False when the batch is no longer its own
    (finished, failed by the server, or taken up by another runner after the lease lapsed)."""
    with db.transaction() as session:
        return bool(session.execute(
            update(_leases)
            .where(_leases.c.public_id == public_id, _leases.c.lease_owner == lease.owner,
                   _leases.c.status == BatchStatus.PROCESSING)
            .values(lease_until=time.time() + lease.seconds)
        ).rowcount)


def _lapsed() -> Any:
    return or_(_leases.c.lease_until.is_(None), _leases.c.lease_until < time.time())


def requeue_unfinished(db: Database, *, max_attempts: int | None = None) -> list[str]:
    """After a restart, and from time to time while serving: uploads whose files still wait in the
    spool go back to ``queued`` — a run cut short included, but only once its lease has lapsed (a
    job still renewing it is running somewhere and must not be doubled). A batch that has already
    been started ``max_attempts`` times without finishing is failed instead, with that reason: it
    is what stops its job (killed by the kernel for its memory, say) and would on every restart.
    Returns the public ids of every queued batch with its files, oldest first."""
    with db.transaction() as session:
        stale = [_leases.c.status == BatchStatus.PROCESSING, _leases.c.spool_dir.is_not(None), _lapsed()]
        poisoned: list[tuple[str, int]] = []
        if max_attempts is not None:
            poisoned = [(r.public_id, r.attempts) for r in session.execute(
                select(_leases.c.public_id, _leases.c.attempts).where(*stale, _leases.c.attempts >= max_attempts)
            )]
            stale.append(_leases.c.attempts < max_attempts)
        session.execute(
            update(_leases).where(*stale).values(status=BatchStatus.QUEUED, lease_owner=None, lease_until=None)
        )
    for public_id, attempts in poisoned:
        fail_batch(db, public_id, f"processing stopped before the end {attempts} times (its job process "
                                  "died or the server stopped); not tried again")
    with db.session() as session:
        return list(session.scalars(
            select(Batch.public_id)
            .where(Batch.status == BatchStatus.QUEUED, Batch.spool_dir.is_not(None))
            .order_by(Batch.created, Batch.id)
        ))


def retry_or_fail(db: Database, public_id: str, reason: str, *, max_attempts: int) -> BatchStatus | None:
    """A job process died under a live server (killed, out of memory, crashed): the batch goes back
    to ``queued`` with the reason among its ``errors``, or, once started ``max_attempts`` times, is
    failed with it. None when the batch had finished or was not running (nothing to do)."""
    line = nfc(reason).replace("\n", " ").strip() or "the job process stopped"
    with db.transaction() as session:
        lock_chain(session)  # serialises appends to ``errors`` with fail_batch and update_batch
        row = session.scalar(select(Batch).where(Batch.public_id == public_id))
        if row is None or row.status != BatchStatus.PROCESSING:
            return None
        if (row.attempts or 0) < max_attempts and row.spool_dir is not None:
            row.status = BatchStatus.QUEUED
            row.errors = [*(row.errors or []), f"attempt {row.attempts}: {line}"]
            session.flush()
            session.execute(update(_leases).where(_leases.c.id == row.id).values(lease_owner=None, lease_until=None))
            return BatchStatus.QUEUED
        attempts = row.attempts or 0
    fail_batch(db, public_id, f"{line} (on each of {attempts} attempts; not tried again)")
    return BatchStatus.FAILED


def give_back(db: Database, public_id: str, lease: Lease) -> bool:
    """A server stopping on purpose hands a running batch back: ``queued`` again at once, its
    attempt not counted (it did not fail), so the next start resumes it without waiting for the
    lease to lapse. False when the batch was no longer this lease's."""
    with db.transaction() as session:
        return bool(session.execute(
            update(_leases)
            .where(_leases.c.public_id == public_id, _leases.c.lease_owner == lease.owner,
                   _leases.c.status == BatchStatus.PROCESSING)
            .values(status=BatchStatus.QUEUED, attempts=_leases.c.attempts - 1, lease_owner=None, lease_until=None)
        ).rowcount)


def spooled(db: Database) -> set[str]:
    """Public ids of the batches whose files wait in the spool, whatever their state."""
    with db.session() as session:
        return set(session.scalars(select(Batch.public_id).where(Batch.spool_dir.is_not(None))))


# -- reading -----------------------------------------------------------------------------------------


def get_batch(db: Database, public_id: str, *, station: str | None = None) -> BatchRecord | None:
    """One batch by its public id; with ``station``, only if it is that station's."""
    conditions = [Batch.public_id == public_id]
    if station is not None:
        conditions.append(Batch.station.has(code=nfc(station)))
    with db.session() as session:
        row = _one(session, *conditions)
        return None if row is None else _record(row)


def list_batches(
    db: Database, *, station: str, status: BatchStatus | str | None = None, limit: int = 20
) -> list[BatchRecord]:
    """A station's uploads (made through the API), newest first."""
    query = _select().where(Batch.station.has(code=nfc(station)), Batch.fingerprint.is_not(None))
    if status is not None:
        query = query.where(Batch.status == batch_status(status))
    with db.session() as session:
        rows = session.scalars(query.order_by(Batch.created.desc(), Batch.id.desc()).limit(max(1, limit)))
        return [_record(r) for r in rows]


def batch_report(db: Database, public_id: str, *, station: str | None = None) -> BatchReport | None:
    """A batch with progress and documents read from the records, whichever runner wrote them."""
    record = get_batch(db, public_id, station=station)
    return None if record is None else reports(db, [record])[0]


def reports(db: Database, records: Sequence[BatchRecord]) -> list[BatchReport]:
    """Progress and documents of several batches, in two queries whatever their number."""
    ids = [r.id for r in records]
    by_batch: dict[int, list[Document]] = {i: [] for i in ids}
    numbers: dict[int, str] = {}
    with db.session() as session:
        if ids:
            for d in session.scalars(select(Document).where(Document.batch_id.in_(ids)).order_by(Document.id)):
                by_batch[d.batch_id].append(d)  # type: ignore[index]
            doc_ids = [d.id for docs in by_batch.values() for d in docs]
            if doc_ids:
                for document_id, number in session.execute(
                    select(CertifiedCopy.document_id, CertifiedCopy.certification_number)
                    .where(CertifiedCopy.document_id.in_(doc_ids))
                    .order_by(CertifiedCopy.id.desc())
                ):
                    numbers[document_id] = number  # the earliest copy wins: the one made with the batch
        out = []
        for record in records:
            docs = by_batch[record.id]
            out.append(_report(record, docs, numbers))
    return out


def _report(record: BatchRecord, docs: Sequence[Document], numbers: dict[int, str]) -> BatchReport:
    in_docs = sum(d.page_count for d in docs)
    total = record.pages_total or sum(int(f.get("pages") or 0) for f in record.files)
    done = max(record.pages_done, in_docs)
    total = max(total, done)
    labels = _page_labels(record.files, [d.page_count for d in docs])
    documents = tuple(
        BatchDocument(
            index=i,
            document_id=d.id,
            doc_type=d.doc_type,
            confidence=round(float(d.type_confidence or 0.0), 4),
            pages=labels[i - 1],
            fields=dict(d.fields or {}),
            needs_review=tuple(sorted(
                name for name, f in (d.fields or {}).items()
                if isinstance(f, dict) and (f.get("needs_review") or f.get("valid") is False)
            )),
            sha256=d.pdf_sha256,
            certification_number=numbers.get(d.id),
            reused_from=d.reused_from_id,
        )
        for i, d in enumerate(docs, start=1)
    )
    return BatchReport(batch=record, pages_total=total, pages_done=done, documents=documents)


def _page_labels(files: Sequence[dict[str, Any]], page_counts: Sequence[int]) -> list[tuple[str, ...]]:
    """"file p.N" for each page of each document, walking the upload's files in order, when the
    documents hold every page handed in (nothing was dropped as a separator sheet, so the walk
    is exact); otherwise "p.N" within each document, never a guess."""
    pages = [(str(f.get("name") or f"file {k}"), n) for k, f in enumerate(files, 1)
             for n in range(1, int(f.get("pages") or 0) + 1)]
    if not pages or len(pages) != sum(page_counts):
        return [tuple(f"p.{n}" for n in range(1, count + 1)) for count in page_counts]
    out, at = [], 0
    for count in page_counts:
        out.append(tuple(f"{name} p.{n}" for name, n in pages[at:at + count]))
        at += count
    return out


def legacy_api_view() -> Any:
    """The API's uploads shaped as the ``api_batches`` table that migration 0003 folded into
    ``batches`` (``id`` the public id, ``station`` the code, ``storage_batch_id`` the record id),
    read-only, for code not yet moved to this module's functions."""
    from sqlalchemy import literal_column

    return (
        select(
            Batch.public_id.label("id"),
            Station.code.label("station"),
            Batch.idempotency_key,
            Batch.fingerprint,
            Dossier.code.label("dossier_code"),
            Batch.procedure_code,
            Batch.certify,
            Batch.status,
            Batch.uploaded_files.label("files"),
            Batch.spool_dir,
            Batch.pages_total,
            Batch.pages_done,
            Batch.attempts,
            literal_column("NULL").label("result"),
            Batch.error,
            Batch.id.label("storage_batch_id"),
            Batch.created,
            Batch.started,
            Batch.finished,
        )
        .join(Station, Station.id == Batch.station_id)
        .outerjoin(Dossier, Dossier.id == Batch.dossier_id)
        .where(Batch.fingerprint.is_not(None))
        .subquery("api_batches")
    )


__all__ = [
    "BatchDocument",
    "BatchRecord",
    "BatchReport",
    "Lease",
    "batch_report",
    "claim_batch",
    "fail_batch",
    "find_by_idempotency_key",
    "get_batch",
    "give_back",
    "legacy_api_view",
    "list_batches",
    "record_progress",
    "record_upload",
    "release_spool",
    "renew_lease",
    "reports",
    "requeue_unfinished",
    "retire_idempotency_key",
    "retry_or_fail",
    "spooled",
]
