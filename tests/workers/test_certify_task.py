"""The certification task, run as a worker runs it, on a document processed and archived first."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import load_settings
from flow.run import process_paths
from signing.keys import trust_roots
from signing.verify import verify_pdf
from storage.objects import open_store

DOSSIER = Path(__file__).resolve().parents[2] / "samples" / "dossier"


def test_certify_task_certifies_once_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers import resources, tasks

    settings = load_settings()
    monkeypatch.setattr(tasks, "settings", settings)
    resources.forget()
    result = process_paths(
        [DOSSIER / "giay-chung-nhan-ket-hon.jpg"], settings, dossier_code="HS-CERT-1", certify=False
    )
    document_id = result.documents[0].document_id
    assert document_id is not None and result.documents[0].certified_key is None

    first = tasks.certify_task.apply(args=(document_id,), task_id="request-1").get()
    again = tasks.certify_task.apply(args=(document_id,), task_id="request-1").get()
    other = tasks.certify_task.apply(args=(document_id,), task_id="request-2").get()

    assert first["state"] == "done", first
    assert again["certified_id"] == first["certified_id"]  # a redelivery makes no second copy
    assert other["certified_id"] != first["certified_id"]  # a new request is a new register entry
    assert other["certification_number"] != first["certification_number"]
    pdf = open_store(settings.resolved_store_url).get_bytes(first["certified_key"])
    assert verify_pdf(pdf, roots=trust_roots(settings), allow_fetching=False).status == "PASSED"
