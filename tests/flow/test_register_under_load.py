"""Twenty certified-copy requests at once on PostgreSQL, each numbered, stamped, signed and recorded
by the flow's policy: the register says 1..20, no gap and no duplicate, every number used by exactly
the copy whose signature names it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from core.settings import Settings
from flow import policy
from signing.keys import load_certificates
from signing.officials import official_signer
from signing.verify import verify_pdf
from storage.db import Database, open_database
from storage.models import CertifiedCopy, Document, Dossier, RegisterEntry
from storage.objects import open_store
from storage.register import EntryState
from tests.signing.conftest import pikepdf_pdf
from tests.support.servers import postgres_database

OFFICER = "Trần Thị Bình"


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    with postgres_database() as url:
        db = open_database(url)
        yield db
        db.dispose()


def test_twenty_concurrent_certifications_take_one_to_twenty(pg: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", agency="UBND phường Bến Nghé")
    store = open_store(settings.resolved_store_url)
    pdf = pikepdf_pdf()
    with pg.transaction() as session:
        dossier = Dossier(code="HS-TAI-1")
        session.add(dossier)
        session.flush()
        document = Document(dossier_id=dossier.id, doc_type="cccd", pdf_key="k", pdf_sha256="0" * 64,
                            pdf_size=len(pdf), page_count=1)
        session.add(document)
        session.flush()
        document_id = document.id
    signer = official_signer(settings, OFFICER)

    def certify(i: int) -> tuple[str, bytes]:
        copy, _copy_id, _key = policy.certify_into_register(
            pg, store, signer, settings, pdf=pdf, document_id=document_id, document_sha256="0" * 64,
            dossier_code="HS-TAI-1", procedure_code=None, doc_type="cccd", actor=f"workflow:w{i}", officer=OFFICER,
        )
        return copy.certification_number, copy.pdf

    with ThreadPoolExecutor(max_workers=20) as pool:
        made = list(pool.map(certify, range(20)))
    numbers = sorted(int(number.split(",")[0]) for number, _pdf in made)
    assert numbers == list(range(1, 21))
    with pg.session() as session:
        entries = session.scalars(select(RegisterEntry).order_by(RegisterEntry.number)).all()
        copies = {c.id: c.certification_number for c in session.scalars(select(CertifiedCopy))}
    assert [(e.number, e.state) for e in entries] == [(n, EntryState.USED) for n in range(1, 21)]
    assert {copies[e.certified_copy_id] for e in entries} == {number for number, _pdf in made}
    roots = load_certificates(settings.pki_dir / "dev-root-ca.pem")
    for number, signed in made[:3]:  # the signature names the number its record has
        [certification] = [s for s in verify_pdf(signed, roots=roots).signatures if s.kind == "signature"]
        assert certification.register_number == number and certification.official == OFFICER
