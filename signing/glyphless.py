"""The invisible font of the stamps' and signature appearances' searchable words: one empty glyph
half an em wide, and a ToUnicode map per appearance that gives the exact NFC text back, so a
reader's search and ``pdftotext`` find the certification number and the officials' names while the
visible words stay a stencil image."""

from __future__ import annotations

import functools
import io
import struct

GLYPH_ADVANCE = 500  # per 1000 em, every glyph of the invisible font
FONT_NAME = "GlyphLessFont"
FONT_DATE = 3_155_760_000  # 2004-01-01 in TrueType's seconds since 1904: the same bytes every time


@functools.cache
def glyphless_font() -> bytes:
    """A TrueType font with one empty glyph: the invisible text needs no shapes, only the
    characters (a ToUnicode map) — embedding a real font's subset cost 0.5 s a signature. The same
    font as the searchable PDFs' text layer (pipeline.pdfa), built here as the signing layer may not
    import the pipeline."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "glyph1"])
    fb.setupCharacterMap({})
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "glyph1": TTGlyphPen(None).glyph()})
    fb.setupHorizontalMetrics({".notdef": (GLYPH_ADVANCE, 0), "glyph1": (GLYPH_ADVANCE, 0)})
    fb.setupHorizontalHeader(ascent=1000, descent=0)
    fb.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular", "psName": FONT_NAME})
    fb.setupOS2(sTypoAscender=1000, sTypoDescender=0, usWinAscent=1000, usWinDescent=0, fsType=0)
    fb.setupPost()
    fb.font["head"].created = fb.font["head"].modified = FONT_DATE
    fb.font.recalcTimestamp = False
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue()


class CharMap:
    """CIDs handed out per appearance: 1, 2, … for each distinct character, all drawn by glyph 1."""

    def __init__(self) -> None:
        self.cids: dict[str, int] = {}

    def encode(self, text: str) -> bytes:
        out = bytearray()
        for ch in text:
            out += struct.pack(">H", self.cids.setdefault(ch, len(self.cids) + 1))
        return bytes(out)

    def tounicode(self) -> bytes:
        lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
                 "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
                 "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
                 "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
        items = sorted(self.cids.items(), key=lambda kv: kv[1])
        for start in range(0, len(items), 100):
            chunk = items[start:start + 100]
            lines.append(f"{len(chunk)} beginbfchar")
            lines += [f"<{cid:04X}> <{ch.encode('utf-16-be').hex().upper()}>" for ch, cid in chunk]
            lines.append("endbfchar")
        lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
        return ("\n".join(lines) + "\n").encode("ascii")
