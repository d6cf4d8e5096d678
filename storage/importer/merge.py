"""Writing one chunk of source records into this deployment, with the ledger rows that say what each
became, in the caller's transaction.

The rules, the same for every source:
- a dossier code never changes; a dossier code already here with the same procedure, applicant and
  (mapped) agency is the same dossier: its new documents join it (merged); with any of those
  different it is a conflict, reported and left as it is here;
- a document whose PDF a dossier here already holds is already present; one whose PDF another record
  here holds is linked to that earlier record (``reused_from``, as the flow links a paper handed in
  twice), not stored twice;
- a certified copy whose bytes are here is already present; a number its register already gave to
  other bytes is a conflict. The copy keeps the agency whose register issued the number (printed in
  the signed bytes), only dossiers take the merged agency;
- a register entry of a book already holding that number is present when it points at the same
  copy, else a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, func, insert, select, text, tuple_
from sqlalchemy.orm import Session

from core.model import nfc
from storage.importer.agency_map import AgencyMap
from storage.importer.ledger import ImportRecord, Outcome, RecordKind
from storage.importer.model import SourceDocument, SourceDossier, SourceRegisterEntry
from storage.models import CertifiedCopy, Document, Dossier, DossierManifest, RegisterEntry

MAX_PROBLEMS = 200


@dataclass
class Tally:
    copied: int = 0
    present: int = 0
    merged: int = 0
    conflicts: int = 0
    refused: int = 0

    def add(self, outcome: str, n: int = 1) -> None:
        name = {Outcome.CONFLICT: "conflicts", Outcome.REFUSED: "refused"}.get(Outcome(outcome), outcome)
        setattr(self, name, getattr(self, name) + n)


@dataclass
class Counts:
    """Outcomes per kind of record, and the conflicts and refusals named one by one (capped)."""

    kinds: dict[str, Tally] = field(default_factory=lambda: {k.value: Tally() for k in RecordKind})
    problems: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, kind: RecordKind, outcome: Outcome | str, n: int = 1) -> None:
        self.kinds[kind].add(outcome, n)

    def problem(self, kind: RecordKind, ref: str, detail: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((kind.value, ref, detail))


def copy_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` to ``table`` inside the session's transaction: PostgreSQL's COPY (the server
    takes a chunk as one stream instead of one INSERT a row, several times cheaper on its side);
    elsewhere one executemany."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    from psycopg.types.json import Json

    # Columns the rows leave out take their Python-side defaults, as an INSERT would give them.
    missing = [c for c in table.c if c.name not in rows[0] and c.default is not None and not c.primary_key]
    for column in missing:
        arg = column.default.arg
        for row in rows:
            row[column.name] = arg if column.default.is_scalar else arg(None)
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    driver = session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Json(row[c]) if c in json_columns and row[c] is not None else row[c] for c in columns])


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``model``'s table and return their new ids, in order.

    On PostgreSQL the ids are drawn from the table's sequence first and the rows sent by COPY; a
    multi-row INSERT … RETURNING of a chunk is a new, very long statement for the driver to parse
    every time, and one INSERT a row costs the server most of the import.
    """
    table = model.__table__
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        ids = [int(i) for i in session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": len(rows)},
        )]
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
        copy_rows(session, table, rows)
        return ids
    return list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))

def ledger_lookup(
    session: Session, source_id: int, kind: RecordKind, refs: Iterable[str]
) -> dict[str, tuple[str, int | None]]:
    """ref → (outcome, target id) of the records of this source already taken."""
    refs = list(set(refs))
    if not refs:
        return {}
    rows = session.execute(
        select(ImportRecord.source_ref, ImportRecord.outcome, ImportRecord.target_id).where(
            ImportRecord.source_id == source_id, ImportRecord.kind == kind, ImportRecord.source_ref.in_(refs)
        )
    )
    return {r.source_ref: (r.outcome, r.target_id) for r in rows}


class _Ledger:
    def __init__(self, source_id: int, counts: Counts) -> None:
        self.source_id = source_id
        self.counts = counts
        self.rows: list[dict[str, Any]] = []
        self.now = datetime.now(UTC)

    def note(
        self,
        kind: RecordKind,
        ref: str,
        outcome: Outcome,
        target_id: int | None,
        *,
        detail: str | None = None,
        former_agency: str | None = None,
    ) -> None:
        self.rows.append(
            {
                "source_id": self.source_id, "kind": kind.value, "source_ref": ref, "target_id": target_id,
                "outcome": outcome.value, "detail": detail, "former_agency": former_agency, "created": self.now,
            }
        )
        self.counts.add(kind, outcome)
        if detail:
            self.counts.problem(kind, ref, detail)

    def write(self, session: Session) -> None:
        if self.rows:
            copy_rows(session, ImportRecord.__table__, self.rows)
            self.rows = []


def _count_done(counts: Counts, dossier: SourceDossier, outcome: str) -> None:
    """A dossier a run before this one took: everything in it is already present."""
    if outcome in (Outcome.CONFLICT, Outcome.REFUSED):
        counts.add(RecordKind.DOSSIER, outcome)
        return
    counts.add(RecordKind.DOSSIER, Outcome.PRESENT)
    counts.add(RecordKind.DOCUMENT, Outcome.PRESENT, len(dossier.documents))
    counts.add(RecordKind.COPY, Outcome.PRESENT, sum(len(d.copies) for d in dossier.documents))
    counts.add(RecordKind.MANIFEST, Outcome.PRESENT, len(dossier.manifests))


def _differences(existing: Any, dossier: SourceDossier, agency: str | None) -> list[str]:
    pairs = (
        ("procedure code", existing.procedure_code, dossier.procedure_code),
        ("applicant", existing.applicant_personal_id, dossier.applicant_personal_id),
        ("agency", existing.agency, agency),
    )
    return [name for name, here, there in pairs if (here or None) != (there or None)]


def merge_dossiers(
    session: Session,
    source_id: int,
    dossiers: Sequence[SourceDossier],
    agencies: AgencyMap,
    counts: Counts,
    *,
    retry: frozenset[str] = frozenset(),
) -> None:
    """Take one chunk of dossiers with their documents, copies and manifests. ``retry`` names
    certified copies whose conflict was forgotten: weighed again inside dossiers already taken."""
    done = ledger_lookup(session, source_id, RecordKind.DOSSIER, (d.ref for d in dossiers))
    todo = []
    again = []
    for d in dossiers:
        if d.ref in done:
            _count_done(counts, d, done[d.ref][0])
            if retry and any(c.ref in retry for doc in d.documents for c in doc.copies):
                again.append(d)
        else:
            todo.append(d)
    ledger = _Ledger(source_id, counts)
    if again:
        _retry_copies(session, source_id, again, retry, ledger)
    if not todo:
        ledger.write(session)
        return
    existing = {
        r.code: r
        for r in session.execute(
            select(
                Dossier.id, Dossier.code, Dossier.procedure_code, Dossier.applicant_personal_id, Dossier.agency
            ).where(Dossier.code.in_([nfc(d.code) for d in todo]))
        )
    }
    targets: dict[str, int] = {}  # source dossier ref -> dossier id here
    merged_here: list[int] = []
    new: list[tuple[SourceDossier, str | None, str | None]] = []
    for d in todo:
        agency = agencies.apply(d.agency)
        # The agency before the merger: the source's own, if the map renames it; else the one the
        # source's ledger kept, when the source itself had imported the dossier (stays searchable).
        former = d.agency if agency != d.agency else d.former_agency
        here = existing.get(nfc(d.code))
        if here is None:
            new.append((d, agency, former))
            continue
        diff = _differences(here, d, agency)
        if diff:
            ledger.note(
                RecordKind.DOSSIER, d.ref, Outcome.CONFLICT, here.id, former_agency=former,
                detail=f"dossier {d.code} is already here with a different {', '.join(diff)}: left as it is",
            )
            continue
        targets[d.ref] = here.id
        merged_here.append(here.id)
        ledger.note(RecordKind.DOSSIER, d.ref, Outcome.MERGED, here.id, former_agency=former)
    if new:
        ids = insert_rows(
            session, Dossier,
            [
                {
                    "code": nfc(d.code), "procedure_code": d.procedure_code, "agency": agency,
                    "applicant_personal_id": d.applicant_personal_id, "status": d.status,
                    "created": d.created, "updated": d.updated,
                }
                for d, agency, _former in new
            ],
        )
        for (d, _agency, former), new_id in zip(new, ids, strict=True):
            targets[d.ref] = new_id
            ledger.note(RecordKind.DOSSIER, d.ref, Outcome.COPIED, new_id, former_agency=former)
    doc_targets = _merge_documents(session, todo, targets, merged_here, ledger)
    _merge_copies(session, todo, doc_targets, ledger)
    _merge_manifests(session, todo, targets, ledger)
    ledger.write(session)


def _retry_copies(
    session: Session, source_id: int, dossiers: Sequence[SourceDossier], retry: frozenset[str], ledger: _Ledger
) -> None:
    """The forgotten copies of dossiers a run before took, against the documents they became."""
    narrowed = [
        replace(d, documents=tuple(replace(doc, copies=tuple(c for c in doc.copies if c.ref in retry))
                                   for doc in d.documents))
        for d in dossiers
    ]
    found = ledger_lookup(session, source_id, RecordKind.DOCUMENT,
                          (doc.ref for d in narrowed for doc in d.documents if doc.copies))
    targets = {ref: target for ref, (_outcome, target) in found.items() if target is not None}
    ledger.counts.add(RecordKind.COPY, Outcome.PRESENT,
                      -sum(len(doc.copies) for d in narrowed for doc in d.documents))  # counted done above
    _merge_copies(session, narrowed, targets, ledger)


def _document_row(doc: SourceDocument, dossier_id: int, reused_from: int | None) -> dict[str, Any]:
    return {
        "dossier_id": dossier_id, "batch_id": None, "doc_type": doc.doc_type,
        "type_confidence": doc.type_confidence, "personal_id": doc.personal_id, "fields": doc.fields,
        "pdf_key": doc.pdf_key, "pdf_sha256": doc.pdf_sha256, "pdf_size": doc.pdf_size,
        "page_count": doc.page_count, "page_hashes": doc.page_hashes, "pages_sha256": doc.pages_sha256,
        "source_keys": doc.source_keys, "review_state": doc.review_state, "reused_from_id": reused_from,
        "review_version": doc.review_version, "machine_doc_type": doc.machine_doc_type, "created": doc.created,
    }


def _merge_documents(
    session: Session,
    dossiers: Sequence[SourceDossier],
    targets: dict[str, int],
    merged_here: list[int],
    ledger: _Ledger,
) -> dict[str, int]:
    pairs = [(doc, targets[d.ref]) for d in dossiers if d.ref in targets for doc in d.documents]
    if not pairs:
        return {}
    in_dossier: dict[tuple[int, str], int] = {}
    if merged_here:
        for r in session.execute(
            select(Document.id, Document.dossier_id, Document.pdf_sha256).where(Document.dossier_id.in_(merged_here))
        ):
            in_dossier.setdefault((r.dossier_id, r.pdf_sha256), r.id)
    hashes = list({doc.pdf_sha256 for doc, _ in pairs})
    earliest: dict[str, int] = {
        r[0]: r[1]
        for r in session.execute(
            select(Document.pdf_sha256, func.min(Document.id))
            .where(Document.pdf_sha256.in_(hashes))
            .group_by(Document.pdf_sha256)
        )
    }
    out: dict[str, int] = {}
    first: list[tuple[SourceDocument, int]] = []
    linked: list[tuple[SourceDocument, int]] = []
    first_hashes: set[str] = set()
    for doc, dossier_id in pairs:
        hit = in_dossier.get((dossier_id, doc.pdf_sha256))
        if hit is not None:
            out[doc.ref] = hit
            ledger.note(RecordKind.DOCUMENT, doc.ref, Outcome.PRESENT, hit)
        elif doc.pdf_sha256 in earliest or doc.pdf_sha256 in first_hashes:
            linked.append((doc, dossier_id))
        else:
            first_hashes.add(doc.pdf_sha256)
            first.append((doc, dossier_id))
    if first:
        ids = insert_rows(
            session, Document,
            [_document_row(doc, dossier_id, None) for doc, dossier_id in first],
        )
        for (doc, _), new_id in zip(first, ids, strict=True):
            out[doc.ref] = new_id
            earliest.setdefault(doc.pdf_sha256, new_id)
            ledger.note(RecordKind.DOCUMENT, doc.ref, Outcome.COPIED, new_id)
    if linked:
        ids = insert_rows(
            session, Document,
            [_document_row(doc, dossier_id, earliest[doc.pdf_sha256]) for doc, dossier_id in linked],
        )
        for (doc, _), new_id in zip(linked, ids, strict=True):
            out[doc.ref] = new_id
            ledger.note(RecordKind.DOCUMENT, doc.ref, Outcome.MERGED, new_id)
    return out


def _merge_copies(
    session: Session, dossiers: Sequence[SourceDossier], doc_targets: dict[str, int], ledger: _Ledger
) -> None:
    pairs = [
        (copy, doc_targets[doc.ref])
        for d in dossiers
        for doc in d.documents
        if doc.ref in doc_targets
        for copy in doc.copies
    ]
    if not pairs:
        return
    by_sha: dict[str, int] = {}
    by_number: dict[tuple[str, str], int] = {}
    for r in session.execute(
        select(CertifiedCopy.id, CertifiedCopy.sha256).where(CertifiedCopy.sha256.in_({c.sha256 for c, _ in pairs}))
    ):
        by_sha.setdefault(r.sha256, r.id)
    for r in session.execute(
        select(CertifiedCopy.id, CertifiedCopy.agency, CertifiedCopy.certification_number).where(
            CertifiedCopy.certification_number.in_({nfc(c.certification_number) for c, _ in pairs})
        )
    ):
        by_number[(r.agency, r.certification_number)] = r.id
    new = []
    for copy, doc_id in pairs:
        number = (nfc(copy.agency), nfc(copy.certification_number))
        if copy.sha256 in by_sha:
            ledger.note(RecordKind.COPY, copy.ref, Outcome.PRESENT, by_sha[copy.sha256])
        elif number in by_number:
            ledger.note(
                RecordKind.COPY, copy.ref, Outcome.CONFLICT, by_number[number],
                detail=f"certified copy number {copy.certification_number} of {copy.agency or 'no agency'} "
                "is already here with other bytes: left as it is",
            )
        else:
            by_number[number] = 0
            by_sha[copy.sha256] = 0
            new.append((copy, doc_id, number))
    if new:
        ids = insert_rows(
            session, CertifiedCopy,
            [
                {
                    "document_id": doc_id, "certification_number": number[1], "agency": number[0],
                    "signer": copy.signer, "signed_at": copy.signed_at, "timestamp": copy.timestamp,
                    "object_key": copy.object_key, "sha256": copy.sha256, "size": copy.size,
                    "created": copy.created,
                }
                for copy, doc_id, number in new
            ],
        )
        for (copy, _, _), new_id in zip(new, ids, strict=True):
            ledger.note(RecordKind.COPY, copy.ref, Outcome.COPIED, new_id)


def _merge_manifests(
    session: Session, dossiers: Sequence[SourceDossier], targets: dict[str, int], ledger: _Ledger
) -> None:
    pairs = [(m, targets[d.ref]) for d in dossiers if d.ref in targets for m in d.manifests]
    if not pairs:
        return
    here = {
        (r.dossier_id, r.manifest_key): r.id
        for r in session.execute(
            select(DossierManifest.id, DossierManifest.dossier_id, DossierManifest.manifest_key).where(
                DossierManifest.dossier_id.in_({t for _, t in pairs})
            )
        )
    }
    for m, dossier_id in pairs:
        hit = here.get((dossier_id, m.manifest_key))
        if hit is not None:
            ledger.note(RecordKind.MANIFEST, m.ref, Outcome.PRESENT, hit)
            continue
        row = DossierManifest(
            dossier_id=dossier_id, batch_id=None, manifest_key=m.manifest_key, signature_key=m.signature_key,
            created=m.created,
        )
        session.add(row)
        session.flush()
        here[(dossier_id, m.manifest_key)] = row.id
        ledger.note(RecordKind.MANIFEST, m.ref, Outcome.COPIED, row.id)


def merge_register(
    session: Session, source_id: int, entries: Sequence[SourceRegisterEntry], counts: Counts
) -> None:
    """Take one chunk of register entries; the book stays its agency's (a closed book of the former
    province keeps its numbers), pointing at the documents and copies they went to here."""
    done = ledger_lookup(session, source_id, RecordKind.REGISTER, (e.ref for e in entries))
    todo = []
    for e in entries:
        if e.ref in done:
            outcome = done[e.ref][0]
            counts.add(RecordKind.REGISTER, outcome if outcome == Outcome.CONFLICT else Outcome.PRESENT)
        else:
            todo.append(e)
    if not todo:
        return
    ledger = _Ledger(source_id, counts)
    docs = ledger_lookup(session, source_id, RecordKind.DOCUMENT, (e.document_ref for e in todo if e.document_ref))
    copies = ledger_lookup(session, source_id, RecordKind.COPY, (e.copy_ref for e in todo if e.copy_ref))

    def target(table: dict[str, tuple[str, int | None]], ref: str | None) -> int | None:
        hit = table.get(ref) if ref else None
        return hit[1] if hit and hit[0] != Outcome.CONFLICT else None

    keys = [(nfc(e.agency), e.year, e.book, e.number) for e in todo]
    here = {
        (r.agency, r.year, r.book, r.number): r
        for r in session.execute(
            select(
                RegisterEntry.id, RegisterEntry.agency, RegisterEntry.year, RegisterEntry.book,
                RegisterEntry.number, RegisterEntry.certified_copy_id, RegisterEntry.state,
            ).where(tuple_(RegisterEntry.agency, RegisterEntry.year, RegisterEntry.book, RegisterEntry.number).in_(keys))
        )
    }
    new = []
    for e, key in zip(todo, keys, strict=True):
        copy_id = target(copies, e.copy_ref)
        missing = [name for name, ref, table in (("document", e.document_ref, docs), ("certified copy", e.copy_ref, copies))
                   if ref and target(table, ref) is None]
        if missing:  # an entry with its reference emptied would say something the source did not
            ledger.note(
                RecordKind.REGISTER, e.ref, Outcome.CONFLICT, None,
                detail=f"register number {e.number} of book {e.book:02d}/{e.year} of {e.agency}: its "
                f"{' and '.join(missing)} was not taken: left out",
            )
            continue
        existing = here.get(key)
        if existing is not None:
            if existing.state == e.state and existing.certified_copy_id == copy_id:
                ledger.note(RecordKind.REGISTER, e.ref, Outcome.PRESENT, existing.id)
            else:
                ledger.note(
                    RecordKind.REGISTER, e.ref, Outcome.CONFLICT, existing.id,
                    detail=f"register number {e.number} of book {e.book:02d}/{e.year} of {e.agency} "
                    "is already here for another certification: left as it is",
                )
            continue
        new.append((e, key, copy_id))
    if new:
        ids = insert_rows(
            session, RegisterEntry,
            [
                {
                    "agency": key[0], "year": e.year, "book": e.book, "number": e.number, "state": e.state,
                    "document_id": target(docs, e.document_ref), "certified_copy_id": copy_id,
                    "subject": e.subject, "note": e.note, "actor": e.actor, "created": e.created,
                }
                for e, key, copy_id in new
            ],
        )
        for (e, _, _), new_id in zip(new, ids, strict=True):
            ledger.note(RecordKind.REGISTER, e.ref, Outcome.COPIED, new_id)
    ledger.write(session)
