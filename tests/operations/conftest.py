"""One real deployment for the operations tests: the committed marriage certificate (two names, two
personal IDs) digitized and certified once by ``sohoa process`` with INFO logging as JSON lines
captured, and a way to run ``sohoa`` commands against any data folder or services."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "dossier" / "giay-chung-nhan-ket-hon.jpg"
DOSSIER = "000.00.19.H99-261207-0021"


def sohoa_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(data_dir), SOHOA_WORKERS="1", OMP_THREAD_LIMIT="1", **settings)
    return env


def sohoa_process(*args: str, env: dict[str, str], cwd: Path | None = None,
                  timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``sohoa`` in a process of its own: for what a whole process shows (its log) and for commands
    that configure the Celery app on import (the worker tests need it configured their way)."""
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)


def sohoa(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``sohoa`` run in this process with exactly this environment (and folder): what a user types,
    without paying an interpreter start for each command."""
    from cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    with mock.patch.dict(os.environ, env, clear=True), redirect_stdout(out), redirect_stderr(err):
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        finally:
            os.chdir(old)
    return subprocess.CompletedProcess(["sohoa", *args], code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class Deployment:
    data_dir: Path
    env: dict[str, str]
    log: str  # stderr of the run that made it: INFO, one JSON object a line


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("deployment") / "sohoa-data"
    env = sohoa_env(data_dir)
    run = sohoa_process("-v", "process", str(SAMPLE), "--dossier", DOSSIER, "--out", str(data_dir.parent / "out"),
                env={**env, "SOHOA_LOG_FORMAT": "json"})
    assert run.returncode == 0, run.stderr[-3000:]
    yield Deployment(data_dir, env, run.stderr)
