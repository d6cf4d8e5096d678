"""Reading another sohoa deployment: its records database (SQLite or PostgreSQL) and object store
(local or S3), never written to.

The source's tables are reflected, not mapped with this version's models, so a deployment a few
migrations behind this one is read as it is (a column it lacks reads as absent), and nothing here
migrates or locks it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, func, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from core.errors import InputError
from storage.db import create_db_engine
from storage.importer.ledger import Outcome, RecordKind
from storage.importer.model import (
    BlobSource,
    Refusal,
    SourceCopy,
    SourceDocument,
    SourceDossier,
    SourceEvent,
    SourceManifest,
    SourceRegisterEntry,
    SourceRow,
    SourceSegment,
    Totals,
)
from storage.objects import ObjectStore, open_store

_NEEDED = ("dossiers", "documents", "certified_copies", "audit_events")
_OPTIONAL = ("certification_register", "dossier_manifests", "import_records")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def store_label(url: str) -> str:
    """A store URL without its credentials (it is kept in the ledger and printed)."""
    if url.startswith("s3://") and "@" in url:
        return "s3://" + url.split("@", 1)[1]
    return url


def database_label(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a label only; a bad URL fails when opened
        return url.split("@")[-1]


class SohoaSource:
    kind = "sohoa"

    def __init__(self, database_url: str, store_url: str) -> None:
        if store_url.startswith("file://") or "://" not in store_url:
            folder = Path(store_url.removeprefix("file://"))
            if not folder.is_dir():
                raise InputError(f"source object store not found: {folder.name or store_url}")
        self.label = f"{database_label(database_url)} + {store_label(store_url)}"
        if database_url.startswith("sqlite:///"):  # SQLite would create an empty file where none is
            path = Path(database_url.removeprefix("sqlite:///"))
            if not path.is_file():
                raise InputError(f"source database not found: {path.name}")
        self.engine: Engine = create_db_engine(database_url)
        try:
            names = set(inspect(self.engine).get_table_names())
        except SQLAlchemyError as exc:
            self.engine.dispose()
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise InputError(f"cannot open the source database {database_label(database_url)}: {reason}") from exc
        missing = [n for n in _NEEDED if n not in names]
        if missing:
            self.engine.dispose()
            raise InputError(
                f"{database_label(database_url)} is not a sohoa records database (no table {', '.join(missing)})"
            )
        self.names = names  # the source is read, never migrated: its tables stay as they are
        meta = MetaData()
        self.t: dict[str, Table] = {
            n: Table(n, meta, autoload_with=self.engine) for n in (*_NEEDED, *_OPTIONAL) if n in names
        }
        self.store: ObjectStore = open_store(store_url)
        self.cheap_reads = store_url.startswith("file://") or "://" not in store_url

    # -- identity and sizes ---------------------------------------------------------------------

    def identity(self) -> str:
        """The hash of the source's first audit event (made when it first did anything, so it
        names the deployment wherever it is served from); its location when it has no events."""
        ev = self.t["audit_events"]
        with self.engine.connect() as conn:
            first = conn.execute(select(ev.c.hash).where(ev.c.seq == 1)).scalar()
        return first or hashlib.sha256(self.label.encode()).hexdigest()

    def totals(self) -> Totals:
        with self.engine.connect() as conn:
            count = {
                name: conn.execute(select(func.count()).select_from(table)).scalar() or 0
                for name, table in self.t.items()
            }
        return Totals(
            blobs=0,  # listing a store to count it costs as much as copying what is there
            dossiers=count["dossiers"],
            register=count.get("certification_register", 0),
            audit=count["audit_events"],
        )

    # -- blobs ------------------------------------------------------------------------------------

    def iter_blobs(self) -> Iterator[BlobSource]:
        for info in self.store.iter_objects():
            yield BlobSource(info.key, size=info.size)

    def read_blob(self, blob: BlobSource) -> bytes:
        return self.store.get_bytes(blob.key)  # checked against its key by the store

    # -- records ----------------------------------------------------------------------------------

    def refusals(self) -> list[Refusal]:
        return []

    def iter_dossiers(self, chunk: int) -> Iterator[list[SourceDossier]]:
        d = self.t["dossiers"]
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(select(d).where(d.c.id > last).order_by(d.c.id).limit(chunk)).mappings().all()
                dossiers = self._dossiers(conn, rows) if rows else []
            if not dossiers:
                return
            last = rows[-1]["id"]
            yield dossiers

    def _dossiers(self, conn: Any, rows: Sequence[Mapping[str, Any]]) -> list[SourceDossier]:
        ids = [r["id"] for r in rows]
        docs = self.t["documents"]
        doc_rows = conn.execute(select(docs).where(docs.c.dossier_id.in_(ids)).order_by(docs.c.id)).mappings().all()
        copies = self._copies(conn, [r["id"] for r in doc_rows], {r["id"]: r["agency"] for r in rows},
                              {r["id"]: r["dossier_id"] for r in doc_rows})
        former: dict[int, str] = {}
        if "import_records" in self.t:  # the source was a merge target: its own dossiers' former agencies
            ir = self.t["import_records"]
            for target_id, agency in conn.execute(
                select(ir.c.target_id, ir.c.former_agency).where(
                    ir.c.kind == RecordKind.DOSSIER, ir.c.target_id.in_(ids), ir.c.former_agency.is_not(None),
                    ir.c.outcome.in_((Outcome.COPIED, Outcome.MERGED)),
                ).order_by(ir.c.id)
            ):
                former.setdefault(target_id, agency)
        manifests: dict[int, list[SourceManifest]] = {}
        if "dossier_manifests" in self.t:
            m = self.t["dossier_manifests"]
            for r in conn.execute(select(m).where(m.c.dossier_id.in_(ids)).order_by(m.c.id)).mappings():
                manifests.setdefault(r["dossier_id"], []).append(
                    SourceManifest(str(r["id"]), r["manifest_key"], r["signature_key"], _utc(r["created"]))
                )
        by_dossier: dict[int, list[SourceDocument]] = {}
        for r in doc_rows:
            by_dossier.setdefault(r["dossier_id"], []).append(
                SourceDocument(
                    ref=str(r["id"]),
                    doc_type=r["doc_type"],
                    type_confidence=float(r["type_confidence"]),
                    personal_id=r["personal_id"],
                    fields=r["fields"] or {},
                    pdf_key=r["pdf_key"],
                    pdf_sha256=r["pdf_sha256"],
                    pdf_size=int(r["pdf_size"]),
                    page_count=int(r["page_count"]),
                    page_hashes=r["page_hashes"] or [],
                    pages_sha256=r["pages_sha256"],
                    source_keys=r["source_keys"] or [],
                    review_state=r["review_state"],
                    review_version=int(r.get("review_version") or 0),
                    machine_doc_type=r.get("machine_doc_type"),
                    created=_utc(r["created"]),
                    copies=tuple(copies.get(r["id"], ())),
                )
            )
        return [
            SourceDossier(
                ref=str(r["id"]),
                code=r["code"],
                procedure_code=r["procedure_code"],
                agency=r["agency"],
                applicant_personal_id=r["applicant_personal_id"],
                status=r["status"],
                created=_utc(r["created"]),
                updated=_utc(r["updated"]),
                documents=tuple(by_dossier.get(r["id"], ())),
                manifests=tuple(manifests.get(r["id"], ())),
                former_agency=former.get(r["id"]),
            )
            for r in rows
        ]

    def _copies(
        self, conn: Any, doc_ids: list[int], dossier_agency: dict[int, str | None], doc_dossier: dict[int, int]
    ) -> dict[int, list[SourceCopy]]:
        c = self.t["certified_copies"]
        rows = conn.execute(select(c).where(c.c.document_id.in_(doc_ids)).order_by(c.c.id)).mappings().all()
        register_agency: dict[int, str] = {}
        if rows and "certification_register" in self.t:
            reg = self.t["certification_register"]
            for r in conn.execute(
                select(reg.c.certified_copy_id, reg.c.agency).where(
                    reg.c.certified_copy_id.in_([r["id"] for r in rows])
                )
            ):
                register_agency.setdefault(r.certified_copy_id, r.agency)
        out: dict[int, list[SourceCopy]] = {}
        for r in rows:
            # The register that issued the number: the copy's own column (0013), its register
            # entry (0007), else the dossier's agency (the stamp's agency before registers).
            agency = r.get("agency") or register_agency.get(r["id"]) or dossier_agency.get(
                doc_dossier[r["document_id"]]) or ""
            out.setdefault(r["document_id"], []).append(
                SourceCopy(
                    ref=str(r["id"]),
                    certification_number=r["certification_number"],
                    agency=agency,
                    signer=r["signer"],
                    signed_at=_utc(r["signed_at"]),
                    timestamp=_utc(r["timestamp"]),
                    object_key=r["object_key"],
                    sha256=r["sha256"],
                    size=int(r["size"]),
                    created=_utc(r["created"]),
                )
            )
        return out

    def iter_register(self, chunk: int) -> Iterator[list[SourceRegisterEntry]]:
        reg = self.t.get("certification_register")
        if reg is None:
            return
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(reg).where(reg.c.id > last).order_by(reg.c.id).limit(chunk)
                ).mappings().all()
            if not rows:
                return
            last = rows[-1]["id"]
            yield [
                SourceRegisterEntry(
                    ref=str(r["id"]),
                    agency=r["agency"],
                    year=int(r["year"]),
                    book=int(r["book"]),
                    number=int(r["number"]),
                    state=r["state"],
                    document_ref=str(r["document_id"]) if r["document_id"] is not None else None,
                    copy_ref=str(r["certified_copy_id"]) if r["certified_copy_id"] is not None else None,
                    subject=r["subject"],
                    note=r["note"],
                    actor=r["actor"],
                    created=_utc(r["created"]),
                )
                for r in rows
            ]

    def iter_rows(self, table: str, chunk: int) -> Iterator[list[SourceRow]]:
        """A table added after the first import was written (result codes, results, components,
        places, learned words, certification requests), as its rows are; nothing when the source
        predates it."""
        names = set(inspect(self.engine).get_table_names())
        if table not in names:
            return
        t = Table(table, MetaData(), autoload_with=self.engine)
        pk = t.c.id if "id" in t.c else t.c.dossier_id
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(select(t).where(pk > last).order_by(pk).limit(chunk)).mappings().all()
            if not rows:
                return
            last = rows[-1][pk.name]
            yield [
                SourceRow(table, str(r[pk.name]), {k: _utc(v) if isinstance(v, datetime) else v for k, v in r.items()})
                for r in rows
            ]

    def documents_of_batches(self, refs: Sequence[str]) -> dict[str, list[str]]:
        """batch ref → the refs of the documents the source made from it."""
        docs = self.t["documents"]
        out: dict[str, list[str]] = {}
        ids = [int(r) for r in refs]
        if not ids:
            return out
        with self.engine.connect() as conn:
            for doc_id, batch_id in conn.execute(
                select(docs.c.id, docs.c.batch_id).where(docs.c.batch_id.in_(ids)).order_by(docs.c.id)
            ):
                out.setdefault(str(batch_id), []).append(str(doc_id))
        return out

    def segments(self) -> list[SourceSegment]:
        """The sealed segments the source imported itself, parents before the segments they sealed
        (a segment copied half-way, never sealed, was not part of its trail yet)."""
        names = set(inspect(self.engine).get_table_names())
        if not {"audit_segments", "imported_audit_events", "import_sources"} <= names:
            return []
        meta = MetaData()
        seg = Table("audit_segments", meta, autoload_with=self.engine)
        src = Table("import_sources", meta, autoload_with=self.engine)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(seg, src.c.identity, src.c.label).join(src, src.c.id == seg.c.source_id)
                .where(seg.c.sealed_seq.is_not(None)).order_by(seg.c.id)
            ).mappings().all()
        return [
            SourceSegment(
                ref=str(r["id"]), trail=r["identity"], trail_label=r["label"], first_seq=int(r["first_seq"]),
                last_seq=int(r["last_seq"]), start_hash=r["start_hash"], head_hash=r["head_hash"],
                sealed_seq=int(r["sealed_seq"]),
                parent_ref=str(r["parent_id"]) if r.get("parent_id") is not None else None,
                sealed_as=int(r["sealed_as"]) if r.get("sealed_as") is not None else int(r["id"]),
            )
            for r in rows
        ]

    def iter_segment_events(self, ref: str, after_seq: int, chunk: int) -> Iterator[list[SourceEvent]]:
        """The events of one of :meth:`segments`, in order, after ``after_seq``."""
        ev = Table("imported_audit_events", MetaData(), autoload_with=self.engine)
        yield from self._events(ev, after_seq, chunk, ev.c.segment_id == int(ref))

    def manifests_of_batches(self, refs: Sequence[str]) -> dict[str, list[str]]:
        """batch ref → the refs of the signed manifests the source made from it."""
        m = self.t.get("dossier_manifests")
        ids = [int(r) for r in refs]
        if m is None or "batch_id" not in m.c or not ids:
            return {}
        out: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for manifest_id, batch_id in conn.execute(
                select(m.c.id, m.c.batch_id).where(m.c.batch_id.in_(ids)).order_by(m.c.id)
            ):
                out.setdefault(str(batch_id), []).append(str(manifest_id))
        return out

    def stages_of_batches(self, refs: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """batch ref → its progress by stage (stage, done, total); nothing when the source predates it."""
        ids = [int(r) for r in refs]
        if not ids or "batch_stages" not in self.names:
            return {}
        t = Table("batch_stages", MetaData(), autoload_with=self.engine)
        out: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(select(t).where(t.c.batch_id.in_(ids)).order_by(t.c.batch_id, t.c.stage)).mappings():
                out.setdefault(str(r["batch_id"]), []).append(dict(r))
        return out

    def iter_audit(self, after_seq: int, chunk: int) -> Iterator[list[SourceEvent]]:
        yield from self._events(self.t["audit_events"], after_seq, chunk, None)

    def _events(self, ev: Table, after_seq: int, chunk: int, where: Any) -> Iterator[list[SourceEvent]]:
        last = after_seq
        while True:
            with self.engine.connect() as conn:
                query = select(ev).where(ev.c.seq > last)
                if where is not None:
                    query = query.where(where)
                rows = conn.execute(query.order_by(ev.c.seq).limit(chunk)).mappings().all()
            if not rows:
                return
            last = rows[-1]["seq"]
            yield [
                SourceEvent(
                    seq=int(r["seq"]), at=_utc(r["at"]), actor=r["actor"], action=r["action"],
                    subject=r["subject"], details=r["details"] if r["details"] is not None else {},
                    prev_hash=r["prev_hash"], hash=r["hash"],
                )
                for r in rows
            ]

    def close(self) -> None:
        self.engine.dispose()
