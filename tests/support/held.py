"""Two recorded papers of one dossier that disagree on their holder's birth date (an ID card and
a residence confirmation of the same ID and name, a day apart), as the flow would leave them had
they come in two batches: the agreement check holds both from certification until a verifier
settles which date is right. Made without OCR, so a test costs a few rows and one small PDF."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from storage.db import Database
from storage.models import Document, Dossier
from storage.objects import ObjectStore

PERSONAL_ID = "001090012345"
NAME = "KHỔNG VĂN KHIÊM"
BORN = "1990-03-04"
NEXT_DAY = "1990-03-05"


@dataclass(frozen=True)
class HeldPapers:
    dossier_code: str
    card_id: int  # the ID card, born BORN
    residence_id: int  # the residence confirmation, born NEXT_DAY


def _fields(id_field: str, born: str) -> dict[str, dict[str, object]]:
    return {
        id_field: {"value": PERSONAL_ID, "confidence": 1.0, "needs_review": False},
        "full_name": {"value": NAME, "confidence": 0.98, "needs_review": False},
        "date_of_birth": {"value": born, "confidence": 0.97, "needs_review": False},
    }


def record_disagreeing_papers(db: Database, store: ObjectStore, dossier_code: str, pdf: bytes) -> HeldPapers:
    key = store.put_bytes(pdf, "application/pdf").key
    digest = hashlib.sha256(pdf).hexdigest()
    with db.transaction() as session:
        dossier = Dossier(code=dossier_code)
        session.add(dossier)
        session.flush()
        ids = []
        for doc_type, born in (("cccd", BORN), ("residence_confirmation", NEXT_DAY)):
            row = Document(dossier_id=dossier.id, doc_type=doc_type, personal_id=PERSONAL_ID,
                           fields=_fields("personal_id", born), pdf_key=key, pdf_sha256=digest,
                           pdf_size=len(pdf), page_count=1)
            session.add(row)
            session.flush()
            ids.append(row.id)
    return HeldPapers(dossier_code, ids[0], ids[1])
