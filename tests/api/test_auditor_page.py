"""The auditor page in headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by
Selenium): choose a PDF, read the verification report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.api.conftest import Processed, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
    reason="Debian chromium and chromium-driver are not installed",
)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _check(browser, server: Server, pdf: Path, key: str) -> tuple[str, str, str]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server.url}/auditor")
    key_box = browser.find_element(By.ID, "key")
    key_box.clear()
    key_box.send_keys(key)
    browser.find_element(By.ID, "file").send_keys(str(pdf))
    WebDriverWait(browser, 60).until(
        lambda d: d.find_element(By.ID, "verdict").text or d.find_element(By.ID, "error").text
    )
    WebDriverWait(browser, 5).until(ec.presence_of_element_located((By.ID, "summary")))
    return (browser.find_element(By.ID, "verdict").text, browser.find_element(By.ID, "error").text,
            browser.find_element(By.ID, "result").text)


def test_drop_a_certified_copy_and_read_the_report(browser, server: Server, processed: Processed, tmp_path: Path) -> None:
    pdf = tmp_path / "bản sao chứng thực.pdf"
    pdf.write_bytes(processed.copy_pdf)
    verdict, error, text = _check(browser, server, pdf, server.keys["auditor"])
    assert error == ""
    assert "valid" in verdict and "invalid" not in verdict
    assert "bản sao chứng thực.pdf" in text
    assert "DEVELOPMENT ONLY" in text  # the signer
    assert processed.dossier_code in text  # matched to its dossier record
    assert "yes / yes / yes" in text  # intact / valid / trusted


def test_the_page_shows_refusals(browser, server: Server, processed: Processed, tmp_path: Path) -> None:
    pdf = tmp_path / "copy.pdf"
    pdf.write_bytes(processed.copy_pdf)
    _verdict, error, _text = _check(browser, server, pdf, server.keys["workflow"])
    assert "role auditor" in error


def test_api_docs_render_without_internet(browser, server: Server) -> None:
    """Swagger UI and ReDoc come from the server itself: no CDN in the page, and the scripts render."""
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for path in ("/docs", "/redoc"):
        html = httpx.get(f"{server.url}{path}", timeout=10).text
        assert "cdn." not in html and "/static-offline-docs/" in html, path
    browser.get(f"{server.url}/docs")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-tag"))
    tags = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-tag")]
    assert any("stations" in t.lower() for t in tags), tags
