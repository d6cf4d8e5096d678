"""Certification of an electronic copy (Decree 45/2020): stamp, then a PAdES certification signature.

Order matters: pikepdf rewrites the input and draws the stamp (``normalize``), then pyHanko appends
the signature as an incremental update, so the signature is the last write and covers every byte
before it. The signature is a *certification* signature with DocMDP "no changes allowed", so any
later edit — a new page, an overlay annotation, a second signature — is a detectable violation and
not merely "another revision".

Levels (ETSI EN 319 142-1): B-B always; B-T with a TSA; B-LT when the chain also declares
revocation sources (OCSP/CRL fetched at signing time and embedded in the DSS); B-LTA adds a
document timestamp over all of that.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import NoOpStampStyle
from pyhanko_certvalidator import ValidationContext

from core.errors import ConfigError, ExternalToolError, InputError
from core.model import CertifiedCopy, nfc
from signing.appearance import appearance_form, set_widget_appearance
from signing.digitize import CERTIFICATION_FIELD, reserved_field_open
from signing.keys import AgencySigner, Certificate, to_asn1
from signing.normalize import prepare
from signing.stamp import CERTIFICATION_PHRASE, RED, StampText

log = logging.getLogger(__name__)

FIELD_NAME = CERTIFICATION_FIELD
# Room for the CMS blob; a fixed size avoids pyHanko's dry-run signature (a second key operation,
# which on a token is a second round trip).
RESERVED_B_B = 16 * 1024
RESERVED_WITH_TS = 32 * 1024


class Level(StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


@dataclass(frozen=True)
class StampInfo:
    """What the certifying officer's stamp says. ``signed_at`` is the time printed on the stamp."""

    agency: str
    officer: str
    certification_number: str
    signed_at: datetime
    qr_payload: str | None = None
    result_code: str | None = None  # the digitization result code of the paper copied


def _declares_revocation(cert: asn1_x509.Certificate) -> bool:
    return bool(cert.crl_distribution_points_value or cert.ocsp_urls)


def choose_level(signer: AgencySigner, tsa_url: str | None) -> Level:
    """The highest level the configuration supports: without a TSA nothing proves the time, so
    B-B; with one, B-LTA when the chain declares revocation sources to embed, else B-T."""
    if not tsa_url:
        return Level.B_B
    if any(_declares_revocation(c) for c in signer.chain if c.subject != c.issuer):
        return Level.B_LTA
    return Level.B_T


def _validation_context(signer: AgencySigner, roots: Sequence[Certificate] | None) -> ValidationContext:
    # Anchors only steer which OCSP/CRL answers get collected and embedded; the verdict on them is
    # the verifier's, against its own roots. So the signer's own root counts here too.
    anchors = [to_asn1(c) for c in roots or ()] + [c for c in signer.chain if c.subject == c.issuer]
    if not anchors:
        raise ConfigError("B-LT needs a trust root: the signer chain does not reach a root; configure trust roots")
    return ValidationContext(
        trust_roots=anchors,
        other_certs=list(signer.chain),
        allow_fetching=True,
        revocation_mode="hard-fail",
    )


async def async_certify_copy(
    pdf: bytes,
    signer: AgencySigner,
    stamp: StampInfo,
    *,
    tsa_url: str | None = None,
    document_sha256: str | None = None,
    level: Level | str | None = None,
    trust_roots: Sequence[Certificate] | None = None,
) -> CertifiedCopy:
    """Async form of :func:`certify_copy`, for callers already inside an event loop."""
    level = Level(level) if level else choose_level(signer, tsa_url)
    if level is not Level.B_B and not tsa_url:
        raise ConfigError(f"PAdES {level} needs a timestamp authority (SOHOA_TSA_URL)")
    if not stamp.certification_number.strip():
        raise InputError("a certification number is required")
    document_sha256 = document_sha256 or hashlib.sha256(pdf).hexdigest()
    qr_payload = stamp.qr_payload or f"sohoa:ct:{stamp.certification_number}:{document_sha256}"
    text = StampText(
        agency=stamp.agency,
        officer=stamp.officer,
        certification_number=stamp.certification_number,
        signed_at=stamp.signed_at,
        qr_payload=qr_payload,
        development=signer.development,
        result_code=stamp.result_code,
    )
    # A scan signed by its digitizing official keeps that signature: the stamp fills the field the
    # official reserved for the certifying officer, in an incremental update (an approval signature
    # whose field lock forbids any change after it). Any other file is rewritten with the stamp
    # drawn on its last page and certified with "no changes allowed".
    fill_reserved = reserved_field_open(pdf)
    prepared = pdf if fill_reserved else prepare(pdf, text)[0]

    lt = level in (Level.B_LT, Level.B_LTA)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=not fill_reserved,
        docmdp_permissions=None if fill_reserved else fields.MDPPerm.NO_CHANGES,
        reason=nfc(f"{CERTIFICATION_PHRASE} - số {stamp.certification_number}"
                   + (f" - mã kết quả số hóa: {stamp.result_code}" if stamp.result_code else "")),
        location=nfc(stamp.agency),
        name=nfc(stamp.officer),
        embed_validation_info=lt,
        use_pades_lta=level is Level.B_LTA,
        validation_context=_validation_context(signer, trust_roots) if lt else None,
    )
    timestamper = HTTPTimeStamper(tsa_url, timeout=10) if tsa_url and level is not Level.B_B else None
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer.signer,
        timestamper=timestamper,
        new_field_spec=None if fill_reserved else fields.SigFieldSpec(sig_field_name=FIELD_NAME),
        **({"stamp_style": NoOpStampStyle()} if fill_reserved else {}),
    )
    try:
        signed = await _sign(pdf_signer, prepared, RESERVED_WITH_TS if timestamper else RESERVED_B_B,
                             before=(lambda writer: _stamp_reserved(writer, text)) if fill_reserved else None)
    except SigningError as exc:
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        raise ConfigError(f"cannot sign ({level}): {exc}{cause}") from exc
    except TimestampRequestError as exc:
        raise ExternalToolError(f"the timestamp authority {tsa_url} failed: {exc}") from exc
    finally:
        if meta.validation_context is not None:
            await _release(meta.validation_context)
    timestamp = _signature_timestamp(signed) if timestamper else None
    # The signer's subject names a person when an officer signs with their own key: not at INFO.
    log.info("certified copy %s: %s, %d bytes, %s signer", stamp.certification_number, level, len(signed), signer.kind)
    log.debug("certified copy %s signed by %s", stamp.certification_number, signer.subject)
    return CertifiedCopy(
        document_sha256=document_sha256,
        certification_number=stamp.certification_number,
        signer=signer.subject,
        signed_at=stamp.signed_at,
        pdf=signed,
        sha256=hashlib.sha256(signed).hexdigest(),
        timestamp=timestamp,
    )


def certify_copy(
    pdf: bytes,
    signer: AgencySigner,
    stamp: StampInfo,
    *,
    tsa_url: str | None = None,
    document_sha256: str | None = None,
    level: Level | str | None = None,
    trust_roots: Sequence[Certificate] | None = None,
) -> CertifiedCopy:
    """Make a certified electronic copy of ``pdf``: stamp + PAdES certification signature.

    ``document_sha256`` names the document the copy was made from (defaults to the hash of
    ``pdf``). ``level`` defaults to the highest the configuration allows (see
    :func:`choose_level`); ``trust_roots`` anchor the chain when embedding validation data.
    """
    # The coroutine hands its result back through a list, not as its return value: Python 3.11's
    # asyncio.run formats the finished task's repr (result included) while restoring the SIGINT
    # handler, and the repr of a 1.5 MB ``bytes`` costs tens of milliseconds per call.
    result: list[CertifiedCopy] = []

    async def run() -> None:
        result.append(
            await async_certify_copy(
                pdf, signer, stamp, tsa_url=tsa_url, document_sha256=document_sha256,
                level=level, trust_roots=trust_roots,
            )
        )

    asyncio.run(run())
    return result[0]


def _stamp_reserved(writer: IncrementalPdfFileWriter, text: StampText) -> None:
    """The stamp as the appearance of the reserved certification field, in this update."""
    for ref in writer.root["/AcroForm"]["/Fields"]:
        widget = ref.get_object()
        if widget.get("/T") == FIELD_NAME:
            x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
            form = appearance_form(writer, text.lines(), width_pt=abs(x1 - x0), height_pt=abs(y1 - y0),
                                   color=RED, qr_payload=text.qr_payload)
            set_widget_appearance(writer, widget, ref, form)
            return
    raise InputError("the copy has no field reserved for the certifying officer")


async def _sign(pdf_signer: signers.PdfSigner, prepared: bytes, reserved: int,
                before: Callable[[IncrementalPdfFileWriter], None] | None = None) -> bytes:
    """Sign into a fixed-size placeholder; if the CMS turns out bigger (a long chain, a large
    timestamp token), sign again letting pyHanko size it with a dry run."""
    for attempt in (reserved, None):
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(prepared), strict=True)
        except Exception as exc:  # qpdf wrote it, so this is a bug or a very odd file
            raise InputError(f"the PDF cannot be prepared for signing: {exc}") from exc
        if before is not None:
            before(writer)
        output = io.BytesIO()
        try:
            await pdf_signer.async_sign_pdf(writer, output=output, bytes_reserved=attempt)
        except SigningError as exc:
            if attempt is None or "larger than expected" not in str(exc):
                raise
            log.info("signature placeholder of %d bytes too small; signing again with a measured one", attempt)
            continue
        return output.getvalue()
    raise AssertionError("unreachable")


async def _release(context: ValidationContext) -> None:
    """Close the HTTP session the context opened for fetching, inside the loop that opened it."""
    await context.aclose()


def _signature_timestamp(signed: bytes) -> datetime | None:
    """The RFC 3161 time of the certification signature's timestamp token."""
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    for sig in reader.embedded_regular_signatures:
        for attr in sig.signer_info["unsigned_attrs"]:
            if attr["type"].native == "signature_time_stamp_token":
                token = attr["values"][0]["content"]
                return token["encap_content_info"]["content"].parsed["gen_time"].native
    return None
