"""After the merger the deployment goes on certifying: its own register's number 1 reads the same as
the number 1 of a former province's imported copy ("1, Quyển số: 01/2026-SCTĐT/BS"), and is still
given, recorded and found beside it, each under its own agency."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage.db import open_database
from storage.importer import run_import
from storage.importer.sohoa_source import SohoaSource
from storage.models import CertifiedCopy
from storage.objects import open_store
from tests.importer.deployments import add_dossier, deployment

FORMER = "UBND xã Tân Lập (tỉnh Bắc Giang)"
MERGED = "UBND xã Tân Lập (tỉnh Bắc Ninh)"


def test_the_merged_deployment_certifies_number_one_beside_an_imported_number_one(
    tmp_path: Path, pki_dir: Path
) -> None:
    src_url, src_store = f"sqlite:///{tmp_path / 'former.db'}", f"file://{tmp_path / 'former-objects'}"
    src_db = open_database(src_url)
    former = deployment(src_db, open_store(src_store), src_url, src_store, agency=FORMER, pki=pki_dir)
    add_dossier(former, "HS-BG-001", papers=("căn cước",), certify=True)
    src_db.dispose()

    url, store_url = f"sqlite:///{tmp_path / 'merged.db'}", f"file://{tmp_path / 'objects'}"
    db = open_database(url)
    try:
        source = SohoaSource(src_url, src_store)
        run_import(db, open_store(store_url), source)
        source.close()
        merged = deployment(db, open_store(store_url), url, store_url, agency=MERGED, pki=pki_dir)
        add_dossier(merged, "HS-BN-001", papers=("giấy khai sinh",), certify=True)
        with db.session() as s:
            copies = s.execute(select(CertifiedCopy.agency, CertifiedCopy.certification_number)).all()
        assert len(copies) == 2
        assert copies[0].certification_number == copies[1].certification_number
        assert sorted(c.agency for c in copies) == sorted([FORMER, MERGED])
    finally:
        db.dispose()
