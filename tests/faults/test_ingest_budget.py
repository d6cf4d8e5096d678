"""Ingest reads a PDF's text layer under the page budget (``text_seconds``, SOHOA_PAGE_SECONDS in
a batch): pdfminer's cost grows with the square of a line's or a string's length, so a file built
that way once held its job for minutes. Here the page over budget fails alone with the reason, in
about the budget's time; the pages before it keep their text, those after it are OCR'd. Read
directly, as a job would, with no upload check in front."""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.ingest import read_source
from tests.faults.hostile import behind_a_long_line, slow_text_pdf, text_pdf


def _read(path: Path, seconds: float) -> tuple[list, float]:
    started = time.monotonic()
    pages = read_source(path, text_seconds=seconds)
    return pages, time.monotonic() - started


def test_a_text_layer_behind_a_40_mb_line_fails_its_page_within_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "thư.pdf"
    path.write_bytes(behind_a_long_line(b"%" + b"A" * 40_000_000))  # 136 s of CPU to read unbudgeted
    pages, seconds = _read(path, 2)
    print(f"\n40 MB comment line: page failed in {seconds:.1f} s")
    assert len(pages) == 1
    assert pages[0].failure == "its text layer could not be read within 2 s (SOHOA_PAGE_SECONDS); not processed"
    assert pages[0].image.size and pages[0].words == ()  # the page itself is there, to be kept as handed in
    assert seconds < 20  # the budget, and reading 40 MB with qpdf and pdfium


def test_a_page_whose_own_text_is_over_budget_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    path.write_bytes(slow_text_pdf())
    pages, seconds = _read(path, 1)
    print(f"\npage with a 3 MB string: failed in {seconds:.1f} s")
    assert [p.failure for p in pages] == [
        None, "its text layer could not be read within 1 s (SOHOA_PAGE_SECONDS); not processed"]
    assert pages[0].text_layer and "Line 19 of page 1" in pages[0].text_layer
    assert seconds < 10


def test_after_one_page_over_budget_the_files_later_pages_are_ocrd(tmp_path: Path) -> None:
    """One page's budget is all a file's text layer gets: a file of such pages would otherwise hold
    its job for a budget a page. The later pages come without their text layer (OCR reads them)."""
    path = tmp_path / "three.pdf"
    path.write_bytes(slow_text_pdf(pages=3, slow=(0, 1)))
    pages, seconds = _read(path, 1)
    print(f"\nthree pages, two slow: read in {seconds:.1f} s")
    assert pages[0].failure and "text layer could not be read" in pages[0].failure
    assert [(p.failure, p.text_layer) for p in pages[1:]] == [(None, None), (None, None)]  # not tried


def test_an_ordinary_text_layer_is_read_within_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(text_pdf())
    pages, _ = _read(path, 1)
    assert pages[0].failure is None and "Line 39 of an ordinary letter" in (pages[0].text_layer or "")


def test_the_page_that_failed_at_ingest_is_not_worked_and_the_file_goes_on(tmp_path: Path) -> None:
    from core.settings import Settings
    from flow.run import ocr_pages

    path = tmp_path / "two.pdf"
    path.write_bytes(slow_text_pdf())
    pages, _ = _read(path, 1)
    done = ocr_pages(pages, Settings(workers=1, data_dir=tmp_path / "data"))
    assert done[1].failure == pages[1].failure and done[1].text == ""  # not OCR'd for nothing
    assert done[0].failure is None and "Line 19 of page 1" in done[0].text
