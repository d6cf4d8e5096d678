"""Upload → processed → dossier → certified copy → verify → audit trail, through a real uvicorn."""

from __future__ import annotations

from urllib.parse import quote, unquote

import httpx

from tests.api.conftest import Processed, Server


def test_batch_reports_progress_and_documents(server: Server, processed: Processed) -> None:
    batch = processed.batch
    assert batch["status"] == "done" and batch["error"] is None
    assert {k: batch["progress"][k] for k in ("pages_total", "pages_done", "percent")} == {
        "pages_total": 1, "pages_done": 1, "percent": 100.0}
    assert batch["files"][0]["name"] == "Căn cước.png" and batch["files"][0]["media_type"] == "image/png"
    document = batch["documents"][0]
    assert document["pages"] == ["Căn cước.png p.1"]
    assert len(document["sha256"]) == 64 and batch["record_batch_id"] is not None
    with server.client("station_a") as station:  # a retry long after: still the same batch, not re-run
        from tests.api.conftest import png, small_page

        again = station.post("/v1/batches", headers={"Idempotency-Key": "e2e-1"},
                             data={"dossier_code": processed.dossier_code, "procedure_code": "1.001612"},
                             files=[("files", ("Căn cước.png", png(small_page(7)), "image/png"))])
        assert again.status_code == 200 and again.json()["id"] == batch["id"]
        assert again.json()["status"] == "done"


def test_dossier_lists_documents_fields_flags_and_copies(server: Server, processed: Processed) -> None:
    with server.client("workflow") as workflow:
        r = workflow.get(f"/v1/dossiers/{processed.dossier_code}")
        assert r.status_code == 200, r.text
        dossier = r.json()
        assert dossier["procedure_code"] == "1.001612"
        (document,) = [d for d in dossier["documents"] if d["id"] == processed.document_id]
        assert {"doc_type", "fields", "needs_review", "review_state"} <= set(document)
        assert processed.copy_id in {c["id"] for c in document["certified_copies"]}
        assert workflow.get("/v1/dossiers/NO-SUCH-DOSSIER").status_code == 404
        assert workflow.get("/v1/documents/999999").status_code == 404
        assert workflow.post("/v1/documents/999999/certified-copies").status_code == 404
        assert workflow.get("/v1/certified-copies/999999").status_code == 404


def test_certified_copy_download_and_link(server: Server, processed: Processed) -> None:
    assert processed.copy_pdf.startswith(b"%PDF-")
    with server.client("workflow") as workflow:
        r = workflow.get(f"/v1/certified-copies/{processed.copy_id}")
        assert r.headers["content-type"] == "application/pdf"
        number = unquote(r.headers["x-certification-number"])
        assert number.endswith("-SCTĐT/BS") and quote(number, safe="") in r.headers["content-disposition"]
        link = workflow.get(f"/v1/certified-copies/{processed.copy_id}", params={"link": "true"}).json()
        assert link["presigned"] is False and link["url"] == f"/v1/certified-copies/{processed.copy_id}"


def test_reuse_look_up(server: Server, processed: Processed) -> None:
    with server.client("workflow") as workflow:
        r = workflow.get("/v1/reuse", params={"personal_id": "001090012345", "doc_type": "cccd"})
        assert r.status_code == 200 and r.json()["results"] == []
        assert workflow.get("/v1/reuse", params={"personal_id": "12345"}).status_code == 422
        assert workflow.get("/v1/reuse", params={"personal_id": "001090012345", "doc_type": "x"}).status_code == 422


def test_verify_the_certified_copy(server: Server, processed: Processed) -> None:
    with server.client("auditor") as auditor:
        r = auditor.post("/v1/verify", content=processed.copy_pdf, headers={"Content-Type": "application/pdf"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["verdict"] == "valid" and body["exit_code"] == 0
        assert body["report"]["record_match"] is True
        assert any(m["certified_copy_id"] == processed.copy_id for m in body["records"])
        signature = body["report"]["signatures"][0]
        assert signature["intact"] and signature["valid"] and signature["trusted"]

        multipart = auditor.post("/v1/verify", files={"file": ("copy.pdf", processed.copy_pdf, "application/pdf")})
        assert multipart.status_code == 200 and multipart.json()["verdict"] == "valid"

        tampered = bytearray(processed.copy_pdf)
        at = tampered.rfind(b"/Producer") if b"/Producer" in tampered else len(tampered) // 3
        tampered[at + 1] ^= 0x01
        r = auditor.post("/v1/verify", content=bytes(tampered), headers={"Content-Type": "application/pdf"})
        assert r.status_code == 200 and r.json()["verdict"] in ("invalid", "could_not_check")

        wrong = auditor.post("/v1/verify", params={"expected_sha256": "0" * 64}, content=processed.copy_pdf,
                             headers={"Content-Type": "application/pdf"})
        assert wrong.json()["verdict"] == "invalid" and "RECORD_MISMATCH" in wrong.json()["report"]["reasons"]

        assert auditor.post("/v1/verify", content=b"GIF89a", headers={"Content-Type": "application/pdf"}).status_code == 415
        assert auditor.post("/v1/verify", content=b"", headers={"Content-Type": "application/pdf"}).status_code == 422


def test_audit_trail_of_the_dossier(server: Server, processed: Processed) -> None:
    with server.client("auditor") as auditor:
        r = auditor.get("/v1/audit", params={"dossier": processed.dossier_code})
        assert r.status_code == 200, r.text
        audit = r.json()
        assert audit["chain"]["ok"] is True and audit["chain"]["events"] >= len(audit["events"])
        actions = [e["action"] for e in audit["events"]]
        assert "batch.started" in actions and "document.archived" in actions
        copies = [e for e in audit["events"] if e["action"] == "certified_copy.recorded"]
        assert copies and copies[-1]["actor"] == "workflow:workflow-1"
        seqs = [e["seq"] for e in audit["events"]]
        assert seqs == sorted(seqs)
        assert auditor.get("/v1/audit", params={"dossier": "NO-SUCH"}).status_code == 404


def test_openapi_documents_every_endpoint(server: Server) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    paths = schema["paths"]
    for path, method in [("/v1/batches", "post"), ("/v1/batches/{batch_id}", "get"), ("/v1/dossiers/{code}", "get"),
                         ("/v1/documents/{document_id}/certified-copies", "post"),
                         ("/v1/certified-copies/{copy_id}", "get"), ("/v1/reuse", "get"), ("/v1/verify", "post"),
                         ("/v1/audit", "get")]:
        assert method in paths[path], path
    upload = paths["/v1/batches"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in upload["parameters"])
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_a_retried_copy_request_makes_one_copy(server: Server, processed: Processed) -> None:
    path = f"/v1/documents/{processed.document_id}/certified-copies"
    with server.client("workflow") as workflow:
        first = workflow.post(path, headers={"Idempotency-Key": "copy-retry-1"})
        again = workflow.post(path, headers={"Idempotency-Key": "copy-retry-1"})
        assert first.status_code == 201, first.text
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["certification_number"] == first.json()["certification_number"]
        other = workflow.post(path)
        assert other.status_code == 201 and other.json()["certification_number"] != first.json()["certification_number"]
