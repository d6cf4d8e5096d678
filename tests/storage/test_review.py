"""The verification station's records: queue, decisions with the machine's value kept beside the
reviewed one, optimistic locking, the audit trail, and re-processing that never undoes a review."""

from __future__ import annotations

import pytest

from storage.archive import archive_document
from storage.audit import verify_chain
from storage.db import Database
from storage.objects import ObjectStore
from storage.reuse import find_reusable
from storage.review import (
    Decision,
    FieldRefused,
    StaleReview,
    document_for_review,
    record_review,
    review_queue,
)
from storage.trail import audit_events
from tests.storage.builders import make_document, make_dossier

PID = "001090012345"
WRONG = "001090012845"


def _archive(db: Database, store: ObjectStore, seed: int, code: str, **kw):
    return archive_document(db, store, dossier=make_dossier(code), document=make_document(seed, **kw),
                            batch_id=None, source_keys=[], certified=None, actor="station:q01")


def test_queue_oldest_first_and_filtered(db: Database, local_store: ObjectStore) -> None:
    first = _archive(db, local_store, 1, "HS-A", needs_review=True, personal_id=WRONG)
    _archive(db, local_store, 2, "HS-B")  # nothing flagged: not in the queue
    third = _archive(db, local_store, 3, "HS-C", needs_review=True, doc_type="birth_certificate")
    queue = review_queue(db)
    assert [q.document_id for q in queue] == [first.document_id, third.document_id]
    assert queue[0].flagged == ("personal_id",) and queue[0].dossier_code == "HS-A"
    assert [q.document_id for q in review_queue(db, dossier="HS-C")] == [third.document_id]
    assert [q.document_id for q in review_queue(db, doc_type="cccd")] == [first.document_id]
    assert review_queue(db, station="no-such-station") == []


def test_correction_keeps_machine_value_and_is_audited(db: Database, local_store: ObjectStore) -> None:
    doc = _archive(db, local_store, 5, "HS-R", needs_review=True, personal_id=WRONG)
    assert find_reusable(db, PID) == []
    updated = record_review(db, doc.document_id, version=0, official="Nguyễn Thị A", actor="verifier:kt01",
                            decisions=[Decision("personal_id", PID), Decision("full_name")])
    assert updated.review_state == "reviewed" and updated.version == 1 and updated.personal_id == PID
    entry = updated.fields["personal_id"]
    assert entry["value"] == PID and entry["machine"]["value"] == WRONG and entry["machine"]["needs_review"]
    assert entry["review"]["by"] == "Nguyễn Thị A" and entry["review"]["action"] == "corrected"
    assert updated.fields["full_name"]["review"]["action"] == "confirmed"
    (found,) = find_reusable(db, PID)
    assert found.document_id == doc.document_id and found.fields["personal_id"]["value"] == PID

    events = [e for e in audit_events(db, subjects=[f"document:{doc.document_id}"]) if e.action.startswith("field.")]
    corrected = next(e for e in events if e.action == "field.corrected")
    assert corrected.details["official"] == "Nguyễn Thị A" and corrected.actor == "verifier:kt01"
    assert (corrected.details["old"], corrected.details["new"]) == (WRONG, PID)
    assert corrected.details["machine_confidence"] == 0.97 and corrected.details["at"]
    assert verify_chain(db).ok

    # a second correction keeps the first machine value, never the first correction
    again = record_review(db, doc.document_id, version=1, official="Trần Văn B", actor="verifier:kt02",
                          decisions=[Decision("personal_id", "001090012346")])
    assert again.fields["personal_id"]["machine"]["value"] == WRONG


def test_stale_version_and_unknown_field_are_refused(db: Database, local_store: ObjectStore) -> None:
    doc = _archive(db, local_store, 6, "HS-S", needs_review=True, personal_id=WRONG)
    record_review(db, doc.document_id, version=0, official="A", actor="verifier:a", decisions=[Decision("full_name")])
    with pytest.raises(StaleReview):
        record_review(db, doc.document_id, version=0, official="B", actor="verifier:b",
                      decisions=[Decision("personal_id", PID)])
    with pytest.raises(FieldRefused) as refused:
        record_review(db, doc.document_id, version=1, official="B", actor="verifier:b",
                      decisions=[Decision("no_such_field", "x")])
    assert refused.value.field == "no_such_field"
    after = document_for_review(db, doc.document_id)
    assert after is not None and after.version == 1 and after.fields["personal_id"]["value"] == WRONG
    assert after.review_state == "needs_review"


def test_reprocessing_never_overwrites_a_review(db: Database, local_store: ObjectStore) -> None:
    doc = _archive(db, local_store, 7, "HS-P", needs_review=True, personal_id=WRONG)
    record_review(db, doc.document_id, version=0, official="Nguyễn Thị A", actor="verifier:kt01",
                  decisions=[Decision("personal_id", PID)])
    again = _archive(db, local_store, 7, "HS-P", needs_review=True, personal_id=WRONG)  # same files, same dossier
    assert again.already_recorded and again.document_id == doc.document_id and again.review_state == "reviewed"
    other = _archive(db, local_store, 7, "HS-Q", needs_review=True, personal_id=WRONG)  # same paper, new dossier
    linked = document_for_review(db, other.document_id)
    assert linked is not None and linked.review_state == "reviewed"
    assert linked.fields["personal_id"]["value"] == PID
    assert document_for_review(db, doc.document_id).fields["personal_id"]["value"] == PID  # type: ignore[union-attr]
