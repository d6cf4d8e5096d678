"""The held-out vocabulary: unknown to the lexicon after accent folding, and opt-in only."""

from __future__ import annotations

import random

from classifiers import lexicon
from classifiers.places import register_names
from classifiers.text import fold
from samples import facts, holdout
from samples.generator import generate_text


def _folded_words(phrases: tuple[str, ...]) -> set[str]:
    return {w for p in phrases for w in fold(p).replace("-", " ").split()}


def test_name_syllables_unknown_to_lexicon_after_folding() -> None:
    # The lexicon keys on folded syllables: an accent-only difference is rewritten, not reported.
    known = _folded_words(lexicon.SURNAMES + lexicon.NAME_WORDS)
    clash = {s for s in holdout.NAME_SYLLABLES if s not in holdout.NAME_TWINS and fold(s) in known}
    assert not clash


def test_name_twins_differ_from_lexicon_only_in_marks() -> None:
    known = {w.upper() for w in lexicon.SURNAMES + lexicon.NAME_WORDS}
    folded = {fold(w) for w in known}
    for twin in holdout.NAME_TWINS:
        assert twin.upper() not in known, twin
        assert fold(twin) in folded, twin
        assert twin in holdout.NAME_SYLLABLES


def test_place_words_unknown_to_lexicon_after_folding() -> None:
    known = _folded_words(lexicon.ADMIN_WORDS + lexicon.PROVINCES + lexicon.PLACE_NAMES)
    clash = {p for p in holdout.PLACE_NAMES if p not in holdout.PLACE_TWINS and _folded_words((p,)) & known}
    assert not clash


def test_place_twins_differ_from_lexicon_only_in_marks() -> None:
    known = set(lexicon.PLACE_NAMES)
    folded = {fold(p) for p in known}
    for twin in holdout.PLACE_TWINS:
        assert twin not in known and fold(twin) in folded, twin


def test_lexicon_cannot_confirm_held_out_words() -> None:
    for syllable in holdout.NAME_SYLLABLES:
        restored = lexicon.restore_name(syllable.upper())
        assert restored.unknown or restored.text != syllable.upper(), syllable
    registered = {fold(n) for n in register_names()}
    for name in holdout.PLACE_NAMES:
        restored = lexicon.restore_place(f"xã {name}")
        if fold(name) in registered:
            continue  # a real commune or district: the national register knows it (below)
        assert restored.unknown or restored.guessed, name


def test_held_out_places_of_the_register_are_kept_as_printed() -> None:
    """The held-out places outside the hand lists that are real units are recognised through the
    national register (``classifiers.places``), with their marks as printed, never rewritten."""
    names = set(register_names())
    real = [n for n in holdout.PLACE_NAMES if n in names]
    assert real
    for name in real:
        restored = lexicon.restore_place(f"xã {name}")
        assert restored.text == f"xã {name}" and not restored.unknown and not restored.guessed, name


def test_held_out_is_opt_in_and_restored() -> None:
    before = generate_text("cccd", random.Random(3), layout=0)
    with holdout.vocabulary("held-out"):
        inside = generate_text("cccd", random.Random(3), layout=0)
    after = generate_text("cccd", random.Random(3), layout=0)
    assert before == after
    assert facts.SURNAMES is not holdout.SURNAMES
    given = inside.fields["full_name"].split()[-1]
    assert given in {s.upper() for s in holdout.GIVEN_MALE + holdout.GIVEN_FEMALE}
    commune = inside.fields["place_of_residence"]
    assert any(fold(n) in fold(commune) for n in holdout.COMMUNE_NAMES)
