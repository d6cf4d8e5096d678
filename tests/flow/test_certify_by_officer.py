"""The certifying officer in the loop, over HTTP on a real ``sohoa serve``: a workflow system's
request waits in the queue; only a certifier key decides; the confirmed copy is signed with that
officer's own key and names them; a refusal keeps its reason; a decided request is not decided
again."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.auth import create_key
from api.db import dispose_engines, engine_for
from bench.api import free_port, start_server, stop_server
from core.result_code import result_code_valid
from core.settings import Settings
from signing.digitize import Digitization, sign_scan
from signing.keys import load_certificates
from signing.officials import official_signer
from signing.verify import verify_pdf
from storage.certify_queue import enqueue
from storage.db import open_database
from storage.models import Document, Dossier
from storage.objects import open_store
from storage.result_codes import issue_result_code
from tests.signing.conftest import pikepdf_pdf
from tests.support.held import record_disagreeing_papers

DIGITIZER = "Nguyễn Văn An"
OFFICER = "Trần Thị Bình"


@dataclass(frozen=True)
class Served:
    url: str
    data_dir: Path
    keys: dict[str, str]
    document_id: int

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[who]}"}, timeout=60.0)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A recorded document as the flow leaves it (a scan signed by the digitizing official, its
    result code issued), made without OCR so the module costs a server start and four signatures."""
    data_dir = tmp_path_factory.mktemp("officer-loop")
    settings = Settings(data_dir=data_dir, workers=1)
    signed = sign_scan(pikepdf_pdf(), official_signer(settings, DIGITIZER),
                       Digitization(DIGITIZER, settings.agency, datetime.now(UTC))).pdf
    db = open_database(settings.resolved_database_url)
    key = open_store(settings.resolved_store_url).put_bytes(signed, "application/pdf").key
    with db.transaction() as session:
        dossier = Dossier(code="HS-OFFICER-1")
        session.add(dossier)
        session.flush()
        row = Document(dossier_id=dossier.id, doc_type="cccd", pdf_key=key,
                       pdf_sha256=hashlib.sha256(signed).hexdigest(), pdf_size=len(signed), page_count=1)
        session.add(row)
        session.flush()
        document_id = row.id
    issue_result_code(db, document_id=document_id, agency_code=settings.agency_code, fmt=settings.result_code_format,
                      day=datetime.now(UTC).date(), actor="station:a")
    db.dispose()
    engine = engine_for(settings.resolved_database_url)
    keys = {
        "workflow": create_key(engine, role="workflow", name="workflow-1").key,
        "certifier": create_key(engine, role="certifier", name="certifier-1", official=OFFICER).key,
        "verifier": create_key(engine, role="verifier", name="verifier-1", official="Lê Văn Cường").key,
    }
    dispose_engines()
    port = free_port()
    proc = start_server(data_dir, port, env_extra={"SOHOA_CERTIFY_BY_OFFICER": "true", "SOHOA_WORKERS": "1"})
    try:
        yield Served(f"http://127.0.0.1:{port}", data_dir, keys, document_id)
    finally:
        stop_server(proc)


def test_request_queue_confirm_by_the_officer(served: Served) -> None:
    with served.client("workflow") as workflow:
        r = workflow.post(f"/v1/documents/{served.document_id}/certified-copies", json={"reason": "hồ sơ đất đai"})
        assert r.status_code == 202, r.text
        queued = r.json()
        assert queued["state"] == "waiting" and r.headers["Location"] == queued["url"]
        # only a certifying officer decides
        assert workflow.post(f"{queued['url']}/confirm").status_code == 403
        assert workflow.get("/v1/certify-queue").status_code == 403
    with served.client("verifier") as verifier:
        r = verifier.post(f"{queued['url']}/confirm")
        assert r.status_code == 403 and "certifier" in r.json()["detail"]

    with served.client("certifier") as certifier:
        waiting = certifier.get("/v1/certify-queue").raise_for_status().json()
        assert [q["id"] for q in waiting] == [queued["id"]]
        r = certifier.post(f"{queued['url']}/confirm")
        assert r.status_code == 201, r.text
        copy = r.json()
        assert OFFICER in copy["signer"] and copy["certification_number"].startswith("1, Quyển số: ")
        again = certifier.post(f"{queued['url']}/confirm")
        assert again.status_code == 409 and OFFICER in again.json()["detail"]
        done = certifier.get(queued["url"]).raise_for_status().json()
        assert done["state"] == "confirmed" and done["officer"] == OFFICER
        assert done["certified_copy_id"] == copy["id"]
    with served.client("workflow") as workflow:
        pdf = workflow.get(copy["download_url"]).raise_for_status().content

    roots = load_certificates(served.data_dir / "pki" / "dev-root-ca.pem")
    report = verify_pdf(pdf, roots=roots)
    assert report.status == "PASSED", report.reasons
    by_role = {s.role: s for s in report.signatures}
    assert by_role["digitization"].official == DIGITIZER and DIGITIZER in by_role["digitization"].signer_subject
    assert by_role["certification"].official == OFFICER and OFFICER in by_role["certification"].signer_subject
    assert by_role["certification"].register_number == copy["certification_number"]


def test_answers_quote_the_result_code(served: Served) -> None:
    with served.client("workflow") as workflow:
        document = workflow.get(f"/v1/documents/{served.document_id}").raise_for_status().json()
        dossier = workflow.get("/v1/dossiers/HS-OFFICER-1").raise_for_status().json()
    code = document["result_code"]
    assert code and result_code_valid(code) and code.startswith(Settings().agency_code + "-")
    assert [d["result_code"] for d in dossier["documents"]] == [code]


def test_a_refusal_keeps_its_reason(served: Served) -> None:
    with served.client("workflow") as workflow:
        queued = workflow.post(f"/v1/documents/{served.document_id}/certified-copies").json()
    with served.client("certifier") as certifier:
        assert certifier.post(f"{queued['url']}/refuse", json={"reason": ""}).status_code == 422
        r = certifier.post(f"{queued['url']}/refuse", json={"reason": "bản chính bị tẩy xóa ở trang 2"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "refused" and r.json()["officer"] == OFFICER
        assert certifier.post(f"{queued['url']}/confirm").status_code == 409
        refused = certifier.get("/v1/certify-queue", params={"state": "refused"}).raise_for_status().json()
        assert [(q["id"], q["reason"]) for q in refused] == [(queued["id"], "bản chính bị tẩy xóa ở trang 2")]
        assert certifier.get("/v1/certify-queue").json() == []  # nothing waits


def test_a_paper_held_by_agreement_is_neither_queued_nor_confirmed(served: Served) -> None:
    """Two papers of one dossier read the holder's birth date a day apart. A workflow system's
    request for either is refused (409, naming the field), and a request queued before the second
    paper came in cannot be confirmed (409, the request still waiting; the queue marks it held,
    naming the field) until a verifier settles the date; then the officer's confirmation makes
    the copy."""
    settings = Settings(data_dir=served.data_dir)
    db = open_database(settings.resolved_database_url)
    papers = record_disagreeing_papers(db, open_store(settings.resolved_store_url), "HS-OFFICER-HELD",
                                       pikepdf_pdf())
    early = enqueue(db, document_id=papers.card_id, requested_by="workflow:workflow-1", purpose="hồ sơ cũ")
    db.dispose()
    with served.client("workflow") as workflow:
        for document_id in (papers.residence_id, papers.card_id):
            r = workflow.post(f"/v1/documents/{document_id}/certified-copies", json={"reason": "hồ sơ đất đai"})
            assert r.status_code == 409, r.text
            assert "date_of_birth" in r.json()["detail"] and "verifier" in r.json()["detail"]
    with served.client("certifier") as certifier:
        url = f"/v1/certify-queue/{early.id}"
        r = certifier.post(f"{url}/confirm")
        assert r.status_code == 409 and "date_of_birth" in r.json()["detail"], r.text
        one = certifier.get(url).raise_for_status().json()
        assert one["state"] == "waiting" and one["held"] and one["held_fields"] == ["date_of_birth"]
        listed = certifier.get("/v1/certify-queue").json()  # the officer sees why confirm is refused
        assert [(q["id"], q["held"], q["held_fields"]) for q in listed] == [(early.id, True, ["date_of_birth"])]
    with served.client("verifier") as verifier:  # the clerk settles it: the ID card's date is right
        doc = verifier.get(f"/v1/documents/{papers.residence_id}/review").raise_for_status().json()
        assert "date_of_birth" in doc["flagged"]
        r = verifier.post(f"/v1/documents/{papers.residence_id}/review",
                          json={"version": doc["version"], "fields": {"date_of_birth": {"value": "04/03/1990"}}})
        assert r.status_code == 200, r.text
    with served.client("certifier") as certifier:
        (settled,) = certifier.get("/v1/certify-queue").json()
        assert not settled["held"] and settled["held_fields"] == []
        r = certifier.post(f"{url}/confirm")
        assert r.status_code == 201, r.text
        assert OFFICER in r.json()["signer"]
        assert certifier.get("/v1/certify-queue").json() == []
