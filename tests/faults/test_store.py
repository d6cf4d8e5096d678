"""The store losing or spoiling a blob: the server's fault (500), said without a server path and
logged at ERROR with the blob's key, so lost data is noticed; never blamed on the caller (422)."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import png, small_page
from tests.faults.conftest import Served, wait_status


def _certified_copy(served: Served) -> tuple[str, Path]:
    with served.client("station_a") as station:
        r = station.post("/v1/batches", data={"dossier_code": "HS-BLOB-1"},
                         files=[("files", ("cccd.png", png(small_page(5)), "image/png"))])
        assert r.status_code == 202, r.text
        batch = wait_status(station, r.json()["id"], ("done", "failed"))
    assert batch["status"] == "done", batch["error"]
    with served.client("workflow") as workflow:
        r = workflow.post(f"/v1/documents/{batch['documents'][0]['document_id']}/certified-copies",
                          json={"reason": "thử"})
        assert r.status_code == 201, r.text
        url = r.json()["download_url"]
        assert workflow.get(url).status_code == 200
        digest = workflow.get(url).headers["X-Content-SHA256"]
    blob = served.data_dir / "objects" / "sha256" / digest[:2] / digest[2:4] / digest
    assert blob.is_file(), blob
    return url, blob


def test_a_missing_or_corrupt_blob_is_a_logged_server_fault_without_a_path(served: Served) -> None:
    served.start()
    url, blob = _certified_copy(served)
    key = f"sha256/{blob.parent.parent.name}/{blob.parent.name}/{blob.name}"
    data = blob.read_bytes()

    blob.chmod(0o644)
    blob.write_bytes(data[:-10] + b"0123456789")  # spoiled on disk
    with served.client("workflow") as workflow:
        r = workflow.get(url)
    assert r.status_code == 500, r.text
    assert "corrupt" in r.json()["detail"] and str(served.data_dir) not in r.text

    blob.unlink()  # lost
    with served.client("workflow") as workflow:
        r = workflow.get(url)
    assert r.status_code == 500, r.text
    detail = r.json()["detail"]
    assert key in detail and "missing" in detail
    assert str(served.data_dir) not in r.text and "/objects" not in r.text
    log = (served.data_dir / "serve.log").read_text()
    assert f"stored object {key} is missing (GET /v1/certified-copies/" in log, log[-2000:]
