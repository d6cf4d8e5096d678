"""The digitization signature (Circular 01/2023/TT-VPCP, Art. 8): the official who scanned a paper
signs the scanned copy with their own key, their name and the time shown at the top left of the
first page, before the data extracted from it is recorded.

The scan's pixels stay as scanned: page 1 is grown by a band above the scan, and the signature's
appearance (a widget, not ink in the page) sits at the left of that band. The right of the band is
left to the certifying officer: an empty signature field, made and covered by this signature, that
a certified copy later fills. That is how both signatures live in one file: this one is a
certification signature (DocMDP) that allows form filling and signing only, so the officer's
signature is an allowed change, and the reserved field locks the whole document once signed.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import datetime

import pikepdf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.stamp import NoOpStampStyle

from core.errors import ConfigError, InputError
from core.model import nfc
from signing.appearance import appearance_form, set_widget_appearance
from signing.keys import AgencySigner
from signing.stamp import DEVELOPMENT_LINE, MARGIN_PT, STAMP_HEIGHT_PT, STAMP_WIDTH_PT, VIETNAM_TIME

log = logging.getLogger(__name__)

DIGITIZATION_FIELD = "SohoaDigitization"
CERTIFICATION_FIELD = "SohoaCertification"  # the field a certified copy fills (signing.certify)
DIGITIZATION_PHRASE = nfc("Bản số hóa từ bản giấy")
BAND_PT = STAMP_HEIGHT_PT + 2 * MARGIN_PT  # the band above the scan on page 1
DIGITIZATION_BOX = (STAMP_WIDTH_PT, 64.0)  # width, height in points
BLUE = (0.05, 0.18, 0.55)
RESERVED = 16 * 1024


@dataclass(frozen=True)
class Digitization:
    """Who digitized the paper, where and when (the time shown on the page)."""

    official: str
    agency: str
    signed_at: datetime


@dataclass(frozen=True)
class SignedScan:
    pdf: bytes
    pages: int
    signer: str  # the certificate's subject


def appearance_lines(info: Digitization, *, development: bool) -> list[tuple[str, str]]:
    when = info.signed_at.astimezone(VIETNAM_TIME)
    lines = [
        ("bold", DIGITIZATION_PHRASE.upper()),
        ("regular", nfc(f"Người số hóa: {info.official}")),
        ("regular", nfc(f"Thời gian ký: {when:%d/%m/%Y %H:%M:%S} (UTC+7)")),
        ("regular", nfc(info.agency)),
    ]
    if development:
        lines.append(("bold", DEVELOPMENT_LINE))
    return lines


def _band(pdf: bytes) -> tuple[bytes, int, tuple[float, float, float, float]]:
    """Page 1 grown by :data:`BAND_PT` above its content; (pdf, pages, page 1's crop box after)."""
    try:
        source = pikepdf.open(io.BytesIO(pdf))
    except pikepdf.PdfError as exc:
        raise InputError(f"the scanned copy is not a readable PDF: {exc}") from exc
    with source:
        if not source.pages:
            raise InputError("the scanned copy has no page")
        page = source.pages[0]
        if int(page.obj.get("/Rotate", 0)) % 360:
            raise InputError("page 1 of the scanned copy is turned by /Rotate; sohoa's scans are drawn upright")
        for name in ("/MediaBox", "/CropBox"):
            if name in page.obj:
                box = [float(v) for v in page.obj[name]]
                box[3] += BAND_PT
                page.obj[name] = pikepdf.Array(box)
        # The signature widgets go into an indirect /Annots array: a certification signature
        # allows a later signer to change that array, not the page object itself.
        annots = list(page.obj.get("/Annots", []))
        page.obj.Annots = source.make_indirect(pikepdf.Array(annots))
        crop = tuple(float(v) for v in page.cropbox)
        out = io.BytesIO()
        source.save(out)
        return out.getvalue(), len(source.pages), crop  # type: ignore[return-value]


def _field(writer: IncrementalPdfFileWriter, name: str) -> tuple[generic.DictionaryObject, generic.IndirectObject]:
    for ref in writer.root["/AcroForm"]["/Fields"]:
        obj = ref.get_object()
        if obj.get("/T") == name:
            return obj, ref
    raise AssertionError(f"field {name} was just added")


def _reserved_appearance(writer: IncrementalPdfFileWriter, width: float, height: float) -> generic.IndirectObject:
    """An empty appearance: PDF/A wants every widget to have one."""
    form = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject([generic.FloatObject(v) for v in (0, 0, width, height)]),
        },
        stream_data=b"",
    )
    return writer.add_object(form)


def sign_scan(pdf: bytes, signer: AgencySigner, info: Digitization) -> SignedScan:
    """The scanned copy signed by the digitizing official, every page kept, in order."""
    prepared, pages, (llx, _lly, urx, ury) = _band(pdf)
    width = urx - llx
    dig_w = min(DIGITIZATION_BOX[0], (width - 3 * MARGIN_PT) / 2)
    dig_h = DIGITIZATION_BOX[1]
    dig_box = (llx + MARGIN_PT, ury - MARGIN_PT - dig_h, llx + MARGIN_PT + dig_w, ury - MARGIN_PT)
    cert_w = min(STAMP_WIDTH_PT, (width - 3 * MARGIN_PT) / 2)
    cert_box = (urx - MARGIN_PT - cert_w, ury - MARGIN_PT - STAMP_HEIGHT_PT, urx - MARGIN_PT, ury - MARGIN_PT)
    lines = appearance_lines(info, development=signer.development)

    async def run() -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(prepared), strict=True)
        fields.append_signature_field(writer, fields.SigFieldSpec(
            sig_field_name=CERTIFICATION_FIELD, on_page=0, box=cert_box,
            field_mdp_spec=fields.FieldMDPSpec(fields.FieldMDPAction.ALL),
            doc_mdp_update_value=fields.MDPPerm.NO_CHANGES,
        ))
        reserved, reserved_ref = _field(writer, CERTIFICATION_FIELD)
        set_widget_appearance(writer, reserved, reserved_ref, _reserved_appearance(writer, cert_w, STAMP_HEIGHT_PT))
        fields.append_signature_field(writer, fields.SigFieldSpec(
            sig_field_name=DIGITIZATION_FIELD, on_page=0, box=dig_box,
        ))
        widget, widget_ref = _field(writer, DIGITIZATION_FIELD)
        form = appearance_form(writer, lines, width_pt=dig_w, height_pt=dig_h, color=BLUE)
        set_widget_appearance(writer, widget, widget_ref, form)
        meta = signers.PdfSignatureMetadata(
            field_name=DIGITIZATION_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            reason=DIGITIZATION_PHRASE,
            location=nfc(info.agency),
            name=nfc(info.official),
        )
        pdf_signer = signers.PdfSigner(meta, signer=signer.signer, stamp_style=NoOpStampStyle())
        out = io.BytesIO()
        await pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=RESERVED)
        return out.getvalue()

    result: list[bytes] = []

    async def holder() -> None:  # see signing.certify.certify_copy: no bytes in a task's repr
        result.append(await run())

    try:
        asyncio.run(holder())
    except SigningError as exc:
        raise ConfigError(f"cannot sign the scanned copy for {info.official}: {exc}") from exc
    signed = result[0]
    signed_pages = _count(signed)
    if signed_pages != pages:
        raise AssertionError(f"the signed scan has {signed_pages} pages, the scan {pages}")
    log.info("scanned copy signed by the digitizing official: %d pages, %d bytes", pages, len(signed))
    return SignedScan(pdf=signed, pages=pages, signer=signer.subject)


def _count(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return len(opened.pages)


def reserved_field_open(pdf: bytes) -> bool:
    """Whether the file carries the certifying officer's reserved field, not yet signed."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        if "/AcroForm" not in reader.root:
            return False
        form = reader.root["/AcroForm"]
        refs = form["/Fields"] if "/Fields" in form else ()  # noqa: SIM401 - .get() does not dereference
        for ref in refs:
            obj = ref.get_object()
            if obj.get("/T") == CERTIFICATION_FIELD:
                return "/V" not in obj
    except Exception:  # noqa: BLE001 - an unreadable file is the old path's to refuse, with its own message
        return False
    return False
