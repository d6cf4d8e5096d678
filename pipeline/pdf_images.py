"""A page's pixels compressed for the searchable PDF, and compressed ahead of time beside the OCR.

The PDF keeps the scan losslessly, as Flate with PNG predictors (taken from a PNG encoding: fast,
and smaller than plain Flate). On a 300 dpi colour A4 page that costs about 0.6 s of CPU, the
largest cost of a document after Tesseract, and it used to be paid after every page of the batch
was read, in the runner's one process: on a one-page upload the second core sat idle through the
OCR and then the first waited for the encoding. :class:`PreparedImages` encodes the pages as they
were read on a thread of its own while their clean-up and OCR run (Pillow's encoder and zlib let go
of the GIL; Tesseract runs as a program), and the PDF takes each page's encoding from it when the
page's pixels are still the ones that were encoded — an upright page (no quarter turn), which is
nearly every page. The bytes are the ones the PDF would have made itself: the same pages give the
same PDF whichever way it was made. On Celery workers the page task does the same for its page and
stores the encoding (:meth:`EncodedImage.to_blob`); its document's task gives it back to the PDF
(:meth:`PreparedImages.given`), so the document task, which waits for every page, encodes nothing.
"""

from __future__ import annotations

import io
import logging
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

import numpy as np
from PIL import Image

from core.model import Page

log = logging.getLogger(__name__)

# zlib level of a page's pixels: on damaged 300 dpi A4 scans of the real corpus, level 3 took about
# half the time of level 6 for files within ±8% of its size.
PNG_LEVEL = 3
# Encoded bytes held ahead of the documents that take them (a colour A4 scan is 2-6 MB of them):
# beyond this the later pages are encoded when their document is assembled, as before.
PREPARED_BYTES = 192 * 2**20


class ColourSpace(StrEnum):
    GREY = "DeviceGray"
    RGB = "DeviceRGB"


@dataclass(frozen=True)
class EncodedImage:
    """Flate data with PNG predictors and what the image dictionary must say about it."""

    data: bytes
    width: int
    height: int
    colours: int
    bits: int
    space: ColourSpace

    def to_blob(self) -> bytes:
        """The encoding as one stored object (a Celery page task keeps it for its document's task)."""
        head = struct.pack(">4sIIBB", BLOB_MAGIC, self.width, self.height, self.colours, self.bits)
        return head + (b"G" if self.space is ColourSpace.GREY else b"C") + self.data

    @classmethod
    def from_blob(cls, blob: bytes) -> EncodedImage:
        """The encoding :meth:`to_blob` stored; ValueError for anything else."""
        size = struct.calcsize(">4sIIBB")
        if len(blob) < size + 1 or blob[:4] != BLOB_MAGIC or blob[size : size + 1] not in (b"G", b"C"):
            raise ValueError("not a stored page image encoding")
        _, width, height, colours, bits = struct.unpack(">4sIIBB", blob[:size])
        space = ColourSpace.GREY if blob[size : size + 1] == b"G" else ColourSpace.RGB
        return cls(blob[size + 1 :], width, height, colours, bits, space)

    def fits(self, image: np.ndarray) -> bool:
        """Whether this could be ``image``'s encoding (its size and colours): a stored encoding
        checked against the page it is given for."""
        return (self.height, self.width) == image.shape[:2] and (self.colours == 3) == (image.ndim == 3)


BLOB_MAGIC = b"SPI1"


def encode_image(image: np.ndarray) -> EncodedImage:
    """``image`` (grey or RGB, uint8) as Flate with PNG predictors. Pure black-and-white pages go in
    at 1 bit per pixel."""
    if image.ndim == 2 and _is_bilevel(image):
        im = Image.fromarray(image).convert("1", dither=Image.Dither.NONE)
        colours, bits, space = 1, 1, ColourSpace.GREY
    elif image.ndim == 2:
        im = Image.fromarray(image, "L")
        colours, bits, space = 1, 8, ColourSpace.GREY
    else:
        im = Image.fromarray(np.ascontiguousarray(image[..., :3]), "RGB")
        colours, bits, space = 3, 8, ColourSpace.RGB
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=PNG_LEVEL)
    png = buf.getvalue()
    pos, idat = 8, bytearray()
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        if kind == b"IDAT":
            idat += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return EncodedImage(bytes(idat), im.width, im.height, colours, bits, space)


def _is_bilevel(image: np.ndarray) -> bool:
    # Cheap check first on a sample, then on everything.
    sample = image[:: max(1, image.shape[0] // 64)]
    if not np.all((sample == 0) | (sample == 255)):
        return False
    return bool(np.all((image == 0) | (image == 255)))


class PreparedImages:
    """The pages' encodings, made on one thread and each kept until the PDF of its page takes it.

    The first ``ahead`` pages are encoded as they were read, from the moment this is made: they are
    the pages in the page workers first (a one-page upload's only page); each later page is encoded
    when its page work is done and :meth:`done` is told, while the workers read the pages after it,
    so a page the clean-up turned upright is encoded once, upright. Pages with a source JPEG are
    left out (the PDF embeds the JPEG's own bytes), and so is anything past ``budget`` bytes of
    encodings. :meth:`take` gives a page's encoding only when the page still holds the very pixels
    that were encoded; a page whose pixels changed in any way is encoded by the PDF itself.
    :meth:`close` (or ``with``) stops what has not started."""

    def __init__(self, pages: list[Page] | tuple[Page, ...], *, ahead: int | None = None,
                 budget: int = PREPARED_BYTES) -> None:
        self._budget = budget
        self._held = 0
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, int], tuple[np.ndarray, Future[EncodedImage | None]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sohoa-pdf-images")
        for page in pages[:ahead]:
            self._prepare(page)

    def _prepare(self, page: Page) -> None:
        if page.source_jpeg is None and page.image is not None and page.image.ndim in (2, 3):
            self._entries[(page.source_sha256, page.index)] = (page.image, self._pool.submit(self._encode, page.image))

    def given(self, page: Page, encoded: EncodedImage) -> None:
        """``encoded``, made elsewhere of ``page``'s pixels (a Celery page task made it beside the
        page's OCR), is the encoding :meth:`take` gives for them; one that does not fit them is
        ignored (the PDF encodes the page itself)."""
        if page.source_jpeg is not None or page.image is None or not encoded.fits(page.image):
            return
        ready: Future[EncodedImage | None] = Future()
        ready.set_result(encoded)
        with self._lock:
            self._held += len(encoded.data)
        self._entries[(page.source_sha256, page.index)] = (page.image, ready)

    def done(self, page: Page) -> None:
        """``page`` is through its page work: its pixels are encoded now unless the encoding made
        ahead is of these very pixels (a page turned upright has others)."""
        if page.failure is not None:
            return
        entry = self._entries.get((page.source_sha256, page.index))
        if entry is not None:
            if _same_pixels(entry[0], page.image):
                return
            self._drop(entry[1])
        self._prepare(page)

    def _drop(self, future: Future[EncodedImage | None]) -> None:
        """Let go of an encoding no page will take: stopped if it has not started, its bytes no
        longer counted once it is made."""
        if not future.cancel():
            future.add_done_callback(self._forget)

    def _forget(self, future: Future[EncodedImage | None]) -> None:
        encoded = None if future.cancelled() or future.exception() is not None else future.result()
        if encoded is not None:
            with self._lock:
                self._held -= len(encoded.data)

    def _encode(self, image: np.ndarray) -> EncodedImage | None:
        with self._lock:
            if self._held >= self._budget:
                return None
        encoded = encode_image(image)
        with self._lock:
            self._held += len(encoded.data)
        return encoded

    def take(self, page: Page) -> EncodedImage | None:
        """The encoding of ``page``'s pixels, waiting for it if it is being made; None when there is
        none for these pixels (the caller encodes them). Given once: its bytes are let go of here."""
        entry = self._entries.pop((page.source_sha256, page.index), None)
        if entry is None:
            return None
        original, future = entry
        if not _same_pixels(original, page.image):
            self._drop(future)
            return None
        try:
            encoded = future.result()
        except Exception as exc:  # noqa: BLE001 - the PDF encodes the page itself and reports its own fault
            log.warning("%s: the page image was not prepared (%s); encoded now", page.label, exc)
            return None
        if encoded is not None:
            with self._lock:
                self._held -= len(encoded.data)
        return encoded

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._entries.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _same_pixels(original: np.ndarray, image: np.ndarray | None) -> bool:
    """Whether ``image`` is ``original``'s pixels: the same array (an upright page's clean-up keeps
    it), or one equal to it (a page sent to a page worker and back)."""
    if image is None:
        return False
    if image is original:
        return True
    return image.shape == original.shape and image.dtype == original.dtype and bool(np.array_equal(image, original))
