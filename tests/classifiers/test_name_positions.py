"""A name word is vouched for by the vocabulary only in the position it is known in.

The case from the review bench: a wife's given name printed "TRÂN" was read "TRẦN" by the page OCR
and by the row's second reading alike. "TRẦN" is a listed surname, so the vocabulary trusted it as
the last word too, and after a clerk taught the other words the wrong value went through unflagged.
"""

from classifiers.lexicon import LearnedWords, consulting, restore_name
from classifiers.reasons import in_vietnamese

READ = "NGÔ QUẾ KHUÊ TRẦN"  # what both readings gave; the paper says NGÔ QUẾ KHUÊ TRÂN
BOTH_READINGS = frozenset(w.lower() for w in READ.split())


def test_a_surname_read_as_the_given_name_is_not_vouched_for_after_feedback() -> None:
    taught = LearnedWords.of([("name", "NGÔ QUẾ KHUÊ LAN"), ("name", "TRẦN VĂN AN")])
    with consulting(taught):
        restored = restore_name(READ, BOTH_READINGS)
    assert restored.text == READ  # kept as read, not rewritten
    assert restored.unknown == ("TRẦN (a surname, not a given name)",)


def test_the_surname_in_first_place_and_given_names_are_still_trusted() -> None:
    assert restore_name("TRẦN VĂN AN").unknown == ()
    assert restore_name("NGÔ THỊ LAN").unknown == ()
    assert restore_name("HOÀNG MINH HOÀNG").unknown == ()  # listed as a given name too


def test_a_clerk_confirming_the_word_in_that_place_teaches_it() -> None:
    taught = LearnedWords.of([("name", "NGÔ QUẾ KHUÊ TRẦN")])
    assert "TRẦN" in taught.later and "NGÔ" not in taught.later
    with consulting(taught):
        assert restore_name(READ, BOTH_READINGS).unknown == ()
        # taught as a surname only, it still does not vouch for a given name
    with consulting(LearnedWords.of([("name", "NGÔ VĂN AN")])):
        assert restore_name("LÊ VĂN NGÔ").unknown == ("NGÔ (a surname, not a given name)",)


def test_the_reason_is_explained_to_the_clerk() -> None:
    reason = f"name word(s) not recognised: {', '.join(restore_name(READ).unknown)}"
    vi = in_vietnamese(reason)
    assert "TRẦN (từ điển chỉ có chữ này là họ" in vi
