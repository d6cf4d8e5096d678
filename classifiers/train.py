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
from classifiers.doctypes import DOC_TYPES, OTHER
from classifiers.features import EvidenceFeatures, model_text
from classifiers.noise import noisy_text
from classifiers.unknown import unknown_text

log = logging.getLogger(__name__)

MODEL_VERSION = "1"
TRAIN_LAYOUTS = (0, 1, 2)  # layouts 3 and 4 are never seen in training: the benchmark uses them
DEFAULT_SEED = 20261124
DEFAULT_PER_TYPE = 60


def build_model() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), preprocessor=model_text, min_df=2,
                                  max_features=12000, sublinear_tf=True, dtype=np.float32)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), preprocessor=model_text, min_df=2,
                                  max_features=4000, sublinear_tf=True, dtype=np.float32)),
        ("evidence", EvidenceFeatures(weight=1.5)),
    ])
    return Pipeline([("features", features), ("linear", LogisticRegression(C=8.0, max_iter=3000))])


def generated_texts(seed: int, per_type: int, layouts: Sequence[int], *, noise: float = 1.0,
                    copies: int = 2) -> tuple[list[str], list[str]]:
    """(texts, labels): ``per_type`` generated papers of each type over ``layouts``, each in
    ``copies`` noisy versions, plus as many ``other`` papers."""
    from samples.generator import generate_document  # the generator is only needed to train

    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    real_types = [t for t in DOC_TYPES if t != OTHER]
    for doc_type in real_types:
        for i in range(per_type):
            layout = layouts[i % len(layouts)]
            sample = generate_document(doc_type, random.Random(rng.getrandbits(64)), layout=layout, damage=0.0,
                                       allow_rotation=False)
            for _ in range(copies):
                texts.append(noisy_text(sample.text, rng, level=noise * rng.uniform(0.3, 1.6)))
                labels.append(doc_type)
    for _ in range(per_type * copies):
        texts.append(noisy_text(unknown_text(rng), rng, level=noise * rng.uniform(0.3, 1.6)))
        labels.append(OTHER)
    return texts, labels


def fit_temperature(model: Any, texts: Sequence[str], labels: Sequence[str]) -> float:
    """Softmax temperature that minimises log loss on held-out texts: calibrates the confidence."""
    logits = np.asarray(model.decision_function(list(texts)), dtype=np.float64)
    index = {c: i for i, c in enumerate(model.classes_)}
    truth = np.asarray([index[y] for y in labels])
    best, best_loss = 1.0, math.inf
    for t in np.geomspace(0.2, 5.0, 40):
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
    # calibration/validation: a different seed, the same layouts (layouts held out stay unseen)
    val_texts, val_labels = generated_texts(seed + 1, max(6, per_type // 5), layouts, copies=1)
    model = build_model()
    model.fit(texts, labels)
    temperature = fit_temperature(model, val_texts, val_labels)
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
