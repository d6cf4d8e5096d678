"""Content-stream bombs are refused by ingest before any parser builds their operators, in a
fraction of a second and without the memory the operators would take, whatever the filters they
hide under (Flate, LZW, RunLength, ASCII85, ASCIIHex, chains of them)."""

from __future__ import annotations

import io
import random
import resource
import time
from pathlib import Path

import pikepdf
import pytest

from core.errors import InputError
from pipeline.filters import decode
from pipeline.ingest import MAX_CONTENT_BYTES, ContentBomb, content_cost, read_source
from tests.faults.hostile import content_bomb_pdf, filtered_content_pdf, text_pdf


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


FILTERS = [
    ["/LZWDecode"],
    ["/RunLengthDecode"],
    ["/ASCII85Decode"],
    ["/ASCIIHexDecode"],
    ["/ASCII85Decode", "/FlateDecode"],
    ["/ASCIIHexDecode", "/LZWDecode"],
    ["/ASCII85Decode", "/RunLengthDecode", "/LZWDecode"],
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "+".join(n[1:-6] for n in f))
def test_every_filter_is_decoded_as_qpdf_decodes_it(filters: list[str]) -> None:
    """The bounded decoders read what qpdf reads: text, random bytes (LZW's table fills and is
    cleared), long runs of one byte (RunLength's and ASCII85's short forms)."""
    rng = random.Random(5)
    for body, repeat in ((b"BT /F1 11 Tf 50 700 Td (Line) Tj ET\n" * 300, 1), (rng.randbytes(20_000), 1),
                         (b"\0" * 9000 + b"q Q " * 500, 3)):
        with pikepdf.open(io.BytesIO(filtered_content_pdf(body, filters, repeat))) as pdf:
            stream = pdf.pages[0].obj.Contents
            # the encoder is right, then the decoders are
            assert stream.read_bytes(pikepdf.StreamDecodeLevel.specialized) == body * repeat
            assert b"".join(decode(stream.read_raw_bytes(), filters, [{}] * len(filters))) == body * repeat


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "+".join(n[1:-6] for n in f))
def test_a_bomb_under_any_filter_is_refused_without_being_expanded(tmp_path: Path, filters: list[str]) -> None:
    # 12 MB of operators (of spaces for RunLength, whose runs are of one byte)
    body = b" " * 1_000_000 if filters == ["/RunLengthDecode"] else b"q Q " * 250_000
    path = tmp_path / "bomb.pdf"
    path.write_bytes(filtered_content_pdf(body, filters, repeat=12))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ContentBomb, match="inflate to more than 8 MiB"):
        read_source(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 64 * 1024
    with pikepdf.open(path) as pdf:
        assert MAX_CONTENT_BYTES < content_cost(pdf.pages[0].obj).inflated <= MAX_CONTENT_BYTES + 2**20


def test_instructions_under_an_image_filter_are_refused(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    stream = pikepdf.Stream(pdf, b"\xff\xd8\xff\xe0 not really a JPEG")
    stream.Filter = pikepdf.Name.DCTDecode
    pdf.pages[0].obj.Contents = stream
    path = tmp_path / "odd.pdf"
    pdf.save(path)
    with pytest.raises(InputError, match=r"^odd.pdf: page 1: .*stored under /DCTDecode"):
        read_source(path)
