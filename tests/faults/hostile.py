"""Hostile files, built in the tests: small on the wire, ruinous to whoever parses them naively."""

from __future__ import annotations

import base64
import io
import zlib

import pikepdf


def content_bomb_pdf(inflated_bytes: int = 40_000_000, *, in_form: bool = False) -> bytes:
    """A one-page PDF whose Flate content stream inflates to ``inflated_bytes`` of ``q Q``: 40 MB
    by default, stored in about 39 KB (the issue's file); 2.5 MB fit in 3 KB. ``in_form`` hides the
    stream in a form XObject the page draws, so a check of ``/Contents`` alone misses it."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    stream = pikepdf.Stream(pdf, zlib.compress(b"q Q " * (inflated_bytes // 4), 9))
    stream.Filter = pikepdf.Name.FlateDecode
    page = pdf.pages[0].obj
    if in_form:
        stream.Type = pikepdf.Name.XObject
        stream.Subtype = pikepdf.Name.Form
        stream.BBox = [0, 0, 595, 842]
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Fm0=pdf.make_indirect(stream)))
        page.Contents = pikepdf.Stream(pdf, b"q /Fm0 Do Q")
    else:
        page.Contents = stream
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def text_pdf(lines: int = 40) -> bytes:
    """An ordinary born-digital page of text: the budget must let it through."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page = pdf.pages[0].obj
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    body = b"".join(b"BT /F1 11 Tf 50 %d Td (Line %d of an ordinary letter) Tj ET\n" % (800 - 18 * i, i)
                    for i in range(lines))
    page.Contents = pikepdf.Stream(pdf, body)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def behind_a_long_line(line: bytes) -> bytes:
    """:func:`text_pdf` after one long ``line`` (no break; a 40 MB comment, say): qpdf and pdfium
    read it in a second, pdfminer (the text layer) in minutes, its cost the square of the line's."""
    page = text_pdf()
    cut = page.index(b"\n") + 1
    return page[:cut] + line + b"\n" + page[cut:]


def slow_text_pdf(pages: int = 2, slow: tuple[int, ...] = (1,), string_bytes: int = 3_000_000) -> bytes:
    """``pages`` pages of text; those in ``slow`` (0-based) also show one string of ``string_bytes``
    letters, stored uncompressed (no inflation, few operators: within every content budget).
    pdfminer reads the string in time that grows with the square of its length (3 MB: well over
    ten seconds)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for index in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
        page = pdf.pages[index].obj
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        body = b"".join(b"BT /F1 11 Tf 50 %d Td (Line %d of page %d) Tj ET\n" % (800 - 18 * i, i, index + 1)
                        for i in range(20))
        if index in slow:
            body = b"BT /F1 11 Tf 50 30 Td (" + b"A" * string_bytes + b") Tj ET\n" + body
        page.Contents = pikepdf.Stream(pdf, body)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


# -------------------------------------------------------------------- encoders for the other filters


def lzw_encode(data: bytes, repeat: int = 1) -> bytes:
    """LZW as PDF reads it (``EarlyChange`` 1), of ``data`` said ``repeat`` times: every pass starts
    with a clear code (and so does every table that fills), so one pass's codes serve them all."""
    clear, eod = 256, 257
    codes: list[tuple[int, int]] = [(clear, 9)]
    table: dict[tuple[int, int], int] = {}
    next_code, width = 258, 9
    current = -1
    for byte in data:
        if current < 0:
            current = byte
            continue
        code = table.get((current, byte))
        if code is not None:
            current = code
            continue
        codes.append((current, width))
        table[(current, byte)] = next_code
        next_code += 1
        current = byte
        if next_code + 1 >= 4096:
            codes.append((clear, width))
            table, next_code, width = {}, 258, 9
        else:
            width = 9 if next_code < 512 else 10 if next_code < 1024 else 11 if next_code < 2048 else 12
    if current >= 0:
        codes.append((current, width))
    # After the pass's last code the reader's table has grown by one: the next code is that wide.
    last = next_code + 1
    end = 9 if last < 512 else 10 if last < 1024 else 11 if last < 2048 else 12
    again = [(clear, end), *codes[1:]]
    bits, count, out = 0, 0, bytearray()
    for code, size in [*codes, *again * (repeat - 1), (eod, end)]:
        bits = (bits << size) | code
        count += size
        while count >= 8:
            count -= 8
            out.append((bits >> count) & 0xFF)
        bits &= (1 << count) - 1
    if count:
        out.append((bits << (8 - count)) & 0xFF)
    return bytes(out)


def run_length_encode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        run = 1
        while i + run < len(data) and run < 128 and data[i + run] == data[i]:
            run += 1
        if run > 1:
            out += bytes([257 - run, data[i]])
            i += run
            continue
        literal = data[i:i + 128]
        j = 1
        while j < len(literal) and not (j + 1 < len(literal) and literal[j] == literal[j + 1]):
            j += 1
        out += bytes([j - 1]) + literal[:j]
        i += j
    return bytes(out + b"\x80")


ENCODERS = {
    "/FlateDecode": lambda data: zlib.compress(data, 9),
    "/LZWDecode": lzw_encode,
    "/RunLengthDecode": run_length_encode,
    "/ASCII85Decode": lambda data: base64.a85encode(data, wrapcol=72) + b"~>",
    "/ASCIIHexDecode": lambda data: base64.b16encode(data) + b">",
}


_ENDS = {"/RunLengthDecode": b"\x80", "/ASCII85Decode": b"~>", "/ASCIIHexDecode": b">"}


def encoded(data: bytes, filters: list[str], repeat: int = 1) -> bytes:
    """``data`` said ``repeat`` times, encoded so that reading it through ``filters`` (in /Filter
    order) gives it back."""
    inner = filters[-1]
    if inner == "/LZWDecode":
        data, filters = lzw_encode(data, repeat), filters[:-1]
    elif inner in _ENDS and (inner != "/ASCII85Decode" or len(data) % 4 == 0):
        # one encoded pass, said again: these encodings of whole groups simply concatenate
        data, filters = ENCODERS[inner](data)[: -len(_ENDS[inner])] * repeat + _ENDS[inner], filters[:-1]
    else:
        data = data * repeat
    for name in reversed(filters):
        data = ENCODERS[name](data)
    return data


def filtered_content_pdf(body: bytes, filters: list[str], repeat: int = 1) -> bytes:
    """A one-page PDF whose content stream is ``body`` (said ``repeat`` times) stored under ``filters``."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    stream = pikepdf.Stream(pdf, encoded(body, filters, repeat))
    stream.Filter = pikepdf.Array([pikepdf.Name(f) for f in filters]) if len(filters) > 1 else pikepdf.Name(filters[0])
    pdf.pages[0].obj.Contents = stream
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()
