"""The records that hang off dossiers and documents: result codes, procedure results, dossier
components and places, learned words, certification requests and the originals received (source
files, with the verdict on their signatures at reception). They go in after the dossiers, the
register, the stations and the batches, through the same ledger, with every reference to a source dossier, document or copy
replaced by what that record became here (the ledger's id mapping).

The rules:
- a result code is printed on the paper, so it never changes: one already here for the same document
  (and the same agency, day and sequence) is present; the same code, or the same agency, day and
  sequence, held here by another document is a conflict, reported and left as it is here;
- a place is one per dossier: the same place is present, another one a conflict;
- the other records are present when a record with the same content already points at the same
  dossier or document here, else copied;
- a record whose dossier, document or copy was not taken (a conflict) is a conflict too: left out
  (a reference left empty here would say something the source did not).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from core.model import nfc
from storage.certify_queue import CertifyRequestRow
from storage.components import DossierComponent, DossierPlace
from storage.importer.agency_map import AgencyMap
from storage.importer.ledger import Outcome, RecordKind
from storage.importer.merge import Counts, _Ledger, copy_rows, insert_rows, ledger_lookup
from storage.importer.model import SourceRow
from storage.models import LearnedWord, SourceFile
from storage.result_codes import ResultCode
from storage.results import ProcedureResult


@dataclass(frozen=True)
class Extra:
    """One table: its ledger kind, its model here, and which columns are references to map."""

    table: str
    kind: RecordKind
    model: Any
    refs: dict[str, RecordKind]  # column -> kind of the record it points at
    key: tuple[str, ...]  # columns whose values (after mapping) say "the same record"
    scope: str  # the reference column that narrows the look-up of what is here
    blobs: tuple[str, ...] = ()  # columns holding blob keys
    unique: str | None = None  # a column unique across the table (a code printed on paper)


EXTRAS: tuple[Extra, ...] = (
    Extra("result_codes", RecordKind.RESULT_CODE, ResultCode, {"document_id": RecordKind.DOCUMENT},
          ("code", "document_id", "agency_code", "day", "sequence"), "document_id"),
    Extra("procedure_results", RecordKind.RESULT, ProcedureResult,
          {"dossier_id": RecordKind.DOSSIER, "document_id": RecordKind.DOCUMENT},
          ("dossier_id", "sha256"), "dossier_id", blobs=("object_key",), unique="result_code"),
    Extra("dossier_components", RecordKind.COMPONENT, DossierComponent,
          {"dossier_id": RecordKind.DOSSIER, "reused_document_id": RecordKind.DOCUMENT},
          ("dossier_id", "doc_type", "state", "reused_document_id", "created"), "dossier_id"),
    Extra("dossier_places", RecordKind.PLACE, DossierPlace, {"dossier_id": RecordKind.DOSSIER},
          ("dossier_id",), "dossier_id"),
    Extra("learned_words", RecordKind.WORD, LearnedWord, {"document_id": RecordKind.DOCUMENT},
          ("kind", "text", "official", "document_id", "field"), "document_id"),
    Extra("certify_requests", RecordKind.CERTIFY, CertifyRequestRow,
          {"document_id": RecordKind.DOCUMENT, "certified_copy_id": RecordKind.COPY},
          ("document_id", "requested_by", "requested"), "document_id"),
    Extra("source_files", RecordKind.SOURCE_FILE, SourceFile, {"batch_id": RecordKind.BATCH},
          ("batch_id", "sha256", "name"), "batch_id", blobs=("object_key",)),
)

_PLACE_FIELDS = ("agency", "commune_code", "province_code", "commune_name", "address")


def _mapped(session: Session, source_id: int, extra: Extra, rows: Sequence[SourceRow]) -> dict[str, dict[str, int]]:
    """column → source ref → id here, for the references of these rows (conflicts map to nothing)."""
    out: dict[str, dict[str, int]] = {}
    for column, kind in extra.refs.items():
        refs = {str(r.values[column]) for r in rows if r.values.get(column) is not None}
        found = ledger_lookup(session, source_id, kind, refs)
        out[column] = {
            ref: target for ref, (outcome, target) in found.items()
            if target is not None and outcome not in (Outcome.CONFLICT, Outcome.REFUSED)
        }
    return out


def _norm(value: Any) -> Any:
    return nfc(value) if isinstance(value, str) else value


def merge_extras(
    session: Session, source_id: int, extra: Extra, rows: Sequence[SourceRow], agencies: AgencyMap, counts: Counts
) -> None:
    """Take one chunk of one table's records."""
    done = ledger_lookup(session, source_id, extra.kind, (r.ref for r in rows))
    todo = []
    for r in rows:
        if r.ref in done:
            outcome = done[r.ref][0]
            counts.add(extra.kind, outcome if outcome in (Outcome.CONFLICT, Outcome.REFUSED) else Outcome.PRESENT)
        else:
            todo.append(r)
    if not todo:
        return
    ledger = _Ledger(source_id, counts)
    maps = _mapped(session, source_id, extra, todo)
    columns = {c.name for c in extra.model.__table__.c}
    ready: list[tuple[SourceRow, dict[str, Any]]] = []
    for r in todo:
        values = {k: _norm(v) for k, v in r.values.items() if k in columns and k != "id"}
        missing = []
        for column in extra.refs:
            if values.get(column) is None:
                continue
            target = maps[column].get(str(values[column]))
            if target is None:
                missing.append(column)
            values[column] = target
        if missing:  # a reference left null here would say something the source did not
            ledger.note(extra.kind, r.ref, Outcome.CONFLICT, None,
                        detail=f"{extra.table} {r.ref}: its {', '.join(missing)} was not taken: left out")
            continue
        if extra.kind == RecordKind.PLACE and values.get("agency"):
            values["agency"] = agencies.apply(values["agency"])
        ready.append((r, values))
    if ready:
        check = _check_result_codes if extra.kind == RecordKind.RESULT_CODE else _check_same
        new = check(session, extra, ready, ledger)
        if extra.kind == RecordKind.PLACE:  # keyed by its dossier: no id of its own to draw
            copy_rows(session, extra.model.__table__, [values for _r, values in new])
            ids = [values["dossier_id"] for _r, values in new]
        else:
            ids = insert_rows(session, extra.model, [values for _r, values in new])
        for (r, _values), new_id in zip(new, ids, strict=True):
            ledger.note(extra.kind, r.ref, Outcome.COPIED, new_id)
    ledger.write(session)


Ready = list[tuple[SourceRow, dict[str, Any]]]


def _existing(session: Session, extra: Extra, ready: Ready) -> list[Any]:
    table = extra.model.__table__
    scope = {values[extra.scope] for _r, values in ready if values.get(extra.scope) is not None}
    cond = table.c[extra.scope].in_(scope) if scope else None
    if extra.kind == RecordKind.WORD:  # words learned from no document are looked up by their text
        texts = {values["text"] for _r, values in ready}
        cond = or_(cond, table.c.text.in_(texts)) if cond is not None else table.c.text.in_(texts)
    if cond is None:
        return []
    return list(session.execute(select(table).where(cond)).mappings())


def _check_same(session: Session, extra: Extra, ready: Ready, ledger: _Ledger) -> Ready:
    def key(values: Any) -> tuple:
        return tuple(_same_time(values.get(c)) for c in extra.key)

    here = {key(row): row for row in _existing(session, extra, ready)}
    taken: dict[Any, Any] = {}
    if extra.unique:
        column = extra.model.__table__.c[extra.unique]
        wanted = {values[extra.unique] for _r, values in ready}
        taken = {row[extra.unique]: row for row in session.execute(
            select(extra.model.__table__).where(column.in_(wanted))).mappings()}
    id_column = "dossier_id" if extra.kind == RecordKind.PLACE else "id"
    new: Ready = []
    for r, values in ready:
        hit = here.get(key(values))
        clash = taken.get(values[extra.unique]) if extra.unique else None
        if hit is None and clash is not None:
            ledger.note(extra.kind, r.ref, Outcome.CONFLICT, clash.get(id_column),
                        detail=f"{extra.unique.replace('_', ' ')} {values[extra.unique]} is already here "
                        "for another record: left as it is")
        elif hit is None:
            here[key(values)] = values
            if extra.unique:
                taken[values[extra.unique]] = values
            new.append((r, values))
        elif extra.kind == RecordKind.PLACE and any(
            (hit.get(f) or None) != (values.get(f) or None) for f in _PLACE_FIELDS
        ):
            ledger.note(extra.kind, r.ref, Outcome.CONFLICT, hit[id_column],
                        detail=f"dossier {r.ref} already has another place here: left as it is")
        else:
            ledger.note(extra.kind, r.ref, Outcome.PRESENT, hit.get(id_column))
    return new


def _same_time(value: Any) -> Any:
    """Times compared to the second and without their zone (SQLite keeps them naive, in UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.replace(microsecond=0)
    return value


def _check_result_codes(session: Session, extra: Extra, ready: Ready, ledger: _Ledger) -> Ready:
    codes = {values["code"] for _r, values in ready}
    seqs = {(values["agency_code"], values["day"], values["sequence"]) for _r, values in ready}
    docs = {values["document_id"] for _r, values in ready}
    rows = session.execute(select(ResultCode).where(or_(
        ResultCode.code.in_(codes),
        tuple_(ResultCode.agency_code, ResultCode.day, ResultCode.sequence).in_(seqs),
        ResultCode.document_id.in_(docs),
    ))).scalars().all()
    by_code = {row.code: row for row in rows}
    by_seq = {(row.agency_code, row.day, row.sequence): row for row in rows}
    by_doc = {row.document_id: row for row in rows}
    new: Ready = []
    for r, values in ready:
        seq = (values["agency_code"], values["day"], values["sequence"])
        hit = by_code.get(values["code"])
        if hit is not None and (hit.document_id, hit.agency_code, hit.day, hit.sequence) == (
            values["document_id"], *seq
        ):
            ledger.note(extra.kind, r.ref, Outcome.PRESENT, hit.id)
            continue
        clash = hit or by_seq.get(seq) or by_doc.get(values["document_id"])
        if clash is not None:
            ledger.note(
                extra.kind, r.ref, Outcome.CONFLICT, clash.id,
                detail=f"result code {values['code']} clashes with code {clash.code} already here: left as it is",
            )
            continue
        placeholder = _Placeholder(values)
        by_code[values["code"]] = by_seq[seq] = by_doc[values["document_id"]] = placeholder
        new.append((r, values))
    return new


class _Placeholder:
    """A code taken earlier in this chunk, so two of the chunk clash as with one already here."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.id = None
        self.code = values["code"]
        self.document_id = values["document_id"]
        self.agency_code, self.day, self.sequence = values["agency_code"], values["day"], values["sequence"]


def blob_keys_of(extra: Extra, rows: Sequence[SourceRow], is_key: Callable[[str], bool]) -> set[str]:
    return {r.values[c] for r in rows for c in extra.blobs if isinstance(r.values.get(c), str) and is_key(r.values[c])}
