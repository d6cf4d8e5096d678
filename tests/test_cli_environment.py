"""The command as an operator meets it: its version, a misspelt setting, and an auditor's check run
in a folder that holds no deployment (it must create nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import check_environment, main
from core.errors import ConfigError

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "testdata" / "real"


def _sohoa(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=cwd, capture_output=True, text=True,
                          env={**clean, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **env})


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("sohoa ")


def test_a_misspelt_setting_is_an_error_naming_the_right_one() -> None:
    with pytest.raises(ConfigError, match="SOHOA_DATABSE_URL is not a sohoa setting.*SOHOA_DATABASE_URL"):
        check_environment({"SOHOA_DATABSE_URL": "sqlite:///x.db"})
    check_environment({"SOHOA_DATABASE_URL": "sqlite:///x.db", "SOHOA_PAGE_TIME_LIMIT": "30",
                       "SOHOA_API_PORT": "8080", "SOHOA_TEST_POSTGRES": "x", "OTHER": "y"})


def test_misspelt_setting_on_the_command_line_is_one_line_exit_2(tmp_path: Path) -> None:
    done = _sohoa(["verify", "x.pdf"], tmp_path, SOHOA_STORE_ULR="file:///tmp/x")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "SOHOA_STORE_URL" in done.stderr


def test_verify_in_an_empty_folder_creates_nothing(tmp_path: Path) -> None:
    signed = REAL / "qngai_2352_07-CT-UBND_scan_signed.pdf"
    if not signed.exists():
        pytest.skip("the shared real test files are not beside this checkout")
    done = _sohoa(["verify", str(signed), "--offline"], tmp_path)
    assert done.returncode == 2 and "no trust roots configured" in done.stdout
    assert list(tmp_path.iterdir()) == []  # no data folder, no development PKI
    assert "DSA is deprecated" not in done.stderr
