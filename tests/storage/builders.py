"""Builders of pipeline model values for storage tests (documents, dossiers, certified copies)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np

from core import model


def make_page(seed: int, index: int = 0) -> model.Page:
    image = np.full((8, 8), seed % 256, np.uint8)
    image[0, 0] = index
    digest = hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()
    return model.Page(
        source=f"scan-{seed}.pdf",
        source_sha256=digest,
        index=index,
        image=image,
        dpi=300.0,
        image_sha256=hashlib.sha256(f"page {seed} {index}".encode()).hexdigest(),
    )


def make_document(
    seed: int,
    *,
    personal_id: str | None = "001090012345",
    doc_type: str = "cccd",
    pages: int = 1,
    needs_review: bool = False,
    pdf: bytes | None = None,
    full_name: str = "NGUYỄN VĂN AN",
) -> model.Document:
    pdf = pdf if pdf is not None else b"%PDF-1.7\n" + f"document {seed}".encode() * 50
    fields = {"full_name": model.Field(full_name, 0.93, page=0)}
    if personal_id is not None:
        fields["personal_id"] = model.Field(
            personal_id,
            0.97,
            page=0,
            needs_review=needs_review,
            valid=not needs_review,
            reason="checksum" if needs_review else "",
        )
    return model.Document(
        pages=tuple(make_page(seed, i) for i in range(pages)),
        doc_type=doc_type,
        type_confidence=0.95,
        fields=fields,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
    )


def make_dossier(code: str = "HS-2026-0001", personal_id: str | None = "001090012345") -> model.Dossier:
    return model.Dossier(
        code=code,
        procedure_code="1.000001",
        agency="UBND phường Bến Nghé",
        applicant_personal_id=personal_id,
        status=model.DossierStatus.DIGITIZED,
    )


def make_certified(document: model.Document, number: str = "CT-0001/2026") -> model.CertifiedCopy:
    pdf = (document.pdf or b"") + f"\n% certified {number}".encode()
    return model.CertifiedCopy(
        document_sha256=document.sha256 or "",
        certification_number=number,
        signer="CN=Cán bộ chứng thực, O=UBND",
        signed_at=datetime(2026, 11, 24, 5, 0, tzinfo=UTC),
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
    )
