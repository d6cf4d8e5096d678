"""What was received, and where: the source's scanning stations and batches (an upload of originals
for a dossier). Their source files, the originals themselves with the verdict on their signatures
at reception, follow as one of :mod:`storage.importer.extras`' tables, pointing at the batches here.
Without these the dossier view of an imported province would not list the signed originals it
received.

The rules:
- a station's code and name pass through the agency map (a unit of the former province may be
  renamed or renumbered); a station code already here under the same name is the same station
  (merged), under another name a conflict: left out with its batches, until the map gives it a code
  of its own and the conflicts are retried;
- a batch keeps its public id (it is in the station's URLs); one already here for the same station
  and dossier is present, for another a conflict, as is an idempotency key the station here already
  used for another upload. A batch whose station or dossier was not taken is a conflict too;
- a batch the source had not finished is imported as failed, with that said in its errors: its
  upload waited in the former deployment's spool, which this one cannot reach, so no runner here
  may claim it; one in a status this version does not know is refused, in one line, alone;
- the documents and signed manifests the source made from a batch point at it here, once both are
  in (those that were already here before the import are left as they are); its progress by stage
  comes with it, so a finished batch does not read as waiting to be classified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select, text, tuple_, update
from sqlalchemy.orm import Session

from core.model import BatchStatus, nfc
from storage.importer.agency_map import AgencyMap
from storage.importer.ledger import Outcome, RecordKind
from storage.importer.merge import Counts, _Ledger, copy_rows, insert_rows, ledger_lookup
from storage.importer.model import SourceRow
from storage.models import Batch, Document, DossierManifest, Station
from storage.progress import batch_stages

UNFINISHED = "not finished at the former deployment when it was imported: upload it again here"


def _done(session: Session, source_id: int, kind: RecordKind, rows: Sequence[SourceRow], counts: Counts) -> list[SourceRow]:
    """The rows a run before this one did not take (those it took counted as already present)."""
    done = ledger_lookup(session, source_id, kind, (r.ref for r in rows))
    todo = []
    for r in rows:
        if r.ref in done:
            outcome = done[r.ref][0]
            counts.add(kind, outcome if outcome in (Outcome.CONFLICT, Outcome.REFUSED) else Outcome.PRESENT)
        else:
            todo.append(r)
    return todo


def merge_stations(
    session: Session, source_id: int, rows: Sequence[SourceRow], agencies: AgencyMap, counts: Counts
) -> None:
    """Take one chunk of stations."""
    todo = _done(session, source_id, RecordKind.STATION, rows, counts)
    if not todo:
        return
    ledger = _Ledger(source_id, counts)
    wanted = {r.ref: (agencies.apply(r.values["code"]), agencies.apply(r.values.get("name"))) for r in todo}
    here = {
        s.code: s for s in session.execute(
            select(Station.id, Station.code, Station.name).where(Station.code.in_({c for c, _n in wanted.values()}))
        )
    }
    new: list[tuple[SourceRow, str, str | None]] = []
    pending: set[str] = set()
    for r in todo:
        code, name = wanted[r.ref]
        former = r.values["code"] if code != r.values["code"] else None
        hit = here.get(code)
        if hit is None and code not in pending:
            new.append((r, code, name))
            pending.add(code)
        elif hit is not None and (hit.name or None) == (name or None):
            ledger.note(RecordKind.STATION, r.ref, Outcome.MERGED, hit.id, former_agency=former)
        else:
            ledger.note(
                RecordKind.STATION, r.ref, Outcome.CONFLICT, hit.id if hit is not None else None,
                former_agency=former,
                detail=f"station {code} is already here as another station: left out with its batches "
                "(give it a code of its own in the agency map, then retry the conflicts)",
            )
    if new:
        ids = insert_rows(session, Station, [
            {"code": code, "name": name, "created": r.values.get("created")} for r, code, name in new
        ])
        for (r, code, _name), new_id in zip(new, ids, strict=True):
            ledger.note(RecordKind.STATION, r.ref, Outcome.COPIED, new_id,
                        former_agency=r.values["code"] if code != r.values["code"] else None)
    ledger.write(session)


def _taken(session: Session, source_id: int, kind: RecordKind, refs: set[str]) -> dict[str, int]:
    found = ledger_lookup(session, source_id, kind, refs)
    return {
        ref: target for ref, (outcome, target) in found.items()
        if target is not None and outcome not in (Outcome.CONFLICT, Outcome.REFUSED)
    }


def merge_batches(
    session: Session,
    source_id: int,
    rows: Sequence[SourceRow],
    documents_of: Mapping[str, Sequence[str]],
    counts: Counts,
    manifests_of: Mapping[str, Sequence[str]] | None = None,
    stages_of: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> None:
    """Take one chunk of batches; ``documents_of`` and ``manifests_of`` name the source documents
    and signed manifests made from each, ``stages_of`` its progress by stage (stage, done, total)."""
    todo = _done(session, source_id, RecordKind.BATCH, rows, counts)
    if not todo:
        return
    ledger = _Ledger(source_id, counts)
    stations = _taken(session, source_id, RecordKind.STATION, {str(r.values["station_id"]) for r in todo})
    dossiers = _taken(session, source_id, RecordKind.DOSSIER,
                      {str(r.values["dossier_id"]) for r in todo if r.values.get("dossier_id") is not None})
    columns = {c.name for c in Batch.__table__.c} - {"id"}
    by_public = {
        b.public_id: b for b in session.execute(
            select(Batch.id, Batch.public_id, Batch.station_id, Batch.dossier_id)
            .where(Batch.public_id.in_({r.values["public_id"] for r in todo}))
        )
    }
    keys = {(stations[str(r.values["station_id"])], r.values["idempotency_key"]) for r in todo
            if r.values.get("idempotency_key") and str(r.values["station_id"]) in stations}
    by_key = {
        (b.station_id, b.idempotency_key): b.public_id for b in session.execute(
            select(Batch.station_id, Batch.idempotency_key, Batch.public_id)
            .where(tuple_(Batch.station_id, Batch.idempotency_key).in_(keys))
        )
    } if keys else {}
    new: list[tuple[SourceRow, dict[str, Any]]] = []
    for r in todo:
        station = stations.get(str(r.values["station_id"]))
        dossier_ref = r.values.get("dossier_id")
        dossier = dossiers.get(str(dossier_ref)) if dossier_ref is not None else None
        missing = [name for name, ref, got in (("station", r.values["station_id"], station),
                                                ("dossier", dossier_ref, dossier)) if ref is not None and got is None]
        if missing:
            ledger.note(RecordKind.BATCH, r.ref, Outcome.CONFLICT, None,
                        detail=f"batch {r.values['public_id']}: its {' and '.join(missing)} was not taken: left out")
            continue
        values = {k: nfc(v) if isinstance(v, str) else v for k, v in r.values.items() if k in columns}
        values.update(station_id=station, dossier_id=dossier, spool_dir=None)
        values.setdefault("error", None)  # every row of a chunk names the same columns (one COPY)
        values["errors"] = list(values.get("errors") or [])
        hit = by_public.get(values["public_id"])
        clash = by_key.get((station, values.get("idempotency_key")))
        if hit is not None:
            if (hit.station_id, hit.dossier_id) == (station, dossier):
                ledger.note(RecordKind.BATCH, r.ref, Outcome.PRESENT, hit.id)
            else:
                ledger.note(RecordKind.BATCH, r.ref, Outcome.CONFLICT, hit.id,
                            detail=f"batch {values['public_id']} is already here for another station or dossier: "
                            "left as it is")
            continue
        if clash is not None and clash != values["public_id"]:
            ledger.note(RecordKind.BATCH, r.ref, Outcome.CONFLICT, None,
                        detail=f"batch {values['public_id']}: its station already used its idempotency key here "
                        "for another upload: left out")
            continue
        try:
            status = BatchStatus(values.get("status") or BatchStatus.PROCESSING)
        except ValueError:  # a status this version does not know: one line, the rest goes on
            ledger.note(RecordKind.BATCH, r.ref, Outcome.REFUSED, None,
                        detail=f"batch {values['public_id']}: its status {str(values.get('status'))[:32]!r} is "
                        "not one sohoa knows: left out")
            continue
        if not status.finished:
            values.update(status=BatchStatus.FAILED, error=UNFINISHED,
                          errors=[*(values.get("errors") or []), UNFINISHED])
        by_public[values["public_id"]] = None  # type: ignore[assignment] - taken by this chunk
        if values.get("idempotency_key"):
            by_key[(station, values["idempotency_key"])] = values["public_id"]
        new.append((r, values))
    if new:
        ids = insert_rows(session, Batch, [values for _r, values in new])
        for (r, _values), new_id in zip(new, ids, strict=True):
            ledger.note(RecordKind.BATCH, r.ref, Outcome.COPIED, new_id)
        made = [(r, new_id) for (r, _values), new_id in zip(new, ids, strict=True)]
        _point(session, source_id, Document.__table__, RecordKind.DOCUMENT, made, documents_of)
        _point(session, source_id, DossierManifest.__table__, RecordKind.MANIFEST, made, manifests_of or {})
        copy_rows(session, batch_stages, [
            {"batch_id": batch, "stage": s["stage"], "done": int(s["done"]), "total": int(s["total"])}
            for r, batch in made for s in (stages_of or {}).get(r.ref, ())
        ])
    ledger.write(session)


def _point(
    session: Session,
    source_id: int,
    table: Any,
    kind: RecordKind,
    made: list[tuple[SourceRow, int]],
    of: Mapping[str, Sequence[str]],
) -> None:
    """The records of ``kind`` this import made from the batches just taken point at them; one that
    was here before the import (present, not made by it) keeps its own batch. One statement for the
    chunk on PostgreSQL (the pairs sent as two arrays), one executemany elsewhere."""
    found = ledger_lookup(session, source_id, kind, {ref for r, _b in made for ref in of.get(r.ref, ())})
    pairs = [(found[ref][1], batch) for r, batch in made for ref in of.get(r.ref, ())
             if ref in found and found[ref][0] in (Outcome.COPIED, Outcome.MERGED)]
    if not pairs:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                f"UPDATE {table.name} SET batch_id = v.batch FROM "
                "(SELECT unnest(CAST(:ids AS integer[])) AS id, unnest(CAST(:batches AS integer[])) AS batch) v "
                f"WHERE {table.name}.id = v.id AND {table.name}.batch_id IS NULL"
            ),
            {"ids": [i for i, _b in pairs], "batches": [b for _i, b in pairs]},
        )
        return
    session.execute(
        update(table).where(table.c.id == bindparam("rid"), table.c.batch_id.is_(None)).values(batch_id=bindparam("b")),
        [{"rid": i, "b": b} for i, b in pairs],
    )
