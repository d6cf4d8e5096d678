"""The visible appearance of a signature field: what a reader sees where an official signed.

A signature made after another one (the certification after the digitization) cannot rewrite the
page: the earlier signature allows only filling in form fields and signing. So what the later
signer puts on the page is the appearance of its signature field (a widget annotation), written
in the same incremental update as the signature. The same shape serves both signatures.

An appearance is a Form XObject of two parts: the words and frame as a 1-bit stencil drawn with
Pillow (as the certification stamp always was: no layout engine at signing time) and, on top, the
same words again as invisible text (a glyphless font with a ToUnicode map, as the searchable PDFs'
text layer), so that a reader's search and ``pdftotext`` find the certification number and the
names. The optional QR code is a second
stencil.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from core.model import nfc
from signing.glyphless import FONT_NAME, GLYPH_ADVANCE, CharMap, glyphless_font
from signing.stamp import SCALE, _fit, _font, qr_matrix

Line = tuple[str, str]  # (style, text): style "bold" or "regular"


def _stream(writer: BasePdfFileWriter, data: bytes, **entries: generic.PdfObject) -> generic.IndirectObject:
    stream = generic.StreamObject({pdf_name(f"/{k}"): v for k, v in entries.items()}, stream_data=data)
    stream.compress()
    return writer.add_object(stream)


def _glyphless(writer: BasePdfFileWriter, chars: CharMap) -> generic.IndirectObject:
    name = pdf_name(f"/{FONT_NAME}")
    font = glyphless_font()
    descriptor = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/FontDescriptor"), pdf_name("/FontName"): name,
        pdf_name("/Flags"): generic.NumberObject(4),
        pdf_name("/FontBBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, GLYPH_ADVANCE, 1000)]),
        pdf_name("/ItalicAngle"): generic.NumberObject(0), pdf_name("/Ascent"): generic.NumberObject(1000),
        pdf_name("/Descent"): generic.NumberObject(0), pdf_name("/CapHeight"): generic.NumberObject(1000),
        pdf_name("/StemV"): generic.NumberObject(80),
        pdf_name("/FontFile2"): _stream(writer, font, Length1=generic.NumberObject(len(font))),
    }))
    cid_font = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/CIDFontType2"),
        pdf_name("/BaseFont"): name,
        pdf_name("/CIDSystemInfo"): generic.DictionaryObject({
            pdf_name("/Registry"): generic.TextStringObject("Adobe"),
            pdf_name("/Ordering"): generic.TextStringObject("Identity"),
            pdf_name("/Supplement"): generic.NumberObject(0)}),
        pdf_name("/FontDescriptor"): descriptor, pdf_name("/DW"): generic.NumberObject(GLYPH_ADVANCE),
        pdf_name("/CIDToGIDMap"): _stream(writer, b"\x00\x00" + b"\x00\x01" * len(chars.cids)),
    }))
    return writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type0"),
        pdf_name("/BaseFont"): name, pdf_name("/Encoding"): pdf_name("/Identity-H"),
        pdf_name("/DescendantFonts"): generic.ArrayObject([cid_font]),
        pdf_name("/ToUnicode"): _stream(writer, chars.tounicode()),
    }))


def _lines_mask(lines: Sequence[Line], width_px: int, height_px: int, text_width_px: int) -> tuple[Image.Image, list[tuple[int, int]]]:
    """The frame and the lines as a 1-bit image (1 = ink), and each line's (y, size) in pixels."""
    image = Image.new("1", (width_px, height_px), 0)
    draw = ImageDraw.Draw(image)
    border = max(2, SCALE // 2)
    draw.rectangle((border // 2, border // 2, width_px - border, height_px - border), outline=1, width=border)
    pad = 5 * border
    line_height = (height_px - 2 * pad) // max(1, len(lines))
    size = int(line_height * 0.8)
    width = text_width_px - 2 * pad
    sizes = [_fit(draw, text, style, size, width).size for style, text in lines]
    # One size for the body so the block reads as one; the heading (first line) and the
    # development notice (last, bold) keep their own.
    keep = {0} | ({len(lines) - 1} if len(lines) > 1 and lines[-1][0] == "bold" else set())
    body_sizes = [s for i, s in enumerate(sizes) if i not in keep]
    body = min(body_sizes) if body_sizes else size
    placed = []
    y = pad
    for index, ((style, text), own) in enumerate(zip(lines, sizes, strict=True)):
        chosen = own if index in keep else body
        draw.text((pad, y), text, font=_font(style, chosen), fill=1)
        placed.append((y, chosen))
        y += line_height
    return image, placed


def _pack_bits(matrix: list[list[bool]]) -> bytes:
    out = bytearray()
    for row in matrix:
        bits, packed = 0, bytearray()
        for i, dark in enumerate(row):
            bits = (bits << 1) | int(dark)
            if i % 8 == 7:
                packed.append(bits)
                bits = 0
        if len(row) % 8:
            packed.append(bits << (8 - len(row) % 8))
        out += packed
    return bytes(out)


def _stencil(writer: BasePdfFileWriter, packed: bytes, width: int, height: int) -> generic.IndirectObject:
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Image"),
            pdf_name("/Width"): generic.NumberObject(width),
            pdf_name("/Height"): generic.NumberObject(height),
            pdf_name("/ImageMask"): generic.BooleanObject(True),
            pdf_name("/BitsPerComponent"): generic.NumberObject(1),
            pdf_name("/Decode"): generic.ArrayObject([generic.NumberObject(1), generic.NumberObject(0)]),
            pdf_name("/Interpolate"): generic.BooleanObject(False),
            pdf_name("/Filter"): pdf_name("/FlateDecode"),
        },
        encoded_data=zlib.compress(packed, 6),
    )
    return writer.add_object(stream)


def appearance_form(
    writer: BasePdfFileWriter,
    lines: Sequence[Line],
    *,
    width_pt: float,
    height_pt: float,
    color: tuple[float, float, float],
    qr_payload: str | None = None,
) -> generic.IndirectObject:
    """A Form XObject of ``width_pt`` x ``height_pt``: the lines (and the QR code, at the right)
    drawn in ``color``, with the same words as invisible, searchable text."""
    lines = [(style, nfc(text)) for style, text in lines]
    qr_side = height_pt - 8 if qr_payload else 0.0
    text_width_pt = width_pt - qr_side - (6 if qr_payload else 0)
    width_px, height_px = int(width_pt * SCALE), int(height_pt * SCALE)
    mask, placed = _lines_mask(lines, width_px, height_px, int(text_width_pt * SCALE))
    xobjects = generic.DictionaryObject(
        {pdf_name("/Words"): _stencil(writer, mask.tobytes(), width_px, height_px)}
    )
    ops = [
        "q",
        f"{color[0]} {color[1]} {color[2]} rg",
        f"q {width_pt} 0 0 {height_pt} 0 0 cm /Words Do Q",
    ]
    if qr_payload:
        matrix = qr_matrix(qr_payload)
        xobjects[pdf_name("/Code")] = _stencil(writer, _pack_bits(matrix), len(matrix), len(matrix))
        ops += ["0 0 0 rg", f"q {qr_side} 0 0 {qr_side} {width_pt - qr_side - 4} 4 cm /Code Do Q"]
    chars = CharMap()
    text_ops = ["BT", "3 Tr"]  # render mode 3: neither filled nor stroked, found by search
    left = 5 * max(2, SCALE // 2) / SCALE
    for (_style, text), (y_px, size_px) in zip(lines, placed, strict=True):
        size = max(1, round(size_px / SCALE))
        baseline = height_pt - (y_px / SCALE) - size
        # Each glyph of the invisible font advances half an em: squeeze the line to the box.
        stretch = min(100.0, 100.0 * (text_width_pt - 2 * left) / max(1.0, 0.5 * size * len(text)))
        text_ops += [f"/F1 {size} Tf", f"{stretch:.1f} Tz", f"1 0 0 1 {left:.2f} {baseline:.2f} Tm",
                     f"<{chars.encode(text).hex()}> Tj"]
    text_ops.append("ET")
    content = "\n".join([*ops, *text_ops, "Q"]).encode("latin-1")
    form = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(
                [generic.FloatObject(0), generic.FloatObject(0), generic.FloatObject(width_pt), generic.FloatObject(height_pt)]
            ),
            pdf_name("/Resources"): generic.DictionaryObject(
                {
                    pdf_name("/XObject"): xobjects,
                    pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): _glyphless(writer, chars)}),
                }
            ),
        },
        stream_data=content,
    )
    form.compress()
    return writer.add_object(form)


def set_widget_appearance(writer: BasePdfFileWriter, widget: generic.DictionaryObject,
                          widget_ref: generic.IndirectObject | generic.Reference | None,
                          form: generic.IndirectObject) -> None:
    """Make ``form`` the normal appearance of a signature widget (and print it)."""
    widget[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): form})
    widget[pdf_name("/F")] = generic.NumberObject(4)  # Print
    if widget_ref is not None:
        writer.mark_update(widget_ref)
