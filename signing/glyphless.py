"""The invisible font of the stamps' and signature appearances' searchable words: one empty glyph
half an em wide, and a ToUnicode map per appearance that gives the exact NFC text back, so a
reader's search and ``pdftotext`` find the certification number and the officials' names while the
visible words stay a stencil image."""

from __future__ import annotations

import struct

from core.glyphless import FONT_NAME, GLYPH_ADVANCE, glyphless_font

__all__ = ["FONT_NAME", "GLYPH_ADVANCE", "CharMap", "glyphless_font"]

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
