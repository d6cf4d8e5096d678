"""Who may read a document: its page and field images and its fields as the clerk checks them
(``GET /v1/documents/{id}/review``). Each role reads the documents its work needs, and no other
(the images and the values are the citizen's papers, personal data in full).

* ``verifier``: documents in review — flagged, or reviewed or rejected by a person; their decisions
  (``POST …/review``) too, as a document out of review is no verifier's to change;
* ``certifier``: documents with a certified-copy request waiting in the queue, or one the officer
  took or confirmed (they compare the copy with the original's pages and its values);
* ``station``: the documents of its own uploads, as it reads its own batches;
* every other role (``auditor``, ``workflow``, ``admin``): none, as the role table says.

A document outside the caller's share answers 403 with the reason for officials, and 404 for
stations — the answer a station gets for another station's batch, so it learns nothing of it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from api.app import AppState
from api.auth import Principal, Role, require
from core.model import ReviewState
from storage.certify_queue import certifier_may_see
from storage.review import ReviewDocument

DocumentReaderKey = Annotated[Principal, Depends(require(Role.VERIFIER, Role.CERTIFIER, Role.STATION))]

IN_REVIEW = frozenset({ReviewState.NEEDS_REVIEW, ReviewState.REVIEWED, ReviewState.REJECTED})


def check_access(state: AppState, principal: Principal, document: ReviewDocument, *, what: str = "pages") -> None:
    """Raise the HTTP answer when ``principal`` has no business with ``document`` (its ``what``,
    named in the answer: its pages, its fields)."""
    n = document.document_id
    if principal.role is Role.VERIFIER:
        if document.review_state not in IN_REVIEW:
            raise HTTPException(403, f"document {n} is not in review: a verifier key reads the {what} of "
                                     "documents in review only")
    elif principal.role is Role.CERTIFIER:
        if not certifier_may_see(state.records, n, principal.actor):
            raise HTTPException(403, f"document {n} has no certified-copy request for you: a certifier key "
                                     f"reads the {what} of documents in the certify queue or that it certifies")
    elif principal.role is Role.STATION:
        if document.station != principal.name:
            raise HTTPException(404, f"no document {n}")
    else:  # the dependencies admit no other role; never widen by accident
        raise HTTPException(403, f"a key of role {principal.role.value} reads no document's {what}")
