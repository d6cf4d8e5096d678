"""``sohoa import`` killed with SIGKILL (while copying blobs, between record chunks, between the
tables that hang off dossiers, half-way through the audit trail) and run again ends exactly as one uninterrupted import: the same records, the same
ledger, the same sealed segment, the same audit events of this deployment, the same blobs, nothing
twice. A pause after each committed unit (SOHOA_TEST_IMPORT_PAUSE) gives the test a window to kill
in; the kill lands wherever the process is in that window."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from storage.components import DossierComponent, DossierPlace
from storage.db import Database, open_database
from storage.importer import run_import, verify_segments
from storage.importer.ledger import AuditSegment, ImportedAuditEvent, ImportRecord
from storage.importer.sohoa_source import SohoaSource
from storage.models import (
    AuditEvent,
    Batch,
    CertifiedCopy,
    Document,
    Dossier,
    LearnedWord,
    RegisterEntry,
    SourceFile,
    Station,
)
from storage.objects import open_store
from storage.result_codes import ResultCode
from storage.results import ProcedureResult
from storage.stats import StatsQuery, compute_stats
from tests.importer.deployments import (
    add_dossier,
    add_place,
    add_reception,
    add_result,
    add_reuse,
    add_word,
    deployment,
    tiny_pdf,
)

AGENCY = "UBND phường Đông Hải (tỉnh Bạc Liêu)"


def _dump(db: Database, store_url: str) -> dict[str, object]:
    """Everything an import leaves, without the ids and times that differ between two runs."""
    with db.session() as s:
        def copy_sha(copy_id: int | None) -> str | None:
            return s.get(CertifiedCopy, copy_id).sha256 if copy_id else None

        def paper(document_id: int | None) -> str | None:
            return s.get(Document, document_id).pdf_sha256 if document_id else None

        def code(dossier_id: int) -> str:
            return s.get(Dossier, dossier_id).code

        return {
            "dossiers": sorted(s.execute(select(Dossier.code, Dossier.agency, Dossier.status)).all()),
            "documents": sorted(
                (d.dossier.code, d.pdf_sha256, d.doc_type, s.get(Document, d.reused_from_id).pdf_sha256
                 if d.reused_from_id else None) for d in s.scalars(select(Document))
            ),
            "copies": sorted(s.execute(select(CertifiedCopy.sha256, CertifiedCopy.certification_number,
                                              CertifiedCopy.agency)).all()),
            "register": sorted((e.agency, e.year, e.book, e.number, e.state, copy_sha(e.certified_copy_id))
                               for e in s.scalars(select(RegisterEntry))),
            "results": sorted((code(r.dossier_id), paper(r.document_id), r.result_code, r.sha256)
                              for r in s.scalars(select(ProcedureResult))),
            "result_codes": sorted((c.code, paper(c.document_id)) for c in s.scalars(select(ResultCode))),
            "components": sorted((code(c.dossier_id), c.state, paper(c.reused_document_id))
                                 for c in s.scalars(select(DossierComponent))),
            "places": sorted((code(p.dossier_id), p.agency, p.commune_code) for p in s.scalars(select(DossierPlace))),
            "words": sorted((w.text, paper(w.document_id)) for w in s.scalars(select(LearnedWord))),
            "stations": sorted(s.execute(select(Station.code, Station.name)).all()),
            "batches": sorted((b.public_id, b.station.code, code(b.dossier_id), b.status) for b in s.scalars(select(Batch))),
            "batch_documents": sorted((d.pdf_sha256, s.get(Batch, d.batch_id).public_id) for d in s.scalars(
                select(Document).where(Document.batch_id.is_not(None)))),
            "originals": sorted((f.sha256, s.get(Batch, f.batch_id).public_id, str(f.signatures))
                                for f in s.scalars(select(SourceFile))),
            "ledger": sorted(s.execute(select(ImportRecord.kind, ImportRecord.source_ref, ImportRecord.outcome)).all()),
            "imported_events": s.execute(select(ImportedAuditEvent.seq, ImportedAuditEvent.hash)
                                         .order_by(ImportedAuditEvent.seq)).all(),
            "segments": s.execute(select(AuditSegment.first_seq, AuditSegment.last_seq, AuditSegment.head_hash,
                                         AuditSegment.sealed_seq.is_not(None))).all(),
            "chain": s.execute(select(AuditEvent.action, AuditEvent.subject).order_by(AuditEvent.seq)).all(),
            "blobs": sorted(open_store(store_url).iter_keys()),
        }


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            return int(s.execute(text(sql)).scalar() or 0)
    except Exception:  # noqa: BLE001 - not created yet by the run being watched
        return 0
    finally:
        engine.dispose()


def test_killed_anywhere_and_run_again_ends_as_one_import(tmp_path: Path, pki_dir: Path) -> None:
    src_url, src_store = f"sqlite:///{tmp_path / 'src.db'}", f"file://{tmp_path / 'src-objects'}"
    src_db = open_database(src_url)
    src = deployment(src_db, open_store(src_store), src_url, src_store, agency=AGENCY, pki=pki_dir)
    add_dossier(src, "HS-BL-001", papers=("căn cước", "tờ khai"), certify=True)
    for i in range(2, 6):
        add_dossier(src, f"HS-BL-00{i}", papers=(f"giấy {i}",))
    add_dossier(src, "HS-BL-009", papers=("giấy 2",))  # the same paper again: linked within the source
    [paper] = add_dossier(src, "HS-BL-010", papers=("giấy 10",))
    add_reuse(src, "HS-BL-002", paper)
    add_result(src, "HS-BL-002", "001090012345")
    add_place(src, "HS-BL-003", "96001", "Phường Đông Hải")
    add_word(src, "NGUYỄN VĂN AN", paper)
    add_reception(src, "HS-BL-004", src.store.get_bytes(src.copies["HS-BL-001"]))
    add_reception(src, "HS-BL-005", tiny_pdf("tờ khai giấy"), station="QUAY-02")
    today = datetime.now(UTC).date()
    period = StatsQuery(start=today - timedelta(days=2), end=today + timedelta(days=2))
    figures = compute_stats(src_db, period)
    src_db.dispose()

    # One uninterrupted import, the reference.
    ref_url, ref_store = f"sqlite:///{tmp_path / 'ref.db'}", f"file://{tmp_path / 'ref-objects'}"
    ref_db = open_database(ref_url)
    source = SohoaSource(src_url, src_store)
    run_import(ref_db, open_store(ref_store), source, chunk=1)
    source.close()

    url, store_url = f"sqlite:///{tmp_path / 'target.db'}", f"file://{tmp_path / 'objects'}"
    env = {**os.environ, "SOHOA_DATABASE_URL": url, "SOHOA_STORE_URL": store_url,
           "SOHOA_TEST_IMPORT_PAUSE": "0.15"}
    command = [sys.executable, "-m", "cli.main", "import", "--from-database", src_url, "--from-store", src_store,
               "--batch-size", "2"]
    kill_when = [
        ("the import is registered, blobs under way", "SELECT count(*) FROM import_sources", 1),
        ("two dossiers in", "SELECT count(*) FROM import_records WHERE kind = 'dossier'", 2),
        ("a station in", "SELECT count(*) FROM import_records WHERE kind = 'station'", 1),
        ("the result code in", "SELECT count(*) FROM import_records WHERE kind = 'result_code'", 1),
        ("half the audit trail in", "SELECT count(*) FROM imported_audit_events", 5),
    ]
    for what, sql, threshold in kill_when:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while _count(url, sql) < threshold:
            assert proc.poll() is None, f"the import ended before {what}: {proc.communicate()}"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        proc.communicate()
        assert _count(url, "SELECT count(*) FROM audit_segments WHERE sealed_seq IS NOT NULL") == 0, what

    # The last run is not killed: no window to kill in, so it runs at full speed.
    calm = {k: v for k, v in env.items() if k != "SOHOA_TEST_IMPORT_PAUSE"}
    done = subprocess.run(command, env=calm, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already present" in done.stdout

    db = open_database(url)
    try:
        dump = _dump(db, store_url)
        assert dump == _dump(ref_db, ref_store)
        assert all(dump[k] for k in ("results", "result_codes", "components", "places", "words", "stations",
                                     "batches", "batch_documents", "originals"))
        assert verify_segments(db).ok
        # The figures the SQLite triggers kept through the kills are the source's.
        stats = compute_stats(db, period)
        assert stats.total == figures.total and stats.by_agency == figures.by_agency
        # Once more, uninterrupted: nothing changes.
        source = SohoaSource(src_url, src_store)
        again = run_import(db, open_store(store_url), source, chunk=2)
        source.close()
        assert again.counts.kinds["document"].copied == 0
        assert _dump(db, store_url) == _dump(ref_db, ref_store)
    finally:
        db.dispose()
        ref_db.dispose()
