"""Documents generated once per session: several tests look at the same clean drafts."""

from __future__ import annotations

import random

import pytest

from samples.generator import DOC_TYPES, LAYOUTS, SampleDocument, generate_document


@pytest.fixture(scope="session")
def clean_documents() -> list[SampleDocument]:
    """Every type in every layout, undamaged (facts and text do not depend on damage)."""
    return [generate_document(doc_type, random.Random(f"{doc_type}/{layout}"), layout=layout, damage=0.0)
            for doc_type in DOC_TYPES for layout in range(LAYOUTS[doc_type])]
