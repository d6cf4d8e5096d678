"""The searchable PDF/A-2b: each page's original scan pixels with an invisible, aligned text layer.

What is shown is ``Page.image`` — the original pixels, only turned upright — embedded losslessly:
a JPEG source goes in as its own bytes (DCTDecode; the quarter turn is done by the drawing matrix,
so no pixel is re-encoded), anything else as Flate with PNG predictors. The text layer is drawn in
render mode 3 (invisible) with a glyphless TrueType font built here (every character maps to one
empty glyph; a ToUnicode CMap gives the exact NFC text back), one text line per OCR line, each word
stretched horizontally to its box, so selecting or searching text highlights the right place and
pdfplumber reads back exactly ``Page.text``.

PDF/A-2b needs, and gets: an embedded font with consistent widths, XMP metadata with the PDF/A
identification matching the document info, an sRGB OutputIntent, no encryption, no transparency.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import struct
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import pikepdf
from PIL import Image, ImageCms

from core.errors import InputError
from core.glyphless import FONT_NAME, GLYPH_ADVANCE, glyphless_font
from core.model import Page, Word, nfc
from pipeline.ocr import DisplayFrame, row_geometry
from pipeline.pdf_images import PreparedImages, encode_image

log = logging.getLogger(__name__)

PRODUCER = "sohoa"


# The ICC header's creation date (bytes 24-35, six big-endian uint16), fixed: LittleCMS stamps the
# moment the profile is made, which made two processes' PDFs of the same pages differ.
_ICC_DATE = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)


@functools.cache
def srgb_profile() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return profile[:24] + _ICC_DATE + profile[36:]  # no profile ID (bytes 84-99 zero) to recompute


class _CharMap:
    """CIDs handed out per document: 1, 2, … for each distinct character, all drawn by glyph 1."""

    def __init__(self) -> None:
        self.cids: dict[str, int] = {}

    def encode(self, text: str) -> bytes:
        out = bytearray()
        for ch in text:
            cid = self.cids.get(ch)
            if cid is None:
                cid = len(self.cids) + 1
                self.cids[ch] = cid
            out += struct.pack(">H", cid)
        return bytes(out)

    def tounicode(self) -> bytes:
        lines = [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <FFFF>",
            "endcodespacerange",
        ]
        items = sorted(self.cids.items(), key=lambda kv: kv[1])
        for start in range(0, len(items), 100):
            chunk = items[start : start + 100]
            lines.append(f"{len(chunk)} beginbfchar")
            for ch, cid in chunk:
                lines.append(f"<{cid:04X}> <{ch.encode('utf-16-be').hex().upper()}>")
            lines.append("endbfchar")
        lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
        return ("\n".join(lines) + "\n").encode("ascii")

    def cid_to_gid(self) -> bytes:
        return b"\x00\x00" + b"\x00\x01" * len(self.cids)


def _font(pdf: pikepdf.Pdf, chars: _CharMap) -> pikepdf.Dictionary:
    font_file = pikepdf.Stream(pdf, glyphless_font())
    font_file.Length1 = len(glyphless_font())
    descriptor = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor,
            FontName=pikepdf.Name("/" + FONT_NAME),
            Flags=4,
            FontBBox=[0, 0, GLYPH_ADVANCE, 1000],
            ItalicAngle=0,
            Ascent=1000,
            Descent=0,
            CapHeight=1000,
            StemV=80,
            FontFile2=font_file,
        )
    )
    cid_font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.CIDFontType2,
            BaseFont=pikepdf.Name("/" + FONT_NAME),
            CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
            FontDescriptor=descriptor,
            DW=GLYPH_ADVANCE,
            CIDToGIDMap=pikepdf.Stream(pdf, zlib.compress(chars.cid_to_gid()), Filter=pikepdf.Name.FlateDecode),
        )
    )
    return pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name("/" + FONT_NAME),
            Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=[cid_font],
            ToUnicode=pikepdf.Stream(pdf, zlib.compress(chars.tounicode()), Filter=pikepdf.Name.FlateDecode),
        )
    )


# ----------------------------------------------------------------------------------------- the image


def _jpeg_info(data: bytes) -> tuple[int, int, str] | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "JPEG" or im.mode not in ("L", "RGB"):
                return None
            return im.width, im.height, im.mode
    except OSError:
        return None


def _image_xobject(pdf: pikepdf.Pdf, page: Page, prepared: PreparedImages | None = None) -> tuple[pikepdf.Stream, int]:
    """The page's image XObject and the clockwise quarter turn its drawing matrix must apply; the
    pixels' encoding is taken from ``prepared`` when it holds it (:mod:`pipeline.pdf_images`)."""
    h, w = page.image.shape[:2]
    if page.source_jpeg is not None:
        info = _jpeg_info(page.source_jpeg)
        upright = (w, h) if page.rotation in (0, 180) else (h, w)
        if info is not None and (info[0], info[1]) == upright:
            stream = pikepdf.Stream(
                pdf,
                page.source_jpeg,
                Type=pikepdf.Name.XObject,
                Subtype=pikepdf.Name.Image,
                Width=info[0],
                Height=info[1],
                ColorSpace=pikepdf.Name.DeviceGray if info[2] == "L" else pikepdf.Name.DeviceRGB,
                BitsPerComponent=8,
                Filter=pikepdf.Name.DCTDecode,
            )
            return stream, page.rotation % 360
    encoded = (prepared.take(page) if prepared is not None else None) or encode_image(page.image)
    stream = pikepdf.Stream(pdf, encoded.data)
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width = w
    stream.Height = h
    stream.Filter = pikepdf.Name.FlateDecode
    stream.DecodeParms = pikepdf.Dictionary(Predictor=15, Colors=encoded.colours, BitsPerComponent=encoded.bits,
                                            Columns=encoded.width)
    stream.ColorSpace = pikepdf.Name("/" + encoded.space)
    stream.BitsPerComponent = encoded.bits
    return stream, 0


def _image_matrix(turn: int, width: float, height: float) -> str:
    """``cm`` that draws an image, stored unturned, turned ``turn`` degrees clockwise onto the page."""
    if turn == 0:
        return f"{width:.4f} 0 0 {height:.4f} 0 0 cm"
    if turn == 90:
        return f"0 {-height:.4f} {width:.4f} 0 0 {height:.4f} cm"
    if turn == 180:
        return f"{-width:.4f} 0 0 {-height:.4f} {width:.4f} {height:.4f} cm"
    return f"0 {height:.4f} {-width:.4f} 0 {width:.4f} 0 cm"


# ------------------------------------------------------------------------------------ the text layer


def _text_layer(page: Page, chars: _CharMap, frame: DisplayFrame, k: float) -> str:
    """Invisible text in the display frame: per row one baseline and one size
    (:func:`~pipeline.ocr.row_geometry`), per word a horizontal stretch to its box, and a real space
    between words stretched over the gap."""
    lines: dict[int, list[tuple[Word, tuple[float, float, float, float]]]] = {}
    for word in page.words:
        if word.text:
            lines.setdefault(word.line, []).append((word, frame.box(word.box)))
    if not lines:
        return ""
    height_pt = frame.height * k
    out = ["BT", "3 Tr"]
    space_cid = chars.encode(" ").hex()
    for number in sorted(lines):
        words = sorted(lines[number], key=lambda wd: (wd[1][0], wd[1][1]))
        top, bottom = row_geometry([d for _, d in words])
        size = max(1.0, (bottom - top) * k)
        baseline = height_pt - bottom * k
        out.append(f"/F1 {size:.3f} Tf")
        # Each word is drawn from its box's left to its right, except that it never starts before the
        # previous one ended, so reading order by position is the order of the words (boxes can
        # overlap), and a space glyph always spans the gap to the next word.
        cursor = -1e9
        min_w = 0.01 * size
        for i, (word, (left, _, right, _)) in enumerate(words):
            text = nfc(word.text)
            nxt_left = words[i + 1][1][0] * k if i + 1 < len(words) else None
            start = max(left * k, cursor)
            end = right * k
            if nxt_left is not None:
                end = min(end, nxt_left - 2 * min_w)
            end = max(end, start + min_w * len(text))
            natural = len(text) * GLYPH_ADVANCE / 1000 * size
            out.append(f"1 0 0 1 {start:.3f} {baseline:.3f} Tm")
            out.append(f"{100.0 * (end - start) / natural:.4f} Tz <{chars.encode(text).hex()}> Tj")
            cursor = end
            if nxt_left is not None:
                space_end = max(nxt_left, end + min_w)
                space = GLYPH_ADVANCE / 1000 * size
                out.append(f"{100.0 * (space_end - end) / space:.4f} Tz <{space_cid}> Tj")
                cursor = space_end
    out.append("ET")
    return "\n".join(out)


def _skew_matrix(frame: DisplayFrame, k: float) -> str:
    """``cm`` turning the upright page (points, y up) by the skew angle onto the display frame."""
    if not frame.angle:
        return ""
    rad = math.radians(frame.angle)
    cos, sin = math.cos(rad), math.sin(rad)
    w, h = frame.image_width, frame.image_height
    e = k * (sin * h / 2 - cos * w / 2 + frame.width / 2)
    f = k * (frame.height / 2 - sin * w / 2 - cos * h / 2)
    return f"{cos:.8f} {sin:.8f} {-sin:.8f} {cos:.8f} {e:.4f} {f:.4f} cm\n"


# ---------------------------------------------------------------------------------------- assembling


def build_searchable_pdf(
    pages: Iterable[Page],
    *,
    title: str,
    author: str = "",
    subject: str = "",
    keywords: Sequence[str] = (),
    created: datetime | None = None,
    prepared: PreparedImages | None = None,
) -> bytes:
    """A PDF/A-2b of ``pages``: original pixels (upright) plus the invisible OCR text.

    ``created`` fixes the document dates (and so the bytes) for reproducible output. ``pages`` may be
    an iterator: each page's pixels are compressed into the PDF as it comes, so a caller that streams
    pages never holds more than one decoded page. ``prepared`` holds pages' pixels already
    compressed (the same bytes, made beside the OCR: :mod:`pipeline.pdf_images`).
    """
    created = (created or datetime.now(UTC)).replace(microsecond=0)
    pdf = pikepdf.new()
    chars = _CharMap()
    page_fonts: list[pikepdf.Dictionary] = []
    count = 0
    for page in pages:
        count += 1
        h, w = page.image.shape[:2]
        dpi = page.dpi if page.dpi and page.dpi > 0 else 300.0
        k = 72.0 / dpi
        width_pt, height_pt = w * k, h * k
        frame = DisplayFrame.of(page.image.shape, page.skew_angle)
        xobj, turn = _image_xobject(pdf, page, prepared)
        # The original pixels, turned upright by the drawing matrix when they are a JPEG's own, and
        # deskewed the same way: displayed turned, never resampled into the file.
        content = f"q\n{_skew_matrix(frame, k)}{_image_matrix(turn, width_pt, height_pt)}\n/Im0 Do\nQ\n"
        content += _text_layer(page, chars, frame, k)
        resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobj))
        pdf_page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, round(frame.width * k, 4), round(frame.height * k, 4)],
            Resources=resources,
            Contents=pikepdf.Stream(pdf, zlib.compress(content.encode("ascii")), Filter=pikepdf.Name.FlateDecode),
        )
        pdf.pages.append(pikepdf.Page(pdf_page))
        page_fonts.append(pdf.pages[-1].obj.Resources)
    if not count:
        raise InputError("no pages to put into a PDF")
    font = _font(pdf, chars)
    for resources in page_fonts:
        resources.Font = pikepdf.Dictionary(F1=font)

    icc = pikepdf.Stream(pdf, zlib.compress(srgb_profile()), Filter=pikepdf.Name.FlateDecode, N=3)
    pdf.Root.OutputIntents = [
        pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent,
            S=pikepdf.Name.GTS_PDFA1,
            OutputConditionIdentifier="sRGB",
            Info="sRGB IEC61966-2.1",
            DestOutputProfile=icc,
        )
    ]
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["dc:title"] = nfc(title)
        if author:
            meta["dc:creator"] = [nfc(author)]
        if subject:
            meta["dc:description"] = nfc(subject)
        if keywords:
            meta["pdf:Keywords"] = nfc(", ".join(keywords))
        meta["pdf:Producer"] = PRODUCER
        meta["xmp:CreatorTool"] = PRODUCER
        meta["xmp:CreateDate"] = stamp
        meta["xmp:ModifyDate"] = stamp
        meta["xmp:MetadataDate"] = stamp
    pdf_date = created.strftime("D:%Y%m%d%H%M%S+00'00'")
    pdf.docinfo[pikepdf.Name.CreationDate] = pdf_date
    pdf.docinfo[pikepdf.Name.ModDate] = pdf_date
    pdf.docinfo[pikepdf.Name.Producer] = PRODUCER
    pdf.docinfo[pikepdf.Name.Creator] = PRODUCER
    buf = io.BytesIO()
    pdf.save(buf, static_id=False, deterministic_id=True, force_version="1.7",
             object_stream_mode=pikepdf.ObjectStreamMode.disable)
    log.info("searchable PDF/A-2b of %d pages, %d bytes", count, buf.tell())
    return buf.getvalue()
