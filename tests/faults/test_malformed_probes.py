"""Pages whose dictionaries are not what PDF requires, built from an ordinary page: the upload check
(run here directly, as its parse process does) refuses each with one line naming the file and what
is wrong, never an internal error; where ingest reads the file at all it says the same."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from api.uploads import ReceivedFile, UploadLimits, UploadRefused, inspect_file
from core.errors import InputError
from pipeline.ingest import read_source
from tests.faults.hostile import text_pdf

LIMITS = UploadLimits(max_file_bytes=2**26, max_batch_bytes=2**27, max_files=10, max_pages=10,
                      max_page_pixels=120_000_000)


def _media_box(*values: object) -> Callable[[pikepdf.Pdf], None]:
    def fix(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.MediaBox = pikepdf.Array(values)
    return fix


def _image_width_not_a_number(pdf: pikepdf.Pdf) -> None:
    image = pikepdf.Stream(pdf, b"\x00" * 100)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height = pikepdf.String("ten"), 10
    image.BitsPerComponent, image.ColorSpace = 8, pikepdf.Name.DeviceGray
    pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(Im0=image)


def _rotate_not_a_number(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.Rotate = pikepdf.String("x")


PROBES = {
    "MediaBox with a name": (_media_box(pikepdf.Name.A, 0, 595, 842), "MediaBox is missing or is not four numbers"),
    "MediaBox of three": (_media_box(0, 0, 595), "MediaBox is missing or is not four numbers"),
    "MediaBox with null": (_media_box(0, 0, pikepdf.Object.parse(b"null"), 842),
                           "MediaBox is missing or is not four numbers"),
    "MediaBox of 400 digits": (_media_box(0, 0, pikepdf.Object.parse(b"9" * 400 + b".0"), 842),
                               "MediaBox is missing or is not four numbers"),
    "MediaBox without area": (_media_box(0, 0, 0, 0), "page 1: its MediaBox has no area"),
    "Rotate a string": (_rotate_not_a_number, "page 1: its /Rotate is not a multiple of 90"),
    "image width a string": (_image_width_not_a_number, "page 1 holds an image whose width or height is not a number"),
}


@pytest.mark.parametrize("probe", list(PROBES))
def test_a_malformed_page_is_refused_in_one_line(tmp_path: Path, probe: str) -> None:
    fix, words = PROBES[probe]
    pdf = pikepdf.open(io.BytesIO(text_pdf()))
    fix(pdf)
    path = tmp_path / "000.pdf"
    pdf.save(path)
    with pytest.raises(UploadRefused) as refused:
        inspect_file(ReceivedFile(index=0, name="đơn.pdf", path=path, kind="pdf", size=path.stat().st_size), LIMITS)
    assert refused.value.status == 422
    assert refused.value.message.startswith("đơn.pdf: ") and words in refused.value.message, refused.value.message
    assert "\n" not in refused.value.message and str(tmp_path) not in refused.value.message
    try:
        read_source(path, text_seconds=5)
    except InputError as exc:  # ingest, where it refuses, says the same
        assert words in str(exc)


def test_a_scan_whose_cross_reference_table_is_off_is_still_taken(tmp_path: Path) -> None:
    """Not every slow text layer is hostile: with its cross-reference offsets wrong (a byte added at
    the top), pdfminer reads every line of 30 MB of scans, in linear time, within the check's limit."""
    pdf = pikepdf.new()
    for index in range(3):
        pdf.add_blank_page(page_size=(595, 842))
        image = pikepdf.Stream(pdf, np.random.default_rng(index).integers(0, 256, 10_000_000, np.uint8).tobytes())
        image.Type, image.Subtype, image.Width, image.Height = pikepdf.Name.XObject, pikepdf.Name.Image, 2500, 4000
        image.BitsPerComponent, image.ColorSpace = 8, pikepdf.Name.DeviceGray
        page = pdf.pages[index].obj
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.Contents = pikepdf.Stream(pdf, b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    data = out.getvalue()
    cut = data.index(b"\n") + 1
    path = tmp_path / "000.pdf"
    path.write_bytes(data[:cut] + b"%\n" + data[cut:])
    received = ReceivedFile(index=0, name="scan.pdf", path=path, kind="pdf", size=path.stat().st_size)
    inspect_file(received, LIMITS)
    assert received.pages == 3
