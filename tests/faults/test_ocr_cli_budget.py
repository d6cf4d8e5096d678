"""``sohoa ocr`` reads a PDF's text layer under the page budget (SOHOA_PAGE_SECONDS), as a batch
does: a page whose text layer pdfminer would read for well over ten seconds is given up after the
budget (its image is OCR'd instead) and the pages before it keep their text layer."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from cli.main import main
from tests.faults.hostile import slow_text_pdf


def test_sohoa_ocr_gives_the_text_layer_the_page_budget(tmp_path: Path, monkeypatch, capsys, caplog) -> None:
    path = tmp_path / "hai-trang.pdf"
    path.write_bytes(slow_text_pdf())
    monkeypatch.setenv("SOHOA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOHOA_PAGE_SECONDS", "1")
    with caplog.at_level(logging.ERROR, logger="pipeline.ingest"):
        assert main(["ocr", str(path), "--format", "json", "--workers", "1"]) == 0
    over = [r.getMessage() for r in caplog.records if "could not be read within 1 s" in r.getMessage()]
    assert over and "hai-trang.pdf p.2" in over[0], caplog.text
    pages = json.loads(capsys.readouterr().out)["pages"]
    assert len(pages) == 2 and "Line 19 of page 1" in pages[0]["text"]
