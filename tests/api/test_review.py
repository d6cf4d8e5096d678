"""The verification station over HTTP on a real uvicorn: a station uploads, a verifier sees the
queue, fetches a field's image, corrects and confirms; reuse then finds the corrected values, the
audit trail shows old → new with the official's name, and the other roles are kept out."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.api.conftest import Server, png, wait_for_batch

DOSSIER = "000.00.19.H99-261126-0016"
OFFICIAL = "Nguyễn Thị An"


@pytest.fixture(scope="module")
def verifier(server: Server) -> str:
    with server.client("admin") as admin:
        refused = admin.post("/v1/keys", json={"role": "verifier", "name": "kt00"})
        assert refused.status_code == 422 and "official" in refused.json()["detail"]
        r = admin.post("/v1/keys", json={"role": "verifier", "name": "kt01", "official": OFFICIAL})
        assert r.status_code == 201, r.text
        assert r.json()["official"] == OFFICIAL
        return r.json()["key"]


def _client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60.0)


def _birth_certificate() -> tuple[np.ndarray, dict[str, str]]:
    """A generated birth certificate at 100 dpi: the page OCR is sure of most of it, not of the
    names (seed 8: names flagged)."""
    from samples.generator import generate_document

    sample = generate_document("birth_certificate", random.Random(8), damage=0.0)
    return np.ascontiguousarray(sample.pages[0][::3, ::3]), sample.fields


def test_station_upload_to_reviewed_reuse(server: Server, verifier: str) -> None:
    image, truth = _birth_certificate()
    with server.client("station_a") as station:
        r = station.post("/v1/batches", headers={"Idempotency-Key": "review-1"},
                         data={"dossier_code": DOSSIER, "procedure_code": "1.001193"},
                         files=[("files", ("khai-sinh.png", png(image), "image/png"))])
        assert r.status_code == 202, r.text
        batch = wait_for_batch(station, r.json()["id"])
        assert batch["status"] == "done", batch["error"]
        assert station.get("/v1/review/queue").status_code == 403  # a station may not review
    with _client(server, verifier) as clerk:
        assert clerk.post("/v1/batches", data={"dossier_code": DOSSIER}).status_code == 403
        assert clerk.get("/v1/keys").status_code == 403

        queue = clerk.get("/v1/review/queue", params={"dossier": DOSSIER}).raise_for_status().json()
        (item,) = queue["documents"]
        assert item["doc_type"] == "birth_certificate" and item["flagged"]
        doc_id = item["document_id"]
        assert clerk.get("/v1/review/queue", params={"doc_type": "cccd", "dossier": DOSSIER}).json() == {
            "documents": []}
        assert clerk.get("/v1/review/queue", params={"doc_type": "passport"}).status_code == 422

        doc = clerk.get(f"/v1/documents/{doc_id}/review").raise_for_status().json()
        assert doc["version"] == 0 and doc["review_state"] == "needs_review"
        fields = {f["name"]: f for f in doc["fields"]}
        flagged = [n for n in doc["flagged"]]
        assert set(flagged) == set(item["flagged"])
        first = fields[flagged[0]]
        assert first["reason"] and first["reason_vi"] and first["box"] and first["page"] == 0

        crop = clerk.get(first["image_url"])
        assert crop.status_code == 200 and crop.headers["content-type"] == "image/png"
        page = clerk.get(f"/v1/documents/{doc_id}/pages/1/image")
        assert page.status_code == 200
        crop_img, page_img = Image.open(io.BytesIO(crop.content)), Image.open(io.BytesIO(page.content))
        assert page_img.size == (image.shape[1], image.shape[0])  # the original page, pixel for pixel
        assert crop_img.width < page_img.width and crop_img.height < page_img.height / 4
        assert crop_img.height > first["box"][3]
        assert clerk.get(f"/v1/documents/{doc_id}/pages/9/image").status_code == 404
        assert clerk.get(f"/v1/documents/{doc_id}/fields/nope/image").status_code == 404

        bad = clerk.post(f"/v1/documents/{doc_id}/review",
                         json={"version": 0, "fields": {"personal_id": {"value": "12345"}}})
        assert bad.status_code == 422 and "personal_id" in bad.json()["detail"]
        bad = clerk.post(f"/v1/documents/{doc_id}/review",
                         json={"version": 0, "fields": {"date_of_birth": {"value": "31/02/2001"}}})
        assert bad.status_code == 422 and "date_of_birth" in bad.json()["detail"]
        assert clerk.get(f"/v1/documents/{doc_id}/review").json()["version"] == 0  # nothing stored

        if all(fields[n]["value"] == truth[n] for n in flagged):
            # The page OCR read every unsure value right (it improves): the clerk still corrects a
            # name, as a paper may spell one otherwise; what is under test is the correction itself.
            name = next(n for n in flagged if n.endswith("name") and fields[n]["value"])
            truth = {**truth, name: f"{fields[name]['value']} AN"}
        decisions: dict[str, dict] = {}
        corrected = []
        for name in flagged:
            if fields[name]["value"] == truth[name]:
                decisions[name] = {"confirm": True}
            else:  # typed as a keyboard may send it: decomposed marks, a name in lower case
                typed = truth[name].lower() if name.endswith("name") else truth[name]
                decisions[name] = {"value": unicodedata.normalize("NFD", typed)}
                corrected.append(name)
        assert corrected, "the test document should have a wrong value to correct"
        r = clerk.post(f"/v1/documents/{doc_id}/review", json={"version": 0, "fields": decisions})
        assert r.status_code == 200, r.text
        after = r.json()
        assert after["review_state"] == "reviewed" and after["version"] == 1 and after["flagged"] == []
        done = {f["name"]: f for f in after["fields"]}
        for name in corrected:
            assert done[name]["value"] == truth[name]  # NFC, upper case as printed
            assert done[name]["machine"]["value"] == fields[name]["value"]
            assert done[name]["review"]["by"] == OFFICIAL
        stale = clerk.post(f"/v1/documents/{doc_id}/review",
                           json={"version": 0, "fields": {flagged[0]: {"confirm": True}}})
        assert stale.status_code == 409

    with server.client("workflow") as workflow:
        found = workflow.get("/v1/reuse", params={"personal_id": truth["personal_id"],
                                                  "doc_type": "birth_certificate"}).raise_for_status().json()
        (result,) = [r for r in found["results"] if r["document_id"] == doc_id]
        assert result["review_state"] == "reviewed"
        for name in corrected:
            assert result["fields"][name] == truth[name]
    with server.client("auditor") as auditor:
        trail = auditor.get("/v1/audit", params={"dossier": DOSSIER}).raise_for_status().json()
        assert trail["chain"]["ok"]
        changes = [e for e in trail["events"] if e["action"] == "field.corrected"]
        assert {e["details"]["field"] for e in changes} == set(corrected)
        for e in changes:
            assert e["details"]["official"] == OFFICIAL and e["actor"] == "verifier:kt01"
            assert e["details"]["old"] == fields[e["details"]["field"]]["value"]
            assert e["details"]["new"] == truth[e["details"]["field"]]


def _card_with_an_unlisted_name() -> tuple[np.ndarray, dict[str, str]]:
    """An identity card of a person from the held-out vocabulary at 100 dpi: the page OCR reads
    the name right ("TỐNG DIỆP LAM"), and it is flagged only because the lexicon lists none of its
    words (the surname, DIỆP, and LAM beside LÂM)."""
    from samples import holdout
    from samples.generator import generate_document

    with holdout.vocabulary("held-out"):
        sample = generate_document("cccd", random.Random(5), damage=0.0)
    return np.ascontiguousarray(sample.pages[0][::3, ::3]), sample.fields


def test_a_confirmed_name_is_known_to_the_next_dossier_in_another_process(
        server: Server, verifier: str, tmp_path: Path) -> None:
    image, truth = _card_with_an_unlisted_name()
    with server.client("station_a") as station:
        r = station.post("/v1/batches", headers={"Idempotency-Key": "feedback-1"},
                         data={"dossier_code": "000.00.19.H99-261126-0161"},
                         files=[("files", ("the-can-cuoc.png", png(image), "image/png"))])
        assert r.status_code == 202, r.text
        batch = wait_for_batch(station, r.json()["id"])
        assert batch["status"] == "done", batch["error"]
    doc_id = batch["documents"][0]["document_id"]
    with _client(server, verifier) as clerk:
        doc = clerk.get(f"/v1/documents/{doc_id}/review").raise_for_status().json()
        name = {f["name"]: f for f in doc["fields"]}["full_name"]
        assert name["value"] == truth["full_name"] and name["needs_review"], name
        assert "not recognised" in name["reason"]
        r = clerk.post(f"/v1/documents/{doc_id}/review",
                       json={"version": doc["version"], "fields": {"full_name": {"confirm": True}}})
        assert r.status_code == 200, r.text

    # Another process on this machine, as another machine would be: sohoa process against the same
    # records, into a new dossier.
    scan = tmp_path / "the-can-cuoc.png"
    scan.write_bytes(png(image))
    env = {**os.environ, "SOHOA_DATA_DIR": str(server.data_dir), "OMP_THREAD_LIMIT": "1"}
    env.pop("SOHOA_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "cli.main", "process", str(scan), "--dossier",
                           "000.00.19.H99-261126-0162", "--no-certify", "--workers", "1", "--json"],
                          cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr
    (again,) = json.loads(done.stdout)["documents"]
    assert again["fields"]["full_name"]["value"] == truth["full_name"]
    assert not again["fields"]["full_name"]["needs_review"]  # known now: not routed again
    # and the server's own next batch (a job process of its own) knows it too
    with server.client("station_a") as station:
        r = station.post("/v1/batches", headers={"Idempotency-Key": "feedback-2"},
                         data={"dossier_code": "000.00.19.H99-261126-0163"},
                         files=[("files", ("the-can-cuoc.png", png(image), "image/png"))])
        batch = wait_for_batch(station, r.json()["id"])
    with server.client("station_a") as station:  # its own upload (a verifier reads it only if in review)
        doc = station.get(f"/v1/documents/{batch['documents'][0]['document_id']}/review").raise_for_status().json()
        assert "full_name" not in doc["flagged"]
