"""``sohoa review`` and ``sohoa keys create --official``: the same rules as the HTTP routes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from core.settings import Settings
from storage.archive import archive_document
from storage.audit import verify_chain
from storage.db import open_database
from storage.learned import vouched
from storage.objects import open_store
from storage.review import document_for_review
from tests.storage.builders import make_document, make_dossier


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOHOA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SOHOA_DATABASE_URL", raising=False)
    monkeypatch.delenv("SOHOA_OFFICIAL", raising=False)
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings.resolved_database_url)
    archive_document(db, open_store(settings.resolved_store_url), dossier=make_dossier("HS-CLI"),
                     document=make_document(1, needs_review=True, personal_id="001090012845"),
                     batch_id=None, source_keys=[], certified=None, actor="station:q01")
    db.dispose()
    return tmp_path


def test_list_show_set_confirm(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "list", "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["flagged"] == ["personal_id"] and item["dossier_code"] == "HS-CLI"
    assert main(["review", "show", str(item["document_id"])]) == 0
    assert "? personal_id" in capsys.readouterr().out

    assert main(["review", "set", "1", "personal_id", "001090012345"]) == 2  # who is deciding?
    assert "--official" in capsys.readouterr().err
    official = ["--official", "Phạm Văn Cường"]
    assert main(["review", "set", "1", "personal_id", "0010900123", *official]) == 2
    assert "personal_id" in capsys.readouterr().err
    assert main(["review", "set", "1", "personal_id", "001 090 012 345", *official]) == 0
    assert "reviewed" in capsys.readouterr().out
    assert main(["review", "confirm", "1", "full_name", *official]) == 0
    db = open_database(Settings(data_dir=data_dir).resolved_database_url)
    doc = document_for_review(db, 1)
    assert doc is not None and doc.version == 2 and doc.fields["personal_id"]["value"] == "001090012345"
    assert doc.fields["personal_id"]["machine"]["value"] == "001090012845"
    assert doc.fields["full_name"]["review"]["by"] == "Phạm Văn Cường"
    assert verify_chain(db).ok
    (taught,) = vouched(db)  # the confirmed name joined the learned words; the ID is no word
    assert (taught.kind, taught.text, taught.official, taught.document_id, taught.field) == (
        "name", doc.fields["full_name"]["value"], "Phạm Văn Cường", 1, "full_name")
    db.dispose()
    assert main(["review", "learned"]) == 0
    listed = capsys.readouterr().out
    assert doc.fields["full_name"]["value"] in listed and "Phạm Văn Cường" in listed and "document 1" in listed
    assert main(["review", "list"]) == 0
    assert "nothing to review" in capsys.readouterr().err


def test_verifier_keys_name_their_official(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--role", "verifier", "--name", "kt01"]) == 2
    assert "official" in capsys.readouterr().err
    assert main(["keys", "create", "--role", "verifier", "--name", "kt01", "--official", "Nguyễn Thị A",
                 "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["role"] == "verifier" and made["official"] == "Nguyễn Thị A"
    assert main(["keys", "create", "--role", "station", "--name", "q01"]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    header, verifier, station = capsys.readouterr().out.splitlines()
    assert "official" in header and "role" in header
    assert verifier.split()[:3] == [str(made["id"]), "verifier", "kt01"] and "Nguyễn Thị A" in verifier
    assert station.split()[1:4] == ["station", "q01", "—"]
    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["role"], k["official"]) for k in listed] == [("verifier", "Nguyễn Thị A"), ("station", None)]
