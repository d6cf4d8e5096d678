"""Certification on the Celery workers waits for the whole dossier, as in-process: a paper is
compared with every other paper of its batch before it is certified, so two papers that disagree
on their holder are both held (no copy, both to review), whichever worker finishes first."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from samples.facts import person
from samples.generator import generate_document
from workers.submit import submit_batch, wait_for_batch

pytestmark = pytest.mark.timeout(300)

_TASK_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*Task sohoa\.(document|certify)\[sohoa-(\w+)-"
                        r"(?:document|certify)-\d+\] (received|succeeded)")


def _task_times(logs: list[str], batch: str) -> dict[tuple[str, str], list[datetime]]:
    """When each worker logged a document or certify task of ``batch`` as received or succeeded."""
    times: dict[tuple[str, str], list[datetime]] = {}
    for text in logs:
        for line in text.splitlines():
            m = _TASK_LINE.match(line)
            if m and m.group(3) == batch:
                when = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
                times.setdefault((m.group(2), m.group(4)), []).append(when)
    return times


def test_papers_that_disagree_are_both_held_on_the_workers(services, two_workers, tmp_path: Path) -> None:
    from storage.db import open_database
    from storage.records import dossier_by_code

    rng = random.Random("workers-agreement-dob")
    holder = person(rng)
    day = timedelta(days=1 if holder.birth.day < 28 else -1)
    paths = []
    for i, (doc_type, subject) in enumerate((("cccd", holder),
                                             ("residence_confirmation", replace(holder, birth=holder.birth + day)))):
        doc = generate_document(doc_type, random.Random(f"workers-agreement-dob/{doc_type}"), subject=subject,
                                damage=0.0, allow_rotation=False)
        for j, page in enumerate(doc.pages):
            paths.append(tmp_path / f"{i}-{doc_type}-{j}.png")
            Image.fromarray(page).save(paths[-1], dpi=(300, 300))
    submitted = submit_batch(paths, services.settings(), dossier_code="HS-WORKERS-AGREE", procedure_code="1.000894",
                             station="test", certify=True)
    summary = wait_for_batch(submitted.batch, services.settings(), timeout=240)

    documents = summary["documents"]
    assert [(d["state"], d["doc_type"]) for d in documents] == [("done", "cccd"), ("done", "residence_confirmation")]
    assert all(d["certified_key"] is None and d["certification_number"] is None for d in documents), documents
    assert all(d["review_state"] == "needs_review" for d in documents)
    assert summary["dossier_status"] == "needs_review"
    db = open_database(services.database_url)
    try:
        records = dossier_by_code(db, "HS-WORKERS-AGREE")
        assert records is not None
        for record in records.documents:
            assert record.review_state == "needs_review" and not record.certified
            assert record.fields["date_of_birth"]["needs_review"] is True
    finally:
        db.dispose()

    # every certify task was handed out after the last document of the batch was recorded
    times = _task_times([w.log_text() for w in two_workers], submitted.batch)
    recorded, certifying = times.get(("document", "succeeded"), []), times.get(("certify", "received"), [])
    assert len(recorded) == 2 and len(certifying) == 2, times
    assert max(recorded) <= min(certifying), times
