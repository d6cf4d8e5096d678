"""Evidence for the document-type classifier: title and keyword scores next to character n-grams.

Character n-grams over accent-folded text survive OCR noise (a lost tone mark changes nothing, a
broken letter changes a few n-grams out of hundreds). A title at the head of the page is stronger
evidence than any body word, so it is measured separately, fuzzily, and given to the linear model as
its own features; keywords do the same for pages whose title was lost to a fold or a stain.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

import numpy as np
from rapidfuzz import fuzz
from sklearn.base import BaseEstimator, TransformerMixin

from classifiers.text import fold, squash
from core.doctypes import KEYWORDS, TITLES

TYPES_WITH_TITLES: tuple[str, ...] = tuple(TITLES)
_FOLDED_TITLES = {t: tuple(squash(title) for title in titles) for t, titles in TITLES.items()}
_FOLDED_KEYWORDS = {t: tuple(squash(k) for k in words) for t, words in KEYWORDS.items()}
HEAD_LINES = 14


def head_lines(text: str, count: int = HEAD_LINES) -> list[str]:
    """The first non-empty lines of the first page, folded: where titles are printed."""
    first_page = text.split("\f", 1)[0]
    lines = [squash(line) for line in first_page.split("\n")]
    return [line for line in lines if len(line) >= 3][:count]


def title_scores(text: str) -> dict[str, float]:
    """Best fuzzy match (0–1) of each type's titles against a head line.

    A line is compared whole (``ratio``) so a body sentence that merely mentions "giấy khai sinh"
    scores low; titles broken over two lines are caught by also trying each pair of lines.
    """
    lines = head_lines(text)
    candidates = lines + [f"{a} {b}" for a, b in pairwise(lines)]
    scores: dict[str, float] = {}
    for doc_type, titles in _FOLDED_TITLES.items():
        best = 0.0
        for line in candidates:
            for title in titles:
                if abs(len(line) - len(title)) > max(8, len(title) // 2):
                    continue
                best = max(best, fuzz.ratio(title, line))
        scores[doc_type] = best / 100.0
    return scores


def keyword_scores(text: str) -> dict[str, float]:
    """Fraction of a type's keywords found (fuzzily) anywhere in the text."""
    body = squash(text)
    scores = {}
    for doc_type, words in _FOLDED_KEYWORDS.items():
        found = sum(1 for w in words if w in body or fuzz.partial_ratio(w, body, score_cutoff=88))
        scores[doc_type] = found / len(words)
    return scores


class EvidenceFeatures(BaseEstimator, TransformerMixin):
    """Title and keyword scores per type as dense features (weighted to stand beside TF-IDF)."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, texts: Iterable[str], y: object = None) -> EvidenceFeatures:
        return self

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        rows = []
        for text in texts:
            titles, keywords = title_scores(text), keyword_scores(text)
            rows.append([max(0.0, titles[t] - 0.6) / 0.4 for t in TYPES_WITH_TITLES]
                        + [keywords[t] for t in TYPES_WITH_TITLES])
        return np.asarray(rows, dtype=np.float64) * self.weight

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray([f"title_{t}" for t in TYPES_WITH_TITLES] + [f"kw_{t}" for t in TYPES_WITH_TITLES])


def model_text(text: str) -> str:
    """What the n-gram vectoriser sees: folded, one space, page breaks as line breaks."""
    return " ".join(fold(text).split())
