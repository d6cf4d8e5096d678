"""Encrypted PDFs as offices hand them in: an owner password only (permissions, no password to open)
is read like any other PDF; a password needed to open it is refused in one line."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from core.errors import InputError
from pipeline.ingest import read_source


def _scan_pdf(path: Path, **encryption: str) -> Path:
    image = Image.fromarray(np.full((600, 400), 255, np.uint8))
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=100)
    with pikepdf.open(io.BytesIO(buf.getvalue())) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(**encryption))
    return path


def test_owner_password_only_is_read(tmp_path: Path) -> None:
    path = _scan_pdf(tmp_path / "may-quet.pdf", owner="office-scanner", user="")
    pages = read_source(path)
    assert len(pages) == 1 and pages[0].image.shape[:2] == (600, 400)


def test_password_to_open_is_refused(tmp_path: Path) -> None:
    path = _scan_pdf(tmp_path / "mat-khau.pdf", owner="owner", user="secret")
    with pytest.raises(InputError, match="encrypted"):
        read_source(path)
