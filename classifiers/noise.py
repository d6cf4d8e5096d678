"""Simulated OCR noise, so the classifier can be trained on ground-truth text in seconds.

Real OCR of a damaged Vietnamese scan loses and swaps tone marks, confuses look-alike glyphs
(``rn``/``m``, ``l``/``1``, ``O``/``0``), splits and joins words, drops faint lines and adds specks
as stray characters. Training on text corrupted this way teaches the model what OCR output looks
like without OCR'ing thousands of pages; the benchmark then checks it on real OCR.
"""

from __future__ import annotations

import random
import unicodedata

_CONFUSIONS = (
    ("rn", "m"), ("m", "rn"), ("l", "1"), ("1", "l"), ("I", "l"), ("O", "0"), ("0", "O"), ("cl", "d"),
    ("e", "c"), ("c", "e"), ("h", "b"), ("u", "n"), ("n", "u"), ("i", "í"), ("5", "S"), ("8", "B"),
    ("ư", "u"), ("ơ", "o"), ("đ", "d"), ("Đ", "D"), ("ă", "a"), ("â", "a"), ("ê", "e"), ("ô", "o"),
    ("g", "q"), ("t", "f"), ("y", "v"), ("a", "o"),
)
_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_JUNK = ("|", "'", ".", ",", "-", "_", "~", "`", "i", "l", "™", "»", "—")


def _retone(char: str, rng: random.Random) -> str:
    """Drop or swap the tone mark of a vowel (the commonest OCR error on Vietnamese)."""
    parts = unicodedata.normalize("NFD", char)
    base = "".join(c for c in parts if c not in _TONES)
    if rng.random() < 0.5:
        return unicodedata.normalize("NFC", base)
    return unicodedata.normalize("NFC", base + rng.choice(_TONES))


def noisy_line(line: str, rng: random.Random, level: float) -> str:
    out: list[str] = []
    i = 0
    while i < len(line):
        r = rng.random()
        char = line[i]
        if r < 0.04 * level and char.isalpha():
            out.append(_retone(char, rng))
        elif r < 0.06 * level:
            for wrong, right in _CONFUSIONS:
                if line.startswith(wrong, i):
                    out.append(right)
                    i += len(wrong)
                    break
            else:
                out.append(char)
            continue
        elif r < 0.07 * level:
            pass  # a lost character
        elif r < 0.08 * level:
            out.append(char + rng.choice(_JUNK))
        elif r < 0.09 * level and char == " ":
            pass  # two words run together
        elif r < 0.10 * level and char.isalpha():
            out.append(char + " ")  # a word split
        else:
            out.append(char)
        i += 1
    return "".join(out)


def noisy_text(text: str, rng: random.Random, level: float = 1.0) -> str:
    """``text`` as a damaged scan's OCR might return it; ``level`` 0 leaves it unchanged."""
    if level <= 0:
        return text
    pages = []
    for page in text.split("\f"):
        lines = []
        for line in page.split("\n"):
            r = rng.random()
            if r < 0.04 * level:
                continue  # a faint line OCR missed
            if r < 0.06 * level:
                lines.append("".join(rng.choice(_JUNK) for _ in range(rng.randint(1, 5))))
            lines.append(noisy_line(line, rng, level))
        pages.append("\n".join(lines))
    return "\f".join(pages)
