"""Settings from SOHOA_* variables: typed, lists as JSON, a bad value named in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings


def test_variables_are_read_typed_and_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOHOA_WORKERS", "5")
    monkeypatch.setenv("SOHOA_OCR_BATCH_PAGES", "2")
    monkeypatch.setenv("SOHOA_TRUST_ROOTS", '["/etc/roots/a.pem", "b.der"]')
    monkeypatch.setenv("SOHOA_DATA_DIR", "/srv/sohoa")
    settings = load_settings(workers=3)
    assert settings.workers == 3  # a CLI flag wins over the environment
    assert settings.ocr_batch_pages == 2
    assert settings.trust_roots == [Path("/etc/roots/a.pem"), Path("b.der")]
    assert settings.resolved_database_url == "sqlite:////srv/sohoa/sohoa.db"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SOHOA_WORKERS", "many", "SOHOA_WORKERS: Input should be a valid integer"),
    ("SOHOA_OCR_BATCH_PAGES", "0", "SOHOA_OCR_BATCH_PAGES: Input should be greater than or equal to 1"),
    ("SOHOA_TRUST_ROOTS", "root.pem", "SOHOA_TRUST_ROOTS: not a JSON value"),
])
def test_a_bad_value_is_a_config_error_naming_its_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                           message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_the_cli_reports_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SOHOA_WORKERS": "two", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "cli.main", "ocr", str(tmp_path / "x.png")], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    expected = ("sohoa: error: SOHOA_WORKERS: Input should be a valid integer, unable to parse string as an "
                "integer (got 'two')")
    assert proc.stderr.strip().splitlines() == [expected]
