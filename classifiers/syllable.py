"""Vietnamese syllable structure: which words can be syllables at all, and which marks they carry.

Every Vietnamese word is one syllable: an onset, a rhyme (glide, vowel nucleus, final) and one of
six tones, and the spelling allows only some of those combinations: a rhyme ending in a stop
(-p, -t, -c, -ch) takes only the sắc or nặng tone, "ă" and "â" never end a syllable, "k" and "gh"
only come before e, ê, i, y. OCR of a damaged scan produces words that break these rules ("UÚC",
"THƯớC", a tone on a stop with huyền); such a read can never be what was printed, whatever the
vocabulary knows, so it is not trusted and a repaired candidate must pass this check.

Names of minority peoples' places ("Krông Búk", "Ea Súp") are written outside these rules; the
check is for choosing between readings and for doubting names, not for rejecting a place.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from classifiers.text import fold
from core.model import nfc

# Combining marks of the tones (huyền, sắc, hỏi, ngã, nặng); the rest are vowel letters' own marks.
TONES = {"\u0300": "huyen", "\u0301": "sac", "\u0309": "hoi", "\u0303": "nga", "\u0323": "nang"}
_VOWEL_MARKS = {"\u0302", "\u0306", "\u031b"}  # circumflex (â ê ô), breve (ă), horn (ơ ư)

ONSETS = ("", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh",
          "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x")
_STOPS = ("p", "t", "c", "ch")


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Rhymes without their tone, as the spelling writes them (glide + nucleus + final).
_RHYMES = _listed("""
a ai ao au ay am an ang anh ap at ac ach
ăm ăn ăng ăp ăt ăc
âu ây âm ân âng âp ât âc
e eo em en eng ep et ec
ê êu êm ên ênh êp êt êch
i ia iu im in inh ip it ich
iêu iêm iên iêng iêp iêt iêc
yêu yêm yên yêng yêt
o oi om on ong op ot oc oong ooc
oa oai oao oay oam oan oang oanh oap oat oac oach
oăm oăn oăng oăt oăc
oe oeo oen oet
ô ôi ôm ôn ông ôp ôt ôc
ơ ơi ơm ơn ơp ơt
u ua ui um un ung up ut uc
uê uêu uên uênh uêt uêch
uân uâng uât uây
uy uya uyu uyn uynh uyp uyt uych uyên uyêt
uôi uôm uôn uông uôt uôc
uơ
ư ưa ưi ưu ưng ưt ưc ưn
ươi ươu ươm ươn ương ươp ươt ươc
y
""")
# After "qu" the glide is the "u" of the onset: quân is qu + ân, quyên is qu + yên.
_AFTER_QU = _listed("a ai ao au ay am an ang anh ap at ac ach ăm ăn ăng ăp ăt ăc âm ân âng ât âc ây e eo em en et "
             "ê ên ênh êt êch y yên yêt ynh yt i it in ơ ơi ôc")
_FRONT = ("e", "ê", "i", "y")


def split_marks(word: str) -> tuple[str, str | None, int]:
    """``word`` lower-cased without its tone, its tone (None when level) and how many tone marks it
    had (more than one cannot be a syllable)."""
    base, tone, count = [], None, 0
    for char in unicodedata.normalize("NFD", nfc(word).lower()):
        if char in TONES:
            tone, count = TONES[char], count + 1
        else:
            base.append(char)
    return nfc("".join(base)), tone, count


def mark_set(word: str) -> frozenset[tuple[int, str]]:
    """Every mark of ``word`` with the position of its letter (vowel marks, tone, đ's bar), so
    two readings of one word can be compared mark by mark."""
    out: set[tuple[int, str]] = set()
    for i, char in enumerate(nfc(word).lower()):
        if char == "đ":
            out.add((i, "bar"))
            continue
        for mark in unicodedata.normalize("NFD", char)[1:]:
            out.add((i, mark))
    return frozenset(out)


def marks_within(read: str, other: str) -> bool:
    """Whether ``read`` carries only marks that ``other`` carries too (OCR lost some, added none);
    both must be the same word once folded."""
    return fold(read) == fold(other) and mark_set(read) <= mark_set(other)


@lru_cache(maxsize=4096)
def is_syllable(word: str) -> bool:
    """Whether ``word`` (any case) is spelled as a Vietnamese syllable can be."""
    base, tone, count = split_marks(word)
    if count > 1 or not base or not base.isalpha():
        return False
    for onset in sorted(ONSETS, key=len, reverse=True):
        if not base.startswith(onset):
            continue
        rhyme = base[len(onset):]
        if onset == "gi" and (rhyme == "" or rhyme[0] not in "aăâeêioôơuưy"):
            rhyme = "i" + rhyme  # gì, gìn: the i is the nucleus
            onset = "g"
        if _rhyme_ok(onset, rhyme, tone):
            return True
    return False


def _rhyme_ok(onset: str, rhyme: str, tone: str | None) -> bool:
    rhymes = _AFTER_QU if onset == "qu" else _RHYMES
    if rhyme not in rhymes:
        return False
    if rhyme.endswith(_STOPS) and tone not in ("sac", "nang"):
        return False
    first = rhyme[0]
    if onset in ("k", "gh", "ngh") and first not in _FRONT:
        return False
    if onset in ("c", "g", "ng") and first in _FRONT and not (onset == "g" and rhyme.startswith("i")):
        return False
    return not (onset == "" and rhyme.startswith(("iê", "ia")) and rhyme not in ("ia",))
