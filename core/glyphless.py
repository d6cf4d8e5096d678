"""The invisible font of every searchable text layer sohoa writes: one empty glyph half an em wide.

The searchable PDFs' OCR layer (``pipeline.pdfa``) and the stamps' and signature appearances'
words (``signing``) draw their text in it; a ToUnicode map per use gives the characters back, so
search and ``pdftotext`` find them while nothing shows. Kept below both layers so it is built once.
"""

from __future__ import annotations

import functools
import io

FONT_NAME = "GlyphLessFont"
GLYPH_ADVANCE = 500  # per 1000 em: every glyph, in the font program and in /DW alike
FONT_DATE = 3_155_760_000  # 2004-01-01, in the seconds since 1904 that TrueType counts


@functools.cache
def glyphless_font() -> bytes:
    """A TrueType font with one empty glyph of width 500/1000 em (plus .notdef)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "glyph1"])
    fb.setupCharacterMap({})
    empty = TTGlyphPen(None).glyph()
    fb.setupGlyf({".notdef": empty, "glyph1": TTGlyphPen(None).glyph()})
    fb.setupHorizontalMetrics({".notdef": (GLYPH_ADVANCE, 0), "glyph1": (GLYPH_ADVANCE, 0)})
    fb.setupHorizontalHeader(ascent=1000, descent=0)
    fb.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular", "psName": FONT_NAME})
    fb.setupOS2(sTypoAscender=1000, sTypoDescender=0, usWinAscent=1000, usWinDescent=0, fsType=0)
    fb.setupPost()
    # Fixed dates in the font's head table (fontTools stamps the moment of building and of saving):
    # the same pages make the same PDF bytes in every process, so every runner stores one blob.
    fb.font["head"].created = fb.font["head"].modified = FONT_DATE
    fb.font.recalcTimestamp = False
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue()
