"""Content-stream bombs are refused by ingest before any parser builds their operators, in a
fraction of a second and without the memory the operators would take."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pikepdf
import pytest

from core.errors import InputError
from pipeline.ingest import MAX_CONTENT_BYTES, ContentBomb, content_cost, read_source
from tests.faults.hostile import content_bomb_pdf, text_pdf


@pytest.mark.parametrize(
    ("inflated", "in_form", "words"),
    [
        (40_000_000, False, "inflate to more than 8 MiB"),  # the 39 KB file
        (2_500_000, False, "more than 300,000 operators"),  # its 3 KB variant (50 s before)
        (40_000_000, True, "inflate to more than 8 MiB"),  # hidden in a form the page draws
    ],
)
def test_a_content_stream_bomb_is_refused_in_a_fraction_of_a_second(
    tmp_path: Path, inflated: int, in_form: bool, words: str
) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(content_bomb_pdf(inflated, in_form=in_form))
    assert path.stat().st_size < 40_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ContentBomb, match=words) as caught:
        read_source(path)
    assert time.perf_counter() - started < 2.0
    assert isinstance(caught.value, InputError)  # bad input: exit 2, one line
    assert str(caught.value).startswith("bomb.pdf: page 1:")
    # ru_maxrss is in KiB: the check inflates at most the budget, a MiB at a time
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 64 * 1024


def test_inflating_stops_just_past_the_budget() -> None:
    with pikepdf.open(__import__("io").BytesIO(content_bomb_pdf(40_000_000))) as pdf:
        cost = content_cost(pdf.pages[0].obj)
    assert MAX_CONTENT_BYTES < cost.inflated <= MAX_CONTENT_BYTES + 2**20
    assert cost.stored < 40_000


def test_an_ordinary_text_page_passes_and_keeps_its_text(tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(text_pdf())
    with pikepdf.open(path) as pdf:
        cost = content_cost(pdf.pages[0].obj)
    assert 0 < cost.tokens < 1000
    pages = read_source(path)
    assert "ordinary letter" in (pages[0].text_layer or "")
