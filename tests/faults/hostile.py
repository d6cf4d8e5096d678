"""Hostile files, built in the tests: small on the wire, ruinous to whoever parses them naively."""

from __future__ import annotations

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
