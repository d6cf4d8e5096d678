"""Ingest: every supported format gives original pixels and metadata; everything else one clear
InputError line naming the file."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from core.errors import InputError
from pipeline.ingest import read_bytes, read_source


def test_png_gray_and_colour(resources: Path) -> None:
    [grey] = read_source(resources / "baiona_gray.png")
    [colour] = read_source(resources / "baiona.png")
    assert grey.image.ndim == 2 and grey.image.dtype == np.uint8
    assert colour.image.shape == (682, 640, 3)
    assert grey.source == "baiona_gray.png" and len(grey.source_sha256) == 64 and grey.image_sha256
    assert grey.index == 0 and grey.dpi > 0


def test_alpha_is_composited_on_white(resources: Path) -> None:
    [page] = read_source(resources / "baiona_alpha.png")
    assert page.image.ndim == 3 and page.image.shape[2] == 3


def test_jpeg_keeps_its_bytes_and_cmyk_becomes_rgb(resources: Path) -> None:
    [page] = read_source(resources / "baiona_color.jpg")
    assert page.source_jpeg == (resources / "baiona_color.jpg").read_bytes()
    [cmyk] = read_source(resources / "baiona_cmyk.jpg")
    assert cmyk.image.shape[2] == 3 and cmyk.source_jpeg is None


def test_multipage_tiff_with_dpi(tmp_path: Path) -> None:
    frames = [Image.new("L", (200, 100), v) for v in (255, 128, 0)]
    path = tmp_path / "scan.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(150, 150))
    pages = read_source(path)
    assert [p.index for p in pages] == [0, 1, 2]
    assert all(p.dpi == pytest.approx(150) for p in pages)
    assert int(pages[1].image[0, 0]) == 128


def test_scanned_pdf_page_gives_the_embedded_pixels(resources: Path) -> None:
    [page] = read_source(resources / "ccitt.pdf")
    with pikepdf.open(resources / "ccitt.pdf") as pdf:
        [raw] = [x for x in pdf.pages[0].obj.Resources.XObject.values() if x.Subtype == "/Image"]
        original = np.asarray(pikepdf.PdfImage(raw).as_pil_image().convert("L"))
    assert np.array_equal(page.image, original)
    assert page.dpi == pytest.approx(300, abs=1)
    assert page.text_layer is None


def _flate_image_pdf(pixels: np.ndarray, predictor: bool) -> bytes:
    """A one-page scan PDF whose image is stored with Flate, with or without a PNG predictor."""
    h, w = pixels.shape[:2]
    pdf = pikepdf.new()
    if predictor:  # PNG "Up" filter on every row
        rows = pixels.reshape(h, -1).astype(np.int16)
        up = np.vstack([rows[:1], rows[1:] - rows[:-1]]) % 256
        data = zlib.compress(np.hstack([np.full((h, 1), 2), up]).astype(np.uint8).tobytes())
        parms = pikepdf.Dictionary(Predictor=12, Colors=3, Columns=w, BitsPerComponent=8)
        image = pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=w,
                               Height=h, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8,
                               Filter=pikepdf.Name.FlateDecode, DecodeParms=parms)
    else:
        image = pikepdf.Stream(pdf, zlib.compress(pixels.tobytes()), Type=pikepdf.Name.XObject,
                               Subtype=pikepdf.Name.Image, Width=w, Height=h, ColorSpace=pikepdf.Name.DeviceRGB,
                               BitsPerComponent=8, Filter=pikepdf.Name.FlateDecode)
    size = (w * 72 / 300, h * 72 / 300)
    page = pdf.add_blank_page(page_size=size)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pdf.make_stream(f"q {size[0]} 0 0 {size[1]} 0 0 cm /Im0 Do Q".encode())
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.mark.parametrize("predictor", [False, True])
def test_flate_scans_give_their_pixels_with_or_without_a_predictor(predictor: bool) -> None:
    pixels = np.random.default_rng(3).integers(0, 256, (310, 217, 3), dtype=np.uint8)
    [page] = read_bytes(_flate_image_pdf(pixels, predictor), "scan.pdf")
    assert np.array_equal(page.image, pixels)
    assert page.dpi == pytest.approx(300, abs=1)


def _read_in_a_new_process(path: Path, limits: str = "") -> tuple[tuple[int, ...], int]:
    """(shape of the page, MB the process grew by while reading it), in a new process: this one's
    peak is that of every test before. VmHWM, not ru_maxrss, which carries the parent's over exec."""
    script = ("import ast, re, sys; from pipeline.ingest import read_source\n"
              "def hwm(): return int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
              f"before = hwm(); [p] = read_source({str(path)!r}, {limits})\n"
              "print(tuple(p.image.shape), (hwm() - before) // 1024, p.dpi)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    shape, grown, _dpi = out.stdout.strip().rsplit(" ", 2)
    return ast.literal_eval(shape), int(grown)


def test_a_large_flate_scan_is_held_once_while_it_is_read(resources: Path) -> None:
    # 9000 x 9000 RGB (243 MB) of grey content: the colour array, then its grey copy. Through pikepdf and
    # PIL it was held four times over (the process grew by 820 MB).
    shape, grown_mb = _read_in_a_new_process(resources / "enormous.pdf")
    assert shape == (9000, 9000)
    assert grown_mb < 2 * 243 + 50


def test_jpeg_pdf_page_keeps_the_jpeg(resources: Path) -> None:
    [page] = read_source(resources / "francais.pdf")
    assert page.source_jpeg is not None and page.source_jpeg[:2] == b"\xff\xd8"


def test_rotated_pdf_page_is_rendered_as_displayed(resources: Path) -> None:
    [page] = read_source(resources / "rotated_skew.pdf")  # /Rotate 90 on a landscape box
    h, w = page.image.shape[:2]
    assert h > w


def test_born_digital_page_keeps_its_text_layer(resources: Path) -> None:
    pages = read_source(resources / "link.pdf")
    assert pages[0].born_digital and pages[0].text_layer == pages[0].text
    assert pages[0].text.splitlines()[0] == "Go to page 2"
    word = pages[0].words[0]
    assert word.text == "Go" and word.confidence == 1.0
    h, w = pages[0].image.shape[:2]
    assert 0 <= word.box.left < w and 0 <= word.box.top < h


def test_garbage_text_layers_are_not_born_digital(resources: Path) -> None:
    # Fonts without a Unicode mapping, or UTF-16 with swapped bytes: OCR instead.
    for name in ("cmyk.pdf", "truetype_font_nomapping.pdf"):
        assert not read_source(resources / name)[0].born_digital, name


def test_huge_page_is_rendered_smaller_not_decoded_whole(resources: Path) -> None:
    shape, grown_mb = _read_in_a_new_process(resources / "hugemono.pdf", "max_page_pixels=4_000_000")
    h, w = shape[:2]  # 35000 x 35000 CCITT
    assert h * w <= 4_000_000 and len(shape) == 2
    assert grown_mb < 400


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("invalid.pdf", "not a readable PDF"),
        ("linn.txt", "not a PDF, TIFF, JPEG or PNG"),
        ("tagged.odt", "not a PDF, TIFF, JPEG or PNG"),
    ],
)
def test_bad_files_are_refused_with_one_line(resources: Path, name: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        read_source(resources / name)
    text = str(err.value)
    assert name in text and message in text and "\n" not in text


def test_missing_empty_and_too_many_pages(tmp_path: Path, resources: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_source(tmp_path / "nope.pdf")
    (tmp_path / "empty.pdf").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_source(tmp_path / "empty.pdf")
    with pytest.raises(InputError, match="3 pages, above the limit of 2"):
        read_source(resources / "3small.pdf", max_pages=2)
    with pytest.raises(InputError, match="above the"):
        read_source(resources / "3small.pdf", max_bytes=1000)


def test_encrypted_pdf_is_refused(tmp_path: Path, resources: Path) -> None:
    with pikepdf.open(resources / "trivial.pdf") as pdf:
        pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(user="secret", owner="secret"))
    with pytest.raises(InputError, match="locked.pdf is encrypted"):
        read_source(tmp_path / "locked.pdf")


def test_pixel_bomb_png_is_refused() -> None:
    buf = io.BytesIO()
    Image.new("1", (12000, 12000), 1).save(buf, "PNG")  # 144 Mpx in a few kilobytes
    with pytest.raises(InputError, match="bomb.png: page 1 has 12000x12000 pixels"):
        read_bytes(buf.getvalue(), "bomb.png", max_page_pixels=100_000_000)


def test_corrupt_png_is_refused() -> None:
    buf = io.BytesIO()
    Image.new("L", (300, 300), 200).save(buf, "PNG")
    data = buf.getvalue()[:200]
    with pytest.raises(InputError, match="broken.png"):
        read_bytes(data, "broken.png")


def test_pixel_hash_can_be_left_out(tmp_path) -> None:
    from pipeline.ingest import iter_source

    pixels = (np.arange(300 * 200) % 251).astype(np.uint8).reshape(300, 200)
    for name in ("page.png", "page.pdf"):
        path = tmp_path / name
        Image.fromarray(pixels).save(path, resolution=300.0)
        [hashed] = iter_source(path)
        [bare] = iter_source(path, hash_pixels=False)
        assert len(hashed.image_sha256) == 64 and bare.image_sha256 == ""
        assert np.array_equal(hashed.image, bare.image) and hashed.source_sha256 == bare.source_sha256
