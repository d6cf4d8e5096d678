"""Word spaces Tesseract missed, put back from the page's own pixels.

Tesseract's Vietnamese model runs some words together: the English half of bilingual labels
("Date ofbirth", "Fullname", "Place ofresidence"), a syllable after a comma ("Định,huyện"), the
English word after the " / " of a bilingual label ("/Personal"). Every such miss costs a
character of the text and breaks label matching downstream. Two repairs, both conservative:

- typography: a comma, semicolon or colon between two letters, or a slash glued to one word of
  two letters or more, always has a space after (or around) it in Vietnamese and English text;
- a gap: inside one reported word, a blank run of columns as wide as the spaces between the words
  of the same line and far wider than any other gap in the word, where both halves are words of
  the recogniser's own dictionaries. Pixels and words must both agree, so a wide letter pair
  ("CÔNG") or an unknown name is never split. A slash between two words ("ĐDCN/Personal") is
  split when there are such gaps on both sides of it.

The opposite miss, a space inside a word ("ĐẶN G"), is mended the same way: two neighbours far
closer than the line's spaces whose join is a dictionary word, one of them not.

A pure function over Tesseract's words and the image it read: boxes stay in that image's frame.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from statistics import median

import numpy as np

from pipeline.tesseract import TessWord

INK_LEVEL = 160  # OCR image grey below this is ink (paper is pushed to 255 by clean-up)
GAP_OF_SPACE = 0.55  # the gap is at least this share of the line's median word space
GAP_OF_HEIGHT = 0.28  # ... and of the line's median word height
GAP_OF_NEXT = 1.7  # ... and this many times the word's next widest gap
JOIN_OF_SPACE = 0.4  # neighbours closer than this share of the line's median space may be one word
MIN_LETTERS = 4

_GLUED_PUNCT = re.compile(r"(?<=[^\W\d_])([,;:])(?=[^\W\d_])")
_LEADING_SLASH = re.compile(r"^/(?=[^\W\d_]{2})")
_TRAILING_SLASH = re.compile(r"(?<=[^\W\d_]{2})/$")
_EDGE_PUNCT = ".,:;!?)]\"'”"


def _pieces_by_typography(text: str) -> list[str]:
    if "@" in text or "://" in text or "www." in text.lower():
        return [text]  # addresses keep their punctuation
    text = _GLUED_PUNCT.sub(r"\1 ", text)
    text = _LEADING_SLASH.sub("/ ", text)
    text = _TRAILING_SLASH.sub(" /", text)
    return text.split()


def _split_box(word: TessWord, pieces: Sequence[str]) -> list[TessWord]:
    """Boxes for the pieces of a word, in proportion to their lengths (the word's box is all
    Tesseract says; the searchable PDF only needs each piece near its place)."""
    total = sum(len(p) for p in pieces) or 1
    out, x = [], float(word.left)
    for piece in pieces:
        w = word.width * len(piece) / total
        out.append(replace(word, text=piece, left=round(x), width=max(1, round(w))))
        x += w
    return out


def _column_gaps(image: np.ndarray, word: TessWord) -> list[tuple[int, int]]:
    """Blank column runs strictly inside the word's ink: (start, length) relative to its left."""
    crop = image[max(0, word.top): word.top + word.height, max(0, word.left): word.left + word.width]
    if crop.size == 0:
        return []
    ink = (crop < INK_LEVEL).any(axis=0)
    cols = np.flatnonzero(ink)
    if len(cols) < 2:
        return []
    inside = ink[cols[0]: cols[-1] + 1]
    edges = np.flatnonzero(np.diff(np.concatenate(([1], inside.astype(np.int8), [1]))))
    starts, ends = edges[::2], edges[1::2]
    return [(int(cols[0] + s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def _is_space(width: int, space: float, height: float) -> bool:
    return width >= GAP_OF_SPACE * space and width >= GAP_OF_HEIGHT * height


def _split_at_slash(word: TessWord, core: str, tail: str, gaps: list[tuple[int, int]], space: float,
                    height: float) -> list[TessWord] | None:
    left_text, _, right_text = core.partition("/")
    if len(gaps) < 2 or not (left_text.isalpha() and right_text.isalpha()):
        return None
    if len(left_text) < 2 or len(right_text) < 2:
        return None  # "V/v" (về việc) is written so
    (a_start, a_width), (b_start, b_width) = sorted(gaps[:2])
    if not (_is_space(a_width, space, height) and _is_space(b_width, space, height)):
        return None
    if len(gaps) > 2 and b_width < GAP_OF_NEXT * gaps[2][1]:
        return None
    a_end = a_start + a_width
    return [
        replace(word, text=left_text, width=max(1, a_start)),
        replace(word, text="/", left=word.left + a_end, width=max(1, b_start - a_end)),
        replace(word, text=right_text + tail, left=word.left + b_start + b_width,
                width=max(1, word.width - b_start - b_width)),
    ]


def _split_at_gap(word: TessWord, image: np.ndarray, space: float, height: float,
                  known: Callable[[str], bool]) -> list[TessWord] | None:
    core = word.text.rstrip(_EDGE_PUNCT)
    tail = word.text[len(core):]
    if sum(ch.isalpha() for ch in core) < MIN_LETTERS:
        return None
    if core.count("/") == 1:
        gaps = sorted(_column_gaps(image, word), key=lambda g: g[1], reverse=True)
        return _split_at_slash(word, core, tail, gaps, space, height)
    if not core.isalpha():
        return None
    gaps = sorted(_column_gaps(image, word), key=lambda g: g[1], reverse=True)
    if not gaps:
        return None
    start, width = gaps[0]
    runner_up = gaps[1][1] if len(gaps) > 1 else 0
    if not _is_space(width, space, height) or width < GAP_OF_NEXT * runner_up:
        return None
    # Which character boundary the gap stands at: estimated by position, confirmed by the words.
    at = len(core) * (start + width / 2) / max(1, word.width)
    splits = [k for k in range(2, len(core) - 1) if known(core[:k]) and known(core[k:])]
    if not splits:
        return None
    k = min(splits, key=lambda s: abs(s - at))
    if abs(k - at) > max(2.0, 0.25 * len(core)):
        return None
    left = replace(word, text=core[:k], width=max(1, start))
    right = replace(word, text=core[k:] + tail, left=word.left + start + width,
                    width=max(1, word.width - start - width))
    return [left, right]


def restore_spaces(words: Sequence[TessWord], image: np.ndarray, known: Callable[[str], bool]) -> list[TessWord]:
    """The words with the spaces Tesseract missed put back (see the module's docstring); ``known``
    tells whether a lower-cased word is in a dictionary."""
    lines: dict[tuple[int, int, int], list[TessWord]] = {}
    for word in words:
        lines.setdefault(word.line_key, []).append(word)
    metrics: dict[tuple[int, int, int], tuple[float, float]] = {}
    for key, line in lines.items():
        ordered = sorted(line, key=lambda w: w.left)
        height = float(median([w.height for w in line]))
        # Word spaces are narrower than a glyph is high; wider gaps part columns or tab stops.
        spaces = [b.left - (a.left + a.width) for a, b in itertools.pairwise(ordered)]
        spaces = [gap for gap in spaces if 0 < gap < height]
        metrics[key] = (float(median(spaces)) if spaces else 0.4 * height, height)
    lower_known: Callable[[str], bool] = lambda w: known(w.lower())
    out: list[TessWord] = []
    for i, word in enumerate(words):
        space, height = metrics[word.line_key]
        following = words[i + 1] if i + 1 < len(words) else None
        if following is not None and following.line_key == word.line_key \
                and word.left < following.left < word.left + word.width:
            # Tesseract's box can reach over the next word's ink ("tính" over the "/" after it);
            # the space before that word is then no gap inside this one.
            word = replace(word, width=following.left - word.left)
        if out and out[-1].line_key == word.line_key:
            joined = _join_close(out[-1], word, space, lower_known)
            if joined is not None:
                out[-1] = joined
                continue
        pieces = _pieces_by_typography(word.text)
        parts = _split_box(word, pieces) if len(pieces) > 1 else [word]
        for part in parts:
            split = _split_at_gap(part, image, space, height, lower_known)
            out.extend(split or [part])
    return out


def _join_close(first: TessWord, second: TessWord, space: float, known: Callable[[str], bool]) -> TessWord | None:
    """One word for two neighbours far closer than the line's spaces, when only the join is a word."""
    gap = second.left - (first.left + first.width)
    if gap < 0 or gap >= JOIN_OF_SPACE * space:
        return None
    if not (first.text.isalpha() and second.text.rstrip(_EDGE_PUNCT).isalpha()):
        return None
    core = second.text.rstrip(_EDGE_PUNCT)
    joined = first.text + core
    if not known(joined) or (known(first.text) and known(core)):
        return None
    top = min(first.top, second.top)
    bottom = max(first.top + first.height, second.top + second.height)
    return replace(first, text=joined + second.text[len(core):], top=top, height=bottom - top,
                   width=second.left + second.width - first.left,
                   confidence=min(first.confidence, second.confidence))
