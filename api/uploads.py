"""Receiving a station's upload: the multipart body streamed to disk, and every file checked.

A scan batch can be hundreds of megabytes, so the body is never held in memory: each file part is
written in chunks to a spool folder as it arrives, hashed on the way, and the upload is cut short
the moment a limit is crossed (size, number of files) or the first bytes show a type we do not take.
Files are named in the spool by their position only; the name the station sent is cleaned and kept
for display, never used as a path.

After the body is in, each file is inspected at header level — enough to refuse what the pipeline
would refuse (page count, pixel bombs, encrypted or unreadable PDFs) within the upload answer's
time budget, without decoding a single page. Any refusal removes the spool folder: nothing of a
refused upload stays on disk.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import struct
import unicodedata
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

from api.budget import OverBudget, ParseBudget, Refused, run_budgeted
from pipeline.deadline import OverTime, time_limit
from pipeline.ingest import (
    ContentBomb,
    MalformedPage,
    check_content,
    check_page_tree,
    check_repairs,
    sniff,
    tiff_page_cut_short,
)

log = logging.getLogger(__name__)

MEDIA_TYPES = {"pdf": "application/pdf", "tiff": "image/tiff", "jpeg": "image/jpeg", "png": "image/png"}
EXTENSIONS = {"pdf": ".pdf", "tiff": ".tif", "jpeg": ".jpg", "png": ".png"}
MAX_FIELD_BYTES = 1024
MAX_PARTS = 200
PDF_MAX_POINTS = 14_400  # the largest page side PDF allows (200 in); beyond that a page is a bomb
# Opening a PDF's text layer as ingest does takes milliseconds on what scanners and office programs
# write, and reading one whose cross-reference table is off (pdfminer then reads every line) 0.7 s of
# CPU for 47 MB of scans; a file that needs more than this wall time, at low priority on a busy
# machine, is built to stall its job (see _open_text_layer).
TEXT_LAYER_SECONDS = 10
TEXT_LAYER_BYTES_PER_SECOND = 10 * 2**20  # and a second more for every 10 MiB of the file


class UploadRefused(Exception):
    """A refusal the station can act on: HTTP status plus one clear line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_batch_bytes: int
    max_files: int
    max_pages: int
    max_page_pixels: int


@dataclass
class ReceivedFile:
    """One file part as written to the spool folder."""

    index: int
    name: str  # cleaned display name; never a path
    path: Path
    size: int = 0
    sha256: str = ""
    kind: str = ""  # pdf / tiff / jpeg / png
    pages: int = 0

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.kind, "application/octet-stream")

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "media_type": self.media_type,
            "pages": self.pages,
            "spool_name": self.path.name,
        }


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)


def display_name(raw: str | None, index: int) -> str:
    """A name fit to show: last path component only, NFC, no control characters, bounded length."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:200] or f"file-{index + 1}"


def boundary_of(content_type: str | None) -> bytes:
    if not content_type:
        raise UploadRefused(415, "the upload must be multipart/form-data (no Content-Type given)")
    ctype, params = parse_options_header(content_type)
    if ctype != b"multipart/form-data":
        raise UploadRefused(415, f"the upload must be multipart/form-data, not {ctype.decode('latin-1')}")
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise UploadRefused(400, "the multipart Content-Type has no usable boundary")
    return boundary


class _Receiver:
    """python-multipart callbacks that write file parts to the spool and keep small fields."""

    def __init__(self, spool: Path, limits: UploadLimits) -> None:
        self.spool = spool
        self.limits = limits
        self.form = ReceivedForm()
        self.total = 0
        self.parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._field_name: str | None = None
        self._field_value = bytearray()
        self._file: ReceivedFile | None = None
        self._out = None
        self._hash = None
        self._head = b""
        self.error: UploadRefused | None = None

    # --- callbacks -------------------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise UploadRefused(400, f"too many form parts (more than {MAX_PARTS})")
        self._headers = {}
        self._field_name = None
        self._field_value = bytearray()
        self._file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if len(self._headers) > 16:
            raise UploadRefused(400, "too many headers in a form part")
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field = bytearray()
        self._header_value = bytearray()

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise UploadRefused(400, "a form part has no Content-Disposition: form-data; name=…")
        name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options or name == "files":
            index = len(self.form.files)
            if index >= self.limits.max_files:
                raise UploadRefused(413, f"too many files in one upload (the limit is {self.limits.max_files})")
            raw = options.get(b"filename", b"").decode("utf-8", "replace")
            path = self.spool / f"{index:03d}.part"
            self._file = ReceivedFile(index=index, name=display_name(raw, index), path=path)
            self._out = path.open("xb")
            self._hash = hashlib.sha256()
            self._head = b""
        else:
            self._field_name = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is None:
            self._field_value += chunk
            if len(self._field_value) > MAX_FIELD_BYTES:
                raise UploadRefused(400, f"form field {self._field_name!r} is longer than {MAX_FIELD_BYTES} bytes")
            return
        f = self._file
        f.size += len(chunk)
        self.total += len(chunk)
        if f.size > self.limits.max_file_bytes:
            raise UploadRefused(
                413, f"{f.name}: larger than the limit of {self.limits.max_file_bytes / 2**20:.0f} MiB per file"
            )
        if self.total > self.limits.max_batch_bytes:
            raise UploadRefused(
                413, f"the upload is larger than the limit of {self.limits.max_batch_bytes / 2**20:.0f} MiB per batch"
            )
        if len(self._head) < 1024:
            self._head += chunk[: 1024 - len(self._head)]
            if len(self._head) >= 1024 and sniff(self._head) is None:
                raise UploadRefused(415, f"{f.name}: not a PDF, TIFF, JPEG or PNG file (by its first bytes)")
        self._hash.update(chunk)  # type: ignore[union-attr]
        self._out.write(chunk)  # type: ignore[union-attr]

    def on_part_end(self) -> None:
        if self._file is not None:
            self._out.close()  # type: ignore[union-attr]
            self._out = None
            f = self._file
            f.sha256 = self._hash.hexdigest()  # type: ignore[union-attr]
            if f.size == 0:
                raise UploadRefused(422, f"{f.name}: the file is empty")
            kind = sniff(self._head)
            if kind is None:
                raise UploadRefused(415, f"{f.name}: not a PDF, TIFF, JPEG or PNG file (by its first bytes)")
            f.kind = kind
            final = f.path.with_suffix(EXTENSIONS[kind])
            f.path.rename(final)
            f.path = final
            self.form.files.append(f)
            self._file = None
        elif self._field_name is not None:
            try:
                value = bytes(self._field_value).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UploadRefused(400, f"form field {self._field_name!r} is not UTF-8") from exc
            self.form.fields[self._field_name] = unicodedata.normalize("NFC", value).strip()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


async def receive_multipart(
    stream: AsyncIterator[bytes], content_type: str | None, spool: Path, limits: UploadLimits
) -> ReceivedForm:
    """Stream a multipart body into ``spool`` (created here); the caller removes it on refusal."""
    boundary = boundary_of(content_type)
    spool.mkdir(parents=True, exist_ok=False)
    receiver = _Receiver(spool, limits)
    callbacks = {
        name: getattr(receiver, name)
        for name in (
            "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value",
            "on_header_end", "on_headers_finished",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    complete = False
    try:
        async for chunk in stream:
            if chunk:
                parser.write(chunk)
        parser.finalize()
        complete = True
    except UploadRefused:
        raise
    except Exception as exc:  # the parser's own errors: a malformed body is the client's fault
        raise UploadRefused(400, f"the multipart body is malformed ({type(exc).__name__})") from exc
    finally:
        receiver.close()
    if complete and receiver._file is not None:
        raise UploadRefused(400, "the multipart body ended in the middle of a file")
    return receiver.form


# ------------------------------------------------------------------------------- header-level checks


def inspect_files(files: list[ReceivedFile], limits: UploadLimits, budget: ParseBudget | None) -> None:
    """:func:`inspect_file` for every file, in a process of its own under ``budget`` (see
    :mod:`api.budget`): the files are parsed by C libraries and their cost is the file's choice,
    so the serving process never parses them itself. Sets each file's ``pages``. ``budget`` None
    inspects here (the command line, tests of the checks themselves)."""
    if budget is None:
        for f in files:
            inspect_file(f, limits)
        return
    try:
        pages = run_budgeted(_inspect_all, files, limits, budget=budget)
    except Refused as exc:
        raise UploadRefused(exc.status, exc.message) from exc
    except OverBudget as exc:
        names = ", ".join(f.name for f in files[:3]) + (", …" if len(files) > 3 else "")
        raise UploadRefused(422, f"{names}: refused: checking the upload was stopped because {exc} "
                                 "(SOHOA_API_PARSE_*)") from exc
    except RuntimeError as exc:
        log.error("upload check failed: %s", exc)
        raise UploadRefused(422, "the files could not be checked; they were not accepted") from exc
    for f, count in zip(files, pages, strict=True):
        f.pages = count


def _inspect_all(files: list[ReceivedFile], limits: UploadLimits) -> list[int]:
    for f in files:
        inspect_file(f, limits)
    return [f.pages for f in files]


def inspect_file(f: ReceivedFile, limits: UploadLimits) -> None:
    """Count pages and look at declared sizes, without decoding pixels; sets ``f.pages``."""
    if f.kind == "pdf":
        f.pages = _inspect_pdf(f, limits)
    else:
        f.pages = _inspect_image(f, limits)
    if f.pages == 0:
        raise UploadRefused(422, f"{f.name}: has no pages")
    if f.pages > limits.max_pages:
        raise UploadRefused(413, f"{f.name}: has {f.pages} pages, above the limit of {limits.max_pages}")


def _inspect_image(f: ReceivedFile, limits: UploadLimits) -> int:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(f.path) as im:
            if im.format and im.format.lower() not in ("png", "jpeg", "tiff", "mpo"):
                raise UploadRefused(415, f"{f.name}: not a PDF, TIFF, JPEG or PNG file")
            count = getattr(im, "n_frames", 1) if f.kind == "tiff" else 1
            if count > limits.max_pages:
                raise UploadRefused(413, f"{f.name}: has {count} pages, above the limit of {limits.max_pages}")
            for index in range(count):
                if index:
                    im.seek(index)
                w, h = im.size
                if w <= 0 or h <= 0:
                    raise UploadRefused(422, f"{f.name}: page {index + 1} has no pixels")
                # JPEG pages above the limit are decoded at a reduced scale by ingest; anything else
                # that declares more pixels than the limit is a decompression bomb or a mistake.
                limit = limits.max_page_pixels * (64 if f.kind == "jpeg" else 1)
                if w * h > limit:
                    raise UploadRefused(
                        413,
                        f"{f.name}: page {index + 1} declares {w}x{h} pixels, above the limit of "
                        f"{limits.max_page_pixels:,} (a decompression bomb or an oversized scan)",
                    )
                _check_complete(f, im, index)
            return count
    except UploadRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise UploadRefused(413, f"{f.name}: refused as a decompression bomb ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, TypeError, KeyError, SyntaxError, EOFError) as exc:
        # Pillow raises TypeError/KeyError on a TIFF page directory cut short, and names the spool
        # file it opened: the station hears the file's own name, never a server path.
        said = _short(exc, f)
        raise UploadRefused(422, f"{f.name}: not a readable {f.kind.upper()} image ({said})") from exc


def _check_complete(f: ReceivedFile, im: object, index: int) -> None:
    """Refuse an image cut short, which the header alone does not show: a JPEG is decoded whole
    (at an eighth of its size: every coded block is still read), a PNG's chunks are followed to
    their end and its pixel data inflated without being kept, a TIFF page's strips must lie
    inside the file."""
    if f.kind == "jpeg":
        w, h = im.size  # type: ignore[attr-defined]
        im.draft(im.mode, (max(1, w // 8), max(1, h // 8)))  # type: ignore[attr-defined]
        im.load()  # type: ignore[attr-defined]
    elif f.kind == "png":
        _check_png(f)
    elif f.kind == "tiff":
        _check_tiff_strips(f, im, index)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(f: ReceivedFile) -> None:
    """Every chunk whole with its CRC, up to ``IEND``; the pixel data (``IDAT``) a complete zlib
    stream. Inflated a MiB at a time and thrown away: the check holds no page."""
    inflater = zlib.decompressobj()
    with f.path.open("rb") as fh:
        if fh.read(8) != PNG_SIGNATURE:
            raise UploadRefused(422, f"{f.name}: not a readable PNG image (bad signature)")
        while True:
            header = fh.read(8)
            if len(header) < 8:
                raise UploadRefused(422, f"{f.name}: the PNG image is cut short (no end chunk)")
            length, kind = struct.unpack(">I4s", header)
            if length > 2**31 - 1:
                raise UploadRefused(422, f"{f.name}: the PNG image is damaged (a chunk of {length:,} bytes)")
            crc = zlib.crc32(kind)
            left = length
            while left:
                data = fh.read(min(left, 2**20))
                if not data:
                    raise UploadRefused(422, f"{f.name}: the PNG image is cut short")
                left -= len(data)
                crc = zlib.crc32(data, crc)
                if kind == b"IDAT" and not inflater.eof:
                    try:
                        while data:
                            inflater.decompress(data, 2**20)
                            data = inflater.unconsumed_tail
                    except zlib.error as exc:
                        raise UploadRefused(422, f"{f.name}: the PNG image's pixel data is damaged") from exc
            stored = fh.read(4)
            if len(stored) < 4:
                raise UploadRefused(422, f"{f.name}: the PNG image is cut short")
            if struct.unpack(">I", stored)[0] != crc & 0xFFFFFFFF:
                raise UploadRefused(422, f"{f.name}: the PNG image is damaged (a chunk fails its checksum)")
            if kind == b"IEND":
                break
    if not inflater.eof:
        raise UploadRefused(422, f"{f.name}: the PNG image's pixel data is cut short")


def _check_tiff_strips(f: ReceivedFile, im: object, index: int) -> None:
    size = f.path.stat().st_size
    tags = getattr(im, "tag_v2", {})
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):  # strips, tiles
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None:
            continue
        offsets = offsets if isinstance(offsets, (tuple, list)) else (offsets,)
        counts = counts if isinstance(counts, (tuple, list)) else ((counts,) if counts is not None else ())
        if len(counts) != len(offsets):
            raise UploadRefused(422, f"{f.name}: page {index + 1} of the TIFF is damaged (its strips are not counted)")
        if any(int(o) + int(c) > size for o, c in zip(offsets, counts, strict=True)):
            raise UploadRefused(422, f"{f.name}: page {index + 1} of the TIFF is cut short (its pixel data "
                                     "lies past the end of the file)")
    if tiff_page_cut_short(f.path, im):  # type: ignore[arg-type]
        raise UploadRefused(422, f"{f.name}: page {index + 1} of the TIFF is cut short (the file ends inside "
                                 "its directory: later pages are lost)")


def _inspect_pdf(f: ReceivedFile, limits: UploadLimits) -> int:
    import pikepdf

    try:
        pdf = pikepdf.open(f.path)
    except pikepdf.PasswordError as exc:
        raise UploadRefused(422, f"{f.name}: the PDF is encrypted (password protected); decrypt it first") from exc
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        raise UploadRefused(422, f"{f.name}: not a readable PDF ({_short(exc, f)})") from exc
    with pdf:
        if pdf.is_encrypted:
            raise UploadRefused(422, f"{f.name}: the PDF is encrypted; decrypt it first")
        try:
            count = len(pdf.pages)
        except (pikepdf.PdfError, ValueError, RecursionError) as exc:
            raise UploadRefused(422, f"{f.name}: the PDF page tree is damaged ({_short(exc, f)})") from exc
        if count > limits.max_pages:
            raise UploadRefused(413, f"{f.name}: has {count} pages, above the limit of {limits.max_pages}")
        try:
            check_repairs(pdf, f.name)
        except MalformedPage as exc:
            raise UploadRefused(422, str(exc)) from exc
        try:
            for index, page in enumerate(pdf.pages):
                _check_pdf_page(f, index, page, limits)
        except UploadRefused:
            raise
        except (pikepdf.PdfError, ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
            raise UploadRefused(422, f"{f.name}: the PDF is damaged ({_short(exc, f)})") from exc
        if pdf.get_warnings():
            log.info("%s: qpdf repaired the file (%d warnings)", f.name, len(pdf.get_warnings()))
    _open_pages(f, count)
    _open_text_layer(f)
    return count


def _open_text_layer(f: ReceivedFile) -> None:
    """Open the file's text layer and list its pages as ingest will (pdfplumber, on pdfminer), within
    :data:`TEXT_LAYER_SECONDS` (more for a larger file). pdfminer reads a line in time that grows
    with its square: a readable page behind a 40 MB comment line passed every check above (qpdf and
    pdfium read it in a second) and then held its job for minutes. A file pdfminer cannot read at
    all is not refused: ingest OCRs its pages instead (each page's own text is read in the job,
    under the page budget)."""
    import pdfplumber

    seconds = TEXT_LAYER_SECONDS + f.path.stat().st_size // TEXT_LAYER_BYTES_PER_SECOND
    try:
        with time_limit(seconds), pdfplumber.open(f.path) as plumber:
            len(plumber.pages)
    except OverTime as exc:
        raise UploadRefused(422, f"{f.name}: its text layer cannot be read within {seconds} s (the file "
                                 "is built to be slow to parse); not accepted") from exc
    except Exception as exc:  # noqa: BLE001 - the library raises anything on broken files; ingest OCRs them
        log.info("%s: the text layer is unreadable (%s); its pages will be OCR'd", f.name, _short(exc, f))


def _open_pages(f: ReceivedFile, count: int) -> None:
    """Open the file and each of its pages as the renderer will (pdfium): qpdf repairs a file cut
    short without a word, pdfium refuses it, so a truncated PDF used to be accepted here and
    fail in its job. Each page's drawing instructions are parsed (they passed the content budget
    above), not drawn."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(f.path)
    except Exception as exc:
        raise UploadRefused(422, f"{f.name}: not a readable PDF; it may have been cut short ({_short(exc, f)})") from exc
    try:
        if len(doc) != count:
            raise UploadRefused(422, f"{f.name}: the PDF is damaged (its page tree holds {count} pages, "
                                     f"its renderer finds {len(doc)}); it may have been cut short")
        for index in range(count):
            try:
                page = doc[index]
            except Exception as exc:
                raise UploadRefused(422, f"{f.name}: page {index + 1} cannot be opened ({_short(exc, f)})") from exc
            page.close()
    finally:
        doc.close()


def _check_pdf_page(f: ReceivedFile, index: int, page: object, limits: UploadLimits) -> None:
    import pikepdf

    try:
        check_page_tree(page.obj, f"{f.name}: page {index + 1}")  # type: ignore[attr-defined]
    except MalformedPage as exc:
        raise UploadRefused(422, str(exc)) from exc
    box = [float(v) for v in page.mediabox]  # type: ignore[attr-defined]
    width, height = abs(box[2] - box[0]), abs(box[3] - box[1])
    if width > PDF_MAX_POINTS or height > PDF_MAX_POINTS:
        raise UploadRefused(413, f"{f.name}: page {index + 1} is {width:.0f}x{height:.0f} pt, larger than PDF allows")
    try:
        # The same budget as ingest's: a few KB of Flate that inflate to megabytes of operators
        # would otherwise be accepted here and stall the job that parses them.
        check_content(page.obj, f"{f.name}: page {index + 1}")  # type: ignore[attr-defined]
    except ContentBomb as exc:
        raise UploadRefused(413, str(exc)) from exc
    except MalformedPage as exc:
        raise UploadRefused(422, str(exc)) from exc
    resources = page.obj.get("/Resources")  # type: ignore[attr-defined]
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if not isinstance(xobjects, pikepdf.Dictionary):
        return
    for xobj in xobjects.values():
        if not isinstance(xobj, pikepdf.Stream) or xobj.get("/Subtype") != "/Image":
            continue
        try:
            w, h = int(xobj.get("/Width", 0)), int(xobj.get("/Height", 0))
        except (TypeError, ValueError) as exc:  # qpdf's "Object is not numeric" named nothing
            raise UploadRefused(422, f"{f.name}: page {index + 1} holds an image whose width or height is not a "
                                     "number; the PDF is damaged") from exc
        if w * h > limits.max_page_pixels * (64 if xobj.get("/Filter") == "/DCTDecode" else 1):
            raise UploadRefused(
                413,
                f"{f.name}: page {index + 1} holds an image of {w}x{h} pixels, above the limit of "
                f"{limits.max_page_pixels:,} (a decompression bomb or an oversized scan)",
            )


def _short(exc: BaseException, f: ReceivedFile) -> str:
    """The library's first line, short, naming the file as the station sent it: Pillow, qpdf and
    pdfium name the spool file they opened, a server path the station must never hear (replaced
    before the line is cut, so no piece of it is left either)."""
    text = str(exc).replace(str(f.path), f.name)
    line = text.splitlines()[0] if text.strip() else type(exc).__name__
    return line[:160]


def remove_spool(spool: Path) -> None:
    shutil.rmtree(spool, ignore_errors=True)
