"""Rewrite the input with pikepdf (and draw the stamp) before pyHanko ever reads it.

pyHanko's reader is strict on purpose: it refuses PIL-made PDFs ("Illegal generation 65536"),
broken xref tables and similar damage, which would otherwise make the signed bytes ambiguous.
qpdf (under pikepdf) repairs those, so one full rewrite gives pyHanko a clean file and the
signature then goes on as an incremental update: the signature is the last write to the file.
"""

from __future__ import annotations

import io
import logging

import pikepdf

from core.errors import InputError
from signing.stamp import StampText, apply_stamp

log = logging.getLogger(__name__)


def open_pdf(data: bytes) -> pikepdf.Pdf:
    if not data:
        raise InputError("the file is empty")
    if b"%PDF" not in data[:1024]:
        raise InputError("the file is not a PDF")
    try:
        return pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise InputError("the PDF is encrypted; certify an unencrypted copy") from exc
    except pikepdf.PdfError as exc:
        raise InputError(f"the PDF cannot be read: {exc}") from exc


def prepare(data: bytes, stamp: StampText | None) -> tuple[bytes, tuple[float, float, float, float] | None]:
    """A repaired copy of ``data`` with the stamp drawn on it, and the stamp's rectangle."""
    with open_pdf(data) as pdf:
        if len(pdf.pages) == 0:
            raise InputError("the PDF has no pages")
        if pdf.is_encrypted:
            raise InputError("the PDF is encrypted; certify an unencrypted copy")
        removed = drop_signatures(pdf)
        if removed:
            # The rewrite would break them anyway, and a certification (DocMDP) signature must be
            # the first one in a document; the certified copy's own signature covers every byte.
            log.warning("removed %d existing signature(s) from the input before certifying", removed)
        rect = apply_stamp(pdf, stamp) if stamp is not None else None
        out = io.BytesIO()
        # No linearisation, no new object streams: keep the PDF/A structure as built.
        pdf.save(out, fix_metadata_version=False, deterministic_id=False)
        return out.getvalue(), rect


def drop_signatures(pdf: pikepdf.Pdf) -> int:
    """Remove signature fields, their widgets and /Perms; return how many fields went."""
    acroform = pdf.Root.get("/AcroForm")
    if acroform is None or "/Fields" not in acroform:
        return 0
    sig_fields = [f for f in acroform.Fields if f.get("/FT") == pikepdf.Name.Sig]
    if not sig_fields:
        return 0
    gone = {f.objgen for f in sig_fields}
    acroform.Fields = pikepdf.Array([f for f in acroform.Fields if f.objgen not in gone])
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        if annots is not None:
            page.obj.Annots = pikepdf.Array(
                [a for a in annots if a.objgen not in gone and a.get("/Parent", a).objgen not in gone]
            )
    if "/SigFlags" in acroform:
        del acroform["/SigFlags"]
    if "/Perms" in pdf.Root:
        del pdf.Root["/Perms"]
    return len(sig_fields)
