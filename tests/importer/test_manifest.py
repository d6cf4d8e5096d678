"""The generic import: a JSON-lines manifest of a system that is not sohoa, with its files. Good
lines become dossiers and documents (through the same merge as a deployment's), bad lines are
refused with their line number and reason and nothing of theirs is stored, and the import run
again adds nothing."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

from sqlalchemy import func, select

from cli.main import main
from storage.db import open_database
from storage.importer.ledger import ImportRecord
from storage.models import Document, Dossier
from storage.objects import key_for, open_store
from tests.importer.deployments import tiny_pdf

OWNER = "001090012345"


def _line(code: str, file: str, data: bytes | None, **extra: object) -> str:
    rec = {"dossier_code": code, "procedure_code": "2.000986", "owner_id": OWNER, "agency": "UBND xã Cũ",
           "type": "birth_certificate", "fields": {"full_name": "LÊ VĂN BÌNH", "date_of_birth": "1990-03-04"},
           "file": file, "sha256": hashlib.sha256(data or b"").hexdigest(), **extra}
    return json.dumps(rec, ensure_ascii=False)


def test_a_manifest_is_imported_and_its_bad_lines_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    folder = tmp_path / "export"
    (folder / "files").mkdir(parents=True)
    good = [tiny_pdf("khai sinh 1"), tiny_pdf("khai sinh 2"), tiny_pdf("tờ khai")]
    for i, data in enumerate(good):
        (folder / "files" / f"{i}.pdf").write_bytes(data)
    (folder / "files" / "spoilt.pdf").write_bytes(b"%PDF-1.4 not what the manifest says")
    decomposed = unicodedata.normalize("NFD", "Lê Văn Bình")
    lines = [
        _line("HS-CU-1", "files/0.pdf", good[0]),
        _line("HS-CU-1", "files/1.pdf", good[1], fields={"full_name": decomposed}),
        _line("HS-CU-2", "files/2.pdf", good[2], type="application_form", fields={}),
        _line("HS-CU-3", "files/spoilt.pdf", b"something else"),  # hash does not match
        _line("HS-CU-4", "files/0.pdf", good[0], owner_id="999990012345"),  # no such province
        _line("HS-CU-5", "../../etc/passwd", b""),  # outside the folder
        "{not json",
        _line("HS-CU-6", "files/0.pdf", good[0], type="passport"),
    ]
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")

    url, store_url = f"sqlite:///{tmp_path / 'records.db'}", f"file://{tmp_path / 'objects'}"
    monkeypatch.setenv("SOHOA_DATABASE_URL", url)
    monkeypatch.setenv("SOHOA_STORE_URL", store_url)
    command = ["import", "--manifest", str(manifest), "--json"]
    assert main(command) == 1  # lines refused: not a clean import
    out = json.loads(capsys.readouterr().out)
    assert out["kinds"]["dossier"]["copied"] == 2 and out["kinds"]["document"]["copied"] == 3
    refused = {p["ref"]: p["detail"] for p in out["problems"]}
    assert set(refused) == {"line 4", "line 5", "line 6", "line 7", "line 8"}
    assert "does not match its sha256" in refused["line 4"]
    assert "personal ID" in refused["line 5"] and "999990012345" not in refused["line 5"]
    assert "outside" in refused["line 6"] and "passport" in refused["line 8"]

    store = open_store(store_url)
    assert sorted(store.iter_keys()) == sorted(key_for(hashlib.sha256(d).hexdigest()) for d in good)
    db = open_database(url)
    try:
        with db.session() as s:
            codes = s.scalars(select(Dossier.code).order_by(Dossier.code)).all()
            assert codes == ["HS-CU-1", "HS-CU-2"]
            doc = s.scalar(select(Document).where(Document.pdf_sha256 == hashlib.sha256(good[1]).hexdigest()))
            assert doc.fields["full_name"]["value"] == unicodedata.normalize("NFC", decomposed)
            assert doc.personal_id == OWNER and doc.doc_type == "birth_certificate" and doc.page_count == 1
            before = (s.scalar(select(func.count()).select_from(Document)),
                      s.scalar(select(func.count()).select_from(ImportRecord)))
        assert main(command) == 1  # the same lines refused again
        assert json.loads(capsys.readouterr().out)["kinds"]["document"]["present"] == 3
        with db.session() as s:
            assert (s.scalar(select(func.count()).select_from(Document)),
                    s.scalar(select(func.count()).select_from(ImportRecord))) == before
    finally:
        db.dispose()
