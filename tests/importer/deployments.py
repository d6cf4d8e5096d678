"""Small source deployments built the way sohoa builds them: documents archived by
``storage.archive``, copies certified for real (pyHanko, the development PKI) and numbered in the
agency's register by ``flow.policy``, every act in the audit chain."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pikepdf

from core import model
from core.model import BatchStatus
from core.settings import Settings
from flow.policy import certify_into_register
from flow.steps import signed_original_summary
from signing.keys import load_signer, trust_config
from signing.manifest import build_manifest, canonical, sign_manifest
from signing.verify import verify_pdf
from storage.archive import (
    archive_document,
    record_manifest,
    record_source_file,
    record_source_signatures,
    start_batch,
    update_batch,
)
from storage.certify_queue import claim, confirmed, enqueue
from storage.components import Place, record_reuse, set_reception
from storage.db import Database
from storage.learned import LearnedKind, Vouched, learn
from storage.objects import ObjectStore
from storage.progress import plan_documents, step_done
from storage.results import CodeIssuer, RecordedResult, ResultFile, TextSource, record_result
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


def add_reception(
    dep: Deployment, code: str, original: bytes, *, station: str = "QUAY-01", finished: bool = True
) -> int:
    """A station's upload for dossier ``code``: an original handed in, its signatures (if any) verified
    at reception as the flow does (offline, against the deployment's roots), and the document made
    from it; the batch left processing unless ``finished``. Returns the batch id."""
    batch = start_batch(dep.db, station=station, dossier_code=code, procedure_code=PROCEDURE, files=1,
                        agency=dep.settings.agency, actor=station)
    received = record_source_file(dep.db, dep.store, batch_id=batch, name="quyết định.pdf", data=original,
                                  media_type="application/pdf", actor=station)
    trust = trust_config(dep.settings)
    report = verify_pdf(original, roots=list(trust.roots), allow_fetching=False, intermediates=trust.intermediates,
                        tsa_roots=trust.tsa_roots)
    if report.signatures:  # an unsigned PDF has no verdict to keep, as in the flow
        record_source_signatures(dep.db, batch_id=batch, sha256=received.sha256,
                                 verification=signed_original_summary(report), actor=station)
    dossier = model.Dossier(code=code, procedure_code=PROCEDURE, agency=dep.settings.agency,
                            status=model.DossierStatus.DIGITIZED)
    doc = make_document(int(received.sha256[:8], 16), personal_id="001090012345", pdf=tiny_pdf(f"bản số hoá {code}"))
    plan_documents(dep.db, batch, 1, certify=False)
    archived = archive_document(dep.db, dep.store, dossier=dossier, document=doc, batch_id=batch,
                                source_keys=[received.key], certified=None, actor=station)
    for step in ("classify", "extract", "sign_digitized", "archive"):
        step_done(dep.db, batch, step)
    if finished:  # the closing step signs the batch's manifest
        body = build_manifest(code, {received.key: received.sha256, archived.pdf_key: archived.pdf_sha256},
                              procedure=PROCEDURE)
        record_manifest(dep.db, dep.store, dossier_code=code, batch_id=batch, manifest=canonical(body),
                        signature=sign_manifest(body, load_signer(dep.settings)), actor=station)
        update_batch(dep.db, batch, status=BatchStatus.DONE)
    return batch


def deployment(db: Database, store: ObjectStore, db_url: str, store_url: str, *, agency: str, pki: Path) -> Deployment:
    """A deployment of ``agency``; every deployment of a test signs under one development root
    (in production every province's agency chains to the Government CA)."""
    settings = Settings(data_dir=pki, agency=agency)
    return Deployment(db, store, settings, db_url, store_url)


RESULT_DAY = date(2025, 6, 20)


def add_result(dep: Deployment, code: str, owner: str, *, agency_code: str = "000.00.00.H00") -> RecordedResult:
    """The procedure's result of dossier ``code``, given its digitization result code: the
    deployments of a test keep the default agency code, so their first codes of a day are the same."""
    data = tiny_pdf(f"kết quả {code}")
    return record_result(
        dep.db, dep.store,
        ResultFile(dossier_code=code, owner_id=owner, result_type="giay_khai_sinh", name=f"Giấy khai sinh {code}",
                   data=data, page_count=1, text="GIẤY KHAI SINH", text_source=TextSource.OCR,
                   fields={"ho_ten": "NGUYỄN VĂN AN"}, valid_from=RESULT_DAY),
        actor="cán bộ trả kết quả", codes=CodeIssuer(agency_code, "{agency}-{date}-{seq:06d}-{check}", RESULT_DAY),
    )


def add_reuse(dep: Deployment, code: str, document_id: int) -> None:
    """Dossier ``code`` takes an earlier dossier's paper as one of its components."""
    record_reuse(dep.db, code, document_id, actor="cán bộ một cửa", procedure_code=PROCEDURE, on=RESULT_DAY)


def add_place(dep: Deployment, code: str, commune_code: str, commune_name: str) -> None:
    set_reception(dep.db, code, actor="hệ thống một cửa", agency=dep.settings.agency,
                  place=Place(commune_code=commune_code, province_code=commune_code[:2], commune_name=commune_name))


def add_word(dep: Deployment, text: str, document_id: int) -> None:
    learn(dep.db, [Vouched(LearnedKind.NAME, text, "Lê Thị Cúc", document_id=document_id, field="ho_ten")])


def add_certify_request(dep: Deployment, document_id: int, copy_id: int | None = None) -> None:
    """A request for a certified copy of the document: confirmed with ``copy_id``, else waiting."""
    request = enqueue(dep.db, document_id=document_id, requested_by="key:mot-cua", purpose="nộp hồ sơ vay vốn")
    if copy_id is not None:
        claim(dep.db, request.id, officer="Lê Thị Cúc", actor="key:chung-thuc")
        confirmed(dep.db, request.id, officer="Lê Thị Cúc", actor="key:chung-thuc", certified_copy_id=copy_id)
