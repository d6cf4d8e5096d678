"""Two provinces before the merger, one on SQLite with a local store, one on PostgreSQL with S3
(SeaweedFS), merged into a third deployment, then checked object by object and record by record:
blobs byte for byte, dossiers under their unchanged codes with the merged agency, documents, copies
with their register's agency, register entries, the two audit trails as sealed segments; the
dossier both provinces hold is one dossier, the same paper is linked, the clashing dossier is
reported and left, and running the import again changes nothing."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from cli.main import main
from core.model import BatchStatus
from signing.devpki import ensure_dev_pki
from storage.audit import verify_chain
from storage.certify_queue import CertifyRequestRow
from storage.components import DossierComponent, DossierPlace
from storage.db import Database, open_database
from storage.importer import AgencyMap, run_import, verify_segments
from storage.importer.ledger import AuditSegment, ImportedAuditEvent
from storage.importer.reception import UNFINISHED
from storage.importer.search import dossiers_of_former_agency
from storage.importer.sohoa_source import SohoaSource
from storage.models import (
    AuditEvent,
    Batch,
    CertifiedCopy,
    Document,
    Dossier,
    DossierManifest,
    LearnedWord,
    RegisterEntry,
    SourceFile,
    Station,
)
from storage.objects import open_store
from storage.progress import stage_progress
from storage.records import dossier_by_code
from storage.result_codes import ResultCode
from storage.results import ProcedureResult
from storage.stats import StatsQuery, compute_stats, dossier_flags
from tests.importer.deployments import (
    Deployment,
    add_certify_request,
    add_dossier,
    add_place,
    add_reception,
    add_result,
    add_reuse,
    add_word,
    deployment,
)
from tests.support.servers import S3Endpoint, postgres_database

BAC_GIANG = "UBND xã Tân Lập (tỉnh Bắc Giang)"
BAC_NINH = "UBND xã Tân Lập (tỉnh Bắc Ninh)"
MAP = AgencyMap({BAC_GIANG: BAC_NINH})
OTHER_APPLICANT = "001090054321"


@pytest.fixture
def province_a(tmp_path: Path, pki_dir: Path) -> Iterator[Deployment]:
    """Bắc Giang: SQLite and a local store."""
    url, store_url = f"sqlite:///{tmp_path / 'a.db'}", f"file://{tmp_path / 'a-objects'}"
    db = open_database(url)
    dep = deployment(db, open_store(store_url), url, store_url, agency=BAC_GIANG, pki=pki_dir)
    [cccd, _] = add_dossier(dep, "HS-BG-001", papers=("BG cccd", "BG khai sinh"), certify=True)
    [hoa] = add_dossier(dep, "HS-BG-002", applicant="001190023456", papers=("giấy của chị Hoa",),
                        name="TRẦN THỊ HOA")
    add_dossier(dep, "HS-CHUNG", papers=("hồ sơ chung",))
    add_dossier(dep, "HS-TRUNG", papers=("hồ sơ trùng BG",))
    add_result(dep, "HS-BG-001", "001090012345")  # its code is the first of the day
    add_place(dep, "HS-BG-002", "25123", "Xã Tân Lập")
    # Chị Hoa hands in the certified copy of HS-BG-001, a signed PDF, as an original of her dossier.
    add_reception(dep, "HS-BG-002", dep.store.get_bytes(dep.copies["HS-BG-001"]))
    add_word(dep, "TRẦN THỊ HOA", hoa)
    with db.session() as s:
        add_certify_request(dep, cccd, s.scalar(select(CertifiedCopy.id)))
    add_certify_request(dep, hoa)
    yield dep
    db.dispose()


@pytest.fixture
def province_b(pg_url: str, s3_endpoint: S3Endpoint, pki_dir: Path) -> Iterator[Deployment]:
    """Bắc Ninh: PostgreSQL and S3."""
    store_url = s3_endpoint.store_url(f"b-{secrets.token_hex(4)}")
    db = open_database(pg_url)
    dep = deployment(db, open_store(store_url), pg_url, store_url, agency=BAC_NINH, pki=pki_dir)
    add_dossier(dep, "HS-BN-001", papers=("BN cccd",), certify=True)  # numbered 1 too, in its own register
    # At the counter of the same code (the same station, as far as the records can tell), an upload
    # still being processed when the province's system was handed over.
    add_reception(dep, "HS-BN-001", dep.store.get_bytes(dep.copies["HS-BN-001"]), finished=False)
    # The same person's paper, digitized in both provinces.
    [hoa] = add_dossier(dep, "HS-BN-002", applicant="001190023456", papers=("giấy của chị Hoa",),
                        name="TRẦN THỊ HOA")
    add_dossier(dep, "HS-CHUNG", papers=("hồ sơ chung", "bổ sung ở Bắc Ninh"))  # met, with one more paper
    add_dossier(dep, "HS-TRUNG", applicant=OTHER_APPLICANT, papers=("hồ sơ trùng BN",))  # a clash
    add_place(dep, "HS-TRUNG", "27001", "Phường Suối Hoa")  # of the clashing dossier: left out with it
    add_reuse(dep, "HS-BN-003", hoa)  # chị Hoa's paper, reused by a later dossier
    add_result(dep, "HS-BN-003", OTHER_APPLICANT)  # the same code as Bắc Giang's first: a clash
    yield dep
    db.dispose()


@pytest.fixture
def merged(s3_endpoint: S3Endpoint) -> Iterator[tuple[Database, str, str]]:
    """The deployment after the merger: PostgreSQL and S3 (its own database and bucket)."""
    with postgres_database(prefix="sohoa_merged") as url:
        store_url = s3_endpoint.store_url(f"m-{secrets.token_hex(4)}")
        db = open_database(url)
        yield db, url, store_url
        db.dispose()


def _import(target: Database, store_url: str, dep: Deployment, agencies: AgencyMap = MAP, **kwargs):
    source = SohoaSource(dep.db_url, dep.store_url)
    try:
        return run_import(target, open_store(store_url), source, agencies=agencies, **kwargs)
    finally:
        source.close()


def _rows(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Dossier, Document, CertifiedCopy, RegisterEntry, AuditEvent, ImportedAuditEvent, AuditSegment,
                      ProcedureResult, ResultCode, DossierComponent, DossierPlace, LearnedWord, CertifyRequestRow,
                      Station, Batch, SourceFile)
        }


def _check_source_in_target(dep: Deployment, target: Database, target_store_url: str, *, skip: set[str]) -> None:
    """Every blob byte for byte; every record of every dossier but ``skip``, field for field."""
    store = open_store(target_store_url)
    keys = list(dep.store.iter_keys())
    assert keys
    for key in keys:
        assert store.get_bytes(key) == dep.store.get_bytes(key)
    with dep.db.session() as src, target.session() as dst:
        for d in src.scalars(select(Dossier).order_by(Dossier.id)):
            if d.code in skip:
                continue
            here = dst.scalar(select(Dossier).where(Dossier.code == d.code))
            assert here is not None, d.code
            assert (here.procedure_code, here.applicant_personal_id) == (d.procedure_code, d.applicant_personal_id)
            assert here.agency == MAP.apply(d.agency)
            mine = {doc.pdf_sha256: doc for doc in here.documents}
            for doc in d.documents:
                twin = mine[doc.pdf_sha256]
                for attr in ("doc_type", "type_confidence", "personal_id", "fields", "pdf_key", "pdf_size",
                             "page_count", "page_hashes", "pages_sha256", "review_state", "review_version"):
                    assert getattr(twin, attr) == getattr(doc, attr), (d.code, attr)
                assert [(c.sha256, c.certification_number, c.object_key) for c in twin.certified_copies] == [
                    (c.sha256, c.certification_number, c.object_key) for c in doc.certified_copies
                ]
                assert all(c.agency == dep.settings.agency for c in twin.certified_copies)
        for e in src.scalars(select(RegisterEntry)):
            twin = dst.scalar(select(RegisterEntry).where(
                RegisterEntry.agency == e.agency, RegisterEntry.year == e.year, RegisterEntry.book == e.book,
                RegisterEntry.number == e.number))
            assert twin is not None and twin.state == e.state
            src_copy = src.get(CertifiedCopy, e.certified_copy_id)
            assert dst.get(CertifiedCopy, twin.certified_copy_id).sha256 == src_copy.sha256
        batches = src.scalars(select(Batch)).all()
        assert batches
        for b in batches:
            twin = dst.scalar(select(Batch).where(Batch.public_id == b.public_id))
            assert twin is not None, b.public_id
            assert (twin.station.code, twin.station.name) == (b.station.code, b.station.name)
            assert twin.dossier.code == b.dossier.code and twin.spool_dir is None
            for attr in ("procedure_code", "files", "official", "pages_total", "pages_done", "certify", "created"):
                assert getattr(twin, attr) == getattr(b, attr), attr
            if BatchStatus(b.status).finished:
                assert (twin.status, twin.errors, twin.finished) == (b.status, b.errors, b.finished)
            else:  # its upload waited in the former deployment's spool: no runner here may take it
                assert twin.status == BatchStatus.FAILED and twin.errors == [*b.errors, UNFINISHED]
            stages = stage_progress(dep.db, b.id)
            assert stage_progress(target, twin.id) == stages and all(s.finished for s in stages[2:])
            signed = src.scalars(select(DossierManifest.manifest_key).where(DossierManifest.batch_id == b.id)).all()
            assert sorted(dst.scalars(select(DossierManifest.manifest_key).where(
                DossierManifest.batch_id == twin.id))) == sorted(signed)
            assert signed or not BatchStatus(b.status).finished
            made = src.scalars(select(Document.pdf_sha256).where(Document.batch_id == b.id)).all()
            assert made and sorted(dst.scalars(select(Document.pdf_sha256).where(Document.batch_id == twin.id))) == sorted(made)
            originals = src.scalars(select(SourceFile).where(SourceFile.batch_id == b.id)).all()
            assert [(f.name, f.media_type, f.object_key, f.sha256, f.size, f.signatures) for f in dst.scalars(
                select(SourceFile).where(SourceFile.batch_id == twin.id).order_by(SourceFile.id))] == [
                (f.name, f.media_type, f.object_key, f.sha256, f.size, f.signatures) for f in originals]
            # The dossier view lists the signed originals it received, with their verdict at reception.
            here, there = dossier_by_code(target, b.dossier.code), dossier_by_code(dep.db, b.dossier.code)
            assert here.signed_originals == there.signed_originals and there.signed_originals


def _check_extras_in_target(
    dep: Deployment, target: Database, *, clashing_codes: set[str], skip: frozenset[str] = frozenset()
) -> None:
    """Every result, result code, component, place and learned word of the source, record by record,
    pointing at what its dossier and documents became here."""
    with dep.db.session() as src, target.session() as dst:
        def paper(session, document_id: int | None) -> str | None:
            return session.get(Document, document_id).pdf_sha256 if document_id else None

        def dossier_code(session, dossier_id: int) -> str:
            return session.get(Dossier, dossier_id).code

        results = src.scalars(select(ProcedureResult)).all()
        assert results
        for r in results:
            if r.result_code in clashing_codes:  # the code printed on it is another paper's here
                here = dst.scalar(select(ProcedureResult).where(ProcedureResult.result_code == r.result_code))
                assert here.sha256 != r.sha256
                assert dst.scalar(select(ProcedureResult).where(ProcedureResult.sha256 == r.sha256)) is None
                continue
            twin = dst.scalar(select(ProcedureResult).where(ProcedureResult.sha256 == r.sha256))
            assert twin is not None
            assert dossier_code(dst, twin.dossier_id) == dossier_code(src, r.dossier_id)
            assert paper(dst, twin.document_id) == paper(src, r.document_id)
            for attr in ("owner_id", "result_type", "name", "object_key", "size", "valid_from", "result_code"):
                assert getattr(twin, attr) == getattr(r, attr), attr
        codes = src.scalars(select(ResultCode)).all()
        assert codes
        for c in codes:
            twin = dst.scalar(select(ResultCode).where(ResultCode.code == c.code))
            assert twin is not None and (twin.agency_code, twin.day, twin.sequence) == (c.agency_code, c.day, c.sequence)
            if c.code in clashing_codes:  # printed on another province's paper: left as it is here
                assert paper(dst, twin.document_id) != paper(src, c.document_id)
            else:
                assert paper(dst, twin.document_id) == paper(src, c.document_id)
        for c in src.scalars(select(DossierComponent)):
            twins = [t for t in dst.scalars(select(DossierComponent))
                     if dossier_code(dst, t.dossier_id) == dossier_code(src, c.dossier_id)]
            assert [(t.state, t.doc_type, t.owner_id, paper(dst, t.reused_document_id)) for t in twins] == [
                (c.state, c.doc_type, c.owner_id, paper(src, c.reused_document_id))]
        for p in src.scalars(select(DossierPlace)):
            code = dossier_code(src, p.dossier_id)
            if code in skip:
                continue
            twin = dst.get(DossierPlace, dst.scalar(select(Dossier.id).where(Dossier.code == code)))
            assert twin is not None, code
            assert (twin.commune_code, twin.province_code, twin.commune_name) == (
                p.commune_code, p.province_code, p.commune_name)
            assert twin.agency == MAP.apply(p.agency)
        for q in src.scalars(select(CertifyRequestRow)):
            twins = [t for t in dst.scalars(select(CertifyRequestRow).where(CertifyRequestRow.requested == q.requested))
                     if paper(dst, t.document_id) == paper(src, q.document_id)]
            assert [(t.state, t.requested_by, t.purpose, t.officer, t.decided_by) for t in twins] == [
                (q.state, q.requested_by, q.purpose, q.officer, q.decided_by)]
            copy = dst.get(CertifiedCopy, twins[0].certified_copy_id) if twins[0].certified_copy_id else None
            assert (copy.sha256 if copy else None) == (
                src.get(CertifiedCopy, q.certified_copy_id).sha256 if q.certified_copy_id else None)
        for w in src.scalars(select(LearnedWord)):
            twins = dst.scalars(select(LearnedWord).where(LearnedWord.text == w.text)).all()
            assert [(t.kind, t.official, t.field, paper(dst, t.document_id)) for t in twins] == [
                (w.kind, w.official, w.field, paper(src, w.document_id))]


def _period() -> StatsQuery:
    today = datetime.now(UTC).date()
    return StatsQuery(start=today - timedelta(days=2), end=today + timedelta(days=2))


def test_two_provinces_merge_into_one(
    province_a: Deployment, province_b: Deployment, merged, tmp_path: Path, monkeypatch, capsys
) -> None:
    target, target_url, target_store = merged
    first = _import(target, target_store, province_a)
    # The figures of the period, counted by the database's triggers as the records went in, are
    # the source's (its agency renamed by the merger, so compared in total).
    assert compute_stats(target, _period()).total == compute_stats(province_a.db, _period()).total
    second = _import(target, target_store, province_b)

    _check_source_in_target(province_a, target, target_store, skip=set())
    _check_source_in_target(province_b, target, target_store, skip={"HS-TRUNG"})
    with province_a.db.session() as s:
        clash = s.scalar(select(ResultCode.code))
    _check_extras_in_target(province_a, target, clashing_codes=set())
    _check_extras_in_target(province_b, target, clashing_codes={clash}, skip=frozenset({"HS-TRUNG"}))
    with target.session() as s:
        trung = s.scalar(select(Dossier.id).where(Dossier.code == "HS-TRUNG"))
        assert s.get(DossierPlace, trung) is None
    assert second.counts.kinds["place"].conflicts == 1
    assert second.counts.kinds["result_code"].conflicts == 1 and second.counts.kinds["result"].conflicts == 1
    assert second.counts.kinds["component"].copied == 1 and first.counts.kinds["place"].copied == 1
    assert first.counts.kinds["station"].copied == 1 and second.counts.kinds["station"].merged == 1
    assert first.counts.kinds["batch"].copied == 1 and second.counts.kinds["batch"].copied == 1
    assert first.counts.kinds["source_file"].copied == 1 and second.counts.kinds["source_file"].copied == 1
    with target.session() as s:
        assert s.scalars(select(Station.code)).all() == ["QUAY-01"]
    assert first.counts.kinds["certify_request"].copied == 2
    assert first.counts.kinds["learned_word"].copied == 1 and first.counts.kinds["result"].copied == 1
    assert any(clash in detail for _k, _r, detail in second.counts.problems)
    # The dossiers only Bắc Ninh held have its figures (HS-BN-002's paper is now linked to Bắc
    # Giang's: a paper the records already held, which Bắc Ninh could not know).
    # HS-BN-003's result, whose printed code is Bắc Giang's here, is the conflict left out.
    assert dossier_flags(target, "HS-BN-001") == dossier_flags(province_b.db, "HS-BN-001")
    assert dossier_flags(target, "HS-BN-002") == {**dossier_flags(province_b.db, "HS-BN-002"), "reuse": True}
    assert dossier_flags(target, "HS-BN-003") == {
        **dossier_flags(province_b.db, "HS-BN-003"), "electronic_result": False}

    with target.session() as s:
        # The dossier both held is one dossier: its shared paper once, the other paper added.
        chung = s.scalar(select(Dossier).where(Dossier.code == "HS-CHUNG"))
        assert len(chung.documents) == 2
        # The same person's paper from both provinces: the second record is linked to the first.
        hoa = s.scalars(select(Document).where(Document.personal_id == "001190023456").order_by(Document.id)).all()
        assert len(hoa) == 2 and hoa[1].reused_from_id == hoa[0].id
        # The clash is left as the first province had it.
        trung = s.scalar(select(Dossier).where(Dossier.code == "HS-TRUNG"))
        assert trung.applicant_personal_id == "001090012345" and len(trung.documents) == 1
        # Both provinces' copy number 1, each under its own register's agency.
        numbers = s.execute(select(CertifiedCopy.agency, CertifiedCopy.certification_number)).all()
        assert sorted(a for a, n in numbers if n.startswith("1, ")) == sorted([BAC_GIANG, BAC_NINH])
    assert second.counts.kinds["dossier"].conflicts == 1
    assert any("HS-TRUNG" in detail and "applicant" in detail for _k, _r, detail in second.counts.problems)
    assert second.counts.kinds["dossier"].merged == 1  # HS-CHUNG
    assert second.counts.kinds["document"].merged == 1  # chị Hoa's paper, linked
    assert second.counts.kinds["document"].present == 1  # the shared paper of HS-CHUNG
    assert first.counts.kinds["blob"].copied == len(list(province_a.store.iter_keys()))

    # The former agency stays searchable.
    assert dossiers_of_former_agency(target, BAC_GIANG) == ["HS-BG-001", "HS-BG-002", "HS-CHUNG", "HS-TRUNG"]

    # Both trails: this chain intact, and each province's events in a sealed segment it names.
    assert verify_chain(target).ok
    report = verify_segments(target)
    assert report.ok and report.segments == 2 and report.unsealed == 0
    with province_a.db.session() as s, province_b.db.session() as t:
        assert report.events == s.scalar(select(func.count()).select_from(AuditEvent)) + t.scalar(
            select(func.count()).select_from(AuditEvent))

    # Again: nothing new, everything already present (the clash still reported).
    before = _rows(target)
    again = _import(target, target_store, province_b)
    assert _rows(target) == before
    assert again.counts.kinds["document"].copied == 0 and again.counts.kinds["blob"].copied == 0
    assert again.counts.kinds["dossier"].conflicts == 1

    # An imported certified copy still verifies, and is found in the merged records.
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(open_store(target_store).get_bytes(province_a.copies["HS-BG-001"]))
    monkeypatch.setenv("SOHOA_DATABASE_URL", target_url)
    monkeypatch.setenv("SOHOA_STORE_URL", target_store)
    root = ensure_dev_pki(province_a.settings.pki_dir).root_cert_path
    capsys.readouterr()
    assert main(["verify", str(copy), "--json", "--offline", "--trust-root", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["record_match"] is True

    # `sohoa audit verify` walks the segments too, and names one altered after the import.
    assert main(["audit", "verify"]) == 0
    assert "2 imported segments intact" in capsys.readouterr().out
    with target.engine.begin() as conn:  # an attacker with the database's owner rights
        conn.execute(text("DROP TRIGGER imported_audit_events_no_update ON imported_audit_events"))
        conn.execute(text("UPDATE imported_audit_events SET actor = 'someone else' WHERE seq = 2"))
    assert not verify_segments(target).ok
    assert main(["audit", "verify"]) == 1
    assert "altered" in capsys.readouterr().err

def test_a_dry_run_writes_nothing(province_a: Deployment, merged) -> None:
    target, _url, target_store = merged
    before = _rows(target)
    report = _import(target, target_store, province_a, dry_run=True)
    assert _rows(target) == before
    assert list(open_store(target_store).iter_keys()) == []
    assert report.counts.kinds["dossier"].copied == 4 and report.counts.kinds["copy"].copied == 1
    assert report.counts.kinds["blob"].copied == len(list(province_a.store.iter_keys()))
