"""Who reads a document's page and field images and its fields (``GET …/review``), and who makes a
copy of a held paper, on the session's real server (certified copies made at once, no officer in
the loop): each role the documents its work needs — a verifier those in review, a certifier those
it is asked to certify, a station its own uploads — and an auditor, a workflow system or an admin
none."""

from __future__ import annotations

import pytest

from core.settings import Settings
from storage.certify_queue import enqueue
from storage.db import open_database
from storage.objects import open_store
from tests.api.conftest import Processed, Server
from tests.signing.conftest import pikepdf_pdf
from tests.support.held import HeldPapers, record_disagreeing_papers


@pytest.fixture(scope="module")
def papers(server: Server) -> HeldPapers:
    settings = Settings(data_dir=server.data_dir)
    db = open_database(settings.resolved_database_url)
    try:
        return record_disagreeing_papers(db, open_store(settings.resolved_store_url), "HS-ACCESS-1", pikepdf_pdf())
    finally:
        db.dispose()


def _page(server: Server, who: str, document_id: int) -> int:
    with server.client(who) as client:
        return client.get(f"/v1/documents/{document_id}/pages/1/image", params={"width": 200}).status_code


def test_no_role_reads_a_paper_outside_its_work(server: Server, papers: HeldPapers) -> None:
    card = papers.card_id
    for who in ("auditor", "workflow", "admin"):
        with server.client(who) as client:
            r = client.get(f"/v1/documents/{card}/pages/1/image")
            assert r.status_code == 403 and "key of role" in r.json()["detail"], (who, r.text)
            assert client.get(f"/v1/documents/{card}/fields/full_name/image").status_code == 403
    with server.client("verifier") as verifier:  # nothing flagged: not the verifier's business
        r = verifier.get(f"/v1/documents/{card}/pages/1/image")
        assert r.status_code == 403 and "not in review" in r.json()["detail"]
    with server.client("certifier") as certifier:  # no copy asked of it
        r = certifier.get(f"/v1/documents/{card}/pages/1/image")
        assert r.status_code == 403 and "certified-copy request" in r.json()["detail"]
    with server.client("station_a") as station:  # not its upload: as if it did not exist
        r = station.get(f"/v1/documents/{card}/pages/1/image")
        assert r.status_code == 404 and r.json()["detail"] == f"no document {card}"


def _fields(server: Server, who: str, document_id: int) -> int:
    with server.client(who) as client:
        return client.get(f"/v1/documents/{document_id}/review").status_code


def test_no_role_reads_fields_outside_its_work(server: Server, papers: HeldPapers) -> None:
    """The values are the same personal data as the images: the same share. A verifier could read
    any document's fields here before, and decide on a document out of review."""
    card = papers.card_id
    for who in ("auditor", "workflow", "admin"):
        with server.client(who) as client:
            r = client.get(f"/v1/documents/{card}/review")
            assert r.status_code == 403, (who, r.text)
    with server.client("verifier") as verifier:  # nothing flagged: neither read nor decided
        r = verifier.get(f"/v1/documents/{card}/review")
        assert r.status_code == 403 and "not in review" in r.json()["detail"] and "fields" in r.json()["detail"]
        r = verifier.post(f"/v1/documents/{card}/review",
                          json={"version": 0, "fields": {"full_name": {"value": "NGUYỄN VĂN A"}}})
        assert r.status_code == 403 and "not in review" in r.json()["detail"], r.text
    with server.client("certifier") as certifier:
        r = certifier.get(f"/v1/documents/{card}/review")
        assert r.status_code == 403 and "certified-copy request" in r.json()["detail"]
        assert certifier.post(f"/v1/documents/{card}/review", json={"version": 0}).status_code == 403
    with server.client("station_a") as station:
        r = station.get(f"/v1/documents/{card}/review")
        assert r.status_code == 404 and r.json()["detail"] == f"no document {card}"
    with server.client("workflow") as workflow:  # the refused decision changed nothing
        doc = workflow.get(f"/v1/documents/{card}").raise_for_status().json()
        assert doc["fields"]["full_name"]["value"] != "NGUYỄN VĂN A"


def test_a_held_paper_goes_to_review_and_is_copied_once_settled(server: Server, papers: HeldPapers) -> None:
    """A direct copy request for a paper its dossier contradicts is 409 and puts it in review: the
    verifier now reads its pages; once they settle the date, the copy is made (201)."""
    with server.client("workflow") as workflow:
        r = workflow.post(f"/v1/documents/{papers.residence_id}/certified-copies", json={"reason": "hồ sơ thử"})
        assert r.status_code == 409 and "date_of_birth" in r.json()["detail"], r.text
    assert _page(server, "verifier", papers.residence_id) == 200
    assert _fields(server, "verifier", papers.residence_id) == 200
    with server.client("verifier") as verifier:
        doc = verifier.get(f"/v1/documents/{papers.residence_id}/review").raise_for_status().json()
        r = verifier.post(f"/v1/documents/{papers.residence_id}/review",
                          json={"version": doc["version"], "fields": {"date_of_birth": {"value": "04/03/1990"}}})
        assert r.status_code == 200 and r.json()["review_state"] == "reviewed", r.text
    assert _page(server, "verifier", papers.residence_id) == 200  # reviewed: still the verifier's
    with server.client("workflow") as workflow:
        r = workflow.post(f"/v1/documents/{papers.residence_id}/certified-copies", json={"reason": "hồ sơ thử"})
        assert r.status_code == 201, r.text


def test_a_certifier_reads_the_papers_it_is_asked_to_certify(server: Server, papers: HeldPapers) -> None:
    assert _page(server, "certifier", papers.card_id) == 403
    settings = Settings(data_dir=server.data_dir)
    db = open_database(settings.resolved_database_url)
    try:
        enqueue(db, document_id=papers.card_id, requested_by="workflow:workflow-1")
    finally:
        db.dispose()
    assert _page(server, "certifier", papers.card_id) == 200
    assert _page(server, "certifier", papers.residence_id) == 403
    assert _fields(server, "certifier", papers.card_id) == 200
    assert _fields(server, "certifier", papers.residence_id) == 403


def test_a_station_reads_its_own_uploads_only(server: Server, processed: Processed) -> None:
    assert _page(server, "station_a", processed.document_id) == 200
    assert _page(server, "station_b", processed.document_id) == 404
    assert _fields(server, "station_a", processed.document_id) == 200
    assert _fields(server, "station_b", processed.document_id) == 404
