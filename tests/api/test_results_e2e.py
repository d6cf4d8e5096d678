"""End to end over HTTP, on one province's server: dossier A received in commune X digitizes a
birth certificate; the procedure's result (a signed born-digital PDF) is posted; dossier B received
in commune Y reuses the birth certificate instead of scanning it again; the figures show both
dossiers, the reuse and the electronic result; the portal export agrees, and its link serves the
file. Then the /stats page in headless Chromium."""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from api.auth import create_key
from api.db import dispose_engines, engine_for
from bench.api import free_port, start_server, stop_server
from core.result_code import result_code_valid
from core.settings import Settings
from signing.keys import load_signer
from storage.reuse import today_in_vietnam
from tests.api.conftest import LIMITS, Server, wait_for_batch
from tests.api.test_auditor_page import CHROMIUM, DRIVER, browser  # noqa: F401 - the fixture
from tests.support.hybrid_pdf import hybrid_pdf

X_ADDRESS = "Phường Hải Châu, thành phố Đà Nẵng"  # commune X (post-2025 code 20242)
Y_ADDRESS = "Phường Hòa Cường, thành phố Đà Nẵng"  # commune Y of the same province


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, whose public address is its own URL (the export's links must work)."""
    data_dir = tmp_path_factory.mktemp("province")
    engine = engine_for(Settings(data_dir=data_dir).resolved_database_url)
    keys = {
        "station_a": create_key(engine, role="station", name="station-x").key,
        "station_b": create_key(engine, role="station", name="station-y").key,
        "workflow": create_key(engine, role="workflow", name="tthc-tinh").key,
        "auditor": create_key(engine, role="auditor", name="auditor-1").key,
    }
    dispose_engines()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(data_dir, port, env_extra={**LIMITS, "SOHOA_PUBLIC_BASE_URL": url})
    try:
        yield Server(url=url, data_dir=data_dir, keys=keys)
    finally:
        stop_server(proc)


def _birth_certificate_png() -> tuple[bytes, str]:
    from samples.generator import generate_document

    sample = generate_document("birth_certificate", random.Random(3), damage=0.0)
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(sample.pages[0][::2, ::2])).save(out, format="PNG", dpi=(150, 150))
    return out.getvalue(), sample.fields["personal_id"]


def _signed_result(server: Server, lines: list[str]) -> bytes:
    """A born-digital result with a text layer, signed (PAdES) by the agency's key."""
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    clean = io.BytesIO()
    with pikepdf.open(io.BytesIO(hybrid_pdf(lines))) as pdf:
        pdf.save(clean)  # one classic cross-reference table, as an office suite's export writes it
    with load_signer(Settings(data_dir=server.data_dir)) as signer:
        writer = IncrementalPdfFileWriter(clean)
        return signers.sign_pdf(writer, meta, signer=signer.signer).getvalue()


@dataclass(frozen=True)
class Story:
    pid: str
    birth_id: int
    result: dict
    stats: dict
    export_a: dict
    export_b: dict


@pytest.fixture(scope="module")
def story(province: Server) -> Story:
    png, pid = _birth_certificate_png()
    with province.client("workflow") as workflow, province.client("station_a") as station_x, \
            province.client("station_b") as station_y:
        r = workflow.put("/v1/dossiers/HS-X-0001/reception", json={
            "procedure_code": "1.004222", "agency": "UBND phường Hải Châu", "address": X_ADDRESS})
        assert r.status_code == 200, r.text
        assert (r.json()["commune_code"], r.json()["province_code"]) == ("20242", "48")
        r = station_x.post("/v1/batches", headers={"Idempotency-Key": "hs-x-1"},
                           data={"dossier_code": "HS-X-0001", "procedure_code": "1.004222"},
                           files=[("files", ("giấy khai sinh.png", png, "image/png"))])
        assert r.status_code == 202, r.text
        batch = wait_for_batch(station_x, r.json()["id"])
        assert batch["status"] == "done", batch
        [doc] = batch["documents"]
        birth_id = doc["document_id"]

        result_pdf = _signed_result(province, ["XAC NHAN THONG TIN VE CU TRU", f"So dinh danh: {pid}"])
        until = (today_in_vietnam() + timedelta(days=365)).isoformat()
        r = workflow.post("/v1/dossiers/HS-X-0001/results",
                          data={"owner_id": pid, "result_type": "residence_confirmation", "valid_until": until},
                          files={"file": ("xác nhận cư trú.pdf", result_pdf, "application/pdf")})
        assert r.status_code == 201, r.text
        result = r.json()
        again = workflow.post("/v1/dossiers/HS-X-0001/results",
                              data={"owner_id": pid, "result_type": "residence_confirmation", "valid_until": until},
                              files={"file": ("xác nhận cư trú.pdf", result_pdf, "application/pdf")})
        assert again.status_code == 200 and again.json()["id"] == result["id"]
        kept = workflow.get(result["download_url"]).raise_for_status().content
        assert kept == result_pdf  # byte for byte

        r = workflow.put("/v1/dossiers/HS-Y-0001/reception", json={
            "procedure_code": "1.001193", "agency": "UBND phường Hòa Cường", "address": Y_ADDRESS})
        assert r.status_code == 200 and r.json()["commune_code"] not in (None, "20242"), r.text
        found = workflow.get("/v1/reuse", params={"personal_id": pid, "type": "birth_certificate"}).json()
        assert [x["document_id"] for x in found["results"]] == [birth_id]  # ?type= is honoured
        r = station_y.post("/v1/dossiers/HS-Y-0001/components", json={"reuse_document_id": birth_id})
        assert r.status_code == 201, r.text
        assert r.json()["reused_from_dossier"] == "HS-X-0001"

        export_a = workflow.get("/v1/dossiers/HS-X-0001/export").raise_for_status().json()
        export_b = workflow.get("/v1/dossiers/HS-Y-0001/export").raise_for_status().json()
    today = today_in_vietnam().isoformat()  # the figures' days are Vietnam's
    with province.client("auditor") as auditor:
        stats = auditor.get("/v1/stats", params={"from": today, "to": today}).raise_for_status().json()
    return Story(pid=pid, birth_id=birth_id, result=result, stats=stats, export_a=export_a, export_b=export_b)


def test_the_result_is_read_from_its_text_layer_verified_and_coded(story: Story) -> None:
    assert story.result["text_source"] == "text_layer"  # no OCR for a born-digital result
    assert story.result["signature_status"] == "PASSED"
    assert result_code_valid(story.result["result_code"])  # the agency's code, with its check character


def test_the_figures_show_both_dossiers_the_reuse_and_the_electronic_result(story: Story) -> None:
    s = story.stats
    assert s["dossiers"] == 2
    assert s["counts"] == {"digitized": 2, "reuse": 1, "electronic_result": 1, "linked": 2}
    assert s["rates"]["reuse"] == 0.5 and s["rates"]["digitized"] == 1.0
    # 22 points in four equal shares, full at 80%: a half earns 5.5 * 0.5 / 0.8
    assert s["points"]["earned"] == {"digitized": 5.5, "reuse": 3.44, "electronic_result": 3.44, "linked": 5.5}
    assert s["points"]["total"] == 17.88
    assert {a["agency"] for a in s["by_agency"]} == {"UBND phường Hải Châu", "UBND phường Hòa Cường"}


def test_the_portal_export_agrees(province: Server, story: Story) -> None:
    a, b = story.export_a, story.export_b
    assert (a["DuocSoHoa"], a["DuocTaiSuDung"], a["CoKetQuaDienTu"]) == (1, 0, 1)
    assert (b["DuocSoHoa"], b["DuocTaiSuDung"], b["CoKetQuaDienTu"]) == (1, 1, 0)
    assert sum(x["DuocTaiSuDung"] for x in (a, b)) == story.stats["counts"]["reuse"]
    assert sum(x["CoKetQuaDienTu"] for x in (a, b)) == story.stats["counts"]["electronic_result"]
    assert a["TrangThaiHoSo"] == "Đã có kết quả" and a["MaXa"] == "20242"
    [result] = [p for p in a["DanhSachGiayToKetQua"] if p["LaKetQuaGiaiQuyet"]]
    assert result["MaGiayToKetQua"] == story.result["result_code"]
    assert result["TrangThaiChuKySo"] == "Chữ ký số hợp lệ"
    [reused] = b["DanhSachGiayToKetQua"]
    assert reused["MaHoSoGoc"] == "HS-X-0001" and reused["DuocTaiSuDung"] == 1
    [birth] = [p for p in a["DanhSachGiayToKetQua"] if p["LoaiGiayTo"] == "birth_certificate"]
    # the paper's digitization result code, the same from both dossiers
    assert result_code_valid(birth["MaGiayToKetQua"]) and reused["MaGiayToKetQua"] == birth["MaGiayToKetQua"]
    link = reused["DuongDanTepTinKetQua"]
    assert link == f"{province.url}/v1/documents/{story.birth_id}/file"
    with province.client("workflow") as portal:
        pdf = portal.get(link).raise_for_status().content
    assert hashlib.sha256(pdf).hexdigest() == reused["MaBam"]


def test_the_owners_store_spans_both_communes(province: Server, story: Story) -> None:
    with province.client("workflow") as workflow:
        body = workflow.get(f"/v1/owners/{story.pid}/documents", params={"purpose": "kiểm tra"}).raise_for_status().json()
        assert workflow.get("/v1/owners/12345/documents").status_code == 422
    by_type = {d["doc_type"]: d for d in body["documents"]}
    assert by_type["birth_certificate"]["reused_in"] == ["HS-Y-0001"]
    # an address keeps its printed text and gains the post-2025 units it names
    birth_place = by_type["birth_certificate"]["places"]["place_of_birth"]
    assert birth_place["printed"] == by_type["birth_certificate"]["fields"]["place_of_birth"]
    assert birth_place["province_code_2025"] and 0 < birth_place["confidence"] <= 1
    assert by_type["residence_confirmation"]["kind"] == "result" and by_type["residence_confirmation"]["valid"]


def test_stats_are_for_admins_and_auditors_only(province: Server, story: Story) -> None:
    with province.client("workflow") as workflow:
        assert workflow.get("/v1/stats", params={"from": "2026-01-01", "to": "2026-01-31"}).status_code == 403
    with province.client("auditor") as auditor:
        r = auditor.get("/v1/stats", params={"from": "2026-02-01", "to": "2026-01-01"})
        assert r.status_code == 422 and "before" in r.json()["detail"]


def today_dmy() -> str:
    return today_in_vietnam().strftime("%d/%m/%Y")


def test_the_stats_page_in_chromium(browser, province: Server, story: Story, tmp_path: Path) -> None:  # noqa: F811
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    html = httpx.get(f"{province.url}/stats", timeout=10).text
    assert "cdn" not in html.lower() and "<script src" not in html
    browser.set_window_size(1280, 1400)
    browser.get(f"{province.url}/stats")
    key = browser.find_element(By.ID, "key")
    key.clear()
    key.send_keys(province.keys["auditor"])
    browser.find_element(By.ID, "show").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "points").text
                                     or d.find_element(By.ID, "error").text)
    assert browser.find_element(By.ID, "error").text == ""
    assert browser.find_element(By.ID, "points").text.startswith("17.88 / 22")
    total = browser.find_element(By.ID, "total").text
    assert total.startswith("2 hồ sơ") and today_dmy() in total  # dates for people as dd/mm/yyyy
    rows = {r.get_attribute("data-rate"): r.text for r in browser.find_elements(By.CSS_SELECTOR, "#summary tbody tr")}
    assert "1 / 2" in rows["reuse"] and "50.0%" in rows["reuse"]
    assert "2 / 2" in rows["digitized"] and "100.0%" in rows["digitized"]
    month_bars = browser.find_elements(By.CSS_SELECTOR, "#by-month rect.bar")
    agency_bars = browser.find_elements(By.CSS_SELECTOR, "#by-agency rect.bar")
    assert len(month_bars) == 4 and len(agency_bars) == 8  # one month, two agencies; four rates each
    assert browser.find_elements(By.CSS_SELECTOR, "#by-month line.target")  # the 80% line
    heights = {b.get_attribute("data-rate"): float(b.get_attribute("height")) for b in month_bars}
    assert heights["reuse"] == pytest.approx(heights["digitized"] / 2)
    shot = tmp_path / "stats-page.png"
    browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SOHOA_TEST_SCREENSHOTS"):  # where a person wants to look at it
        shutil.copy(shot, Path(os.environ["SOHOA_TEST_SCREENSHOTS"]) / shot.name)
    # a key of another role is refused on the page, in one line
    key.clear()
    key.send_keys(province.keys["workflow"])
    browser.find_element(By.ID, "show").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "error").text)
    assert "role" in browser.find_element(By.ID, "error").text


def test_a_scanned_result_is_read_by_ocr(province: Server, story: Story) -> None:
    """A result with no text layer (a scan of the signed paper) is OCR'd through the flow's page
    work; it is still kept byte for byte and offered to its owner."""
    png, pid = _birth_certificate_png()
    scan = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(scan, "PDF", resolution=150)
    with province.client("workflow") as workflow:
        r = workflow.post("/v1/dossiers/HS-X-0001/results",
                          data={"owner_id": pid, "result_type": "birth_certificate"},
                          files={"file": ("trích lục khai sinh (bản quét).pdf", scan.getvalue(), "application/pdf")})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["text_source"] == "ocr" and body["signature_status"] is None
        assert workflow.get(body["download_url"]).content == scan.getvalue()
        mine = workflow.get(f"/v1/owners/{pid}/documents").json()["documents"]
        [scanned] = [d for d in mine if d["document_id"] == body["document_id"]]
        assert scanned["kind"] == "result" and scanned["result_code"] == body["result_code"]
        bad = workflow.post("/v1/dossiers/HS-X-0001/results", data={"owner_id": pid, "result_type": "birth_certificate"},
                            files={"file": ("ket-qua.png", png, "image/png")})
        assert bad.status_code == 422 and "PDF" in bad.json()["detail"]
