"""`sohoa process` refuses bad input with exit 2 and one line, and writes nothing anywhere."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from cli.main import main

SHARED_TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata"


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _missing(tmp: Path) -> Path:
    return tmp / "missing.pdf"


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.pdf"
    path.write_bytes(b"")
    return path


def _text_file(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("xin chào", encoding="utf-8")
    return path


def _encrypted_pdf(tmp: Path) -> Path:
    path = tmp / "locked.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(path, encryption=pikepdf.Encryption(owner="owner", user="user"))
    return path


def _corrupt_pdf(_tmp: Path) -> Path:
    path = SHARED_TESTDATA / "ocrmypdf-resources" / "invalid.pdf"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.mark.parametrize(
    "make_input, expected",
    [
        (_missing, "missing.pdf"),
        (_empty, "empty"),
        (_text_file, "notes.txt"),
        (_encrypted_pdf, "encrypted"),
        (_corrupt_pdf, "invalid.pdf"),
    ],
    ids=["missing", "empty", "not-a-document", "encrypted", "corrupt-pdf"],
)
def test_bad_input_is_refused_with_one_line_and_nothing_written(
    tmp_path: Path, _isolated_data_dir: Path, capsys: pytest.CaptureFixture[str], make_input, expected: str
) -> None:
    bad = make_input(tmp_path)
    before = _files_under(_isolated_data_dir)

    code = main(["process", str(bad), "--dossier", "HS-BAD-1"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert expected.lower() in err[0].lower()
    assert "Traceback" not in err[0]
    assert _files_under(_isolated_data_dir) == before


def test_one_bad_file_among_good_ones_refuses_the_whole_call(
    tmp_path: Path, _isolated_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(good)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")

    code = main(["process", str(good), str(empty)])

    assert code == 2
    assert "empty.png" in capsys.readouterr().err
    assert _files_under(_isolated_data_dir) == []
