"""The closing step that compares one person's readings across the documents of a batch."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from PIL import Image

from classifiers.reasons import in_vietnamese
from core.settings import Settings
from flow import policy
from flow.context import DocumentOutcome, OutcomeState
from flow.run import process_paths
from flow.steps import STEPS, Closing, Phase, agree
from samples.facts import person
from samples.generator import generate_document
from storage.archive import set_review
from storage.db import open_database
from storage.records import dossier_by_code
from storage.review import review_queue

ID = "001090012345"


def _outcome(number: int, doc_type: str, fields: dict) -> DocumentOutcome:
    return DocumentOutcome(number=number, state=OutcomeState.DONE, doc_type=doc_type, fields=fields,
                           needs_review=tuple(n for n, f in fields.items() if f["needs_review"]))


def test_agree_runs_before_the_status_is_decided() -> None:
    names = [s.name for s in STEPS if s.phase is Phase.CLOSING]
    assert names.index("agree") < names.index("finish")


def test_agree_confirms_and_flags_across_documents() -> None:
    card = _outcome(1, "cccd", {
        "personal_id": {"value": ID, "confidence": 1.0, "needs_review": False},
        "full_name": {"value": "KHỔNG VĂN KHIÊM", "confidence": 0.7, "needs_review": True,
                      "reason": "name word(s) not recognised: KHIÊM"},
        "date_of_birth": {"value": "1990-03-04", "confidence": 1.0, "needs_review": False}})
    form = _outcome(2, "application_form", {
        "applicant_personal_id": {"value": ID, "confidence": 0.9, "needs_review": False},
        "applicant_name": {"value": "KHỔNG VĂN KHIÊM", "confidence": 0.9, "needs_review": False}})
    failed = DocumentOutcome(number=3, state=OutcomeState.FAILED, reason="unreadable")
    closing = Closing(ctx=None, documents=(card, form, failed), pages_done=2, pages_failed=0)  # type: ignore[arg-type]
    out = agree(closing, services=None)  # type: ignore[arg-type]
    first = out.documents[0]
    assert first.needs_review == ()
    assert first.fields["full_name"]["needs_review"] is False
    assert "confirmed" in first.fields["full_name"]["reason"]
    assert out.documents[2] is failed


def test_papers_that_disagree_on_the_birth_date_are_flagged_in_the_records_and_not_certified(tmp_path: Path) -> None:
    """A dossier of two generated papers of one person (same ID and name): the ID card and a
    residence confirmation printed with the next day as the date of birth. Neither is certified;
    both records carry the flag with the other paper's date, and the review queue lists them."""
    rng = random.Random("agreement-dob")
    holder = person(rng)
    day = timedelta(days=1 if holder.birth.day < 28 else -1)
    paths = []
    for i, (doc_type, subject) in enumerate((("cccd", holder), ("residence_confirmation",
                                                                replace(holder, birth=holder.birth + day)))):
        doc = generate_document(doc_type, random.Random(f"agreement-dob/{doc_type}"), subject=subject, damage=0.0,
                                allow_rotation=False)
        for j, page in enumerate(doc.pages):
            paths.append(tmp_path / f"{i}-{doc_type}-{j}.png")
            Image.fromarray(page).save(paths[-1], dpi=(300, 300))
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    summary = process_paths(paths, settings, dossier_code="HS-AGREE-1", procedure_code="1.000894",
                            certify=True).summary

    assert [d.doc_type for d in summary.documents] == ["cccd", "residence_confirmation"]
    assert all(d.certified_key is None and d.certification_number is None for d in summary.documents)
    assert str(summary.dossier_status) == "needs_review"
    db = open_database(settings.resolved_database_url)
    records = {d.doc_type: d for d in dossier_by_code(db, "HS-AGREE-1").documents}  # type: ignore[union-attr]
    born, next_day = holder.birth.isoformat(), (holder.birth + day).isoformat()
    for doc_type, other in (("cccd", next_day), ("residence_confirmation", born)):
        record = records[doc_type]
        entry = record.fields["date_of_birth"]
        assert record.review_state == "needs_review" and not record.certified
        assert entry["needs_review"] is True
        assert f"date of birth differs from another paper of this dossier: '{other}'" in entry["reason"]
        assert "khác với giấy tờ khác trong cùng hồ sơ" in in_vietnamese(entry["reason"])
    queued = {item.doc_type: item.flagged for item in review_queue(db, dossier="HS-AGREE-1")}
    assert "date_of_birth" in queued["cccd"] and "date_of_birth" in queued["residence_confirmation"]

    # a clerk's review of the residence confirmation is the decision: it is no longer held
    card, form = records["cccd"], records["residence_confirmation"]
    assert policy.held_by_agreement(db, form.id, actor="test") == ("date_of_birth",)
    set_review(db, form.id, state="reviewed", actor="clerk", fields={"date_of_birth": born})
    assert policy.held_by_agreement(db, form.id, actor="test") == ()
    assert policy.held_by_agreement(db, card.id, actor="test") == ()  # the papers now read alike
