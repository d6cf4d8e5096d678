"""Learned words in the records, on SQLite and PostgreSQL: written with the review that vouched for
them (a refused or stale review teaches nothing), NFC, each confirmation with its provenance, and
read back as the distinct words extraction consults."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.review import Submission, submit_review
from classifiers.lexicon import LearnedWords
from storage.archive import archive_document
from storage.db import Database, open_database
from storage.learned import LearnedKind, learned_words, vouched
from storage.objects import open_store
from storage.review import FieldRefused, StaleReview
from tests.storage.builders import make_document, make_dossier
from tests.support.servers import postgres_database


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


def _document(db: Database, tmp_path: Path, seed: int, name: str) -> int:
    document = make_document(seed, needs_review=True, personal_id="001090012845", full_name=name)
    return archive_document(db, open_store(f"file://{tmp_path / 'objects'}"), dossier=make_dossier(f"HS-{seed}"),
                            document=document, batch_id=None, source_keys=[], certified=None,
                            actor="station:q01").document_id


def test_reviews_teach_their_names_with_provenance(db: Database, tmp_path: Path) -> None:
    first = _document(db, tmp_path, 1, "TỐNG DIỆP LAM")
    second = _document(db, tmp_path, 2, "TỐNG DIỆP LAM")

    # refused (a bad ID beside the name) and stale submissions store nothing, and teach nothing
    with pytest.raises(FieldRefused):
        submit_review(db, first, Submission(version=0, confirm=("full_name",), values={"personal_id": "12"}),
                      official="Nguyễn Thị An", actor="verifier:kt01")
    with pytest.raises(StaleReview):
        submit_review(db, first, Submission(version=3, confirm=("full_name",)), official="Nguyễn Thị An",
                      actor="verifier:kt01")
    assert learned_words(db) == () and vouched(db) == []

    submit_review(db, first, Submission(version=0, confirm=("full_name",)), official="Nguyễn Thị An",
                  actor="verifier:kt01")
    typed = unicodedata.normalize("NFD", "tống diệp lam")  # as a keyboard may send it
    submit_review(db, second, Submission(version=0, values={"full_name": typed, "personal_id": "001090012345"}),
                  official="Lê Văn Bình", actor="verifier:kt02")

    # two confirmations of one name: two rows of provenance, one word to consult; the ID is no word
    assert learned_words(db) == ((LearnedKind.NAME, "TỐNG DIỆP LAM"),)
    rows = vouched(db)
    assert [(r.official, r.document_id, r.field) for r in rows] == [
        ("Lê Văn Bình", second, "full_name"), ("Nguyễn Thị An", first, "full_name")]
    assert all(unicodedata.is_normalized("NFC", r.text) and r.created is not None for r in rows)
    assert vouched(db, kind=LearnedKind.PLACE) == []
    assert LearnedWords.of(learned_words(db)).names == frozenset({"TỐNG", "DIỆP", "LAM"})
