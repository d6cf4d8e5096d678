"""Whether a word can be a Vietnamese syllable, by the rules of the orthography (no word list).

A written syllable is an initial consonant (possibly none), a vowel group (a glide, a nucleus and a
closing semivowel, as written: "oa", "uyê", "ươi"), a final consonant (possibly none) and at most
one tone. The rules kept here are the ones that tell a misread mark from a real word:

- the initial is one of the language's 27 spellings, and c/k, g/gh, ng/ngh are spelled as the vowel
  after them requires (k, gh, ngh before i, y, e, ê; c, ng never before them);
- the vowel group is one of the language's, and its final fits it: a group that ends in a
  semivowel (ai, âu, ươi) takes no final, ia/ua/ưa/uya take none, ă, â, iê, yê, uô, ươ, uâ, oă, uyê
  need one, and ch/nh close only a, ê, i, y, oa, uê and uy;
- a syllable closed by a stop (c, ch, p, t) carries the sắc or the nặng tone and no other: Tesseract
  dropping the tone stacked on a circumflex leaves "xuât" or "kêt", which no Vietnamese word is.

The check is deliberately a little generous (it does not know which vowel groups occur after which
initials): it is used to refuse readings that cannot be Vietnamese, never to prefer one real word
over another.
"""

from __future__ import annotations

import unicodedata

# The tones as combining marks: huyền, sắc, ngã, hỏi, nặng.
_TONE_MARKS = {"\u0300": "huyen", "\u0301": "sac", "\u0303": "nga", "\u0309": "hoi", "\u0323": "nang"}

INITIALS = ("ngh", "ng", "nh", "gh", "gi", "kh", "ph", "th", "tr", "ch", "qu",
            "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")
FINALS = ("ng", "nh", "ch", "c", "m", "n", "p", "t", "")
STOPS = frozenset({"c", "ch", "p", "t"})

# Vowel groups that end in a semivowel: no final consonant after them.
_CLOSED = frozenset({"ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "iu", "oi", "ôi", "ơi", "ui", "ưi", "ưu",
                     "iêu", "yêu", "oai", "oao", "oay", "oeo", "uây", "uôi", "uyu", "ươi", "ươu"})
_OPEN_ONLY = frozenset({"ia", "ua", "ưa", "uya"})  # no final either
_NEED_FINAL = frozenset({"ă", "â", "iê", "yê", "uô", "ươ", "uâ", "oă", "uyê"})
_FREE = frozenset({"a", "e", "ê", "i", "y", "o", "ô", "ơ", "u", "ư", "oa", "oe", "uê", "uy", "uơ"})
VOWEL_GROUPS = _CLOSED | _OPEN_ONLY | _NEED_FINAL | _FREE
_TAKES_CH_NH = frozenset({"a", "ê", "i", "y", "oa", "uê", "uy"})
_FRONT = ("i", "y", "e", "ê")


def split_tone(word: str) -> tuple[str, str | None]:
    """The word in small letters without its tone, and the tone's name (None for the level tone, or
    when the word carries more than one tone and is no syllable)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [_TONE_MARKS[ch] for ch in decomposed if ch in _TONE_MARKS]
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    if len(tones) > 1:
        return base, "many"
    return base, tones[0] if tones else None


def _initial_fits(initial: str, rime: str) -> bool:
    front = rime.startswith(_FRONT)
    if initial in ("k", "gh", "ngh"):
        return front
    if initial in ("c", "ng"):
        return not front
    if initial == "qu":
        return not rime.startswith(("u", "o"))
    return True


def _rime_fits(group: str, final: str) -> bool:
    if group not in VOWEL_GROUPS:
        return False
    if group in _CLOSED or group in _OPEN_ONLY:
        return final == ""
    if group in _NEED_FINAL and final == "":
        return False
    if final in ("ch", "nh"):
        return group in _TAKES_CH_NH
    return True


def is_syllable(word: str) -> bool:
    """Whether ``word`` (letters only; case and NFC/NFD do not matter) can be written as one
    Vietnamese syllable."""
    base, tone = split_tone(word)
    if not base or not base.isalpha() or tone == "many":
        return False
    for initial in INITIALS:
        if not base.startswith(initial):
            continue
        rest = base[len(initial):]
        for final in FINALS:
            if final and not rest.endswith(final):
                continue
            group = rest[:len(rest) - len(final)]
            if not group or not _rime_fits(group, final) or not _initial_fits(initial, group):
                continue
            if final in STOPS and tone not in ("sac", "nang"):
                continue
            return True
    return False
