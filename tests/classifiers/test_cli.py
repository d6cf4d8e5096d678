"""``sohoa extract`` end to end on a generated scan, and its refusals."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PIL import Image

from pipeline.cli import main


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
        assert set(field) == {"value", "confidence", "needs_review"}, name
    assert out["fields"]["personal_id"]["value"] == sample.fields["personal_id"]
    assert out["fields"]["date_of_birth"]["value"] == sample.fields["date_of_birth"]


def test_extract_refuses_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(tmp_path / "missing.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_bench_refuses_a_bad_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "extract", "--count", "0"]) == 2
    assert main(["bench", "extract", "--types", "passport"]) == 2
