"""``sohoa samples generate`` writes images, PDFs and ground truth; bad input exits 2 in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from cli.main import main


def test_generate_writes_files_with_ground_truth(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    code = main(["samples", "generate", str(out), "--count", "3", "--seed", "3", "--types", "other", "cccd",
                 "application_form", "--damage", "0"])
    assert code == 0
    assert "wrote 3" in capsys.readouterr().out
    images = sorted(p for p in out.iterdir() if p.suffix in (".png", ".pdf"))
    assert [p.name for p in images] == ["0000-other.png", "0001-cccd.png", "0002-application_form.pdf"]
    for path in images:
        gt = json.loads(path.with_suffix(".gt.json").read_text(encoding="utf-8"))
        text = path.with_suffix(".gt.txt").read_text(encoding="utf-8")
        assert gt["file"] == path.name and gt["doc_type"] == path.stem.split("-", 1)[1]
        assert text.count("\f") == gt["pages"] - 1
        if path.suffix == ".png":
            with Image.open(path) as image:
                assert image.mode == "RGB" and gt["pages"] == 1
        else:
            with pikepdf.open(path) as pdf:
                assert len(pdf.pages) == gt["pages"] == 2


def test_bad_types_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["samples", "generate", str(tmp_path / "x"), "--count", "1", "--types", "passport"])
    assert code == 2
    err = capsys.readouterr().err
    assert "passport" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_bad_count_and_damage_exit_2(tmp_path: Path) -> None:
    assert main(["samples", "generate", str(tmp_path), "--count", "0"]) == 2
    assert main(["samples", "generate", str(tmp_path), "--damage", "3"]) == 2


def test_bad_layout_exits_2_before_writing(tmp_path: Path) -> None:
    assert main(["samples", "generate", str(tmp_path / "y"), "--count", "1", "--layouts", "7"]) == 2
    assert not (tmp_path / "y").exists()
