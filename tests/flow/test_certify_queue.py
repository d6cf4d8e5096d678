"""The certifying officer's queue without a server: a confirmation whose signing fails puts the
request back in the queue with the reason (nothing half-made), another officer confirms it, and a
decided request is not decided again; ``sohoa certify-queue`` does the same from the shell."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.main import main
from core.errors import ConfigError
from core.settings import Settings
from flow import policy
from signing.digitize import Digitization, sign_scan
from signing.officials import official_signer
from storage.certify_queue import AlreadyDecided, RequestState, enqueue, get_request, refuse
from storage.db import Database, open_database
from storage.models import Document, Dossier
from storage.objects import open_store
from tests.signing.conftest import pikepdf_pdf

DIGITIZER = "Nguyễn Văn An"
OFFICER = "Trần Thị Bình"


def recorded(settings: Settings) -> tuple[Database, int]:
    signed = sign_scan(pikepdf_pdf(), official_signer(settings, DIGITIZER),
                       Digitization(DIGITIZER, settings.agency, datetime.now(UTC))).pdf
    key = open_store(settings.resolved_store_url).put_bytes(signed, "application/pdf").key
    db = open_database(settings.resolved_database_url)
    with db.transaction() as session:
        dossier = Dossier(code="HS-HANG-DOI")
        session.add(dossier)
        session.flush()
        row = Document(dossier_id=dossier.id, doc_type="cccd", pdf_key=key,
                       pdf_sha256=hashlib.sha256(signed).hexdigest(), pdf_size=len(signed), page_count=1)
        session.add(row)
        session.flush()
        return db, row.id


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
