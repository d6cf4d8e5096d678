"""Multi-page TIFF as offices' scanners write them: bilevel pages in CCITT Group 4 and grey pages
in LZW, several to a file. Every page read with its size and resolution, the upload check counts
them and refuses a file cut short, and a 1-bit page goes through clean-up and OCR like any other."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rapidfuzz.distance import Levenshtein

from api.uploads import ReceivedFile, UploadLimits, UploadRefused, inspect_file
from core.errors import InputError
from pipeline.ingest import read_source
from pipeline.pagework import process_page
from samples.plain import text_page

LIMITS = UploadLimits(max_file_bytes=50 * 2**20, max_batch_bytes=50 * 2**20, max_files=10, max_pages=500,
                      max_page_pixels=120_000_000)


def _pages(dpi: int) -> list[tuple[np.ndarray, str]]:
    """Three generated pages of two or three lines (different heights, as a stack of papers has)."""
    return [text_page(random.Random(seed), width_mm=120, height_mm=16 + 6.3 * lines, lines=lines, dpi=dpi,
                      font_pt=11) for seed, lines in ((31, 2), (32, 3), (33, 2))]


def _save(path: Path, frames: list[Image.Image], compression: str, dpi: int) -> Path:
    frames[0].save(path, save_all=True, append_images=frames[1:], compression=compression, dpi=(dpi, dpi))
    return path


@pytest.fixture(scope="module")
def g4(tmp_path_factory) -> tuple[Path, list[np.ndarray], list[str]]:
    """A 3-page bilevel scan at 300 dpi, CCITT Group 4 (what a copier's scan-to-folder writes)."""
    made = _pages(300)
    bilevel = [Image.fromarray(grey).point(lambda v: 255 if v >= 128 else 0).convert("1") for grey, _ in made]
    path = _save(tmp_path_factory.mktemp("tiff") / "ho-so-g4.tif", bilevel, "group4", 300)
    return path, [np.asarray(b.convert("L")) for b in bilevel], [truth for _, truth in made]


@pytest.fixture(scope="module")
def lzw(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """A 3-page grey scan at 200 dpi, LZW."""
    made = [grey for grey, _ in _pages(200)]
    return _save(tmp_path_factory.mktemp("tiff") / "ho-so-lzw.tif", [Image.fromarray(g) for g in made],
                 "tiff_lzw", 200), made


def test_files_are_what_the_scanners_write(g4, lzw) -> None:
    with Image.open(g4[0]) as im:
        assert (im.n_frames, im.mode, im.info["compression"]) == (3, "1", "group4")
    with Image.open(lzw[0]) as im:
        assert (im.n_frames, im.mode, im.info["compression"]) == (3, "L", "tiff_lzw")


@pytest.mark.parametrize("which", ["g4", "lzw"])
def test_every_page_read_with_its_size_and_dpi(which, g4, lzw) -> None:
    path, originals, dpi = (g4[0], g4[1], 300) if which == "g4" else (lzw[0], lzw[1], 200)
    pages = read_source(path)
    assert [p.index for p in pages] == [0, 1, 2]
    assert {p.source for p in pages} == {path.name}
    for page, original in zip(pages, originals, strict=True):
        assert page.dpi == pytest.approx(dpi)
        assert page.image.shape == original.shape  # pages of different heights each keep their own
        assert np.array_equal(page.image, original)  # both compressions are lossless
    if which == "g4":
        assert set(np.unique(pages[1].image)) == {0, 255}


@pytest.mark.parametrize("which", ["g4", "lzw"])
def test_upload_check_counts_the_pages(which, g4, lzw) -> None:
    path = g4[0] if which == "g4" else lzw[0]
    whole = ReceivedFile(index=0, name=path.name, path=path, size=path.stat().st_size, kind="tiff")
    inspect_file(whole, LIMITS)
    assert whole.pages == 3


# Where a transfer stops: inside the first page (nothing readable), inside a later page's directory
# (Pillow wrote each page's directory after its strips), a few bytes short of the end (the last
# page's strips lie past the end of the G4 file).
@pytest.mark.parametrize("kept", [0.3, 0.6, 0.995])
@pytest.mark.parametrize("which", ["g4", "lzw"])
def test_a_file_cut_short_is_refused_in_one_line(which, kept, g4, lzw, tmp_path) -> None:
    path = g4[0] if which == "g4" else lzw[0]
    data = path.read_bytes()
    cut = tmp_path / f"cut-{path.name}"
    cut.write_bytes(data[: int(len(data) * kept)])

    received = ReceivedFile(index=0, name="ho-so.tif", path=cut, size=cut.stat().st_size, kind="tiff")
    with pytest.raises(UploadRefused) as refused:
        inspect_file(received, LIMITS)
    message = refused.value.message
    assert refused.value.status == 422 and message.startswith("ho-so.tif: ")
    assert "\n" not in message and str(tmp_path) not in message and cut.name not in message, message

    with pytest.raises(InputError) as bad:
        read_source(cut)  # the whole file is refused before its first page is handed on
    said = str(bad.value)
    assert said.startswith(f"{cut.name}: ") and "\n" not in said and str(tmp_path) not in said, said


def test_a_bilevel_page_is_cleaned_and_read(g4) -> None:
    path, _originals, truths = g4
    page = read_source(path)[1]  # one OCR: the three-line page
    done = process_page(page, lang="vie")
    cer = Levenshtein.distance(done.text, truths[1]) / len(truths[1])
    assert cer < 0.02, (done.text, truths[1])
    assert done.image.shape[:2] == page.image.shape[:2]  # the page kept at its scanned size
