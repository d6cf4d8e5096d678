"""The visible certification stamp, drawn onto the document's last page.

The stamp is on the hot path of every certified copy, so it is drawn as two 1-bit stencil images
(red text and frame, black QR code) with Pillow and placed with pikepdf: no font subsetting at
signing time (that alone costs more than the whole signature), and a stencil is transparent, so
nothing under the stamp is hidden. The same words are laid over it in an invisible glyphless font,
so the copy's text layer holds the certification number and the statement. The words of the stamp are also put in the
signature's /Reason and /Location, where they stay machine-readable.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import qrcode
from PIL import Image, ImageDraw, ImageFont

from core.model import nfc
from core.vietnam_time import VIETNAM_TIME
from signing.glyphless import FONT_NAME, GLYPH_ADVANCE, CharMap, glyphless_font

CERTIFICATION_PHRASE = nfc("Chứng thực bản sao điện tử từ bản chính")
# The certification statement (lời chứng) of the form for copies certified from originals
# (Circular 01/2020/TT-BTP): what the certifying officer attests.
CERTIFICATION_STATEMENT = nfc("Chứng thực bản sao này đúng với bản chính.")
DEVELOPMENT_LINE = nfc("BẢN THỬ NGHIỆM - CHỈ DÙNG THỬ NGHIỆM / DEVELOPMENT ONLY")

# Size on the page, in points, and the raster resolution of the stencils (pixels per point).
STAMP_WIDTH_PT = 250.0
STAMP_HEIGHT_PT = 100.0
MARGIN_PT = 18.0
SCALE = 4  # 288 dpi: crisp in print, and still a few ms to draw

RED = (0.78, 0.05, 0.05)
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto"))
FONT_FILES = {"regular": ("DejaVuSans.ttf", "NotoSans-Regular.ttf"), "bold": ("DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf")}


@dataclass(frozen=True)
class StampText:
    """What the stamp says, already formatted."""

    agency: str
    officer: str
    certification_number: str
    signed_at: datetime
    qr_payload: str
    development: bool = False
    result_code: str | None = None

    def lines(self) -> list[tuple[str, str]]:
        """(style, text) lines, top to bottom."""
        when = self.signed_at.astimezone(VIETNAM_TIME) if self.signed_at.tzinfo else self.signed_at.replace(
            tzinfo=UTC
        ).astimezone(VIETNAM_TIME)
        lines = [
            ("bold", CERTIFICATION_PHRASE.upper()),
            ("regular", CERTIFICATION_STATEMENT),
            ("bold", nfc(self.agency)),
            ("regular", nfc(f"Người chứng thực: {self.officer}")),
            ("regular", nfc(f"Số chứng thực: {self.certification_number}")),
            ("regular", nfc(f"Ngày chứng thực: {when:%d/%m/%Y %H:%M} (UTC+7)")),
        ]
        if self.result_code:
            lines.append(("regular", nfc(f"Mã kết quả số hóa: {self.result_code}")))
        if self.development:
            lines.append(("bold", DEVELOPMENT_LINE))
        return lines


@functools.lru_cache(maxsize=16)
def _font(style: str, size: int) -> ImageFont.FreeTypeFont:
    for name in FONT_FILES[style]:
        for directory in FONT_DIRS:
            if (directory / name).exists():
                return ImageFont.truetype(str(directory / name), size)
    raise FileNotFoundError("no font with Vietnamese glyphs found (install fonts-dejavu-core)")


def _fit(draw: ImageDraw.ImageDraw, text: str, style: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    """The largest font not above ``size`` in which ``text`` fits ``width`` pixels."""
    while size > 8:
        font = _font(style, size)
        if draw.textlength(text, font=font) <= width:
            return font
        size -= 2
    return _font(style, size)


def render_text_mask(text: StampText, width_px: int, height_px: int, text_width_px: int) -> Image.Image:
    """The frame and the lines of text as a 1-bit image (1 = ink)."""
    image = Image.new("1", (width_px, height_px), 0)
    draw = ImageDraw.Draw(image)
    border = max(2, SCALE)
    draw.rectangle((border // 2, border // 2, width_px - border, height_px - border), outline=1, width=border)
    draw.rectangle((3 * border, 3 * border, width_px - 4 * border, height_px - 4 * border), outline=1, width=1)
    lines = text.lines()
    pad = 6 * border
    line_height = (height_px - 2 * pad) // len(lines)
    size = int(line_height * 0.78)
    width = text_width_px - 2 * pad
    sizes = [_fit(draw, line, style, size, width).size for style, line in lines]
    # One size for the body (statement, agency, officer, number, date) so the stamp reads as one
    # block; the heading and the development notice keep their own.
    body = range(1, len(lines) - int(text.development))
    body_size = min(sizes[i] for i in body)
    y = pad
    for index, (style, line) in enumerate(lines):
        font = _font(style, body_size if index in body else sizes[index])
        draw.text((pad, y), line, font=font, fill=1)
        y += line_height
    return image


def qr_matrix(payload: str) -> list[list[bool]]:
    # A fixed mask pattern: choosing the "best" one means building the symbol eight times, and
    # any mask scans; that choice is most of the stamp's cost otherwise.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=1, mask_pattern=2)
    code.add_data(payload)
    code.make(fit=True)
    return code.get_matrix()


def _stencil(pdf: pikepdf.Pdf, packed: bytes, width: int, height: int) -> pikepdf.Stream:
    """A 1-bit /ImageMask: painted in the current fill colour where a bit is 0 (Decode [1 0] flips
    that so that 1 = ink, as Pillow drew it)."""
    stream = pikepdf.Stream(pdf, zlib.compress(packed, 6))
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width = width
    stream.Height = height
    stream.ImageMask = True
    stream.BitsPerComponent = 1
    stream.Decode = pikepdf.Array([1, 0])
    stream.Filter = pikepdf.Name.FlateDecode
    return stream


def stamp_form(pdf: pikepdf.Pdf, text: StampText) -> pikepdf.Stream:
    """A Form XObject of STAMP_WIDTH_PT x STAMP_HEIGHT_PT holding the whole stamp."""
    width_px, height_px = int(STAMP_WIDTH_PT * SCALE), int(STAMP_HEIGHT_PT * SCALE)
    qr_side_pt = STAMP_HEIGHT_PT - 12
    text_width_px = int((STAMP_WIDTH_PT - qr_side_pt - 6) * SCALE)
    mask = render_text_mask(text, width_px, height_px, text_width_px)
    text_image = _stencil(pdf, mask.tobytes(), width_px, height_px)

    matrix = qr_matrix(text.qr_payload)
    modules = len(matrix)
    qr_bytes = bytearray()
    for row in matrix:
        bits = 0
        packed_row = bytearray()
        for i, dark in enumerate(row):
            bits = (bits << 1) | int(dark)
            if i % 8 == 7:
                packed_row.append(bits)
                bits = 0
        if modules % 8:
            packed_row.append(bits << (8 - modules % 8))
        qr_bytes += packed_row
    qr_image = _stencil(pdf, bytes(qr_bytes), modules, modules)
    qr_image.Interpolate = False

    qr_x = STAMP_WIDTH_PT - qr_side_pt - 6
    qr_y = 6
    chars = CharMap()
    words = _invisible_words(text.lines(), chars, (STAMP_WIDTH_PT - qr_side_pt - 6) - 12)
    content = (
        "q\n"
        f"{RED[0]} {RED[1]} {RED[2]} rg\n"
        f"q {STAMP_WIDTH_PT} 0 0 {STAMP_HEIGHT_PT} 0 0 cm /StampText Do Q\n"
        "0 0 0 rg\n"
        f"q {qr_side_pt} 0 0 {qr_side_pt} {qr_x} {qr_y} cm /StampQR Do Q\n"
        f"{words}\n"
        "Q\n"
    ).encode()
    form = pikepdf.Stream(pdf, content)
    form.Type = pikepdf.Name.XObject
    form.Subtype = pikepdf.Name.Form
    form.BBox = pikepdf.Array([0, 0, STAMP_WIDTH_PT, STAMP_HEIGHT_PT])
    form.Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(StampText=text_image, StampQR=qr_image),
        Font=pikepdf.Dictionary(F1=_glyphless(pdf, chars)),
    )
    return form


def _invisible_words(lines: list[tuple[str, str]], chars: CharMap, width_pt: float) -> str:
    """The stamp's lines again as invisible text where the stencil draws them: what a search finds."""
    pad = 6.0
    line_height = (STAMP_HEIGHT_PT - 2 * pad) / len(lines)
    size = line_height * 0.7
    ops = ["BT", "3 Tr", f"/F1 {size:.2f} Tf"]
    for index, (_style, line) in enumerate(lines):
        baseline = STAMP_HEIGHT_PT - pad - (index + 1) * line_height + 0.25 * line_height
        stretch = min(100.0, 100.0 * width_pt / max(1.0, 0.5 * size * len(line)))
        ops += [f"{stretch:.1f} Tz", f"1 0 0 1 {pad:.2f} {baseline:.2f} Tm", f"<{chars.encode(line).hex()}> Tj"]
    ops.append("ET")
    return "\n".join(ops)


def _glyphless(pdf: pikepdf.Pdf, chars: CharMap) -> pikepdf.Object:
    font = glyphless_font()
    font_file = pikepdf.Stream(pdf, font)
    font_file.Length1 = len(font)
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/" + FONT_NAME), Flags=4,
        FontBBox=[0, 0, GLYPH_ADVANCE, 1000], ItalicAngle=0, Ascent=1000, Descent=0, CapHeight=1000, StemV=80,
        FontFile2=font_file,
    )
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name("/" + FONT_NAME),
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor), DW=GLYPH_ADVANCE,
        CIDToGIDMap=pikepdf.Stream(pdf, zlib.compress(b"\x00\x00" + b"\x00\x01" * len(chars.cids)),
                                   Filter=pikepdf.Name.FlateDecode),
    )
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name("/" + FONT_NAME),
        Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[pdf.make_indirect(cid_font)],
        ToUnicode=pikepdf.Stream(pdf, zlib.compress(chars.tounicode()), Filter=pikepdf.Name.FlateDecode),
    ))


def _extend_page(page: pikepdf.Page, rotate: int, delta: float) -> None:
    """Grow the page by ``delta`` points at the edge a reader sees at the bottom, so the stamp
    gets a strip of its own and covers nothing of the original (a seal, a signature, a line)."""
    index, sign = {0: (1, -1), 90: (2, 1), 180: (3, 1), 270: (0, -1)}[rotate]
    crop = [float(v) for v in page.cropbox]
    crop[index] += sign * delta
    media = [float(v) for v in page.mediabox]
    media[index] = min(media[index], crop[index]) if sign < 0 else max(media[index], crop[index])
    page.obj.MediaBox = pikepdf.Array(media)
    if "/CropBox" in page.obj:
        page.obj.CropBox = pikepdf.Array(crop)


def apply_stamp(pdf: pikepdf.Pdf, text: StampText, *, extend_page: bool = True) -> tuple[float, float, float, float]:
    """Draw the stamp at the bottom right of the last page, in a strip added below the original
    content (``extend_page``) or over it; return its rectangle (unrotated user space)."""
    page = pdf.pages[-1]
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    if rotate not in (0, 90, 180, 270):
        rotate = 0
    if extend_page:
        _extend_page(page, rotate, STAMP_HEIGHT_PT + 2 * MARGIN_PT)
    llx, lly, urx, ury = (float(v) for v in page.cropbox)
    across, along = (urx - llx, ury - lly) if rotate in (0, 180) else (ury - lly, urx - llx)
    w, h = min(STAMP_WIDTH_PT, across - 2 * MARGIN_PT), min(STAMP_HEIGHT_PT, along - 2 * MARGIN_PT)
    # Bottom right as the reader sees the page: which corner of the unrotated box that is.
    if rotate == 0:
        rect = (urx - MARGIN_PT - w, lly + MARGIN_PT, urx - MARGIN_PT, lly + MARGIN_PT + h)
    elif rotate == 90:
        rect = (urx - MARGIN_PT - h, ury - MARGIN_PT - w, urx - MARGIN_PT, ury - MARGIN_PT)
    elif rotate == 180:
        rect = (llx + MARGIN_PT, ury - MARGIN_PT - h, llx + MARGIN_PT + w, ury - MARGIN_PT)
    else:
        rect = (llx + MARGIN_PT, lly + MARGIN_PT, llx + MARGIN_PT + h, lly + MARGIN_PT + w)
    x0, y0, x1, y1 = rect
    # Place the form with an explicit matrix, turned against /Rotate so it reads upright.
    if rotate in (0, 180):
        scale = min((x1 - x0) / STAMP_WIDTH_PT, (y1 - y0) / STAMP_HEIGHT_PT)
    else:
        scale = min((y1 - y0) / STAMP_WIDTH_PT, (x1 - x0) / STAMP_HEIGHT_PT)
    matrix = {
        0: (scale, 0, 0, scale, x0, y0),
        90: (0, scale, -scale, 0, x1, y0),
        180: (-scale, 0, 0, -scale, x1, y1),
        270: (0, -scale, scale, 0, x0, y1),
    }[rotate]
    name = page.add_resource(pdf.make_indirect(stamp_form(pdf, text)), pikepdf.Name.XObject, prefix="SohoaStamp")
    # Isolate the page's own graphics state so the stamp is drawn in default space.
    page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
    cm = " ".join(f"{v:.4f}" for v in matrix)
    page.contents_add(pikepdf.Stream(pdf, f"\nQ\nq {cm} cm {name} Do Q\n".encode()))
    return rect
