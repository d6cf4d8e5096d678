"""Per-stage progress of a batch, so a clerk sees which stage it is in and how far it got:
read (files stored), OCR (pages), then for the documents the split planned: classify, extract,
sign (the digitizing official's signature, and the certified copy when one was asked for) and
store (the document's records).

Files and pages are counted from the batch's own records; the document stages from
``batch_stages`` (migration 0015), whose totals are set when the pages are split into documents
and whose counts rise by one as each document finishes a step, in one UPDATE, so documents
finishing together on different machines never lose a count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update

from storage.db import Database
from storage.models import Batch, SourceFile

log = logging.getLogger(__name__)

STAGES = ("read", "ocr", "classify", "extract", "sign", "store")
# The flow's steps (flow/steps.py) that make each document stage.
STEP_STAGE = {"classify": "classify", "extract": "extract", "sign_digitized": "sign", "certify": "sign",
              "archive": "store"}

batch_stages = Table(
    "batch_stages",
    MetaData(),
    Column("batch_id", Integer, primary_key=True),
    Column("stage", String(16), primary_key=True),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
)


@dataclass(frozen=True)
class StageProgress:
    stage: str
    done: int
    total: int | None  # None: not known yet (documents before the split)

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done >= self.total


def plan_documents(db: Database, batch_id: int, documents: int, *, certify: bool) -> None:
    """The split made ``documents`` documents: each goes through every document stage once, and
    through signing twice when a certified copy was asked for."""
    totals = {"classify": documents, "extract": documents, "sign": documents * (2 if certify else 1),
              "store": documents}
    try:
        with db.transaction() as session:
            for stage, total in totals.items():
                changed = session.execute(
                    update(batch_stages).where(batch_stages.c.batch_id == batch_id, batch_stages.c.stage == stage)
                    .values(total=total)
                ).rowcount
                if not changed:
                    session.execute(batch_stages.insert().values(batch_id=batch_id, stage=stage, done=0, total=total))
    except Exception as exc:  # noqa: BLE001 - progress is for people: the batch goes on without it
        log.warning("batch %s: stage totals not recorded: %s", batch_id, type(exc).__name__)


def step_done(db: Database, batch_id: int, step: str) -> None:
    """One document finished ``step`` (counted if the step makes a stage)."""
    stage = STEP_STAGE.get(step)
    if stage is None:
        return
    try:
        with db.transaction() as session:
            session.execute(
                update(batch_stages)
                .where(batch_stages.c.batch_id == batch_id, batch_stages.c.stage == stage,
                       batch_stages.c.done < batch_stages.c.total)
                .values(done=batch_stages.c.done + 1)
            )
    except Exception as exc:  # noqa: BLE001 - progress is for people: the document goes on without it
        log.warning("batch %s: progress of %s not recorded: %s", batch_id, step, type(exc).__name__)


def stage_progress(db: Database, batch_id: int) -> list[StageProgress]:
    """Every stage of the batch in flow order, with what is done of how many."""
    with db.session() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            return []
        stored = session.scalar(select(func.count()).select_from(SourceFile).where(SourceFile.batch_id == batch_id))
        rows = {r.stage: r for r in session.execute(
            select(batch_stages).where(batch_stages.c.batch_id == batch_id)).all()}
    files = max(batch.files or 0, stored or 0)
    stages = [StageProgress("read", stored or 0, files or None),
              StageProgress("ocr", min(batch.pages_done, batch.pages_total or batch.pages_done),
                            batch.pages_total or None)]
    for stage in STAGES[2:]:
        row = rows.get(stage)
        stages.append(StageProgress(stage, row.done if row else 0, row.total if row else None))
    return stages


def current_stage(stages: list[StageProgress]) -> str | None:
    """The first stage not finished (None when all are)."""
    return next((s.stage for s in stages if not s.finished), None)
