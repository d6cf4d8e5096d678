"""Finding records by what they were called before the merger: the former agency codes and names
kept in the import ledger."""

from __future__ import annotations

from sqlalchemy import select

from core.model import nfc
from storage.db import Database
from storage.importer.ledger import ImportRecord, Outcome, RecordKind
from storage.models import Dossier


def dossiers_of_former_agency(db: Database, agency: str, *, limit: int = 1000) -> list[str]:
    """Codes of the dossiers imported here whose agency was ``agency`` before the merger."""
    with db.session() as session:
        return list(
            session.scalars(
                select(Dossier.code)
                .join(ImportRecord, ImportRecord.target_id == Dossier.id)
                .where(
                    ImportRecord.kind == RecordKind.DOSSIER,
                    ImportRecord.former_agency == nfc(agency).strip(),
                    ImportRecord.outcome.in_([Outcome.COPIED, Outcome.MERGED]),
                )
                .order_by(Dossier.code)
                .distinct()
                .limit(limit)
            )
        )
