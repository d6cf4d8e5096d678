"""Ingest: turn a PDF, TIFF, JPEG or PNG into :class:`~core.model.Page` values.

The untouched page pixels go into ``Page.image``: a certified copy must show what the original
shows, so a scanned PDF page that is one full-page image gives that image's exact pixels (through
``pikepdf.PdfImage``), and only pages that are something else (vector art, text, several images) are
rendered, with pdfium at 300 dpi. Born-digital pages keep their text layer (pdfplumber) so OCR can be
skipped. Everything a user can hand in wrongly (missing, empty, wrong type, encrypted, corrupt, too
many pages, pixel bombs) becomes one :class:`~core.errors.InputError` line naming the file; huge
pages are rendered at a reduced resolution instead of being decoded at full size.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from core.errors import InputError
from core.iters import prepend
from core.model import Box, Page, Word, nfc
from pipeline.deadline import OverTime, time_limit
from pipeline.filters import UnknownFilter, decode
from pipeline.ocr import arrange_rows

if TYPE_CHECKING:
    # The PDF libraries cost a tenth of a second to import; image files never need them, so the
    # PDF functions import them where they are used.
    import pdfplumber
    import pikepdf
    import pypdfium2 as pdfium

log = logging.getLogger(__name__)

DEFAULT_DPI = 300.0
RENDER_DPI = 300.0
MIN_DPI = 50.0  # below this a stated resolution is a lie (e.g. 1 dpi in broken TIFFs)
MAX_DPI = 2400.0

# text_seconds: the wall time a PDF page's text layer may take to read (0: no limit; see _read_pdf)
_DEFAULT_LIMITS = {"max_page_pixels": 120_000_000, "max_pages": 500, "max_bytes": 200 * 1024 * 1024,
                   "text_seconds": 0}


def sniff(data: bytes) -> str | None:
    """The file type by magic bytes (never by extension, which stations get wrong)."""
    if data[:4] == b"\x89PNG":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return None


def read_source(
    path: Path,
    *,
    max_page_pixels: int = 120_000_000,
    max_pages: int = 500,
    max_bytes: int = 200 * 1024 * 1024,
    text_seconds: float = 0,
) -> list[Page]:
    """Read every page of a PDF or image file."""
    return list(iter_source(path, max_page_pixels=max_page_pixels, max_pages=max_pages, max_bytes=max_bytes,
                            text_seconds=text_seconds))


def iter_source(
    path: Path,
    *,
    max_page_pixels: int = 120_000_000,
    max_pages: int = 500,
    max_bytes: int = 200 * 1024 * 1024,
    hash_pixels: bool = True,
    text_seconds: float = 0,
) -> Iterator[Page]:
    """The pages of a file one at a time (a long scan need not be in memory all at once). The file
    is checked (type, encryption, page count) before the first page comes; a page that cannot be
    decoded raises when it is reached. ``hash_pixels=False`` leaves ``image_sha256`` empty, for a
    caller that stores nothing (hashing an A4 page's pixels costs a fortieth of a second)."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{name}: the file is empty")
    if size > max_bytes:
        raise InputError(f"{name}: the file is {size / 2**20:.0f} MiB, above the {max_bytes / 2**20:.0f} MiB limit")
    lim = {"max_page_pixels": max_page_pixels, "max_pages": max_pages, "max_bytes": max_bytes,
           "text_seconds": text_seconds}
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
        kind = sniff(head)
        if kind not in ("tiff", "png"):
            return iter_bytes(path.read_bytes(), name, hash_pixels=hash_pixels, **lim)
        sha = _file_sha256(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    # A multi-page TIFF is decoded straight from the file, a frame at a time: holding the whole
    # file in memory beside the decoded page cost as much as the page itself.
    return _first_checked(_read_image(path, name, sha, kind, {**lim, "hash_pixels": hash_pixels}), name)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _first_checked(pages: Iterator[Page], name: str) -> Iterator[Page]:
    """Runs the whole-file checks now (they come before the first page), not at the first page's turn."""
    first = next(pages, None)
    if first is None:
        raise InputError(f"{name}: has no pages")
    return prepend([first], pages)


def read_bytes(data: bytes, name: str, **limits: int) -> list[Page]:
    """Read every page of an uploaded PDF or image (same rules as :func:`read_source`)."""
    return list(iter_bytes(data, name, **limits))


def iter_bytes(data: bytes, name: str, *, hash_pixels: bool = True, **limits: float) -> Iterator[Page]:
    """The pages of an upload one at a time; the checks of the whole file happen before the first."""
    unknown = set(limits) - set(_DEFAULT_LIMITS)
    if unknown:
        raise TypeError(f"unknown limits: {', '.join(sorted(unknown))}")
    lim = {**_DEFAULT_LIMITS, **limits, "hash_pixels": hash_pixels}
    if not data:
        raise InputError(f"{name}: the file is empty")
    if len(data) > lim["max_bytes"]:
        raise InputError(f"{name}: the file is {len(data) / 2**20:.0f} MiB, above the limit")
    kind = sniff(data)
    if kind is None:
        raise InputError(f"{name}: not a PDF, TIFF, JPEG or PNG file")
    sha = hashlib.sha256(data).hexdigest()
    pages = _read_pdf(data, name, sha, lim) if kind == "pdf" else _read_image(data, name, sha, kind, lim)
    return _first_checked(pages, name)


# --------------------------------------------------------------------------------------------- images


def _image_hash(image: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{image.shape}".encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


def _pil_to_array(im: Image.Image) -> np.ndarray:
    """RGB or grey uint8 pixels; alpha is composited on white (a transparent scan background is paper)."""
    if im.mode in ("1", "L", "I;16", "I;16B", "I;16L", "I", "F"):
        if im.mode == "1":
            return np.asarray(im.convert("L"))
        if im.mode == "L":
            return np.asarray(im)
        arr = np.asarray(im).astype(np.float64)
        hi = arr.max() if arr.size else 1.0
        return np.clip(arr * (255.0 / (hi or 1.0)), 0, 255).astype(np.uint8)
    if im.mode in ("LA", "PA", "RGBA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    if im.mode == "P":
        # Palette images of greys stay grey.
        pal = im.convert("RGB")
        return _maybe_grey(np.asarray(pal))
    # An RGB frame is read as it is: ``convert`` would first copy the whole decoded page.
    rgb = np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
    return _maybe_grey(rgb)


def _png_pixels(source: bytes | Path, frame: Image.Image) -> np.ndarray | None:
    """An 8-bit grey or RGB PNG's pixels decoded by OpenCV (libpng), or None to let Pillow do it.

    A colour A4 page at 300 dpi costs about a third less CPU so (0.15 s against 0.22 s), and it is
    the serial head of every upload: page work waits for it. Only the plain cases go this way, where
    both decoders give the same array: bit depth 8, colour type 0 or 2, no tRNS chunk (Pillow
    composites that on white); 16-bit, palette, alpha and 1/2/4-bit pages stay with Pillow. A file
    libpng cannot decode falls back too, so Pillow's refusal is the one the user reads."""
    if frame.mode not in ("L", "RGB") or "transparency" in frame.info:
        return None
    data = source if isinstance(source, bytes) else source.read_bytes()
    # IHDR comes first: width, height (8 bytes) after the signature and chunk header, then depth, type.
    if len(data) < 26 or data[12:16] != b"IHDR" or data[24] != 8 or data[25] not in (0, 2):
        return None
    if not _png_whole(data):
        return None
    import cv2  # the page work imports it anyway; the PDF-only paths need not

    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    want = (frame.size[1], frame.size[0]) + (() if frame.mode == "L" else (3,))
    if pixels is None or pixels.dtype != np.uint8 or pixels.shape != want:
        return None
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    return _maybe_grey(pixels)


def _png_whole(data: bytes) -> bool:
    """Every chunk inside the file with its CRC right, up to IEND: a file cut short or damaged goes to
    Pillow without libpng trying it (libpng writes its complaint on the server's stderr). About 5 ms
    for a 6 MB page."""
    pos, view = 8, memoryview(data)
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return False
        if zlib.crc32(view[pos + 4 : end - 4]) != struct.unpack(">I", data[end - 4 : end])[0]:
            return False
        if kind == b"IEND":
            return True
        pos = end
    return False


def _maybe_grey(rgb: np.ndarray) -> np.ndarray:
    """Keep a grey page grey: a third of the memory, and the searchable PDF stays small."""
    if rgb.ndim == 3 and rgb.shape[2] == 3:
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        if _same(r, g) and _same(g, b):
            return np.ascontiguousarray(r)
    return np.ascontiguousarray(rgb)


def _same(a: np.ndarray, b: np.ndarray, rows: int = 256) -> bool:
    """``array_equal`` a band of rows at a time: a colour page usually differs in the first band, and
    no page-sized boolean temporary is made."""
    return all(np.array_equal(a[i : i + rows], b[i : i + rows]) for i in range(0, a.shape[0], rows))


def _dpi_of(info: dict, default: float = DEFAULT_DPI) -> float:
    dpi = info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    if not math.isfinite(value) or value < MIN_DPI or value > MAX_DPI:
        return default
    return value


def _read_image(source: bytes | Path, name: str, sha: str, kind: str, lim: dict) -> Iterator[Page]:
    """Pages of an image file given as bytes or as a path (read frame by frame from the file)."""
    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, before decoding
    try:
        im = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"{name}: not a readable {kind.upper()} image ({_said(exc, source, name)})") from exc
    with im:
        yield from _image_frames(im, source, name, sha, kind, lim)


def _said(exc: BaseException, source: bytes | Path, name: str) -> str:
    """The library's words, without the server path it may name (Pillow names the file opened)."""
    text = str(exc)
    return text.replace(str(source), name) if isinstance(source, Path) else text


def tiff_page_cut_short(source: bytes | Path, frame: Image.Image) -> bool:
    """Whether this TIFF page's directory or its strips (or tiles) run past the end of the file.

    A scan cut short in transfer still opens: Pillow reads what is left of a page's directory and
    takes the lost link to the next page for the last page (a three-page file becomes one), and
    the decoder fills missing strips with paper, silently. So the directory's declared entries and
    every strip must lie inside the file (the upload check asks the same)."""
    if isinstance(source, bytes):
        size = len(source)

        def read(at: int, n: int) -> bytes:
            return source[at : at + n]
    else:
        size = source.stat().st_size

        def read(at: int, n: int) -> bytes:
            with source.open("rb") as fh:
                fh.seek(at)
                return fh.read(n)
    tags = getattr(frame, "tag_v2", None)
    offset = getattr(tags, "offset", None)
    if tags is None or offset is None:
        return False
    head = read(0, 4)
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"\x2b\x00", b"\x00\x2b")  # BigTIFF: 8-byte count, 20-byte entries, 8-byte link
    count_fmt, entry, link = ("Q", 20, 8) if big else ("H", 12, 4)
    raw = read(offset, struct.calcsize(count_fmt))
    if len(raw) < struct.calcsize(count_fmt):
        return True
    entries = struct.unpack(order + count_fmt, raw)[0]
    if offset + len(raw) + entry * entries + link > size:
        return True
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):  # strips, tiles
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None:
            continue
        offsets = offsets if isinstance(offsets, tuple | list) else (offsets,)
        counts = counts if isinstance(counts, tuple | list) else ((counts,) if counts is not None else ())
        if len(counts) != len(offsets) or any(int(o) + int(c) > size for o, c in zip(offsets, counts, strict=True)):
            return True
    return False


def _image_frames(
    im: Image.Image, source: bytes | Path, name: str, sha: str, kind: str, lim: dict
) -> Iterator[Page]:
    try:
        count = getattr(im, "n_frames", 1) if kind == "tiff" else 1
    except (OSError, ValueError, TypeError, KeyError, SyntaxError, EOFError) as exc:
        # Pillow walks every page's directory to count them; a file cut short (or damaged) has a
        # directory it cannot read.
        raise InputError(f"{name}: the TIFF is damaged or cut short: a page's directory cannot be read "
                         f"({_said(exc, source, name)})") from exc
    if count > lim["max_pages"]:
        raise InputError(f"{name}: has {count} pages, above the limit of {lim['max_pages']}")
    frames = ImageSequence.Iterator(im) if kind == "tiff" else [im]
    index = 0
    try:
        for frame in frames:
            w, h = frame.size
            if w <= 0 or h <= 0:
                raise InputError(f"{name}: page {index + 1} has no pixels")
            if kind == "tiff" and tiff_page_cut_short(source, frame):
                raise InputError(f"{name}: page {index + 1} of the TIFF is cut short (its directory or pixel "
                                 "data runs past the end of the file)")
            dpi = _dpi_of(frame.info)
            pixels = w * h
            if pixels > lim["max_page_pixels"]:
                if kind == "jpeg":
                    # JPEG can be decoded straight to a fraction of its size (DCT scaling): no full decode.
                    factor = math.ceil(math.sqrt(pixels / lim["max_page_pixels"]))
                    frame.draft(frame.mode, (max(1, w // factor), max(1, h // factor)))
                    dpi = dpi * frame.size[0] / w
                    if frame.size[0] * frame.size[1] > lim["max_page_pixels"]:
                        raise InputError(f"{name}: image of {w}x{h} pixels is too large")
                    log.warning("%s p.%d: %dx%d pixels, decoded at %dx%d", name, index + 1, w, h, *frame.size)
                else:
                    raise InputError(
                        f"{name}: page {index + 1} has {w}x{h} pixels, above the limit of "
                        f"{lim['max_page_pixels']:,} (a pixel bomb or an oversized scan)"
                    )
            jpeg = None
            if kind == "jpeg" and frame.mode in ("L", "RGB") and frame.size == (w, h) and isinstance(source, bytes):
                jpeg = source
            arr = _png_pixels(source, frame) if kind == "png" else None
            if arr is None:
                frame.load()
                arr = _pil_to_array(frame)
            # The decoded frame is as large as the page: drop it before the page goes on its way.
            if kind == "tiff":
                frame.im = None  # type: ignore[assignment]
            page = Page(
                source=name, source_sha256=sha, index=index, image=arr, dpi=dpi,
                image_sha256=_image_hash(arr) if lim.get("hash_pixels", True) else "", source_jpeg=jpeg,
            )
            # Hold no pixels while suspended: the consumer may be done with this page before it
            # asks for the next, which is decoded while this generator waits.
            del arr
            yield page
            del page
            index += 1
    except InputError:
        raise
    except (OSError, ValueError, TypeError, KeyError, SyntaxError, EOFError) as exc:
        raise InputError(f"{name}: page {index + 1} cannot be decoded ({_said(exc, source, name)})") from exc


# ------------------------------------------------------------------------------------------------ PDF


def _read_pdf(data: bytes, name: str, sha: str, lim: dict) -> Iterator[Page]:
    import pdfplumber
    import pikepdf
    import pypdfium2 as pdfium

    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise InputError(f"{name} is encrypted (password protected); decrypt it first") from exc
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        raise InputError(f"{name}: not a readable PDF ({_short(exc)})") from exc
    with pdf:
        if pdf.is_encrypted:
            # Opened without a password: an owner password only (permissions), as office scanners
            # set it. Every viewer opens such a file; so does ingest. The original is kept as is.
            log.info("%s: owner password only; read as any viewer reads it", name)
        try:
            count = len(pdf.pages)
        except (pikepdf.PdfError, ValueError) as exc:
            raise InputError(f"{name}: the PDF page tree is damaged ({_short(exc)})") from exc
        if count == 0:
            raise InputError(f"{name}: has no pages")
        check_repairs(pdf, name)
        if count > lim["max_pages"]:
            raise InputError(f"{name}: has {count} pages, above the limit of {lim['max_pages']}")
        try:
            doc = pdfium.PdfDocument(data)
        except Exception as exc:
            raise InputError(f"{name}: not a readable PDF ({_short(exc)})") from exc
        # pdfminer reads a long line in time that grows with its square (a 40 MB comment line
        # took 136 s of CPU): opening the text layer and each page's reading of it are bounded
        # by the page budget, and a page over it fails alone with the reason.
        seconds = float(lim.get("text_seconds", 0))
        over = f"its text layer could not be read within {seconds:.0f} s (SOHOA_PAGE_SECONDS); not processed"
        plumber, unread = None, None
        try:
            with time_limit(seconds):
                plumber = pdfplumber.open(io.BytesIO(data))
        except OverTime:
            log.error("%s: %s", name, over)
            unread = over  # every page: none of them can be read as the file says
        except Exception as exc:  # noqa: BLE001 - the libraries raise anything on broken files
            log.warning("%s: pdfplumber cannot read the text layer (%s)", name, _short(exc))
        try:
            for index in range(count):
                label = f"{name} p.{index + 1}"
                try:
                    # Before pdfium, pikepdf or pdfplumber reads a single operator of the page.
                    check_page_tree(pdf.pages[index].obj, f"{name}: page {index + 1}")
                    check_content(pdf.pages[index].obj, f"{name}: page {index + 1}")
                    image, dpi, jpeg = _pdf_page_pixels(pdf.pages[index], doc[index], lim["max_page_pixels"], label)
                except InputError:
                    raise
                except Exception as exc:
                    raise InputError(f"{name}: page {index + 1} cannot be rendered ({_short(exc)})") from exc
                text_layer, words, failure = None, (), unread
                if plumber is not None:
                    try:
                        with time_limit(seconds):
                            text_layer, words = _text_layer(plumber.pages[index], image.shape[1], image.shape[0])
                    except OverTime:
                        # One page's budget is all the text layer of a file gets: the file's later
                        # pages are OCR'd instead (each under its own budget), so a file of such
                        # pages cannot hold its job for a budget a page.
                        log.error("%s: %s; the file's later pages are OCR'd", label, over)
                        failure = over
                        _close_quietly(plumber, name)
                        plumber = None
                    except Exception as exc:  # noqa: BLE001 - the libraries raise anything on broken files
                        log.warning("%s: text layer unreadable (%s); the page will be OCR'd", label, _short(exc))
                page = Page(
                    source=name, source_sha256=sha, index=index, image=image, dpi=dpi, failure=failure,
                    text_layer=text_layer, words=words, text=text_layer or "",
                    image_sha256=_image_hash(image) if lim.get("hash_pixels", True) else "",
                    source_jpeg=jpeg,
                )
                del image, jpeg  # no pixels held while suspended (see _image_frames)
                yield page
                del page
        finally:
            if plumber is not None:
                _close_quietly(plumber, name)
            doc.close()


def _close_quietly(plumber: pdfplumber.PDF, name: str) -> None:
    try:
        plumber.close()
    except Exception as exc:  # noqa: BLE001 - it re-reads every page, damaged ones too
        log.debug("%s: pdfplumber not closed cleanly (%s)", name, _short(exc))


def _short(exc: BaseException) -> str:
    text = re.sub(r"(stream )?<_io\.BytesIO object at 0x[0-9a-f]+>:? ?", "", str(exc)).strip().splitlines()
    line = text[-1] if text else type(exc).__name__
    return line[:160]


# ------------------------------------------------------------------------------------- page tree

INHERIT_DEPTH = 64  # /Parent links followed for an inherited attribute (a loop ends here too)


class MalformedPage(InputError):
    """A page whose dictionary is not what PDF requires (a box of four numbers, a turn by quarter
    turns, drawing instructions in streams): refused with the entry named, never parsed on."""


def check_repairs(pdf: object, name: str) -> None:
    """Refuse a page tree qpdf had to repair by guessing: it replaces a MediaBox that is missing or
    not four numbers with US Letter as it walks the pages (with a warning), so the box is gone by
    the time :func:`check_page_tree` could look at it. Called after the pages were counted."""
    for warning in pdf.get_warnings():  # type: ignore[attr-defined]
        if "MediaBox is undefined" in warning:
            raise MalformedPage(f"{name}: a page's MediaBox is missing or is not four numbers; the PDF is damaged")


def _inherited(page_obj: object, key: str) -> object:
    node = page_obj
    for _ in range(INHERIT_DEPTH):
        value = node.get(key)  # type: ignore[attr-defined]
        if value is not None:
            return value
        node = node.get("/Parent")  # type: ignore[attr-defined]
        if node is None or not hasattr(node, "get"):
            return None
    return None


def _number(value: object) -> float | None:
    import decimal

    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def check_page_tree(page_obj: object, label: str) -> None:
    """Refuse a page whose structure is malformed (:class:`MalformedPage`, one line naming the
    entry). The PDF libraries each make their own guess at such a page (qpdf and pdfium draw it
    on US Letter, pdfplumber raises from deep inside), so one page could be measured, drawn and
    read as three different pages; here it is refused the same way at upload and at ingest."""
    import pikepdf

    for key, required in (("/MediaBox", True), ("/CropBox", False)):
        box = _inherited(page_obj, key)
        if box is None:
            continue  # no box: every reader takes US Letter, as PDF 1.x readers always have
        numbers = [_number(v) for v in box] if isinstance(box, pikepdf.Array) else []
        if len(numbers) != 4 or any(n is None for n in numbers):
            raise MalformedPage(f"{label}: its {key[1:]} is not four numbers; the PDF is damaged")
        x0, y0, x1, y1 = numbers  # type: ignore[misc]
        if required and (x1 == x0 or y1 == y0):
            raise MalformedPage(f"{label}: its {key[1:]} has no area; the PDF is damaged")
    rotate = _inherited(page_obj, "/Rotate")
    if rotate is not None and (not isinstance(rotate, int) or isinstance(rotate, bool) or rotate % 90):
        raise MalformedPage(f"{label}: its /Rotate is not a multiple of 90; the PDF is damaged")
    contents = page_obj.get("/Contents")  # type: ignore[attr-defined]
    parts = contents if isinstance(contents, pikepdf.Array) else ([] if contents is None else [contents])
    if any(not isinstance(part, pikepdf.Stream) for part in parts):
        raise MalformedPage(f"{label}: its drawing instructions (/Contents) are not streams; the PDF is damaged")
    resources = _inherited(page_obj, "/Resources")
    if resources is not None and not isinstance(resources, pikepdf.Dictionary):
        raise MalformedPage(f"{label}: its /Resources is not a dictionary; the PDF is damaged")


# -------------------------------------------------------------------------------- content streams

# What a page's drawing instructions may cost before anything parses them. A content stream is
# compressed: 3 KB of Flate inflate to 2.5 MB of ``q Q`` (1.25 million operators), which pikepdf
# turns into a million Python objects (3 s) and pdfplumber re-parses (10 s, half a GB); 39 KB
# inflate to 40 MB. Legitimate pages stay far below: a scan draws one image (a few dozen bytes),
# a born-digital page of text a few thousand operators, a dense vector map some tens of thousands.
MAX_CONTENT_BYTES = 8 * 2**20  # inflated, all of a page's streams and its forms together
MAX_CONTENT_TOKENS = 300_000  # operators and operands (bounded by the separators between them)
MAX_CONTENT_RATIO = 100  # inflated : compressed, judged once a page's content passes 1 MiB
RATIO_FLOOR = 2**20
FORM_DEPTH = 4  # forms drawn inside forms, followed this deep
_SEPARATORS = bytes(b for b in range(256) if chr(b) in " \t\r\n\f\x00()<>[]{}/%")


class ContentBomb(InputError):
    """A page whose drawing instructions cost more than the budget (see :data:`MAX_CONTENT_BYTES`)."""


@dataclass(frozen=True)
class ContentCost:
    """What one page's content streams (with the forms they draw) hold: bytes as stored, bytes
    inflated (counted only up to just past the limit: nothing is inflated further) and tokens."""

    stored: int
    inflated: int
    tokens: int


def content_cost(page_obj: object, *, max_bytes: int = MAX_CONTENT_BYTES, label: str = "page") -> ContentCost:
    """Measure a page's content without parsing it: each stream is decoded through its filters
    in bounded pieces and the pieces are counted in C (``bytes.translate``), so a bomb costs at
    most ``max_bytes`` of output and never becomes Python objects."""
    import pikepdf

    stored = inflated = tokens = 0
    seen: set[tuple[int, int]] = set()

    def streams(obj: object, depth: int) -> Iterator[pikepdf.Stream]:
        contents = obj.get("/Contents") if depth == 0 else obj  # type: ignore[attr-defined]
        for s in (contents if isinstance(contents, pikepdf.Array) else [contents]):
            if isinstance(s, pikepdf.Stream) and s.objgen not in seen:
                if s.objgen != (0, 0):
                    seen.add(s.objgen)
                yield s
        if depth >= FORM_DEPTH:
            return
        resources = obj.get("/Resources")  # type: ignore[attr-defined]
        xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        if isinstance(xobjects, pikepdf.Dictionary):
            for x in xobjects.values():
                if isinstance(x, pikepdf.Stream) and x.get("/Subtype") == "/Form" and x.objgen not in seen:
                    yield from streams(x, depth + 1)

    for stream in streams(page_obj, 0):
        raw = stream.read_raw_bytes()
        stored += len(raw)
        for piece in _decoded_pieces(stream, raw, max_bytes - inflated + 1, label):
            inflated += len(piece)
            tokens += len(piece) - len(piece.translate(None, _SEPARATORS))
        if inflated > max_bytes:
            break
    return ContentCost(stored=stored, inflated=inflated, tokens=tokens)


def _decoded_pieces(stream: object, raw: bytes, room: int, label: str) -> Iterator[bytes]:
    """A stream's decoded bytes in pieces of at most 1 MiB, stopping once ``room`` is used up,
    whatever its filters (Flate, LZW, RunLength, ASCII85, ASCIIHex, chained: see
    :mod:`pipeline.filters`); nothing past the budget is ever decoded."""
    import pikepdf

    filters = stream.get("/Filter")  # type: ignore[attr-defined]
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else ([str(filters)] if filters else [])
    parms_obj = stream.get("/DecodeParms")  # type: ignore[attr-defined]
    parms_list = list(parms_obj) if isinstance(parms_obj, pikepdf.Array) else [parms_obj] * len(names)
    parms = [{str(k): v for k, v in p.items()} if isinstance(p, pikepdf.Dictionary) else {} for p in parms_list]
    try:
        pieces = decode(raw, names, parms)
    except UnknownFilter as exc:
        raise MalformedPage(f"{label}: its drawing instructions are stored under {exc}, a filter for "
                            "images, not instructions; the PDF is damaged") from exc
    for piece in pieces:
        if room <= 0:
            return
        piece = piece[:room]
        room -= len(piece)
        yield piece


def check_content(page_obj: object, label: str, *, max_bytes: int = MAX_CONTENT_BYTES,
                  max_tokens: int = MAX_CONTENT_TOKENS, max_ratio: int = MAX_CONTENT_RATIO) -> ContentCost:
    """Refuse a page whose drawing instructions are over budget (:class:`ContentBomb`, one line)."""
    cost = content_cost(page_obj, max_bytes=max_bytes, label=label)
    if cost.inflated > max_bytes:
        raise ContentBomb(
            f"{label}: its drawing instructions inflate to more than {max_bytes / 2**20:.0f} MiB "
            f"(from {cost.stored:,} bytes stored); refused as a content-stream bomb"
        )
    if cost.tokens > max_tokens:
        raise ContentBomb(
            f"{label}: its drawing instructions hold more than {max_tokens:,} operators; "
            f"refused as a content-stream bomb"
        )
    if cost.inflated > RATIO_FLOOR and cost.inflated > max_ratio * max(1, cost.stored):
        raise ContentBomb(
            f"{label}: its drawing instructions inflate {cost.inflated // max(1, cost.stored):,} times "
            f"(above {max_ratio}:1); refused as a content-stream bomb"
        )
    return cost


@dataclass
class _Draw:
    name: str
    ctm: tuple[float, float, float, float, float, float]


def _mul(m: tuple, n: tuple) -> tuple:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2, e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


_PAINT = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "BI", "EI", "ID"}
_SHOW = {"Tj", "TJ", "'", '"'}


def _single_image(page: pikepdf.Page) -> _Draw | None:
    """The one image drawn on a scanned page, with its matrix; None when the page draws anything else
    visible (paths, visible text, more images, forms)."""
    import pikepdf

    ops = "q Q cm Do Tr " + " ".join(_PAINT | _SHOW)
    stack: list[tuple] = []
    ctm: tuple = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    render_mode = 0
    draws: list[_Draw] = []
    for operands, op in pikepdf.parse_content_stream(page, ops):
        op = str(op)
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop() if stack else ctm
        elif op == "cm":
            ctm = _mul(tuple(float(x) for x in operands), ctm)
        elif op == "Tr":
            render_mode = int(operands[0])
        elif op in _SHOW:
            if render_mode != 3:
                return None
        elif op in _PAINT:
            return None
        elif op == "Do":
            draws.append(_Draw(str(operands[0]), ctm))
            if len(draws) > 1:
                return None
    if len(draws) != 1:
        return None
    return draws[0]


def _orient(ctm: tuple) -> int | None:
    """How an image is drawn: clockwise degrees its pixels appear turned (0/90/180/270), None for
    flips, shears and non-quarter rotations."""
    a, b, c, d = ctm[:4]
    eps = 1e-6
    if abs(b) < eps and abs(c) < eps:
        if a > 0 and d > 0:
            return 0
        if a < 0 and d < 0:
            return 180
        return None
    if abs(a) < eps and abs(d) < eps:
        if b < 0 < c:
            return 90
        if b > 0 > c:
            return 270
    return None


def _pdf_page_pixels(
    page: pikepdf.Page, pdfium_page: pdfium.PdfPage, max_pixels: int, label: str
) -> tuple[np.ndarray, float, bytes | None]:
    """The original scan pixels when the page is one full-page image, else a 300 dpi rendering."""
    import pikepdf

    width_pt, height_pt = pdfium_page.get_size()  # the crop box, as displayed (rotation applied)
    if width_pt <= 0 or height_pt <= 0:
        raise InputError(f"{label}: the page has no area")
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    image = None
    draw = None
    try:
        draw = _single_image(page)
    except (pikepdf.PdfError, ValueError, TypeError, KeyError) as exc:
        log.debug("%s: content stream not parsed (%s)", label, _short(exc))
    if draw is not None:
        image = _embedded_image(page, draw, rotate, width_pt, height_pt, max_pixels, label)
        if image is not None:
            return image
    # Render: 300 dpi, less when that would exceed the pixel limit (pdfium decodes images at the
    # size it draws them, so a huge JBIG2/CCITT page never exists at full size in memory).
    dpi = RENDER_DPI
    pixels = (width_pt / 72 * dpi) * (height_pt / 72 * dpi)
    if pixels > max_pixels:
        dpi = dpi * math.sqrt(max_pixels / pixels) * 0.999
        log.warning("%s: page too large for %d dpi, rendered at %.0f dpi", label, RENDER_DPI, dpi)
    if draw is not None:
        # A scanned page we could not decode ourselves: render it near the scan's own resolution.
        native = _native_dpi(page, draw, width_pt, height_pt, rotate)
        if native:
            dpi = min(native, dpi if pixels > max_pixels else MAX_DPI)
            pixels = (width_pt / 72 * dpi) * (height_pt / 72 * dpi)
            if pixels > max_pixels:
                dpi = dpi * math.sqrt(max_pixels / pixels) * 0.999
    scale = dpi / 72
    if width_pt * scale < 1 or height_pt * scale < 1:
        raise InputError(f"{label}: the page is too small to render")
    grey = draw is not None and _is_mono(page, draw)
    bitmap = pdfium_page.render(scale=scale, may_draw_forms=True, rev_byteorder=True, grayscale=grey)
    arr = bitmap.to_numpy()
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    arr = _maybe_grey(np.array(arr, copy=True))
    return arr, dpi, None


def _is_mono(page: pikepdf.Page, draw: _Draw) -> bool:
    """A bilevel or grey scan renders to grey: a third of the memory of RGB on huge pages."""
    import pikepdf

    try:
        xobj = page.obj.Resources.XObject[draw.name]
        if int(xobj.get("/BitsPerComponent", 8)) == 1 or xobj.get("/ImageMask", False):
            return True
        return xobj.get("/ColorSpace") == pikepdf.Name.DeviceGray
    except (AttributeError, KeyError, TypeError, ValueError):
        return False


def _native_dpi(page: pikepdf.Page, draw: _Draw, width_pt: float, height_pt: float, rotate: int) -> float | None:
    try:
        xobj = page.obj.Resources.XObject[draw.name]
        w = int(xobj.Width)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    a, b, _c, _d = draw.ctm[:4]
    drawn_w = math.hypot(a, b)
    if drawn_w <= 0:
        return None
    return max(MIN_DPI, min(MAX_DPI, w / (drawn_w / 72)))


def _embedded_image(
    page: pikepdf.Page, draw: _Draw, rotate: int, width_pt: float, height_pt: float, max_pixels: int, label: str
) -> tuple[np.ndarray, float, bytes | None] | None:
    import pikepdf

    try:
        xobj = page.obj.Resources.XObject[draw.name]
    except (AttributeError, KeyError, TypeError):
        return None
    if xobj.get("/Subtype") != pikepdf.Name.Image or xobj.get("/ImageMask", False):
        return None
    turn = _orient(draw.ctm)
    if turn is None:
        return None
    a, b, c, d, e, f = draw.ctm
    # The drawn rectangle must cover the visible page (a scan), not be a picture on a page.
    xs = [e, e + a, e + c, e + a + c]
    ys = [f, f + b, f + d, f + b + d]
    box = page.cropbox if "/CropBox" in page.obj else page.mediabox
    bx0, by0, bx1, by1 = (float(v) for v in box)
    bx0, bx1 = min(bx0, bx1), max(bx0, bx1)
    by0, by1 = min(by0, by1), max(by0, by1)
    ix0, ix1 = max(min(xs), bx0), min(max(xs), bx1)
    iy0, iy1 = max(min(ys), by0), min(max(ys), by1)
    covered = max(0.0, ix1 - ix0) * max(0.0, iy1 - iy0)
    if covered < 0.9 * (bx1 - bx0) * (by1 - by0):
        return None
    try:
        w, h = int(xobj.Width), int(xobj.Height)
    except (AttributeError, TypeError, ValueError):
        return None
    if w * h > max_pixels:
        return None  # render at a reduced resolution instead of decoding it whole
    if "/SMask" in xobj or "/Mask" in xobj:
        return None  # what shows depends on the mask: let pdfium composite it
    filters = xobj.get("/Filter")
    if isinstance(filters, pikepdf.Array):
        filters = filters[0] if len(filters) == 1 else None
    if filters in (pikepdf.Name.JBIG2Decode, pikepdf.Name.JPXDecode):
        return None  # pikepdf needs external decoders for these; pdfium has its own
    arr = _inflated_pixels(xobj, filters, w, h, label)
    mode = None
    if arr is None:
        try:
            im = pikepdf.PdfImage(xobj).as_pil_image()
        except Exception as exc:  # noqa: BLE001 - the libraries raise anything on broken files
            log.debug("%s: embedded image not decoded (%s); rendering", label, _short(exc))
            return None
        mode = im.mode
        arr = _pil_to_array(im)
        del im
    if arr.shape[0] != h or arr.shape[1] != w:
        return None
    total = (turn + rotate) % 360
    if total:
        arr = np.ascontiguousarray(np.rot90(arr, k=-(total // 90)))
    # After the turn the image's width spans the displayed page's width.
    disp_w = (max(xs) - min(xs)) if rotate in (0, 180) else (max(ys) - min(ys))
    dpi = arr.shape[1] / (max(disp_w, 1e-3) / 72)
    dpi = max(MIN_DPI, min(MAX_DPI, dpi))
    jpeg = None
    if (
        total == 0
        and filters == pikepdf.Name.DCTDecode
        and mode in ("L", "RGB")
        and "/Decode" not in xobj
        and int(xobj.get("/BitsPerComponent", 8)) == 8
    ):
        jpeg = bytes(xobj.read_raw_bytes())
    log.debug("%s: page is one %dx%d image (turned %d), %.0f dpi", label, w, h, total, dpi)
    return arr, dpi, jpeg


INFLATE_CHUNK = 16 * 2**20  # bytes inflated at a time into the page array


def _channels(colour_space: object) -> int | None:
    """1 or 3 for a grey or RGB colour space (an ICC profile's pixels are read as they are, as the
    image decoders do); None for anything that needs converting."""
    import pikepdf

    if colour_space == pikepdf.Name.DeviceGray:
        return 1
    if colour_space == pikepdf.Name.DeviceRGB:
        return 3
    try:
        if isinstance(colour_space, pikepdf.Array) and colour_space[0] == pikepdf.Name.ICCBased:
            n = int(colour_space[1].get("/N", 0))
            return n if n in (1, 3) else None
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        return None
    return None


def _inflated_pixels(xobj: pikepdf.Object, filters: object, w: int, h: int, label: str) -> np.ndarray | None:
    """The pixels of an 8-bit grey or RGB image stored with Flate alone and no predictor, inflated
    straight into the page's array; None for any other image (the general decoder takes it).

    Big scans and plans are stored so. Through pikepdf and PIL a 9000x9000 colour page was held
    four times over at once (qpdf's buffer, its bytes, PIL's four bytes a pixel, the array): 880 MB
    for a 243 MB image. Here it is held once, and the compressed stream beside it."""
    import pikepdf

    channels = _channels(xobj.get("/ColorSpace"))
    if filters != pikepdf.Name.FlateDecode or channels is None or "/Decode" in xobj:
        return None
    try:
        if int(xobj.get("/BitsPerComponent", 0)) != 8:
            return None
        parms = xobj.get("/DecodeParms")
        if isinstance(parms, pikepdf.Array):
            parms = parms[0] if len(parms) == 1 else None
        if parms is not None and int(parms.get("/Predictor", 1)) > 1:
            return None
        raw = xobj.read_raw_bytes()
    except (pikepdf.PdfError, TypeError, ValueError, AttributeError, KeyError) as exc:
        log.debug("%s: image stream not read (%s)", label, _short(exc))
        return None
    out = np.empty(h * w * channels, np.uint8)
    inflate = zlib.decompressobj()
    filled = 0
    try:
        data: bytes = raw
        while filled < out.size:
            chunk = inflate.decompress(data, min(INFLATE_CHUNK, out.size - filled))
            if not chunk:
                break
            out[filled:filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
            filled += len(chunk)
            data = inflate.unconsumed_tail
    except zlib.error as exc:
        log.debug("%s: image stream not inflated (%s)", label, _short(exc))
        return None
    if filled < out.size:
        return None  # a short stream: the general decoder decides what shows
    return _maybe_grey(out.reshape((h, w) if channels == 1 else (h, w, 3)))


# ---------------------------------------------------------------------------------------- text layer

_CID = re.compile(r"\(cid:\d+\)")


def _text_layer(pl_page: pdfplumber.page.Page, px_w: int, px_h: int) -> tuple[str | None, tuple[Word, ...]]:
    """The page's own text when it is real (mapped to Unicode), as lines of words with pixel boxes."""
    words = pl_page.extract_words(keep_blank_chars=False, use_text_flow=False)
    if not words:
        return None, ()
    joined = "".join(w["text"] for w in words)
    if _CID.search(joined):
        return None, ()
    good = sum(1 for ch in joined if ch.isprintable() and ch != "\ufffd" and not ("\ue000" <= ch <= "\uf8ff"))
    letters = sum(1 for ch in joined if ch.isalnum())
    # UTF-16 read with the wrong byte order: 'M' (004D) becomes 䴀 (4D00).
    swapped = sum(1 for ch in joined if ord(ch) > 0xFF and ord(ch) & 0xFF == 0 and 0x20 <= ord(ch) >> 8 < 0x7F)
    if swapped > 0.2 * len(joined):
        return None, ()
    if good < 0.9 * len(joined) or letters < 0.5 * len(joined):
        return None, ()
    sx = px_w / float(pl_page.width)
    sy = px_h / float(pl_page.height)
    x_off, y_off = float(pl_page.bbox[0]), float(pl_page.bbox[1])
    items = []
    for n, w in enumerate(words):
        left = max(0, round((float(w["x0"]) - x_off) * sx))
        top = max(0, round((float(w["top"]) - y_off) * sy))
        right = min(px_w, max(left + 1, round((float(w["x1"]) - x_off) * sx)))
        bottom = min(px_h, max(top + 1, round((float(w["bottom"]) - y_off) * sy)))
        items.append((nfc(w["text"]), 1.0, Box(left, top, max(1, right - left), max(1, bottom - top)), n))
    arranged, text = arrange_rows(items, 1.0 / sy)
    return text, arranged
