"""Form versions: at least three held-out versions per type, printed as worded, opt-in only."""

from __future__ import annotations

import random

import pytest

from core.doctypes import DOC_TYPES
from samples import forms
from samples.generator import generate_text

TYPES = [t for t in DOC_TYPES if t != "other"]


@pytest.mark.parametrize("doc_type", TYPES)
def test_three_versions_each_split(doc_type: str) -> None:
    assert len(forms.versions(doc_type, "seen")) >= 3
    unseen = forms.versions(doc_type, "unseen")
    assert len(unseen) >= 3
    assert all(v.source and v.year and v.labels for v in unseen)


def test_a_version_prints_its_wording_and_nothing_else_changes() -> None:
    version = forms.versions("death_certificate", "unseen")[0]
    plain = generate_text("death_certificate", random.Random(5), layout=0)
    worded = generate_text("death_certificate", random.Random(5), layout=0, version=version)
    assert worded.fields == plain.fields
    for wording in version.labels.values():
        assert wording in worded.text
    again = generate_text("death_certificate", random.Random(5), layout=0)
    assert again == plain


def test_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError):
        forms.versions("cccd", "tuned")


@pytest.mark.parametrize("doc_type", TYPES)
def test_dev_versions_are_printed_and_apart_from_the_held_out(doc_type: str) -> None:
    """The development versions print every wording they record (a key the builders do not use
    would tune on nothing), and none of them is a held-out version."""
    from samples.generator import LAYOUTS

    dev = forms.versions(doc_type, "dev")
    assert len(dev) >= 2 and all(v.source and v.year and v.labels for v in dev)
    held_out = {(v.name, tuple(sorted(v.labels.items()))) for v in forms.versions(doc_type, "unseen")}
    for n, version in enumerate(dev):
        assert (version.name, tuple(sorted(version.labels.items()))) not in held_out
        texts = [generate_text(doc_type, random.Random(n), layout=layout, version=version).text
                 for layout in range(LAYOUTS[doc_type])]
        for key, wording in version.labels.items():
            assert any(wording in text for text in texts), (version.name, key, wording)
