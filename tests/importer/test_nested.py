"""A source that was itself a merge target hands over the trails it imported (and the former agencies
its ledger kept): A imported into B, B (which went on working) into C, C into D. C verifies A's
segment (sealed by an event of B's trail), B's and its own chain; D verifies all three levels; an
event of A altered in C is found; A's former agency is still found in C and D."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from cli.main import main
from storage.audit import verify_chain
from storage.db import Database, open_database
from storage.importer import AgencyMap, run_import, verify_segments
from storage.importer.ledger import AuditSegment, ImportedAuditEvent, ImportSource
from storage.importer.search import dossiers_of_former_agency
from storage.importer.sohoa_source import SohoaSource
from storage.models import AuditEvent, Dossier
from storage.objects import open_store
from tests.importer.deployments import Deployment, add_dossier, deployment


@pytest.fixture
def deployments(tmp_path: Path, pki_dir: Path) -> Iterator[dict[str, Deployment]]:
    out = {}
    for name in "ABCD":
        url, store_url = f"sqlite:///{tmp_path / name}.db", f"file://{tmp_path / name}-objects"
        out[name] = deployment(open_database(url), open_store(store_url), url, store_url,
                               agency=f"UBND xã {name}", pki=pki_dir)
    yield out
    for dep in out.values():
        dep.db.dispose()


def _import(into: Deployment, source: Deployment, agencies: AgencyMap | None = None):
    src = SohoaSource(source.db_url, source.store_url)
    try:
        return run_import(into.db, into.store, src, agencies=agencies)
    finally:
        src.close()


def _events(db: Database) -> list[tuple[int, str]]:
    with db.session() as s:
        return s.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq)).all()


def test_a_merge_target_brings_the_trails_it_imported(deployments, tmp_path: Path, monkeypatch, capsys) -> None:
    a, b, c, d = (deployments[n] for n in "ABCD")
    add_dossier(a, "HS-A-001", papers=("giấy A",), certify=True)
    add_dossier(b, "HS-B-001", papers=("giấy B",))
    _import(b, a, AgencyMap({"UBND xã A": "UBND xã B"}))  # A's commune merged into B's
    add_dossier(b, "HS-B-002", papers=("giấy B sau khi nhập",))  # B goes on working after the merge
    add_dossier(c, "HS-C-001", papers=("giấy C",))

    first = _import(c, b)
    assert verify_chain(c.db).ok
    report = verify_segments(c.db)
    assert report.ok and report.segments == 2 and report.unsealed == 0
    assert report.events == len(_events(a.db)) + len(_events(b.db))
    assert first.counts.kinds["audit"].copied == report.events
    with c.db.session() as s:
        assert sorted(s.scalars(select(Dossier.code))) == ["HS-A-001", "HS-B-001", "HS-B-002", "HS-C-001"]
        nested = s.scalar(select(AuditSegment).where(AuditSegment.parent_id.is_not(None)))
        own_b = s.get(AuditSegment, nested.parent_id)
        assert own_b.parent_id is None and own_b.sealed_seq is not None  # sealed by C's chain
        # A's events, verbatim, sealed by the event of B's trail that sealed them in B.
        assert s.execute(select(ImportedAuditEvent.seq, ImportedAuditEvent.hash)
                         .where(ImportedAuditEvent.segment_id == nested.id)
                         .order_by(ImportedAuditEvent.seq)).all() == _events(a.db)
        seal = s.scalar(select(ImportedAuditEvent).where(ImportedAuditEvent.segment_id == own_b.id,
                                                         ImportedAuditEvent.seq == nested.sealed_seq))
        assert seal.action == "import.audit_segment" and seal.details["head_hash"] == nested.head_hash
        assert "(through " in s.get(ImportSource, nested.source_id).label
        assert s.scalar(select(Dossier.agency).where(Dossier.code == "HS-A-001")) == "UBND xã B"
    # A's former agency, kept in B's ledger, stays searchable here.
    assert dossiers_of_former_agency(c.db, "UBND xã A") == ["HS-A-001"]

    # Again: nothing new.
    again = _import(c, b)
    assert again.counts.kinds["audit"].copied == 0 and again.counts.kinds["audit"].present == report.events
    with c.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditSegment)) == 2

    # One more level: C into D, whose segments hold B's, which holds A's.
    _import(d, c)
    deep = verify_segments(d.db)
    assert deep.ok and deep.segments == 3
    assert deep.events == len(_events(a.db)) + len(_events(b.db)) + len(_events(c.db))
    assert dossiers_of_former_agency(d.db, "UBND xã A") == ["HS-A-001"]
    monkeypatch.setenv("SOHOA_DATABASE_URL", d.db_url)
    monkeypatch.setenv("SOHOA_STORE_URL", d.store_url)
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    assert "3 imported segments intact" in capsys.readouterr().out

    # An event of A altered in C (by someone with the database file) is found.
    with c.db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER imported_audit_events_no_update"))
        conn.execute(text("UPDATE imported_audit_events SET actor = 'người khác' WHERE segment_id = :s AND seq = 2"),
                     {"s": nested.id})
    broken = verify_segments(c.db)
    assert not broken.ok and broken.broken_segment == nested.id and "altered" in broken.reason
