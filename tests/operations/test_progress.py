"""Per-stage progress from the records: the deployment's batch (certified) went through every stage,
and a batch in the middle of its documents names the stage it is in."""

from __future__ import annotations

import io
from pathlib import Path

from cli.progress import StageBar
from storage.archive import update_batch
from storage.backup import open_existing_database
from storage.db import open_database
from storage.progress import StageProgress, current_stage, plan_documents, stage_progress, step_done
from tests.operations.conftest import Deployment


def test_a_processed_batch_went_through_every_stage(deployment: Deployment) -> None:
    db = open_existing_database(f"sqlite:///{deployment.data_dir / 'sohoa.db'}")
    try:
        stages = stage_progress(db, 1)
    finally:
        db.dispose()
    assert [(s.stage, s.done, s.total) for s in stages] == [
        ("read", 1, 1), ("ocr", 1, 1), ("classify", 1, 1), ("extract", 1, 1),
        ("sign", 2, 2),  # the digitizing official's signature and the certified copy
        ("store", 1, 1),
    ]
    assert current_stage(stages) is None


def test_stages_move_as_documents_finish_steps(tmp_path: Path) -> None:
    from storage.archive import start_batch

    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        batch = start_batch(db, station="s1", dossier_code="HS-P-1", procedure_code=None, files=2,
                            agency="UBND", actor="s1")
        update_batch(db, batch, pages_total=4, pages_done=0)
        stages = stage_progress(db, batch)
        assert current_stage(stages) == "read" and stages[2].total is None  # documents not split yet
        update_batch(db, batch, pages_done=4)
        plan_documents(db, batch, 2, certify=False)
        for step in ("classify", "extract", "sign_digitized", "archive", "classify", "manifest"):
            step_done(db, batch, step)
        stages = {s.stage: (s.done, s.total) for s in stage_progress(db, batch)}
        assert stages["ocr"] == (4, 4) and stages["classify"] == (2, 2) and stages["extract"] == (1, 2)
        assert stages["sign"] == (1, 2) and stages["store"] == (1, 2)
        step_done(db, batch, "classify")  # a redelivered step never counts past the total
        assert {s.stage: s.done for s in stage_progress(db, batch)}["classify"] == 2
    finally:
        db.dispose()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_wait_display_draws_a_bar_per_stage_on_a_terminal_and_lines_elsewhere() -> None:
    steps = [[StageProgress("read", 1, 1), StageProgress("ocr", 1, 3), StageProgress("classify", 0, None)],
             [StageProgress("read", 1, 1), StageProgress("ocr", 3, 3), StageProgress("classify", 1, 2)]]
    plain = io.StringIO()
    bar = StageBar(plain)
    for stages in (steps[0], steps[0], steps[1]):
        bar.show(stages)
    bar.close()
    assert plain.getvalue().splitlines() == ["progress: read 1/1, ocr 1/3, classify 0/?",
                                             "progress: read 1/1, ocr 3/3, classify 1/2"]
    terminal = _Terminal()
    bar = StageBar(terminal)
    for stages in steps:
        bar.show(stages)
    bar.close()
    drawn = terminal.getvalue()
    assert "━" in drawn and "3/3" in drawn and "1/2" in drawn
    assert all(name in drawn for name in ("read", "ocr", "classify"))
