"""The one policy both runners follow: statuses and certification numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from core.model import DossierStatus
from flow.policy import (
    DocumentVerdict,
    batch_status,
    certification_number,
    default_dossier_code,
    dossier_status,
)

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


def test_certification_numbers_are_one_format_and_repeat_only_for_the_same_request() -> None:
    first = certification_number(WHEN, "ab" * 32, "HS-1")
    assert re.fullmatch(r"CT-20261207-[0-9A-F]{8}", first)
    assert certification_number(WHEN, "ab" * 32, "HS-1") == first  # a redelivery finds its copy
    assert certification_number(WHEN, "ab" * 32, "HS-2") != first  # another dossier, another entry
    assert certification_number(WHEN, "ab" * 32, "HS-1", request="api:key-2") != first


def test_default_dossier_code_is_the_day_and_the_files() -> None:
    code = default_dossier_code(["aa", "bb"], WHEN)
    assert re.fullmatch(r"HS-20261207-[0-9A-F]{6}", code)
    assert default_dossier_code(["aa", "bb"], WHEN) == code
    assert default_dossier_code(["aa", "cc"], WHEN) != code
