"""``sohoa extract`` end to end on a generated scan, and its refusals."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PIL import Image

from cli.main import main


@pytest.mark.timeout(300)
def test_extract_json_follows_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from samples.generator import generate_document

    sample = generate_document("cccd", random.Random("cli-test"), layout=1, damage=0.5)
    path = tmp_path / "card.png"
    Image.fromarray(sample.pages[0]).save(path)
    assert main(["extract", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"doc_type", "confidence", "fields"}
    assert out["doc_type"] == "cccd" and 0.0 <= out["confidence"] <= 1.0
    for name, field in out["fields"].items():
        assert set(field) == {"value", "confidence", "needs_review", "reason", "reasons"}, name  # the clerk reads why
        if field["needs_review"]:
            assert field["reasons"], name
        for reason in field["reasons"]:
            assert set(reason) == {"code", "vi", "en"} and reason["en"] in field["reason"]
    assert out["fields"]["personal_id"]["value"] == sample.fields["personal_id"]
    assert out["fields"]["date_of_birth"]["value"] == sample.fields["date_of_birth"]


def test_extract_refuses_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(tmp_path / "missing.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_bench_refuses_a_bad_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "extract", "--count", "0"]) == 2
    assert main(["bench", "extract", "--types", "passport"]) == 2


def test_bench_refuses_an_unknown_vocabulary(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["bench", "extract", "--vocabulary", "unknown"])
    assert stop.value.code == 2
    assert "held-out" in capsys.readouterr().err


def test_bench_figures_per_kind_side_by_side() -> None:
    from bench.extract import BenchResult, field_kind, format_comparison

    assert [field_kind(n) for n in ("wife_name", "address", "issue_date", "owner_personal_id", "sex")] == [
        "names", "places", "dates", "IDs", "other"]
    default, held = BenchResult(), BenchResult(vocabulary="held-out")
    default.kinds["names"].fields = held.kinds["names"].fields = 4
    default.kinds["names"].exact, held.kinds["names"].exact, held.kinds["names"].review = 4, 2, 2
    text = format_comparison({"default": default, "held-out": held}, count=1, seed=7)
    assert "columns: default vs held-out" in text
    assert "documents with nothing to review" in text
    line = next(row for row in text.splitlines() if "names: exact match" in row)
    assert "100.0%" in line and "50.0%" in line
