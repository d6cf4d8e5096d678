"""Second readings of the values the page OCR may have misread, and what they change.

Names and places are read again (``classifiers.reread``) unless the vocabulary knows every word
exactly as the page OCR read it; where the row's reading and the page's disagree the row is read
once more, the readings are merged word by word (``classifiers.merge``) and the value goes to
review, whatever the vocabulary later says.
Numbers without a check digit (parcel, map sheet, certificate numbers, serials, areas) are always
read again, at several sizes: where the readings give different values none is trusted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence

from classifiers import lexicon
from classifiers.anchors import Value
from classifiers.labels import RULES
from classifiers.merge import Merged, merge_reads
from classifiers.normalise import NORMALISERS
from classifiers.reread import SCALES, LineReader, reread_row
from classifiers.syllable import marks_within
from classifiers.text import Line
from classifiers.validate import NAME_FIELDS, PLACE_FIELDS, flag
from core.model import Field, Page

log = logging.getLogger(__name__)

NUMBER_KINDS = ("number", "serial", "area")
# A digit misread with confidence ("578" as "378") is often misread alike at one size and not at
# another, so numbers are read at two sizes and a reading of the same shape that disagrees sends
# them to review. Row readings of short numbers are worse than the page's (67 and 64 of 70 right
# against 69 on the default bench, seed 101), so a reading that changed the shape (letters for
# digits, a digit lost) is a failed reading, not evidence; measured on 140 numbers of both
# vocabularies: 5 right values sent to review, the one wrong value caught (with 0.8 and 1.0: none).
NUMBER_SCALES = (0.7, 1.0)

Remake = Callable[[str, str, Value], Field]  # (kind, raw text, where it was read) → field


def second_readings(doc_type: str, fields: Mapping[str, Field], values: Mapping[str, Value],
                    lines: Sequence[Line], pages: Sequence[Page],
                    remake: Remake, read_line: LineReader) -> tuple[dict[str, Field], dict[str, frozenset[str]]]:
    """``fields`` with names, places and numbers checked against a second reading, and per name or
    place the words both readings read exactly alike (which the vocabulary must not rewrite)."""
    kinds = {rule.field: rule.kind for rule in RULES.get(doc_type, ())}
    out = dict(fields)
    confirmed: dict[str, frozenset[str]] = {}
    for name, f in fields.items():
        value = values.get(name)
        if value is None or not f.value:
            continue
        kind = kinds.get(name, "text")
        if name in NAME_FIELDS or name in PLACE_FIELDS:
            if _known_as_read(name, f.value):
                continue
            second = read_again(value, lines, pages, read_line, SCALES[0])
            if second is None:
                continue
            merged = merge_reads(value.text, second)
            if not merged.agreed:
                third = read_again(value, lines, pages, read_line, SCALES[1])
                if third is not None:
                    merged = merge_reads(value.text, second, third)
            out[name] = _merged(f, kind, value, second, merged, remake)
            confirmed[name] = merged.confirmed
        elif kind in NUMBER_KINDS:
            for scale in NUMBER_SCALES:
                second = read_again(value, lines, pages, read_line, scale)
                if second is not None:
                    out[name] = _checked(out[name], kind, second)
    return out, confirmed


def read_again(value: Value, lines: Sequence[Line], pages: Sequence[Page], read_line: LineReader,
               scale: float = 1.0) -> str | None:
    """The value's rows read again from the scan (resized by ``scale``), joined as the value's text is."""
    texts = []
    for index, start, end in value.spans:
        line = lines[index]
        words = line.words_in(start, end)
        read = reread_row(pages[line.page], words, read_line, scale) if words and line.page < len(pages) else None
        texts.append(read[0] if read else "")  # a row read as nothing leaves its words unconfirmed
    return " ".join(texts) if any(texts) else None


def _known_as_read(name: str, text: str) -> bool:
    """Whether the vocabulary vouches for every word exactly as read (no second reading needed)."""
    if name in NAME_FIELDS:
        restored = lexicon.restore_name(text)
    else:
        restored = lexicon.restore_place(text)
    return not (restored.unknown or restored.guessed or restored.repaired)


def _merged(f: Field, kind: str, value: Value, second: str, merged: Merged, remake: Remake) -> Field:
    new = remake(kind, merged.text, value) if merged.taken else f
    notes = [n for n in (f.reason, ("marks from a second reading: " + ", ".join(merged.taken)) if merged.taken
                         else "") if n]
    new = Field(new.value, min(new.confidence, f.confidence), page=f.page, box=f.box, valid=f.valid,
                needs_review=f.needs_review or new.needs_review, reason="; ".join(dict.fromkeys(notes)))
    if not merged.agreed:
        new = flag(new, f"a second reading differs: {second!r}", invalid=False)
    return new


def _checked(f: Field, kind: str, second: str) -> Field:
    value, _ = NORMALISERS[kind](second)
    if value == f.value:
        return f
    if kind == "serial" and f.value and marks_within(f.value, value):
        # the bar of "Đ" lost in the page OCR, kept in the second reading
        return flag(Field(value, f.confidence, page=f.page, box=f.box, reason=f.reason),
                    f"a second reading gives {value!r} (page read {f.value!r})", invalid=False)
    if _shape(value) != _shape(f.value or ""):
        return f
    return flag(f, f"a second reading gives {value!r}", invalid=False)


def _shape(value: str) -> str:
    return re.sub(r"\d", "9", value)
