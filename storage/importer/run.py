"""One import, start to finish: blobs, the records in chunks, then the audit trail.

Blobs are copied in a thread beside the records, and a chunk of records is written only once the
blobs it points at are here, so no record here ever points at a blob that is not. Each chunk of
records is one transaction together with its ledger rows, so an import killed at any instant (SIGKILL
included) leaves whole chunks or nothing of a chunk, and the next run skips what its ledger names.
Blobs are content-addressed: one already here is not copied again, and every copied blob is hashed
again on the way (the source store checks it against its key when read, this store when written).

``dry_run`` runs the same code in one transaction that is rolled back, and copies no blob: what it
prints is what the import would copy, merge and refuse.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InputError, IntegrityError
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.importer.agency_map import AgencyMap
from storage.importer.conflicts import forget_conflicts
from storage.importer.extras import EXTRAS, blob_keys_of, merge_extras
from storage.importer.ledger import ImportRecord, ImportSource, Outcome, RecordKind, SourceState
from storage.importer.lock import source_lock
from storage.importer.merge import Counts, merge_dossiers, merge_register
from storage.importer.model import BlobSource, Progress, Source, SourceDossier
from storage.importer.reception import merge_batches, merge_stations
from storage.importer.segments import import_audit, import_nested
from storage.models import AuditEvent
from storage.objects import ObjectStore, is_key

log = logging.getLogger(__name__)

BLOB_THREADS = 10  # S3 round trips, not CPU; the minio client pools 10 connections


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    counts: Counts = field(default_factory=Counts)
    bytes_copied: int = 0
    seconds: float = 0.0
    audit_segment: int | None = None
    retried: int = 0  # conflicts forgotten to be weighed again (``retry_conflicts``)

    @property
    def records(self) -> int:
        """Records handled (every outcome), blobs not included."""
        return sum(
            t.copied + t.present + t.merged + t.conflicts + t.refused
            for kind, t in self.counts.kinds.items()
            if kind != RecordKind.BLOB
        )

    @property
    def unsettled(self) -> int:
        """Records refused or in conflict: an import with any is not a clean one (exit 1)."""
        return sum(t.conflicts + t.refused for t in self.counts.kinds.values())


def _noop(_phase: str, _n: int) -> None:
    return None


def _source_row(session: Session, source: Source, identity: str, agencies: AgencyMap) -> tuple[int, AgencyMap]:
    """The source's ledger row, and the agency map to import it with: the one given, else the one
    given to a run before (a run again without ``--agency-map`` must not take the rest unmapped)."""
    row = session.scalar(select(ImportSource).where(ImportSource.identity == identity))
    if row is None:
        row = ImportSource(
            identity=identity, kind=source.kind, label=source.label, agency_map=agencies.as_json(),
            state=SourceState.RUNNING,
        )
        session.add(row)
        session.flush()
    if not agencies.mapping and row.agency_map:
        agencies = AgencyMap(dict(row.agency_map))
    return row.id, agencies


_GROWN_TABLES = ("import_records", "dossiers", "documents", "certified_copies", "certification_register")


def refresh_statistics(db: Database) -> None:
    """Let PostgreSQL's planner see the tables the import is filling (after chunks 1, 2, 4, 8, …).

    Its statistics of a table that grew from nothing in a minute say "one row", and it then scans
    every ledger row of a kind to find a chunk's 500 (a look-up 30 times slower) until autovacuum
    catches up, which on a busy server is long after the import.
    """
    if db.dialect != "postgresql":
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE " + ", ".join(_GROWN_TABLES))
        conn.commit()


def _chunks(items: Iterator[BlobSource], size: int) -> Iterator[list[BlobSource]]:
    while batch := list(islice(items, size)):
        yield batch


def copy_blobs(
    source: Source,
    store: ObjectStore,
    report: ImportReport,
    *,
    dry_run: bool,
    progress: Progress,
    done: Callable[[list[str]], None] = lambda _keys: None,
) -> None:
    """Bring every blob of the source that is not here, re-hashed; a few at a time in threads (S3
    round trips dominate), so memory holds at most a thread's blob each."""
    tally = report.counts.kinds[RecordKind.BLOB]

    def one(blob: BlobSource) -> tuple[Outcome, int]:
        # A blob cheap to read is sent straight away (the store asks once whether it has it);
        # one behind a network round trip is asked about first, so a run again reads nothing twice.
        if (dry_run or not source.cheap_reads) and store.exists(blob.key):
            return Outcome.PRESENT, 0
        if dry_run:
            return Outcome.COPIED, blob.size
        data = source.read_blob(blob)
        stored = store.put_bytes(data)
        if stored.key != blob.key:  # cannot happen unless a store lies: never keep such a blob's record
            raise IntegrityError(f"blob {blob.key} hashed to {stored.key} on the way in")
        return (Outcome.PRESENT if stored.existed else Outcome.COPIED), (0 if stored.existed else stored.size)

    with ThreadPoolExecutor(BLOB_THREADS) as pool:
        for batch in _chunks(source.iter_blobs(), BLOB_THREADS * 16):
            for outcome, size in pool.map(one, batch):
                tally.add(outcome)
                report.bytes_copied += size
            done([b.key for b in batch])
            progress("blobs", len(batch))


class BlobCopier:
    """The blobs copied in a thread of their own while the records go in. A chunk of records is
    written only once every blob it points at is here (:meth:`wait_for`), so a record here never
    points at a blob that is not. The store lists blobs by hash, so a chunk's blobs are spread over
    the whole listing: the first chunk usually waits for most of them, and the overlap is small
    (copying a chunk's own blobs first would be the next step). The keys finished are kept in
    memory (about 100 bytes a blob)."""

    def __init__(self, source: Source, store: ObjectStore, report: ImportReport, *, dry_run: bool,
                 progress: Progress) -> None:
        self._done: set[str] = set()
        self._finished = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, args=(source, store, report, dry_run, progress), name="sohoa-import-blobs", daemon=True
        )
        self._thread.start()

    def _run(self, source: Source, store: ObjectStore, report: ImportReport, dry_run: bool,
             progress: Progress) -> None:
        try:
            copy_blobs(source, store, report, dry_run=dry_run, progress=progress, done=self._mark)
        except BaseException as exc:  # noqa: BLE001 - handed to the importing thread at its next wait
            self._error = exc
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def _mark(self, keys: list[str]) -> None:
        with self._cond:
            self._done.update(keys)
            self._cond.notify_all()

    def wait_for(self, keys: set[str]) -> None:
        """Until these blobs are here (or the copying ended: a key the source store lacks is not
        waited for forever)."""
        with self._cond:
            while not self._finished and not keys <= self._done:
                self._cond.wait(1.0)
        if self._error is not None:
            raise self._error

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def blob_keys(dossiers: list[SourceDossier]) -> set[str]:
    """Every blob a chunk of dossiers points at."""
    keys: set[str] = set()
    for d in dossiers:
        for m in d.manifests:
            keys.update((m.manifest_key, m.signature_key))
        for doc in d.documents:
            keys.add(doc.pdf_key)
            keys.update(k for k in doc.source_keys if isinstance(k, str))
            keys.update(c.object_key for c in doc.copies)
    return {k for k in keys if is_key(k)}


def run_import(
    db: Database,
    store: ObjectStore,
    source: Source,
    *,
    agencies: AgencyMap | None = None,
    dry_run: bool = False,
    chunk: int = 500,
    actor: str = "import",
    progress: Progress = _noop,
    retry_conflicts: bool = False,
) -> ImportReport:
    """Import everything ``source`` holds into ``db`` and ``store``; safe to run again at any time.

    ``retry_conflicts`` forgets the conflicts the ledger holds for this source first, so the records
    behind them (and those that were left out with them) are weighed again against what is here now
    (after an admin settled them: a record corrected here, a code given its own name in the map).
    Only one import of a source runs at a time (:mod:`storage.importer.lock`).
    """
    agencies = agencies or AgencyMap()
    identity = source.identity()
    with db.session() as session:
        if session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 1)) == identity:
            raise InputError("the source is this deployment itself")
    with source_lock(db, identity):
        return _run(db, store, source, identity, agencies=agencies, dry_run=dry_run, chunk=chunk, actor=actor,
                    progress=progress, retry_conflicts=retry_conflicts)


def _run(
    db: Database,
    store: ObjectStore,
    source: Source,
    identity: str,
    *,
    agencies: AgencyMap,
    dry_run: bool,
    chunk: int,
    actor: str,
    progress: Progress,
    retry_conflicts: bool,
) -> ImportReport:
    started = time.monotonic()
    report = ImportReport(source=source.label, dry_run=dry_run)
    dry_session: Session | None = None
    if dry_run:
        dry_session = db.sessions()
        dry_session.begin()

    @contextlib.contextmanager
    def unit() -> Iterator[Session]:
        if dry_session is not None:
            yield dry_session
            dry_session.flush()
        else:
            with db.transaction() as session:
                yield session

    try:
        retry: frozenset[str] = frozenset()
        with unit() as session:
            source_id, agencies = _source_row(session, source, identity, agencies)
            if retry_conflicts:
                report.retried, retry = forget_conflicts(session, source_id, agencies, actor)
        blobs = BlobCopier(source, store, report, dry_run=dry_run, progress=progress)
        for number, dossiers in enumerate(source.iter_dossiers(chunk), 1):
            blobs.wait_for(blob_keys(dossiers))
            with unit() as session:
                merge_dossiers(session, source_id, dossiers, agencies, report.counts, retry=retry)
            progress("dossiers", len(dossiers))
            if not dry_run and number & (number - 1) == 0:
                refresh_statistics(db)
        if not dry_run:
            refresh_statistics(db)
        _refusals(unit, source, source_id, report)
        for entries in source.iter_register(chunk):
            with unit() as session:
                merge_register(session, source_id, entries, report.counts)
            progress("register", len(entries))
        iter_rows = getattr(source, "iter_rows", None)  # a manifest holds none of these tables
        if iter_rows is not None:
            for rows in iter_rows("stations", chunk):
                with unit() as session:
                    merge_stations(session, source_id, rows, agencies, report.counts)
                progress("stations", len(rows))
            for rows in iter_rows("batches", chunk):
                refs = [r.ref for r in rows]
                documents_of = source.documents_of_batches(refs)  # type: ignore[attr-defined]
                manifests_of = source.manifests_of_batches(refs)  # type: ignore[attr-defined]
                stages_of = source.stages_of_batches(refs)  # type: ignore[attr-defined]
                with unit() as session:
                    merge_batches(session, source_id, rows, documents_of, report.counts, manifests_of, stages_of)
                progress("batches", len(rows))
        for extra in EXTRAS if iter_rows is not None else ():
            for rows in iter_rows(extra.table, chunk):
                blobs.wait_for(blob_keys_of(extra, rows, is_key))
                with unit() as session:
                    merge_extras(session, source_id, extra, rows, agencies, report.counts)
                progress(extra.table, len(rows))
        result = import_audit(
            unit, source, source_id, label=source.label, actor=actor, chunk=chunk,
            progress=lambda n: progress("audit", n),
        )
        audit = report.counts.kinds[RecordKind.AUDIT]
        audit.copied += result.copied
        audit.present += result.present
        report.audit_segment = result.sealed_segment
        if hasattr(source, "segments"):  # the trails the source had imported itself
            nested_copied, nested_present = import_nested(
                unit, source, source_id, identity=identity, label=source.label, chunk=chunk,
                progress=lambda n: progress("audit", n),
            )
            audit.copied += nested_copied
            audit.present += nested_present
        blobs.join()  # every blob in before the import is called done
        _finish(unit, source_id, report, actor)
    finally:
        if dry_session is not None:
            dry_session.rollback()
            dry_session.close()
    report.seconds = time.monotonic() - started
    log.info("import from %s: %d records in %.1f s", source.label, report.records, report.seconds)
    return report


def _refusals(
    unit: Callable[[], contextlib.AbstractContextManager[Session]], source: Source, source_id: int,
    report: ImportReport,
) -> None:
    """Source records refused as bad input (a manifest's), kept in the ledger like any outcome."""
    refused = source.refusals()
    if not refused:
        return
    with unit() as session:
        seen = set(
            session.scalars(
                select(ImportRecord.source_ref).where(
                    ImportRecord.source_id == source_id, ImportRecord.kind == RecordKind.DOCUMENT,
                    ImportRecord.outcome == Outcome.REFUSED,
                )
            )
        )
        for r in refused:
            report.counts.add(RecordKind.DOCUMENT, Outcome.REFUSED)
            report.counts.problem(RecordKind.DOCUMENT, r.ref, r.reason)
            if r.ref not in seen:
                session.add(
                    ImportRecord(
                        source_id=source_id, kind=RecordKind.DOCUMENT, source_ref=r.ref, target_id=None,
                        outcome=Outcome.REFUSED, detail=r.reason,
                    )
                )


def _finish(
    unit: Callable[[], contextlib.AbstractContextManager[Session]], source_id: int, report: ImportReport,
    actor: str,
) -> None:
    """Mark the source imported; the first completion is an act of this deployment's audit trail."""
    with unit() as session:
        lock_chain(session)
        row = session.get(ImportSource, source_id)
        outcomes = dict(
            session.execute(
                select(ImportRecord.outcome, func.count())
                .where(ImportRecord.source_id == source_id)
                .group_by(ImportRecord.outcome)
            ).all()
        )
        if row.state != SourceState.DONE:
            append_event(
                session, actor=actor, action="import.done", subject=f"import-source:{source_id}",
                details={"source": row.label, "records": outcomes, "agency_map": row.agency_map},
            )
        row.state = SourceState.DONE
        row.finished = datetime.now(UTC)
