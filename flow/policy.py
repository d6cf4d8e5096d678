"""The one policy of the flow: what a failure means, which status a dossier gets, how a certified
copy is numbered and stamped, and what a dossier is called when the station gave no code.

Both runners (in-process and Celery), the API and the CLI take these decisions here and nowhere
else, so a batch ends the same way whichever machine ran it.

Failures, from the smallest unit up:

* a file the intake cannot read refuses the whole batch before anything is stored (the station
  sees one clear line and hands the paper in again; nothing half-accepted is left behind);
* a page whose page work fails is left out of the documents; its reason goes on the batch record
  and the rest of the batch goes on (one torn page must not cost a clerk the other forty);
* a document whose steps fail is recorded as failed with its reason; the others go on;
* the batch is ``failed`` only when it produced no document and something failed; otherwise
  ``done``, with its errors listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.model import BatchStatus, CertifiedCopy, DossierStatus
from core.result_code import result_qr_payload
from core.settings import Settings
from signing.certify import StampInfo, certify_copy
from signing.keys import AgencySigner


@dataclass(frozen=True)
class DocumentVerdict:
    """What the policy needs to know of one document's outcome."""

    done: bool
    needs_review: bool


def dossier_status(documents: Sequence[DocumentVerdict], failures: int) -> DossierStatus:
    """No document done: failed. Anything failed or any field unsure: a person must look
    (needs review). Otherwise the dossier is digitized."""
    done = [d for d in documents if d.done]
    if not done:
        return DossierStatus.FAILED
    if failures or any(d.needs_review for d in done):
        return DossierStatus.NEEDS_REVIEW
    return DossierStatus.DIGITIZED


def batch_status(documents_done: int, failures: int) -> BatchStatus:
    return BatchStatus.FAILED if documents_done == 0 and failures else BatchStatus.DONE


def default_dossier_code(source_hashes: Sequence[str], when: datetime) -> str:
    """The day the files were received and a digest of them: the same files handed in again the
    same day land in the same dossier (and so are recognised, not digitized twice)."""
    digest = hashlib.sha256("".join(source_hashes).encode()).hexdigest()
    return f"HS-{when:%Y%m%d}-{digest[:6].upper()}"


def certification_number(when: datetime, document_sha256: str, dossier_code: str, request: str = "") -> str:
    """The number of a certified copy: ``CT-YYYYMMDD-XXXXXXXX``, the day and 32 bits of a digest of
    the dossier, the document and the request.

    Derived, not random, so that a request delivered again (a redelivered task, a re-run of the
    same files, a repeated Idempotency-Key) arrives at the number it already has and finds the copy
    recorded under it; a new request (``request``) is a new entry in the register.
    """
    tail = hashlib.sha256(f"{dossier_code}\0{document_sha256}\0{request}".encode()).hexdigest()[:8]
    return f"CT-{when:%Y%m%d}-{tail.upper()}"


def stamp(
    settings: Settings,
    *,
    certification_number: str,
    signed_at: datetime,
    dossier_code: str,
    procedure_code: str | None,
    owner_id: str | None,
    doc_type: str,
) -> StampInfo:
    """The stamp of a copy of a dossier's document: the configured agency and officer, and the result
    code (dossier, procedure, owner, document) as a QR code, whoever makes the copy."""
    return StampInfo(
        agency=settings.agency,
        officer=settings.certifying_officer,
        certification_number=certification_number,
        signed_at=signed_at,
        qr_payload=result_qr_payload(
            dossier_code=dossier_code,
            procedure_code=procedure_code,
            owner_id=owner_id,
            document_name=doc_type,
        ),
    )


def certify_document(
    pdf: bytes,
    signer: AgencySigner,
    settings: Settings,
    *,
    document_sha256: str,
    dossier_code: str,
    procedure_code: str | None,
    owner_id: str | None,
    doc_type: str,
    when: datetime,
    request: str = "",
) -> CertifiedCopy:
    """A certified electronic copy of a dossier's document: numbered and stamped by this policy,
    signed by ``signer`` (PAdES, with a timestamp when a TSA is configured)."""
    number = certification_number(when, document_sha256, dossier_code, request)
    info = stamp(
        settings,
        certification_number=number,
        signed_at=when,
        dossier_code=dossier_code,
        procedure_code=procedure_code,
        owner_id=owner_id,
        doc_type=doc_type,
    )
    return certify_copy(pdf, signer, info, tsa_url=settings.tsa_url, document_sha256=document_sha256)
