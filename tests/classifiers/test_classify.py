"""Document-type classification: the shipped model, the threshold to ``other``, retraining."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from bench.train_types import TRAIN_LAYOUTS, train_model
from classifiers.classify import classify_document, classify_text, decide, load_model
from classifiers.noise import noisy_text
from classifiers.unknown import unknown_text
from core.model import Document, Page


def test_shipped_model_is_versioned_with_its_seed_and_metrics() -> None:
    bundle = load_model()
    assert bundle is not None, "run `sohoa train` to ship classifiers/models/doctype.joblib"
    assert bundle["version"] and isinstance(bundle["seed"], int)
    assert bundle["metrics"]["validation_accuracy"] >= 0.95
    assert set(bundle["layouts"]) == set(TRAIN_LAYOUTS)


def test_every_type_on_unseen_layouts_with_ocr_noise(printed_texts: dict[tuple[str, int], str]) -> None:
    rng = random.Random(11)
    wrong = []
    for (doc_type, layout), text in printed_texts.items():
        got, confidence = classify_text(noisy_text(text, rng, level=1.0))
        if got != doc_type:
            wrong.append((doc_type, layout, got, confidence))
    assert len(wrong) <= 1, wrong


def test_unknown_papers_are_other_with_low_confidence() -> None:
    rng = random.Random(5)
    for _ in range(20):
        doc_type, confidence = classify_text(noisy_text(unknown_text(rng), rng))
        assert doc_type == "other"
        assert confidence < 0.6
    assert classify_text("") == ("other", 0.0)
    assert classify_text("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod")[0] == "other"


def test_threshold_never_reports_a_confident_other() -> None:
    assert decide({"cccd": 0.4, "birth_certificate": 0.35, "other": 0.25}) == ("other", 0.4)
    assert decide({"cccd": 0.2, "other": 0.8})[0] == "other"
    assert decide({"cccd": 0.2, "other": 0.8})[1] < 0.6
    assert decide({"cccd": 0.93, "other": 0.07}) == ("cccd", 0.93)


def test_id_card_qr_settles_the_type() -> None:
    page = Page("card.jpg", "", 0, np.zeros((4, 4), np.uint8), 300.0, text="#@! ~~ unreadable ~~",
                qr_payloads=("001090012345||Nguyễn Văn An|04031990|Nam|Số 1, đường Lê Lợi, tỉnh Phú Thọ|01012023",))
    document = classify_document(Document((page,)))
    assert document.doc_type == "cccd" and document.type_confidence >= 0.99


@pytest.mark.timeout(240)
def test_retraining_reaches_its_accuracy(tmp_path: Path) -> None:
    out = tmp_path / "doctype.joblib"
    bundle = train_model(seed=99, per_type=3, out=out)
    assert out.exists() and out.stat().st_size < 4_000_000
    assert bundle["seed"] == 99 and bundle["metrics"]["validation_accuracy"] >= 0.9
    reloaded = load_model(out)
    assert reloaded is not None and reloaded["seed"] == 99
    text = unknown_text(random.Random(3))
    assert classify_text(text, model_path=out)[0] == "other"
