"""A machine's later findings on a recorded document's fields: needs-review flags and their reasons.

Extraction records each paper's fields alone; a finding that needs several papers at once (one
person's date of birth read differently on two papers of a dossier, ``classifiers.agreement``) comes
after the record exists. It is written into the same field entries, so the review queue and the
verification station show the field flagged with its reason, and it moves the document's review
state with it. A person's decision stands: a document a clerk has reviewed or rejected is left as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import InputError
from core.model import ReviewState, nfc
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.models import Document

_MACHINE_STATES = (ReviewState.OK, ReviewState.NEEDS_REVIEW)


def record_field_findings(db: Database, document_id: int, findings: Mapping[str, Mapping[str, Any]], *,
                          actor: str, action: str) -> str:
    """Write ``findings`` (field name → ``needs_review``, ``reason`` and optionally ``valid``) into
    the document's recorded fields and return its review state: needs review while any field is
    flagged, ok otherwise. Fields the record lacks are ignored; the review version moves on, so a
    clerk's form opened before the finding is refused rather than silently overwriting it."""
    with db.transaction() as session:
        lock_chain(session)
        row = session.get(Document, document_id)
        if row is None:
            raise InputError(f"no document {document_id}")
        if row.review_state not in _MACHINE_STATES:
            return str(row.review_state)
        fields = dict(row.fields or {})
        changed: dict[str, dict[str, Any]] = {}
        for name, finding in findings.items():
            entry = fields.get(name)
            if entry is None:
                continue
            new = dict(entry)
            new["needs_review"] = bool(finding.get("needs_review"))
            parts = (p.strip() for p in nfc(str(finding.get("reason") or "")).split(";"))
            new["reason"] = "; ".join(dict.fromkeys(p for p in parts if p))  # a re-run adds no second copy
            if "valid" in finding:
                new["valid"] = bool(finding["valid"])
            if new != entry:
                fields[name] = new
                changed[name] = {"needs_review": new["needs_review"], "reason": new["reason"]}
        if not changed:
            return str(row.review_state)
        flagged = any(e.get("needs_review") or not e.get("valid", True) for e in fields.values())
        row.fields = fields
        row.review_state = ReviewState.NEEDS_REVIEW if flagged else ReviewState.OK
        row.review_version = (row.review_version or 0) + 1
        append_event(session, actor=actor, action=action, subject=f"document:{row.id}",
                     details={"fields": changed, "state": str(row.review_state)})
        return str(row.review_state)
