"""Small source deployments built the way sohoa builds them: documents archived by
``storage.archive``, copies certified for real (pyHanko, the development PKI) and numbered in the
agency's register by ``flow.policy``, every act in the audit chain."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from core import model
from core.settings import Settings
from flow.policy import certify_into_register
from signing.keys import load_signer
from storage.archive import archive_document
from storage.db import Database
from storage.objects import ObjectStore
from tests.storage.builders import make_document

PROCEDURE = "1.001612"


def tiny_pdf(text: str) -> bytes:
    """A real one-page PDF whose bytes depend on ``text``."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Title"] = text
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)
    return out.getvalue()


@dataclass
class Deployment:
    db: Database
    store: ObjectStore
    settings: Settings
    db_url: str
    store_url: str
    copies: dict[str, str] = field(default_factory=dict)  # dossier code -> certified copy key


def add_dossier(
    dep: Deployment,
    code: str,
    *,
    applicant: str = "001090012345",
    papers: tuple[str, ...] = ("paper",),
    certify: bool = False,
    name: str = "NGUYỄN VĂN AN",
) -> list[int]:
    """Archive a dossier of one document per paper (its PDF made from the paper's text); certify the
    first when asked. Returns the document ids."""
    dossier = model.Dossier(
        code=code, procedure_code=PROCEDURE, agency=dep.settings.agency, applicant_personal_id=applicant,
        status=model.DossierStatus.DIGITIZED,
    )
    ids = []
    for i, paper in enumerate(papers):
        pdf = tiny_pdf(paper)
        seed = int(hashlib.sha256(paper.encode()).hexdigest()[:8], 16)
        doc = make_document(seed, personal_id=applicant, pdf=pdf, full_name=name)
        archived = archive_document(
            dep.db, dep.store, dossier=dossier, document=doc, batch_id=None, source_keys=[], certified=None,
            actor="cán bộ một cửa",
        )
        ids.append(archived.document_id)
        if certify and i == 0:
            _copy, _copy_id, key = certify_into_register(
                dep.db, dep.store, load_signer(dep.settings), dep.settings, pdf=pdf,
                document_id=archived.document_id, document_sha256=archived.pdf_sha256, dossier_code=code,
                procedure_code=PROCEDURE, doc_type="cccd", actor="cán bộ chứng thực",
            )
            dep.copies[code] = key
    return ids


def deployment(db: Database, store: ObjectStore, db_url: str, store_url: str, *, agency: str, pki: Path) -> Deployment:
    """A deployment of ``agency``; every deployment of a test signs under one development root
    (in production every province's agency chains to the Government CA)."""
    settings = Settings(data_dir=pki, agency=agency)
    return Deployment(db, store, settings, db_url, store_url)
