"""PNG pages decoded by libpng (OpenCV) where that gives Pillow's very pixels, and by Pillow otherwise:
the page read is the same array either way, and a damaged file is refused in Pillow's words with
nothing on stderr."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from pipeline import ingest


def _scan(grey: bool = False) -> np.ndarray:
    """A small page with print-like structure and noise (not a flat colour, so the filters vary)."""
    rng = np.random.default_rng(7)
    page = np.full((240, 180, 3), 238, np.uint8)
    page[40:48, 20:160] = (30, 30, 40)
    page[100:180, 60:120] = (200, 40, 40)
    page = np.clip(page.astype(np.int16) + rng.integers(-12, 13, page.shape), 0, 255).astype(np.uint8)
    return np.repeat(page[..., :1], 3, axis=2) if grey else page


def _png(im: Image.Image, **save: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **save)
    return buf.getvalue()


def _with_pillow_only(data: bytes, name: str, monkeypatch: pytest.MonkeyPatch) -> list:
    with monkeypatch.context() as m:
        m.setattr(ingest, "_png_pixels", lambda source, frame: None)
        return ingest.read_bytes(data, name)


RGB = _scan()
CASES = {
    "rgb": (_png(Image.fromarray(RGB), dpi=(300, 300)), True),
    "grey 8-bit": (_png(Image.fromarray(RGB[..., 0])), True),
    "grey page saved as RGB": (_png(Image.fromarray(_scan(grey=True))), True),
    "grey 16-bit": (_png(Image.fromarray(RGB[..., 0].astype(np.uint16) * 257)), False),
    "palette": (_png(Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE)), False),
    "alpha": (_png(Image.fromarray(np.dstack([RGB, np.full(RGB.shape[:2], 120, np.uint8)]))), False),
    "tRNS on RGB": (_png(Image.fromarray(RGB), transparency=(238, 238, 238)), False),
    "1-bit": (_png(Image.fromarray(RGB[..., 0] > 128)), False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_png_pixels_match_pillow(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, libpng = CASES[case]
    with Image.open(io.BytesIO(data)) as frame:
        fast = ingest._png_pixels(data, frame)
    assert (fast is not None) == libpng  # the plain 8-bit grey/RGB files go to libpng, the rest do not
    [page] = ingest.read_bytes(data, "page.png")
    [pillow] = _with_pillow_only(data, "page.png", monkeypatch)
    assert page.image.dtype == np.uint8 and page.image.shape == pillow.image.shape
    assert np.array_equal(page.image, pillow.image)
    assert page.image_sha256 == pillow.image_sha256 and page.dpi == pillow.dpi
    if case == "grey page saved as RGB":
        assert page.image.ndim == 2  # kept grey, as Pillow's path keeps it


def test_png_from_a_file_goes_to_libpng(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(CASES["rgb"][0])
    with Image.open(path) as frame:
        assert ingest._png_pixels(path, frame) is not None
    [page] = ingest.read_source(path)
    assert np.array_equal(page.image, RGB)


@pytest.mark.parametrize("damage", ["cut at 60%", "cut before IEND", "IDAT byte flipped"])
def test_damaged_png_is_left_to_pillow(damage: str, monkeypatch: pytest.MonkeyPatch,
                                       capfd: pytest.CaptureFixture[str]) -> None:
    whole = CASES["rgb"][0]
    data = {"cut at 60%": whole[: len(whole) * 6 // 10], "cut before IEND": whole[:-12],
            "IDAT byte flipped": whole[:-40] + bytes([whole[-40] ^ 0xFF]) + whole[-39:]}[damage]
    assert not ingest._png_whole(data)
    try:
        expected: object = [p.image_sha256 for p in _with_pillow_only(data, "scan.png", monkeypatch)]
    except InputError as exc:
        expected = str(exc)
    try:
        got: object = [p.image_sha256 for p in ingest.read_bytes(data, "scan.png")]
    except InputError as exc:
        got = str(exc)
    assert got == expected
    assert "libpng" not in capfd.readouterr().err
