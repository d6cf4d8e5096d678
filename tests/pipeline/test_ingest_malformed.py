"""Malformed page trees are refused by ingest with one line naming the entry, never parsed on by
libraries that each guess differently (qpdf and pdfium draw a page without a usable MediaBox on
US Letter; pdfplumber raised from deep inside, which ended as "internal error")."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest

from core.errors import InputError
from pipeline.ingest import MalformedPage, read_source


def _pdf(tmp_path: Path, spoil: str) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[1].obj
    if spoil == "name in MediaBox":
        page.MediaBox = [0, 0, pikepdf.Name("/A4"), 842]
    elif spoil == "string in MediaBox":
        page.MediaBox = [0, 0, "595", 842]
    elif spoil == "three numbers":
        page.MediaBox = [0, 0, 595]
    elif spoil == "MediaBox a name":
        page.MediaBox = pikepdf.Name("/Letter")
    elif spoil == "no area":
        page.MediaBox = [0, 0, 0, 842]
    elif spoil == "CropBox of text":
        page.CropBox = [0, 0, "a", "b"]
    elif spoil == "Rotate a name":
        page.Rotate = pikepdf.Name("/Upright")
    elif spoil == "Rotate 45":
        page.Rotate = 45
    elif spoil == "Contents a number":
        page.Contents = 7
    out = io.BytesIO()
    pdf.save(out)
    path = tmp_path / "don.pdf"
    path.write_bytes(out.getvalue())
    return path


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        ("name in MediaBox", "MediaBox is missing or is not four numbers"),
        ("string in MediaBox", "MediaBox is missing or is not four numbers"),
        ("three numbers", "MediaBox is missing or is not four numbers"),
        ("MediaBox a name", "MediaBox is missing or is not four numbers"),
        ("no area", "page 2: its MediaBox has no area"),
        ("CropBox of text", "page 2: its CropBox is not four numbers"),
        ("Rotate a name", "page 2: its /Rotate is not a multiple of 90"),
        ("Rotate 45", "page 2: its /Rotate is not a multiple of 90"),
        ("Contents a number", "page 2: its drawing instructions (/Contents) are not streams"),
    ],
)
def test_a_malformed_page_is_refused_with_its_reason(tmp_path: Path, spoil: str, words: str) -> None:
    path = _pdf(tmp_path, spoil)
    with pytest.raises(MalformedPage) as caught:
        read_source(path)
    message = str(caught.value)
    assert message.startswith("don.pdf") and words in message and "\n" not in message
    assert isinstance(caught.value, InputError)  # bad input: exit 2, one line, not an internal error


def test_a_sound_page_tree_passes(tmp_path: Path) -> None:
    assert len(read_source(_pdf(tmp_path, "nothing"))) == 2


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_pdf_cut_short_is_refused(tmp_path: Path, keep: float) -> None:
    whole = _pdf(tmp_path, "nothing").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(InputError, match=r"^cut.pdf: not a readable PDF"):
        read_source(cut)
