"""Training the document-type classifier from the sample generator (``sohoa train``).

Training reads the generator's ground-truth text (what each page prints) and corrupts it the way OCR
does (classifiers/noise.py) instead of OCR'ing thousands of pages, so a model trains in under a
minute. Some layouts are held out entirely: the benchmark runs real OCR on those, so the figures say
how the model does on wording and arrangements it never saw. The saved file records the seed, the
layouts, the sizes and the held-out metrics next to the model, so a model can be traced to its data.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.classify import MODEL_FORMAT, MODEL_PATH, THRESHOLD, load_model
from classifiers.features import EvidenceFeatures, model_text
from classifiers.noise import noisy_text
from classifiers.unknown import unknown_text
from core.doctypes import DOC_TYPES, OTHER

log = logging.getLogger(__name__)

MODEL_VERSION = "1"
TRAIN_LAYOUTS = (0, 1, 2)  # layouts 3 and 4 are never seen in training: the benchmark uses them
DEFAULT_SEED = 20261124
DEFAULT_PER_TYPE = 24


def build_model() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), preprocessor=model_text, min_df=2,
                                  max_features=8000, sublinear_tf=True, dtype=np.float32)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), preprocessor=model_text, min_df=2,
                                  max_features=3000, sublinear_tf=True, dtype=np.float32)),
        ("evidence", EvidenceFeatures(weight=1.5)),
    ])
    return Pipeline([("features", features), ("linear", LogisticRegression(C=8.0, max_iter=3000))])


def generated_texts(seed: int, per_type: int, layouts: Sequence[int], *, noise: float = 1.0,
                    copies: int = 4) -> tuple[list[str], list[str]]:
    """(texts, labels): ``per_type`` generated papers of each type (``other`` included) over
    ``layouts``, each in ``copies`` noisy versions, plus as many papers of our own unknown kinds."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    for doc_type in DOC_TYPES:
        for i in range(per_type):
            text = sample_text(doc_type, random.Random(rng.getrandbits(64)), layouts[i % len(layouts)])
            for _ in range(copies):
                texts.append(noisy_text(text, rng, level=noise * rng.uniform(0.2, 1.6)))
                labels.append(doc_type)
    for _ in range(per_type * copies):
        texts.append(noisy_text(unknown_text(rng), rng, level=noise * rng.uniform(0.2, 1.6)))
        labels.append(OTHER)
    return texts, labels


def sample_text(doc_type: str, rng: random.Random, layout: int) -> str:
    """The printed text of one generated document; training needs only the words, not the pixels."""
    from samples.generator import generate_text

    return generate_text(doc_type, rng, layout=layout).text


def _cut_short(text: str, rng: random.Random) -> str:
    """A random part of a text: a fold, a stain or a missing page leaves OCR only some lines."""
    lines = text.split("\n")
    keep = max(3, int(len(lines) * rng.uniform(0.3, 1.0)))
    start = rng.randrange(0, max(1, len(lines) - keep + 1))
    return "\n".join(lines[start:start + keep])


def fit_temperature(model: Any, texts: Sequence[str], labels: Sequence[str]) -> float:
    """Softmax temperature that minimises log loss on held-out texts: calibrates the confidence."""
    logits = np.asarray(model.decision_function(list(texts)), dtype=np.float64)
    index = {c: i for i, c in enumerate(model.classes_)}
    truth = np.asarray([index[y] for y in labels])
    best, best_loss = 1.0, math.inf
    for t in np.geomspace(0.05, 5.0, 50):
        z = logits / t
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(len(truth)), truth].mean()
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def train_model(*, seed: int = DEFAULT_SEED, per_type: int = DEFAULT_PER_TYPE,
                layouts: Sequence[int] = TRAIN_LAYOUTS, out: Path | None = MODEL_PATH) -> dict[str, Any]:
    """Train, calibrate, measure on held-out text, and save; returns the saved bundle."""
    import joblib
    import sklearn

    started = time.monotonic()
    texts, labels = generated_texts(seed, per_type, layouts)
    # validation: a different seed, the same layouts (layouts held out stay unseen)
    val_texts, val_labels = generated_texts(seed + 1, max(4, per_type // 4), layouts, copies=1)
    # calibration needs mistakes to learn from: heavier noise than training, and pages cut short
    cal_texts, cal_labels = generated_texts(seed + 2, max(4, per_type // 4), layouts, copies=1, noise=1.8)
    cut = random.Random(seed + 3)
    cal_texts = [_cut_short(text, cut) for text in cal_texts]
    model = build_model()
    model.fit(texts, labels)
    temperature = fit_temperature(model, cal_texts, cal_labels)
    bundle: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "model": model,
        "temperature": temperature,
        "threshold": THRESHOLD,
        "classes": [str(c) for c in model.classes_],
        "seed": seed,
        "per_type": per_type,
        "layouts": list(layouts),
        "train_size": len(texts),
        "sklearn": sklearn.__version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    from classifiers.classify import decide, predict_proba

    correct = sum(decide(predict_proba(bundle, text))[0] == label for text, label in zip(val_texts, val_labels,
                                                                                          strict=True))
    bundle["metrics"] = {
        "validation_accuracy": round(correct / len(val_texts), 4),
        "validation_size": len(val_texts),
        "seconds": round(time.monotonic() - started, 1),
    }
    log.info("trained on %d texts in %.1fs: %s", len(texts), time.monotonic() - started, bundle["metrics"])
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(bundle, out, compress=3)
        load_model.cache_clear()
    return bundle
