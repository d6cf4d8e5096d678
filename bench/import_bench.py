"""``sohoa bench import``: records per second bringing a synthetic provincial deployment (100,000
records, 10,000 blobs) into PostgreSQL + S3, and the importer's memory as it goes, beside the issue's
target (≥ 1,000 records/s, memory flat).

Two source deployments are generated (SQLite + a local store, as a small province runs embedded):
the *tuned* one, on which the chunk size was chosen, and a *held-out* one of another shape (more
papers per dossier, more certified copies, another seed) that is imported second, into the same
target, so it also meets records already there. The held-out figure is reported beside the tuned
one; it was not looked at while tuning.

A record is any row the import brings (dossier, document, certified copy, register entry, station,
batch, original received, result, result code, component, place, learned word, audit event); each
kind's count is printed, since a document costs more than an audit event. Every fifth dossier came
in as a batch at one of four counters, with one original (every tenth of them signed, its verdict
at reception kept), and its papers point at that batch (their share of the records was taken from
the documents').
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from core.personal_id import make_personal_id
from core.settings import Settings
from storage.audit import GENESIS, event_hash
from storage.components import DossierComponent, DossierPlace
from storage.db import Database, open_database
from storage.importer import run_import
from storage.importer.sohoa_source import SohoaSource
from storage.models import (
    AuditEvent,
    AuditHead,
    Batch,
    CertifiedCopy,
    Document,
    Dossier,
    LearnedWord,
    RegisterEntry,
    SourceFile,
    Station,
)
from storage.objects import ObjectStore, key_for, open_store
from storage.result_codes import ResultCode
from storage.results import ProcedureResult

TARGET_RECORDS_PER_S = 1000.0
STATIONS = 4
T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    """How a synthetic deployment's records divide (fractions of the records)."""

    name: str
    seed: int
    agency: str
    dossiers: float
    documents: float
    copies: float
    audit: float  # register entries: one per copy; the rest

    def counts(self, records: int) -> dict[str, int]:
        dossiers = int(records * self.dossiers)
        documents = int(records * self.documents)
        copies = int(records * self.copies)
        # Every 4th dossier has its place, every 20th reuses an earlier paper, every 40th has a
        # result with its result code; a word learned per 100 papers.
        extras = {"places": dossiers // 4, "components": dossiers // 20, "results": dossiers // 40,
                  "result_codes": dossiers // 40, "words": documents // 100, "stations": STATIONS,
                  "batches": (dossiers + 4) // 5, "originals": (dossiers + 4) // 5}
        audit = records - dossiers - documents - 2 * copies - sum(extras.values())
        return {"dossiers": dossiers, "documents": documents, "copies": copies, "register": copies, **extras,
                "audit": audit}


TUNED = Shape("tuned", 1, "UBND xã Tân Lập (tỉnh Bắc Giang)", 0.20, 0.52, 0.05, 0.10)
HELD_OUT = Shape("held-out", 2, "UBND phường Đông Hải (tỉnh Bạc Liêu)", 0.12, 0.61, 0.04, 0.14)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def generate(db: Database, store: ObjectStore, shape: Shape, *, records: int, blobs: int, blob_kb: int) -> dict[str, int]:
    """Fill an empty deployment: papers share ``blobs`` / 2 PDFs (one person's identity card in many
    dossiers, as at a one-stop centre), every copy has its own PDF; the audit trail is a real chain."""
    rng = random.Random(shape.seed)
    n = shape.counts(records)
    doc_blobs = max(1, blobs - n["copies"])
    pdf_sha = []
    for i in range(doc_blobs):
        data = b"%PDF-1.7\n" + rng.randbytes(blob_kb * 1024) + f"\n% paper {shape.seed}-{i}".encode()
        pdf_sha.append(store.put_bytes(data).sha256)
    copy_sha = []
    for i in range(n["copies"]):
        data = b"%PDF-1.7\n" + rng.randbytes(blob_kb * 1024) + f"\n% copy {shape.seed}-{i}".encode()
        copy_sha.append(store.put_bytes(data).sha256)
    owners = [make_personal_id(rng, rng.choice(["Nam", "Nữ"]), rng.randint(1940, 2005)) for _ in range(doc_blobs)]

    def chunks(rows: Iterator[dict[str, Any]], table: Any) -> None:
        batch: list[dict[str, Any]] = []
        with db.engine.begin() as conn:
            for row in rows:
                batch.append(row)
                if len(batch) == 5000:
                    conn.execute(insert(table), batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)

    chunks(({"id": i + 1, "code": f"HS-{shape.seed}-{i + 1:07d}", "procedure_code": "1.001612",
             "agency": shape.agency, "applicant_personal_id": owners[i % doc_blobs], "status": "digitized",
             "created": T0 + timedelta(minutes=i), "updated": T0 + timedelta(minutes=i)}
            for i in range(n["dossiers"])), Dossier.__table__)

    chunks(({"id": s + 1, "code": f"QUAY-{shape.seed}-{s + 1:02d}", "name": f"Quầy {s + 1}, {shape.agency}",
             "created": T0}
            for s in range(STATIONS)), Station.__table__)
    # Batch j is dossier 5j's upload (every fifth dossier), at counter j mod 4.
    chunks(({"id": j + 1, "public_id": f"{shape.seed:08x}{j:024x}", "station_id": j % STATIONS + 1,
             "dossier_id": 5 * j + 1, "procedure_code": "1.001612", "status": "done", "certify": False, "files": 1,
             "pages_total": 1, "pages_done": 1, "attempts": 1, "errors": [], "created": T0, "finished": T0}
            for j in range(n["batches"])), Batch.__table__)
    verdict = {"status": "PASSED", "reasons": [], "signatures": [{"kind": "signature", "signer": "CN=UBND",
                                                                  "status": "PASSED"}]}
    chunks(({"id": j + 1, "batch_id": j + 1, "name": f"scan-{j}.pdf", "media_type": "application/pdf",
             "object_key": key_for(pdf_sha[j % doc_blobs]), "sha256": pdf_sha[j % doc_blobs],
             "size": blob_kb * 1024, "created": T0, "signatures": verdict if j % 10 == 0 else None}
            for j in range(n["originals"])), SourceFile.__table__)

    def document(i: int) -> dict[str, Any]:
        paper = i % doc_blobs
        dossier = i % n["dossiers"]
        return {
            "id": i + 1, "dossier_id": dossier + 1, "doc_type": "cccd", "type_confidence": 0.97,
            "batch_id": dossier // 5 + 1 if dossier % 5 == 0 else None,
            "personal_id": owners[paper], "pdf_key": key_for(pdf_sha[paper]), "pdf_sha256": pdf_sha[paper],
            "pdf_size": blob_kb * 1024, "page_count": 1, "page_hashes": [pdf_sha[paper]], "pages_sha256": None,
            "source_keys": [key_for(pdf_sha[paper])], "review_state": "ok", "review_version": 0,
            "reused_from_id": paper + 1 if i >= doc_blobs else None, "created": T0 + timedelta(seconds=i),
            "fields": {
                "personal_id": {"value": owners[paper], "confidence": 0.98, "needs_review": False},
                "full_name": {"value": "NGUYỄN VĂN AN", "confidence": 0.95, "needs_review": False},
                "date_of_birth": {"value": "1990-01-15", "confidence": 0.96, "needs_review": False},
                "place_of_residence": {"value": "Thôn Đông, xã Tân Lập", "confidence": 0.9, "needs_review": False},
            },
        }

    chunks((document(i) for i in range(n["documents"])), Document.__table__)
    chunks(({"id": i + 1, "document_id": i + 1, "certification_number": f"{i + 1}, Quyển số: 01/2025-SCTĐT/BS",
             "agency": shape.agency, "signer": "CN=UBND", "signed_at": T0, "object_key": key_for(copy_sha[i]),
             "sha256": copy_sha[i], "size": blob_kb * 1024, "created": T0} for i in range(n["copies"])),
           CertifiedCopy.__table__)
    chunks(({"id": i + 1, "agency": shape.agency, "year": 2025, "book": 1, "number": i + 1, "state": "used",
             "document_id": i + 1, "certified_copy_id": i + 1, "actor": "cán bộ chứng thực", "created": T0}
            for i in range(n["copies"])), RegisterEntry.__table__)

    chunks(({"dossier_id": i + 1, "agency": shape.agency, "commune_code": "25123", "province_code": "25",
             "commune_name": "Xã Tân Lập", "ambiguous": False, "updated": T0} for i in range(0, n["places"] * 4, 4)),
           DossierPlace.__table__)
    chunks(({"dossier_id": i + 1, "state": "reused", "doc_type": "cccd", "reused_document_id": i,
             "owner_id": owners[(i - 1) % doc_blobs], "actor": "cán bộ một cửa", "created": T0}
            for i in range(19, n["components"] * 20, 20)), DossierComponent.__table__)
    agency_code = f"000.00.{shape.seed:02d}.H00"

    def result_code(k: int) -> str:
        return f"{agency_code}-250301-{k:06d}"

    results = list(range(1, n["results"] * 40, 40))  # dossier k, its document k (a paper of its own)
    chunks(({"document_id": k, "code": result_code(j + 1), "agency_code": agency_code, "day": T0.date(),
             "sequence": j + 1, "created": T0} for j, k in enumerate(results)), ResultCode.__table__)
    chunks(({"dossier_id": k, "document_id": k, "owner_id": owners[(k - 1) % doc_blobs],
             "result_type": "giay_khai_sinh", "name": "Giấy khai sinh", "object_key": key_for(pdf_sha[(k - 1) % doc_blobs]),
             "sha256": pdf_sha[(k - 1) % doc_blobs], "size": blob_kb * 1024, "text_source": "ocr",
             "result_code": result_code(j + 1), "actor": "cán bộ trả kết quả", "created": T0}
            for j, k in enumerate(results)), ProcedureResult.__table__)
    chunks(({"kind": "name", "text": f"NGUYỄN VĂN {i}", "official": "Lê Thị Cúc", "document_id": i + 1,
             "field": "full_name", "created": T0} for i in range(0, n["words"] * 100, 100)), LearnedWord.__table__)

    def events() -> Iterator[dict[str, Any]]:
        prev = GENESIS
        for seq in range(1, n["audit"] + 1):
            row = {"seq": seq, "at": T0 + timedelta(seconds=seq), "actor": "cán bộ một cửa",
                   "action": "document.archived", "subject": f"document:{seq}",
                   "details": {"dossier": f"HS-{shape.seed}-{seq:07d}", "pages": 1}, "prev_hash": prev}
            row["hash"] = prev = event_hash(**{k: row[k] for k in ("seq", "at", "actor", "action", "subject",
                                                                   "details", "prev_hash")})
            yield row
        events.last = prev  # type: ignore[attr-defined]

    chunks(events(), AuditEvent.__table__)
    with db.engine.begin() as conn:
        conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=n["audit"], last_hash=events.last))  # type: ignore[attr-defined]
    return {**n, "blobs": doc_blobs + n["copies"]}


def import_once(target: Database, store: ObjectStore, src_url: str, src_store: str, chunk: int) -> dict[str, Any]:
    rss: list[tuple[int, float]] = []
    done = [0]
    spans: dict[str, list[float]] = {}  # phase -> [first, last] report, seconds from the start
    t0 = time.perf_counter()

    def progress(phase: str, count: int) -> None:
        now = time.perf_counter() - t0
        spans.setdefault(phase, [now, now])[1] = now
        done[0] += count
        if phase != "blobs":
            rss.append((done[0], _rss_mb()))

    source = SohoaSource(src_url, src_store)
    try:
        start_rss = _rss_mb()
        t = time.perf_counter()
        report = run_import(target, store, source, chunk=chunk, progress=progress)
        seconds = time.perf_counter() - t
    finally:
        source.close()
    kinds = {k: vars(v) for k, v in report.counts.kinds.items()}
    records = report.records
    tenth = [mb for n, mb in rss if n >= done[0] * 0.1]
    return {
        "records": records, "seconds": seconds, "phase_spans": spans, "records_per_s": records / seconds,
        "documents_per_s": sum(kinds["document"].values()) / seconds,
        "blobs_copied": kinds["blob"]["copied"], "bytes_copied": report.bytes_copied, "kinds": kinds,
        "rss_start_mb": start_rss, "rss_at_10pct_mb": tenth[0] if tenth else start_rss,
        "rss_end_mb": rss[-1][1] if rss else start_rss, "rss_peak_mb": max((mb for _, mb in rss), default=start_rss),
    }


@contextlib.contextmanager
def _s3(url: str | None, tmp: Path) -> Iterator[tuple[str, str]]:
    if url:
        yield url, "given S3 server"
        return
    from tests.support.servers import seaweedfs_server

    with seaweedfs_server(tmp / "s3") as endpoint:
        yield endpoint.store_url(f"bench-import-{os.urandom(3).hex()}"), "SeaweedFS (local, started for this run)"


def run_bench(args: argparse.Namespace, settings: Settings) -> int:
    from tests.support.servers import postgres_database

    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "records": args.records,
                               "blobs": args.blobs, "blob_kb": args.blob_kb, "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-import-") as tmp_name:
        tmp = Path(tmp_name)
        with _s3(args.s3_url, tmp) as (s3_url, where), postgres_database(args.postgres_url,
                                                                         prefix="sohoa_bench_import") as pg:
            results["target"] = f"PostgreSQL + S3 ({where})"
            target = open_database(pg)
            store = open_store(s3_url)
            for shape in (TUNED, HELD_OUT):
                src_url, src_store = f"sqlite:///{tmp / shape.name}.db", f"file://{tmp / shape.name}-objects"
                src_db = open_database(src_url)
                t = time.perf_counter()
                made = generate(src_db, open_store(src_store), shape, records=args.records, blobs=args.blobs,
                                blob_kb=args.blob_kb)
                src_db.dispose()
                results[shape.name] = {"source": made, "generate_s": time.perf_counter() - t,
                                       **import_once(target, store, src_url, src_store, args.batch_size)}
                results[shape.name]["again"] = import_once(target, store, src_url, src_store, args.batch_size)
            target.dispose()
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2, ensure_ascii=False) if args.json else render(results))
    ok = all(results[s.name]["records_per_s"] >= TARGET_RECORDS_PER_S for s in (TUNED, HELD_OUT))
    return 0 if ok else 1


def render(results: dict[str, Any]) -> str:
    lines = [
        (f"sohoa bench import: {results['records']:,} records and {results['blobs']:,} blobs of "
        f"{results['blob_kb']} KB per source, into {results['target']}; chunk {results['batch_size']}; "
        f"{results['cpus']} CPUs, load {results['load_before']:.1f} → {results['load_after']:.1f}"),
        (f"{'':10}{'records/s':>11}{'docs/s':>8}{'time':>9}{'blobs copied':>14}{'RSS 10%':>10}{'RSS end':>10}{'peak':>8}"
        f"{'again (rec/s)':>15}   target"),
    ]
    for name in ("tuned", "held-out"):
        r = results[name]
        lines.append(
            f"{name:10}{r['records_per_s']:>11,.0f}{r['documents_per_s']:>8,.0f}{r['seconds']:>8.1f}s{r['blobs_copied']:>14,}"
            f"{r['rss_at_10pct_mb']:>8.0f}MB{r['rss_end_mb']:>8.0f}MB{r['rss_peak_mb']:>6.0f}MB"
            f"{r['again']['records_per_s']:>15,.0f}   ≥ {TARGET_RECORDS_PER_S:,.0f} records/s, memory flat"
        )
    for name in ("tuned", "held-out"):
        r = results[name]
        src = r["source"]
        out = ", ".join(f"{k} {v['copied']:,} copied / {v['merged']:,} merged / {v['present']:,} present"
                        + (f" / {v['conflicts']:,} conflicts" if v["conflicts"] else "")
                        for k, v in r["kinds"].items() if any(v.values()))
        lines.append(f"  {name}: source {src['dossiers']:,} dossiers, {src['documents']:,} documents, "
                     f"{src['copies']:,} copies, {src['register']:,} register entries, {src['results']:,} results with their "
                     f"codes, {src['components']:,} reused components, {src['places']:,} places, "
                     f"{src['words']:,} learned words, {src['stations']} stations, {src['batches']:,} batches "
                     f"with {src['originals']:,} originals, {src['audit']:,} audit events, "
                     f"{src['blobs']:,} blobs (generated in {r['generate_s']:.0f} s)")
        lines.append(f"    {out}")
        lines.append("    phases (blobs run beside the records), seconds from the start: "
                     + ", ".join(f"{k} {a:.1f}–{b:.1f}" for k, (a, b) in r["phase_spans"].items()))
    return "\n".join(lines)
