"""The certifying officer's queue without a server: a confirmation whose signing fails puts the
request back in the queue with the reason (nothing half-made), another officer confirms it, and a
decided request is not decided again; ``sohoa certify-queue`` does the same from the shell. A paper
of the dossier that contradicts the requested one, recorded as the officer confirms, holds the copy:
the check and the claim are one transaction, and the list marks the request held."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.main import main
from core.errors import ConfigError
from core.settings import Settings
from flow import policy
from signing.digitize import Digitization, sign_scan
from signing.officials import official_signer
from storage.certify_queue import AlreadyDecided, Paper, RequestState, claim, enqueue, get_request, refuse
from storage.db import Database, open_database
from storage.models import Document, Dossier
from storage.objects import open_store
from tests.signing.conftest import pikepdf_pdf
from tests.support.held import BORN, NAME, NEXT_DAY, PERSONAL_ID

DIGITIZER = "Nguyễn Văn An"
OFFICER = "Trần Thị Bình"


def recorded(settings: Settings, fields: dict[str, dict[str, object]] | None = None) -> tuple[Database, int]:
    signed = sign_scan(pikepdf_pdf(), official_signer(settings, DIGITIZER),
                       Digitization(DIGITIZER, settings.agency, datetime.now(UTC))).pdf
    key = open_store(settings.resolved_store_url).put_bytes(signed, "application/pdf").key
    db = open_database(settings.resolved_database_url)
    with db.transaction() as session:
        dossier = Dossier(code="HS-HANG-DOI")
        session.add(dossier)
        session.flush()
        row = Document(dossier_id=dossier.id, doc_type="cccd", pdf_key=key, fields=fields or {},
                       pdf_sha256=hashlib.sha256(signed).hexdigest(), pdf_size=len(signed), page_count=1)
        session.add(row)
        session.flush()
        return db, row.id


def _person(born: str) -> dict[str, dict[str, object]]:
    return {"personal_id": {"value": PERSONAL_ID, "confidence": 1.0},
            "full_name": {"value": NAME, "confidence": 0.98},
            "date_of_birth": {"value": born, "confidence": 0.97}}


def record_residence(db: Database, beside: int, born: str = NEXT_DAY) -> int:
    """A residence confirmation of the same person recorded into the card's dossier (as a second
    batch of the dossier would), reading the birth date ``born``."""
    with db.transaction() as session:
        card = session.get(Document, beside)
        assert card is not None
        row = Document(dossier_id=card.dossier_id, doc_type="residence_confirmation", personal_id=PERSONAL_ID,
                       fields=_person(born), pdf_key=card.pdf_key, pdf_sha256=card.pdf_sha256,
                       pdf_size=card.pdf_size, page_count=1)
        session.add(row)
        session.flush()
        return row.id


def test_a_failed_signing_puts_the_request_back(tmp_path: Path) -> None:
    broken = tmp_path / "officials.json"
    broken.write_text(json.dumps({"officials": {OFFICER: {"pkcs12": str(tmp_path / "gone.p12")}}}, ensure_ascii=False))
    settings = Settings(data_dir=tmp_path / "data", officials_file=broken)
    db, document_id = recorded(settings)
    store = open_store(settings.resolved_store_url)
    request = enqueue(db, document_id=document_id, requested_by="workflow:w1", purpose="thủ tục đất đai")

    with pytest.raises(ConfigError, match="gone.p12"):
        policy.confirm_certification(db, store, settings, request_id=request.id, officer=OFFICER,
                                     actor="certifier:c1")
    again = get_request(db, request.id)
    assert again.state is RequestState.WAITING and "gone.p12" in again.reason and again.certified_copy_id is None

    copy, copy_id, _key = policy.confirm_certification(db, store, settings, request_id=request.id,
                                                       officer="Lê Văn Cường", actor="certifier:c2")
    done = get_request(db, request.id)
    assert done.state is RequestState.CONFIRMED and done.officer == "Lê Văn Cường" and done.certified_copy_id == copy_id
    assert "Lê Văn Cường" in copy.signer
    with pytest.raises(AlreadyDecided):
        refuse(db, request.id, officer=OFFICER, actor="certifier:c1", reason="trễ")
    db.dispose()


def test_the_queue_from_the_shell(tmp_path: Path, monkeypatch, capsys) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    monkeypatch.setenv("SOHOA_DATA_DIR", str(settings.data_dir))
    db, document_id = recorded(settings)
    first = enqueue(db, document_id=document_id, requested_by="workflow:w1")
    second = enqueue(db, document_id=document_id, requested_by="workflow:w1")
    db.dispose()

    assert main(["certify-queue", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"document {document_id}" in listed and listed.count("waiting") == 2
    assert main(["certify-queue", "confirm", str(first.id)]) == 2  # no officer named: refused in one line
    assert "--official" in capsys.readouterr().err
    assert main(["certify-queue", "confirm", str(first.id), "--official", OFFICER, "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["certification_number"].startswith("1, Quyển số: ") and OFFICER in made["signer"]
    assert main(["certify-queue", "refuse", str(second.id), "--official", OFFICER,
                 "--reason", "bản chính không khớp"]) == 0
    capsys.readouterr()
    assert main(["certify-queue", "list", "--all", "--json"]) == 0
    states = {r["id"]: (r["state"], r["reason"]) for r in json.loads(capsys.readouterr().out)}
    assert states == {first.id: ("confirmed", None), second.id: ("refused", "bản chính không khớp")}


def test_a_paper_recorded_as_the_officer_confirms_holds_the_copy(tmp_path: Path, monkeypatch, capsys) -> None:
    """The residence confirmation that contradicts the card is recorded in the instant between the
    officer's confirmation starting and the request being taken (where the hold was checked apart
    before): the claim itself sees it, no copy is made, the request waits, the card goes to review,
    and ``certify-queue list`` marks the request held with the field."""
    settings = Settings(data_dir=tmp_path / "data")
    monkeypatch.setenv("SOHOA_DATA_DIR", str(settings.data_dir))
    db, card = recorded(settings, _person(BORN))
    request = enqueue(db, document_id=card, requested_by="workflow:w1")
    real_claim = policy.claim

    def claim_after_a_paper_came_in(*args, **kwargs):  # type: ignore[no-untyped-def]
        record_residence(db, card)
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(policy, "claim", claim_after_a_paper_came_in)
    with pytest.raises(policy.HeldByAgreement, match="date_of_birth"):
        policy.confirm_certification(db, open_store(settings.resolved_store_url), settings, request_id=request.id,
                                     officer=OFFICER, actor="certifier:c1")
    monkeypatch.undo()
    waiting = get_request(db, request.id)
    assert waiting.state is RequestState.WAITING and waiting.certified_copy_id is None
    with db.session() as session:
        row = session.get(Document, card)
        assert row.review_state == "needs_review" and row.fields["date_of_birth"]["needs_review"]
        assert not row.certified_copies
    assert policy.agreement_holds(db, [card]) == {card: ("date_of_birth",)}
    db.dispose()

    monkeypatch.setenv("SOHOA_DATA_DIR", str(settings.data_dir))
    assert main(["certify-queue", "list"]) == 0
    line = capsys.readouterr().out
    assert f"document {card}" in line and "HELD" in line and "date_of_birth" in line, line
    assert main(["certify-queue", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["held"] is True and listed["held_fields"] == ["date_of_birth"]
    assert main(["certify-queue", "confirm", str(request.id), "--official", OFFICER]) == 2
    assert "date_of_birth" in capsys.readouterr().err


def test_no_paper_is_recorded_while_the_claim_checks(tmp_path: Path) -> None:
    """The claim's check runs under the queue's write lock: a paper of the dossier being recorded
    meanwhile waits until the claim is taken, so the check never judges a dossier that is already
    other than it reads."""
    settings = Settings(data_dir=tmp_path / "data")
    db, card = recorded(settings, _person(BORN))
    request = enqueue(db, document_id=card, requested_by="workflow:w1")
    recorded_ids: list[int] = []
    seen: list[tuple[int, ...]] = []

    def check(document_id: int, papers: tuple[Paper, ...]) -> None:
        seen.append(tuple(p.id for p in papers))
        writer = threading.Thread(target=lambda: recorded_ids.append(record_residence(db, card)))
        writer.start()
        writer.join(timeout=1.5)
        assert writer.is_alive() and not recorded_ids  # waiting on the claim's lock
        check.writer = writer  # type: ignore[attr-defined]

    taken = claim(db, request.id, officer=OFFICER, actor="certifier:c1", check=check)
    check.writer.join(timeout=30)  # type: ignore[attr-defined]
    assert taken.state is RequestState.CONFIRMING and seen == [(card,)]
    assert len(recorded_ids) == 1  # recorded once the claim committed
    assert policy.agreement_holds(db, [card]) == {card: ("date_of_birth",)}
    db.dispose()
