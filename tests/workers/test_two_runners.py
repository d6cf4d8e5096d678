"""One flow, two runners: the same dossier through the in-process runner and through Celery workers
ends with the same documents, fields, statuses, stored objects and manifest.

Each runner has a deployment of its own (the in-process one SQLite and a local folder; the Celery one
PostgreSQL and a SeaweedFS S3 server), so neither finds what the other recorded. The searchable PDFs
are dated by the batch's reception time, given to both, so equal work gives equal bytes and keys.
Certified copies carry their signing time and differ; both registers number them 1..N.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.settings import Settings
from flow.context import BatchSummary
from flow.run import process_paths
from storage.objects import open_store
from workers.submit import process_on_workers

pytestmark = pytest.mark.timeout(400)

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dossier"
DOSSIER = "000.00.19.H99-261207-0042"
RECEIVED = datetime(2026, 12, 7, 8, 15, tzinfo=UTC)


def _documents(summary: BatchSummary) -> list[dict]:
    return [
        {
            "number": d.number, "state": str(d.state), "doc_type": d.doc_type, "pages": d.pages,
            "fields": d.fields, "needs_review": d.needs_review, "review_state": d.review_state,
        }
        for d in summary.documents
    ]


def _manifest(summary: BatchSummary, store_url: str) -> dict:
    """The signed manifest without what only the signing time decides (its date, the keys of the
    certified copies and of the scans the digitizing official signed)."""
    assert summary.manifest_key is not None
    manifest = json.loads(open_store(store_url).get_bytes(summary.manifest_key))
    copies = {d.certified_key for d in summary.documents}
    assert copies and None not in copies, "every document was certified"
    signed = {d.pdf_key for d in summary.documents}
    manifest.pop("created_at")
    manifest["objects"] = {k: v for k, v in manifest["objects"].items() if k not in copies | signed}
    for document in manifest["documents"]:
        document.pop("certified")
        document.pop("pdf")
    return manifest


def test_same_dossier_same_outcome_on_both_runners(services, two_workers, tmp_path: Path) -> None:
    files = [tmp_path / name for name in ("ho-so-mau.pdf", "giay-chung-nhan-ket-hon.jpg")]
    for f in files:
        shutil.copy(SAMPLES / f.name, f)
    embedded = Settings(data_dir=tmp_path / "embedded", workers=1)

    here = process_paths(files, embedded, dossier_code=DOSSIER, procedure_code="1.001612", station="st-1",
                         received_at=RECEIVED).summary
    there = process_on_workers(files, services.settings(), dossier_code=DOSSIER, procedure_code="1.001612",
                               station="st-1", received_at=RECEIVED, timeout=300).summary

    assert len(here.documents) == 6 and all(d.done for d in here.documents)
    assert _documents(here) == _documents(there)
    # Both registers number their copies 1..N without a gap; which copy gets which number is the
    # order certification finished in, sequential here and parallel on the workers.
    numbers = [sorted(d.certification_number for d in s.documents) for s in (here, there)]
    assert numbers[0] == numbers[1] == sorted(f"{n}, Quyển số: 01/{RECEIVED.year}-SCTĐT/BS" for n in range(1, 7))
    assert (here.status, here.dossier_status, here.pages_done, here.pages_failed) == (
        there.status, there.dossier_status, there.pages_done, there.pages_failed)
    assert _manifest(here, embedded.resolved_store_url) == _manifest(there, services.store_url)
