"""The /review page in real headless Chromium, driven only by keystrokes: open the queue, open
the document, pick a second reading with 1, type a name in Vietnamese, confirm with Enter, skip
with Tab; the records then hold what was decided, with the machine's values beside them. With a
certifier's key the same page is the certifying officer's queue: a request confirmed with Enter is
signed with that officer's key, one refused keeps the typed reason."""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from api.auth import create_key
from api.db import dispose_engines, engine_for
from bench.api import free_port, start_server, stop_server
from classifiers.extract import extract_fields
from core.model import Box, Document, Dossier, DossierStatus, Field, Page
from core.settings import Settings
from flow.run import ocr_pages
from pipeline.pdfa import build_searchable_pdf
from signing.keys import load_certificates
from signing.verify import verify_pdf
from storage.archive import archive_document
from storage.audit import verify_chain
from storage.db import open_database
from storage.objects import open_store
from storage.review import document_for_review
from storage.trail import audit_events

selenium = pytest.importorskip("selenium")
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = Path("/usr/bin/chromedriver")
# What a clerk and a certifying officer see, kept for people to look at (not compared with anything).
SCREENSHOT = Path(tempfile.gettempdir()) / "sohoa-test-artefacts" / "review-page.png"


def _card() -> tuple[np.ndarray, dict[str, str]]:
    from samples.generator import generate_document

    sample = generate_document("cccd", random.Random(3), damage=0.0)
    return np.ascontiguousarray(sample.pages[0][::2, ::2]), sample.fields


def _boxes(page: Page) -> dict[str, Box]:
    """Where each field is on the card, as the page OCR and extraction find it: the images the page
    cuts are then of the real values."""
    read = ocr_pages([page], Settings(workers=1))
    fields = extract_fields(Document(pages=tuple(read), doc_type="cccd")).fields
    return {name: f.box for name, f in fields.items() if f.box is not None and f.page == 0}


def _flagged_document(image: np.ndarray, truth: dict[str, str]) -> Document:
    """The card as extraction might leave it: one digit of the ID misread (a second reading has it
    right), the surname's marks lost, the birth date and sex read faintly; the nationality sure."""
    page = Page(source="cccd.png", source_sha256="0" * 64, index=0, image=image, dpi=150.0,
                image_sha256=hashlib.sha256(image.tobytes()).hexdigest())
    h, w = image.shape[:2]
    found = _boxes(page)
    box = lambda name, i: found.get(name) or Box(int(w * 0.45), int(h * (0.2 + 0.04 * i)), int(w * 0.3),
                                                 int(h * 0.025))
    fields = {
        "personal_id": Field(MISREAD_ID, 0.81, page=0, box=box("personal_id", 0), needs_review=True,
                             reason=f"a second reading gives '{truth['personal_id']}'"),
        "full_name": Field("PHAM ĐỨC AN", 0.93, page=0, box=box("full_name", 1), needs_review=True,
                           reason="name word(s) not recognised: PHAM"),
        "date_of_birth": Field(truth["date_of_birth"], 0.52, page=0, box=box("date_of_birth", 2), needs_review=True,
                               reason="low OCR confidence 0.52 for a date"),
        "sex": Field("Nam", 0.4, page=0, box=box("sex", 3), needs_review=True, reason="low OCR confidence 0.40"),
        "nationality": Field("Việt Nam", 0.97, page=0, box=box("nationality", 4)),
    }
    pdf = build_searchable_pdf([page], title="HS – cccd")
    return Document(pages=(page,), doc_type="cccd", type_confidence=0.9, fields=fields, pdf=pdf,
                    sha256=hashlib.sha256(pdf).hexdigest())


MISREAD_ID = "092085748387"  # the card says 092085748337


OFFICER = "Trần Thị Bình"


@dataclass(frozen=True)
class Site:
    url: str
    key: str  # the clerk's (verifier)
    settings: Settings
    certifier_key: str
    workflow_key: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMEDRIVER.exists() or not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium and chromedriver are not installed")
    data_dir = tmp_path_factory.mktemp("review-page")
    settings = Settings(data_dir=data_dir)
    db, store = open_database(settings.resolved_database_url), open_store(settings.resolved_store_url)
    archive_document(db, store, dossier=Dossier(code="000.00.19.H99-261126-0100", procedure_code=None,
                                                agency="UBND", status=DossierStatus.PROCESSING),
                     document=_flagged_document(*_card()), batch_id=None, source_keys=[], certified=None,
                     actor="station:q01")
    db.dispose()
    engine = engine_for(settings.resolved_database_url)
    key = create_key(engine, role="verifier", name="kt02", official="Lê Thị Hoa").key
    certifier = create_key(engine, role="certifier", name="ct01", official=OFFICER).key
    workflow = create_key(engine, role="workflow", name="motcua").key
    dispose_engines()
    port = free_port()
    proc = start_server(data_dir, port, env_extra={"SOHOA_CERTIFY_BY_OFFICER": "true"})
    try:
        yield Site(f"http://127.0.0.1:{port}", key, settings, certifier, workflow)
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000", "--lang=vi"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _keys(driver: webdriver.Chrome, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def _replace_key(driver: webdriver.Chrome, key: str) -> None:
    """Select what the key field holds, type another key over it and send it."""
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    _keys(driver, key, Keys.ENTER)


def _wait_text(driver: webdriver.Chrome, element_id: str, text: str) -> None:
    WebDriverWait(driver, 20).until(lambda d: text in d.find_element(By.ID, element_id).text)


def test_review_page_by_keyboard(site: Site, browser: webdriver.Chrome) -> None:
    url, key, settings = site.url, site.key, site.settings
    browser.get(f"{url}/review")
    assert browser.switch_to.active_element.get_attribute("id") == "key"
    _keys(browser, key, Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rows tr.sel"))
    assert "personal_id" in browser.find_element(By.ID, "rows").text
    _keys(browser, Keys.ENTER)  # open the selected (oldest) document

    _wait_text(browser, "fieldname", "personal_id")
    assert browser.switch_to.active_element.get_attribute("id") == "value"
    assert "092085748337" in browser.find_element(By.ID, "alts").text
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#machine mark")]
    assert marks == ["8"]  # the one digit the readings disagree on
    assert "đọc lại" in browser.find_element(By.ID, "reason").text
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "const i = document.getElementById('crop'); return i.complete && i.naturalWidth > 0"))
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    _keys(browser, "1", Keys.ENTER)  # the second reading is right

    _wait_text(browser, "fieldname", "full_name")
    _keys(browser, "Phạm Đức An", Keys.ENTER)  # typed over the selected value
    _wait_text(browser, "fieldname", "date_of_birth")
    _keys(browser, Keys.ENTER)  # right as read
    _wait_text(browser, "fieldname", "sex")
    _keys(browser, Keys.TAB)  # skipped: stays flagged
    _wait_text(browser, "status", "Đã lưu")

    db = open_database(settings.resolved_database_url)
    try:
        doc = document_for_review(db, 1)  # the one document of this data folder
        assert doc is not None
        f = doc.fields
        assert f["personal_id"]["value"] == "092085748337" and f["personal_id"]["machine"]["value"] == MISREAD_ID
        assert f["full_name"]["value"] == "PHẠM ĐỨC AN" and f["full_name"]["review"]["action"] == "corrected"
        assert f["date_of_birth"]["review"]["action"] == "confirmed"
        assert f["full_name"]["review"]["by"] == "Lê Thị Hoa"
        assert f["sex"]["needs_review"] and doc.review_state == "needs_review" and doc.version == 1
    finally:
        db.dispose()

    _keys(browser, Keys.ENTER)  # back to the queue: the document is still there, for its skipped field
    WebDriverWait(browser, 20).until(lambda d: not d.find_element(By.ID, "queue").get_attribute("hidden"))
    time.sleep(0.2)
    assert "sex" in browser.find_element(By.ID, "rows").text


def test_document_type_changed_by_keyboard(site: Site, browser: webdriver.Chrome) -> None:
    """The classifier's type is wrong: Alt+T, one type down, Enter; the fields of the new type are
    then the ones to check, and the records and the audit log say who changed it."""
    url, settings = site.url, site.settings
    browser.get(f"{url}/review")  # the key is kept in the tab: the queue opens at once
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rows tr.sel"))
    _keys(browser, Keys.ENTER)
    _wait_text(browser, "fieldname", "sex")  # the one field left from the first test
    assert browser.switch_to.active_element.get_attribute("id") == "value"
    ActionChains(browser).key_down(Keys.ALT).send_keys("t").key_up(Keys.ALT).perform()
    assert browser.switch_to.active_element.get_attribute("id") == "doctype"
    _keys(browser, Keys.ARROW_DOWN, Keys.ENTER)  # cccd → birth_certificate, the next in the list
    _wait_text(browser, "status", "cccd → birth_certificate")
    _wait_text(browser, "fieldname", "certificate_number")  # the new type's first field to check
    assert browser.switch_to.active_element.get_attribute("id") == "value"
    assert "Giấy khai sinh" in browser.find_element(By.ID, "doctype").text

    db = open_database(settings.resolved_database_url)
    try:
        doc = document_for_review(db, 1)
        assert doc is not None and doc.doc_type == "birth_certificate" and doc.machine_doc_type == "cccd"
        assert doc.version == 2 and doc.review_state == "needs_review"
        assert doc.fields["full_name"]["value"] == "PHẠM ĐỨC AN"  # what both types share is kept
        assert "date_of_expiry" not in doc.fields and doc.fields["certificate_number"]["needs_review"]
        events = [e for e in audit_events(db, subjects=["document:1"]) if e.action == "document.retyped"]
        assert [(e.details["old"], e.details["new"], e.details["official"]) for e in events] == [
            ("cccd", "birth_certificate", "Lê Thị Hoa")]
        assert verify_chain(db).ok
    finally:
        db.dispose()


def test_certifying_officer_by_keyboard(site: Site, browser: webdriver.Chrome) -> None:
    """Two certified-copy requests wait; the officer types their key in place of the clerk's, opens
    the first (its page image beside it) and confirms with Enter: the copy's number and the officer's
    name are shown, and its certification signature is theirs. The second is refused with T and a
    reason typed in Vietnamese, which the records keep."""
    reason = "Bản chính bị tẩy xóa ở ô ngày sinh"
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {site.workflow_key}"},
                      timeout=60.0) as workflow:
        queued = [workflow.post("/v1/documents/1/certified-copies", json={"reason": "hồ sơ đất đai"})
                  for _ in range(2)]
    assert [r.status_code for r in queued] == [202, 202], [r.text for r in queued]
    first, second = (r.json()["id"] for r in queued)

    browser.get(f"{site.url}/review")  # the clerk's key may still be kept in the tab: their queue opens
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(  # settled: a queue shown, or the key asked for
        "const k = document.getElementById('key'); return !document.getElementById('queue').hidden"
        " || (document.activeElement === k && !k.value)"))
    if browser.switch_to.active_element.get_attribute("id") != "key":
        _keys(browser, Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "key"
    _replace_key(browser, site.workflow_key)  # a key of neither role: told which keys serve here
    _wait_text(browser, "error", "cán bộ chứng thực (certifier)")
    assert browser.switch_to.active_element.get_attribute("id") == "key"
    _replace_key(browser, site.certifier_key)
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#crows tr")) == 2)
    assert browser.find_element(By.ID, "queue").get_attribute("hidden")
    rows = browser.find_element(By.ID, "crows").text
    db = open_database(site.settings.resolved_database_url)
    try:
        document = document_for_review(db, 1)
    finally:
        db.dispose()
    assert document is not None  # its type is the clerk's, if the tests above changed it
    assert "000.00.19.H99-261126-0100" in rows and "workflow:motcua" in rows and document.doc_type in rows

    _keys(browser, Keys.ENTER)  # open the oldest request
    _wait_text(browser, "ctitle", f"Yêu cầu {first}")
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "const i = document.getElementById('cpage'); return i.complete && i.naturalWidth > 0"))
    assert "hồ sơ đất đai" in browser.find_element(By.ID, "cdetails").text
    assert "092085748337" not in browser.find_element(By.TAG_NAME, "body").text  # no personal ID shown
    assert browser.save_screenshot(str(SCREENSHOT.with_name("certify-page.png")))
    _keys(browser, Keys.ENTER)  # confirm: numbered and signed with the officer's key
    WebDriverWait(browser, 60).until(lambda d: "Số chứng thực" in d.find_element(By.ID, "cresult").text)
    shown = browser.find_element(By.ID, "cresult").text
    assert OFFICER in shown and "Quyển số" in shown

    _keys(browser, Keys.ENTER)  # back to the queue: only the second waits
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#crows tr")) == 1)
    _keys(browser, Keys.ENTER)
    _wait_text(browser, "ctitle", f"Yêu cầu {second}")
    _keys(browser, "t")
    assert browser.switch_to.active_element.get_attribute("id") == "refusal"
    _keys(browser, Keys.ENTER)  # no reason yet: nothing is sent
    _wait_text(browser, "error", "lý do")
    _keys(browser, reason, Keys.ENTER)
    _wait_text(browser, "cresult", "Đã từ chối")

    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {site.certifier_key}"},
                      timeout=60.0) as certifier:
        confirmed = certifier.get(f"/v1/certify-queue/{first}").raise_for_status().json()
        refused = certifier.get(f"/v1/certify-queue/{second}").raise_for_status().json()
        assert certifier.get("/v1/certify-queue").json() == []
    assert confirmed["state"] == "confirmed" and confirmed["officer"] == OFFICER
    assert refused["state"] == "refused" and refused["officer"] == OFFICER and refused["reason"] == reason
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {site.workflow_key}"},
                      timeout=60.0) as workflow:
        pdf = workflow.get(f"/v1/certified-copies/{confirmed['certified_copy_id']}").raise_for_status().content
    roots = load_certificates(site.settings.data_dir / "pki" / "dev-root-ca.pem")
    certification = [s for s in verify_pdf(pdf, roots=roots).signatures if s.role == "certification"]
    assert [s.official for s in certification] == [OFFICER]
    assert certification[0].register_number in shown
