"""Digitization result codes: one per document, unique, numbered per agency code and day under
concurrency on SQLite and PostgreSQL, kept on a second issue, with a check character that catches
a mistyped code."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from core.errors import InputError
from core.result_code import DEFAULT_RESULT_CODE_FORMAT, format_result_code, result_code_valid
from storage.db import Database, open_database
from storage.models import Document, Dossier
from storage.result_codes import document_of_result_code, issue_result_code
from tests.support.servers import postgres_database

DAY = date(2026, 12, 7)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = open_database(f"sqlite:///{tmp_path / 'records.db'}")
        yield database
        database.dispose()
        return
    with postgres_database() as url:
        database = open_database(url)
        yield database
        database.dispose()


def documents(db: Database, count: int) -> list[int]:
    with db.transaction() as session:
        dossier = Dossier(code="HS-KQ-1")
        session.add(dossier)
        session.flush()
        rows = [Document(dossier_id=dossier.id, doc_type="cccd", pdf_key=f"k{i}", pdf_sha256=f"{i:064x}",
                         pdf_size=1, page_count=1) for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_twenty_documents_at_once_get_twenty_codes(db: Database) -> None:
    ids = documents(db, 21)

    def issue(document_id: int) -> str:
        return issue_result_code(db, document_id=document_id, agency_code="000.00.19.H29",
                                 fmt=DEFAULT_RESULT_CODE_FORMAT, day=DAY, actor="station:a")

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(issue, ids[:20]))
    assert len(set(codes)) == 20 and all(result_code_valid(c) for c in codes)
    assert sorted(int(c.split("-")[2]) for c in codes) == list(range(1, 21))
    assert issue(ids[0]) == codes[0]  # a document keeps its code
    assert document_of_result_code(db, codes[5]) == ids[5]
    other_day = issue_result_code(db, document_id=ids[20], agency_code="000.00.19.H29",
                                  fmt=DEFAULT_RESULT_CODE_FORMAT, day=date(2026, 12, 8), actor="station:a")
    assert other_day == format_result_code(DEFAULT_RESULT_CODE_FORMAT, agency="000.00.19.H29",
                                           day=date(2026, 12, 8), seq=1)


def test_the_check_character_catches_a_typo() -> None:
    code = format_result_code(DEFAULT_RESULT_CODE_FORMAT, agency="000.00.19.H29", day=DAY, seq=12)
    assert code.startswith("000.00.19.H29-261207-000012-") and result_code_valid(code)
    typo = code.replace("000012", "000013")
    swapped = code.replace("H29", "H92")
    assert not result_code_valid(typo) and not result_code_valid(swapped)


def test_a_format_without_a_sequence_is_refused(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'records.db'}")
    [doc] = documents(db, 1)
    with pytest.raises(InputError, match="SOHOA_RESULT_CODE_FORMAT"):
        issue_result_code(db, document_id=doc, agency_code="X", fmt="{agency}-{date}", day=DAY, actor="a")
    assert issue_result_code(db, document_id=doc, agency_code="X", fmt="KQ{date}{seq:04d}", day=DAY,
                             actor="a") == "KQ2612070001"
    db.dispose()
