"""Shared inputs for the classifier tests: generated documents, as printed text and as real OCR."""

from __future__ import annotations

import random

import pytest

from bench.train_types import sample_text


@pytest.fixture(scope="session")
def printed_texts() -> dict[tuple[str, int], str]:
    """Ground-truth printed text of one generated document per type and layout (layout only, fast)."""
    from samples.generator import DOC_TYPES

    out = {}
    for doc_type in DOC_TYPES:
        for layout in range(5):
            if doc_type == "cccd" and layout not in (1, 3):
                continue  # cards are drawn in full; two are enough
            out[doc_type, layout] = sample_text(doc_type, random.Random(f"test/{doc_type}/{layout}"), layout)
    return out
