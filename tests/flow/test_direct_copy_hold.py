"""A workflow system's direct certified-copy request (no officer's queue), and the flow's certify
step, check the agreement hold as the register number is reserved, in that transaction: a paper of
the dossier that contradicts the requested one, recorded in the instant before, gets the copy
refused with no number taken, and one recorded while the reservation checks waits for it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.model import Document as Scanned
from core.model import ReviewState
from core.settings import Settings
from flow import policy, steps
from flow.context import BatchContext, DocumentWork, Services
from signing.officials import official_signer
from storage.certify_queue import Paper
from storage.db import Database
from storage.models import Document, RegisterEntry
from storage.objects import open_store
from storage.records import document_by_id
from storage.register import reserve_number
from tests.flow.test_certify_queue import _person, record_residence, recorded
from tests.support.held import BORN


def _certify(db: Database, settings: Settings, document_id: int) -> int:
    info = document_by_id(db, document_id)
    assert info is not None
    store = open_store(settings.resolved_store_url)
    signer = official_signer(settings, settings.certifying_officer)
    _copy, copy_id, _key = policy.certify_into_register(
        db, store, signer, settings, pdf=store.get_bytes(info.pdf_key), document_id=document_id,
        document_sha256=info.pdf_sha256, dossier_code=info.dossier_code, procedure_code=None,
        doc_type=info.doc_type, actor="workflow:w1", check_agreement=True)
    return copy_id


def _entries(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(RegisterEntry)) or 0


def test_a_paper_recorded_as_the_copy_is_asked_holds_it(tmp_path: Path, monkeypatch) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    db, card = recorded(settings, _person(BORN))
    real_reserve = policy.reserve_number

    def reserve_after_a_paper_came_in(*args, **kwargs):  # type: ignore[no-untyped-def]
        record_residence(db, card)  # after the route's own check, before the number
        return real_reserve(*args, **kwargs)

    monkeypatch.setattr(policy, "reserve_number", reserve_after_a_paper_came_in)
    with pytest.raises(policy.HeldByAgreement, match="date_of_birth"):
        _certify(db, settings, card)
    monkeypatch.undo()
    assert _entries(db) == 0  # no number taken, none voided: the book has no gap
    with db.session() as session:
        row = session.get(Document, card)
        assert row.review_state == "needs_review" and row.fields["date_of_birth"]["needs_review"]
        assert not row.certified_copies
    db.dispose()


def test_the_flows_certify_step_holds_a_paper_recorded_meanwhile(tmp_path: Path, monkeypatch) -> None:
    """The step's first look finds the dossier agreeing; the contradicting paper comes in before the
    number is reserved: no copy, the document to review, the book untouched."""
    settings = Settings(data_dir=tmp_path / "data")
    db, card = recorded(settings, _person(BORN))
    info = document_by_id(db, card)
    assert info is not None
    real_reserve = policy.reserve_number

    def reserve_after_a_paper_came_in(*args, **kwargs):  # type: ignore[no-untyped-def]
        record_residence(db, card)
        return real_reserve(*args, **kwargs)

    monkeypatch.setattr(policy, "reserve_number", reserve_after_a_paper_came_in)
    ctx = BatchContext(batch_id=1, dossier_code=info.dossier_code, procedure_code=None, station="station:s1",
                       agency=settings.agency, certify=True, received_at=datetime.now(UTC))
    services = Services(settings, db=db, store=open_store(settings.resolved_store_url))
    done = steps.certify(DocumentWork(number=1, document=Scanned(pages=()), document_id=card), ctx, services)
    monkeypatch.undo()
    assert done.review_state == ReviewState.NEEDS_REVIEW and done.certified_id is None
    assert _entries(db) == 0
    with db.session() as session:
        assert session.get(Document, card).fields["date_of_birth"]["needs_review"]
    db.dispose()


def test_agreeing_papers_are_certified(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    db, card = recorded(settings, _person(BORN))
    record_residence(db, card, born=BORN)
    copy_id = _certify(db, settings, card)
    with db.session() as session:
        assert [c.id for c in session.get(Document, card).certified_copies] == [copy_id]
    assert _entries(db) == 1
    db.dispose()


def test_no_paper_is_recorded_while_the_reservation_checks(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    db, card = recorded(settings, _person(BORN))
    recorded_ids: list[int] = []
    seen: list[tuple[int, ...]] = []
    writers: list[threading.Thread] = []

    def check(document_id: int, papers: tuple[Paper, ...]) -> None:
        seen.append(tuple(p.id for p in papers))
        writer = threading.Thread(target=lambda: recorded_ids.append(record_residence(db, card)))
        writer.start()
        writer.join(timeout=1.5)
        assert writer.is_alive() and not recorded_ids  # waiting on the reservation's lock
        writers.append(writer)

    entry = reserve_number(db, agency=settings.agency, year=2026, document_id=card, actor="workflow:w1",
                           check=check)
    writers[0].join(timeout=30)
    assert entry.number == 1 and seen == [(card,)] and len(recorded_ids) == 1
    db.dispose()
