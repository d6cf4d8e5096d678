"""The conflicts an import reported, kept in its ledger until they are settled: listed for the admin
(``sohoa import --conflicts``), and weighed again once settled (``sohoa import --retry-conflicts``).

A conflict is settled here, by people: the record here corrected (a dossier's applicant typed wrong
at reception), or the source's code given a name of its own in the agency map (a station code both
provinces used). Retrying forgets the source's conflict rows and runs the import again: every
record behind them, and every record left out because of them (a dossier's place, its batches and
originals), is weighed again against what is here now; what still clashes is reported again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.importer.agency_map import AgencyMap
from storage.importer.ledger import ImportRecord, ImportSource, Outcome, RecordKind


@dataclass(frozen=True)
class Conflict:
    source: str  # the source's label (its URLs, without credentials)
    kind: RecordKind
    ref: str  # the record's id at the source
    detail: str
    at: datetime


def list_conflicts(db: Database, identity: str | None = None) -> list[Conflict]:
    """Every conflict not settled yet (of one source when ``identity`` is given), oldest first."""
    query = (
        select(ImportSource.label, ImportRecord.kind, ImportRecord.source_ref, ImportRecord.detail,
               ImportRecord.created)
        .join(ImportSource, ImportSource.id == ImportRecord.source_id)
        .where(ImportRecord.outcome == Outcome.CONFLICT)
        .order_by(ImportRecord.id)
    )
    if identity is not None:
        query = query.where(ImportSource.identity == identity)
    with db.session() as session:
        return [Conflict(r.label, RecordKind(r.kind), r.source_ref, r.detail or "", r.created)
                for r in session.execute(query)]


def forget_conflicts(
    session: Session, source_id: int, agencies: AgencyMap, actor: str
) -> tuple[int, frozenset[str]]:
    """Drop the source's conflict rows from the ledger (so the import weighs them again), keep the
    map given now as the source's, and say so in the audit trail. Returns how many were forgotten,
    and the refs of the certified copies among them (the import otherwise skips the copies of a
    dossier it already took)."""
    rows = session.execute(
        select(ImportRecord.kind, ImportRecord.source_ref).where(
            ImportRecord.source_id == source_id, ImportRecord.outcome == Outcome.CONFLICT
        )
    ).all()
    source = session.get(ImportSource, source_id)
    if agencies.mapping:
        source.agency_map = {**(source.agency_map or {}), **agencies.as_json()}
    if not rows:
        return 0, frozenset()
    session.execute(
        delete(ImportRecord).where(ImportRecord.source_id == source_id, ImportRecord.outcome == Outcome.CONFLICT)
    )
    lock_chain(session)
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    append_event(
        session, actor=actor, action="import.conflicts_retried", subject=f"import-source:{source_id}",
        details={"source": source.label, "conflicts": kinds},
    )
    return len(rows), frozenset(r.source_ref for r in rows if r.kind == RecordKind.COPY)
