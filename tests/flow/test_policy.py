"""The one policy both runners follow: statuses, register numbers, dossier codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from core.model import DossierStatus
from flow.policy import (
    DocumentVerdict,
    batch_status,
    default_dossier_code,
    dossier_status,
    register_text,
    register_year,
)
from storage.register import RegisterNumber

WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def test_dossier_status_follows_its_documents_and_failures() -> None:
    ok, unsure, failed = DocumentVerdict(True, False), DocumentVerdict(True, True), DocumentVerdict(False, False)
    assert dossier_status([ok, ok], failures=0) is DossierStatus.DIGITIZED
    assert dossier_status([ok, unsure], failures=0) is DossierStatus.NEEDS_REVIEW
    assert dossier_status([ok], failures=1) is DossierStatus.NEEDS_REVIEW  # a page failed: someone must look
    assert dossier_status([failed], failures=1) is DossierStatus.FAILED
    assert dossier_status([], failures=0) is DossierStatus.FAILED


def test_batch_fails_only_when_nothing_came_of_it() -> None:
    assert batch_status(documents_done=2, failures=3) == "done"
    assert batch_status(documents_done=0, failures=1) == "failed"
    assert batch_status(documents_done=0, failures=0) == "done"  # an empty batch failed at nothing


def test_register_number_is_one_format_in_the_vietnamese_year() -> None:
    entry = RegisterNumber(entry_id=7, agency="UBND phường Bến Nghé", year=2026, book=1, number=12)
    assert register_text(entry) == "12, Quyển số: 01/2026-SCTĐT/BS"
    assert register_year(datetime(2026, 12, 31, 18, 0, tzinfo=UTC)) == 2027  # already 1 January in Hà Nội


def test_default_dossier_code_is_the_day_and_the_files() -> None:
    code = default_dossier_code(["aa", "bb"], WHEN)
    assert re.fullmatch(r"HS-20261207-[0-9A-F]{6}", code)
    assert default_dossier_code(["aa", "bb"], WHEN) == code
    assert default_dossier_code(["aa", "cc"], WHEN) != code
