"""Finding printed labels in OCR lines, fuzzily, and the value each label introduces.

A form prints a label ("Ngày, tháng, năm sinh:") and then its value: after it on the line, in the
next column (tab layouts, tables), or on the next line (cards). OCR damages labels as much as values
(lost tone marks, ``rn`` for ``m``, a dropped comma), so labels are matched accent-folded with
rapidfuzz's partial alignment, which also says where in the line the label sits. A value runs to the
next label or the next column edge, whichever comes first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from classifiers.labels import field_by_meaning
from classifiers.lexicon import PROVINCES
from classifiers.text import Line, fold

_SEPARATORS = " :;.,-–—_|/\\*•·=»"
_NUMBERING = re.compile(r"^\s*(?:\d{1,2}|[a-z]|[ivx]{1,4})\s*[.)]\s*|^\s*[*\-•]\s*")
_SIGNING = re.compile(r"ngay\s*\d{1,2}\s*thang\s*\d{1,2}\s*nam\s*\d{4}")


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """The printed labels of one field (several wordings; matched folded)."""

    field: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """One label found in a line: ``start``/``end`` span the label, ``score`` is 0–100."""

    field: str
    line: int  # index into the document's lines
    start: int
    end: int
    score: float
    label_len: int

    @property
    def rank(self) -> float:
        # The hit explaining more of the line wins an overlap: on "Họ, chữ đệm, tên người mẹ" the
        # mother's label beats "Họ, chữ đệm, tên"; on "Ngày, tháng, năm đăng ký" the registration
        # date's label beats the (fuzzily similar) birth date's.
        return (self.end - self.start) * (self.score / 100.0) ** 4 + self.score / 1000.0


def cutoff(label: str) -> float:
    """Short labels must match almost exactly or they are found everywhere."""
    n = len(label)
    if n <= 4:
        return 100.0
    if n <= 8:
        return 87.0
    if n <= 14:
        return 84.0
    return 82.0


def _at_word_start(text: str, pos: int) -> bool:
    return pos == 0 or not text[pos - 1].isalnum()


def find_hits(lines: Sequence[Line], specs: Sequence[LabelSpec], *, max_per_label: int = 3,
              by_meaning: bool = False) -> list[Hit]:
    """Every label occurrence in every line, overlaps resolved in favour of the better label.

    ``by_meaning`` also reads every label-shaped span ("words:" at the start of a cell, a table
    row's first cell) by its meaning-bearing words (``labels.MEANINGS``): a wording no list has
    still finds its field, a listed label that is only the start of a longer one ("Nơi cư trú"
    of "Nơi cư trú cuối cùng:") is read whole, and a label of nothing asked for still ends the
    value before it instead of being read into it."""
    fields = tuple(dict.fromkeys(spec.field for spec in specs))
    folded_specs = [(spec.field, tuple(dict.fromkeys(fold(lb).strip() for lb in spec.labels if lb.strip())))
                    for spec in specs]
    hits: list[Hit] = []
    for index, line in enumerate(lines):
        folded = line.folded
        candidates: list[Hit] = []
        for field, labels in folded_specs:
            for label in labels:
                candidates.extend(_label_hits(field, label, line, folded, index, max_per_label))
        if line.cells and len(line.cells) > 1:
            candidates.extend(_squeezed_hits(folded_specs, line, folded, index, candidates))
        resolved = _resolve(candidates)
        if by_meaning:
            below = lines[index + 1] if index + 1 < len(lines) and lines[index + 1].page == line.page else None
            resolved = _by_meaning(resolved, line, folded, index, fields, below)
        hits.extend(resolved)
    hits.sort(key=lambda h: (h.line, h.start))
    return hits


_LABEL_WORDS = re.compile(r"[a-z0-9]+")
GENERIC = "_label"  # a label-shaped span no field claims: it only ends the values around it


def label_spans(line: Line, folded: str) -> list[tuple[int, int]]:
    """Spans of ``line`` shaped like a printed label: from a cell's start (after any numbering) to
    a colon close by, with words mostly in lower case and no digits; and the first cell of a
    table row (several cells, no colon) when it reads like that."""
    text = line.text
    cells = list(line.cells) or [(0, len(text))]
    head = table_head(line)  # every head of a table row is a label, not only the first
    out = []
    for n, (start, end) in enumerate(cells):
        numbering = _NUMBERING.match(folded[start:end])
        begin = start + (numbering.end() if numbering else 0)
        colon = folded.find(":", begin, min(end, begin + 72))
        stop = colon if colon > begin else (end if (n == 0 or head) and len(cells) >= 2 else -1)
        if stop <= begin or not _label_shaped(text[begin:stop]):
            continue
        out.append((begin, stop))
    return out


# Abbreviations forms print inside labels ("Số Giấy CMND", "Nơi ĐKHK thường trú", "CCCD số"): upper
# case like a name, but words of a label. Accent-folded.
ACRONYMS = frozenset(("cmnd", "cccd", "ddcn", "dkhk", "gcn", "mst", "dt", "ubnd", "hk", "dkkd", "qsdd", "cmtnd",
                      "cmt", "gcmnd", "sdt", "tp", "tt", "tx", "nd", "cp"))


def _label_shaped(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 2 or any(c.isdigit() for c in text) or len(text.split()) > 12:
        return False
    words = re.findall(r"[^\W\d_]+", text)
    plain = [w for w in words if fold(w) not in ACRONYMS]
    if not plain:
        return False
    letters = [c for w in plain for c in w]
    return sum(c.isupper() for c in letters) <= 0.5 * len(letters)


def table_head(line: Line) -> bool:
    """A row of column heads: several cells, no colon, each cell a label of two words or more
    ("Số hiệu thửa | Số hiệu tờ bản đồ | Diện tích (m²) | Loại đất"); values are printed under it."""
    cells = line.cells
    if len(cells) < 2 or ":" in line.text:
        return False
    return all(_label_shaped(line.text[s:e]) and len(line.text[s:e].split()) >= 2 for s, e in cells)


def wrapped_head(head: Line, below: Line) -> bool:
    """Whether ``below`` holds the wrapped ends of ``head``'s column heads ("đất | đồ"): short
    lower-case words, no digits, no more cells than the heads."""
    if not table_head(head) or not below.cells or len(below.cells) > len(head.cells):
        return False
    if any(c.isdigit() for c in below.text) or ":" in below.text:
        return False
    for s, e in below.cells:
        text = below.text[s:e]
        letters = [c for c in text if c.isalpha()]
        if not letters or len(text.split()) > 2 or sum(c.isupper() for c in letters) > len(letters) / 2:
            return False
    return True


def _head_tail(line: Line, start: int, end: int, below: Line | None) -> str:
    """The wrapped end of a column head, from the cell of ``below`` under it (by the word boxes)."""
    if below is None or not wrapped_head(line, below):
        return ""
    box = line.box(start, end)
    if box is None:
        return ""
    for s, e in below.cells:
        under = below.box(s, e)
        if under is not None and min(box.right, under.right) - max(box.left, under.left) > 0:
            return below.folded[s:e]
    return ""


def _by_meaning(resolved: list[Hit], line: Line, folded: str, index: int, fields: tuple[str, ...],
                below: Line | None = None) -> list[Hit]:
    out = list(resolved)
    for start, end in label_spans(line, folded):
        words = " ".join(_LABEL_WORDS.findall(folded[start:end] + " " + _head_tail(line, start, end, below)))
        if not words:
            continue
        inside = [h for h in out if h.start < end and h.end > start]
        field = field_by_meaning(words, fields)
        if not inside:
            out.append(Hit(field or GENERIC, index, start, end, 80.0, end - start))
            continue
        if not any(h.start <= start + 2 for h in inside):
            # listed labels found only inside a longer label ("Nơi chết" in "Họ và tên người chết",
            # "Năm sinh" in "Ngày, tháng, năm sinh của mẹ"): the whole label is read by its meaning
            out = [h for h in out if h not in inside]
            out.append(Hit(field or GENERIC, index, start, end, 80.0, end - start))
            continue
        if len(inside) != 1:
            if field is not None:  # "Họ và tên người chết": the name's label, not a place of death's
                out = [h for h in out if h not in inside]
                out.append(Hit(field, index, start, end, 80.0, end - start))
            continue
        hit = inside[0]
        label_words = " ".join(_LABEL_WORDS.findall(folded[hit.start:hit.end]))
        if hit.score >= 97 and label_words == words:
            continue  # the listed label is the whole label
        out[out.index(hit)] = Hit(field or hit.field, index, start, max(end, hit.end), max(hit.score, 80.0),
                                  max(end, hit.end) - start)
    return sorted(out, key=lambda h: h.start)


def _squeezed_hits(folded_specs: Sequence[tuple[str, tuple[str, ...]]], line: Line, folded: str, index: int,
                   found: Sequence[Hit]) -> list[Hit]:
    """Table heads OCR'd without their spaces ("Thửađấtsố"): compare whole cells, spaces removed."""
    out = []
    for start, end in line.cells:
        if any(h.start < end and h.end > start for h in found):
            continue
        cell = folded[start:end].replace(" ", "").rstrip(":")
        if len(cell) < 5:
            continue
        best: Hit | None = None
        for field, labels in folded_specs:
            for label in labels:
                squeezed = label.replace(" ", "")
                score = fuzz.ratio(squeezed, cell)
                if score >= 85 and (best is None or score > best.score):
                    best = Hit(field, index, start, end, score, len(label))
        if best is not None:
            out.append(best)
    return out


def _label_hits(field: str, label: str, line: Line, folded: str, index: int, max_hits: int) -> list[Hit]:
    found: list[Hit] = []
    need = cutoff(label)
    masked = folded
    short = len(label) <= 4
    for _ in range(max_hits):
        if short:
            begin = _exact_word(masked, label)
            if begin < 0:
                break
            score, end = 100.0, begin + len(label)
        else:
            if len(masked.replace("\0", "").strip()) < len(label) * 0.6:
                break
            alignment = fuzz.partial_ratio_alignment(label, masked, score_cutoff=need)
            if alignment is None:
                break
            begin, end = _snap(masked, alignment.dest_start, alignment.dest_end, label)
            # partial alignment swaps its arguments when the line is the shorter one; score the
            # label against what it matched, whole, so a short title cannot pass for a long label
            score = fuzz.ratio(label, masked[begin:end])
            if end - begin < 0.75 * len(label):
                score = 0.0
        masked = masked[:begin] + "\0" * (end - begin) + masked[end:]
        if score < need or not _at_word_start(folded, begin):
            if short:
                continue
            break
        at_start = _at_cell_start(line, folded, begin)
        if short and not (at_start and re.match(r"\s?[:/;.]", folded[end:end + 2])):
            continue  # "Số: 12" is a label, "Số 11, đường Lê Lợi" is a value
        if not at_start and not re.match(r"\s?[:;.,|]", folded[end:end + 2]):
            continue  # a label inside a value ("…Giấy chứng nhận quyền sử dụng…") has no colon after it
        if _eats_value(line.text, folded, begin, end, label):
            continue
        if score < 100 and folded[begin:end].strip() in _province_keys():
            continue  # "Nam Định" wrapped onto its own row is a province, not a misread "Năm sinh"
        found.append(Hit(field, index, begin, end, score, len(label)))
    return found


@lru_cache(maxsize=1)
def _province_keys() -> frozenset[str]:
    return frozenset(fold(p) for p in PROVINCES)


def _exact_word(text: str, label: str) -> int:
    start = text.find(label)
    while start >= 0:
        end = start + len(label)
        if _at_word_start(text, start) and (end >= len(text) or not text[end].isalnum() or not label[-1].isalnum()):
            return start
        start = text.find(label, start + 1)
    return -1


def _at_cell_start(line: Line, folded: str, pos: int) -> bool:
    """A short label ("Số", "Bà") counts only where a field starts: at the start of a cell, after
    nothing but numbering ("1.", "a)")."""
    cell_start, _ = line.cell_at(pos)
    head = folded[cell_start:pos]
    return not head.strip() or bool(_NUMBERING.fullmatch(head))


def _eats_value(text: str, folded: str, begin: int, end: int, label: str) -> bool:
    """A fuzzy label that runs into an upper-case word the label does not have is eating a name
    ("Họ, chữ đệm, tên: NGUYỄN…" is not "Họ, chữ đệm, tên người mẹ")."""
    label_words = set(re.findall(r"[a-z0-9]+", label))
    for match in re.finditer(r"\w+", text[begin:end + 3]):
        word = match.group(0)
        letters = [c for c in word if c.isalpha()]
        if len(letters) >= 2 and all(c.isupper() for c in letters):
            folded_word = folded[begin + match.start(): begin + match.end()]
            if folded_word not in label_words and begin + match.start() < end:
                return True
    return False


def _snap(text: str, begin: int, end: int, label: str) -> tuple[int, int]:
    """Alignment may cut into a word or run past a colon; snap the label to word edges and stop it
    at a colon the label itself does not have ("Mục đích sử dụng: Đất…" is not "…sử dụng đất")."""
    while begin > 0 and text[begin - 1].isalnum() and text[begin].isalnum():
        begin -= 1
    while begin < end and text[begin] == " ":
        begin += 1
    if label[-1].isalnum():
        while end < len(text) and end > 0 and text[end - 1].isalnum() and text[end].isalnum():
            end += 1
    colon = text.find(":", begin, end)
    if colon > begin and ":" not in label:
        end = colon
    while end > begin and text[end - 1] == " ":
        end -= 1
    return begin, end


def _resolve(candidates: list[Hit]) -> list[Hit]:
    kept: list[Hit] = []
    for hit in sorted(candidates, key=lambda h: h.rank, reverse=True):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return kept


@dataclass(frozen=True, slots=True)
class Value:
    """The text a label introduces, with where it came from."""

    text: str
    confidence: float
    line: int
    page: int
    start: int
    end: int
    # every (line, start, end) the value was read from, when it wraps over several rows
    parts: tuple[tuple[int, int, int], ...] = ()

    @property
    def spans(self) -> tuple[tuple[int, int, int], ...]:
        return self.parts or ((self.line, self.start, self.end),)


def value_cells(hit: Hit, hits: Sequence[Hit], line: Line) -> list[tuple[int, int]]:
    """The spans of ``line`` that hold values of ``hit``'s label: the rest of its cell, then each
    following cell up to the next label (a table row: label, husband's value, wife's value)."""
    stop = min((h.start for h in hits if h.line == hit.line and h.start >= hit.end), default=len(line.text))
    _, cell_end = line.cell_at(hit.start)
    out = []
    start = _skip_english(line.text, hit.end, min(cell_end, stop))
    start = _skip_separators(line.text, start, min(cell_end, stop))
    end = _trim_end(line.text, start, min(cell_end, stop))
    rest = line.text[start:end]
    label_tail = not any(c.isupper() or c.isdigit() for c in rest) and cell_end < stop
    if end > start and not label_tail:  # the tail of a label wrapped in its column is not a value
        out.append((start, end))
    for cell_start, cell_stop in line.cells_after(cell_end):
        if cell_start >= stop:
            break
        start = _skip_separators(line.text, cell_start, min(cell_stop, stop))
        end = _trim_end(line.text, start, min(cell_stop, stop))
        if end > start:
            out.append((start, end))
    return out


def value_after(hit: Hit, hits: Sequence[Hit], lines: Sequence[Line], *, multiline: int = 0, cell: int = 0,
                default_confidence: float = 1.0) -> Value | None:
    """The value of a label: its ``cell``-th value cell on the label's row, else the next row.

    ``multiline`` allows that many further rows to continue the value (addresses wrap), when they
    carry no label and start where the label or the value started.
    """
    line = lines[hit.line]
    cells = value_cells(hit, hits, line)
    if cells:
        if cell >= len(cells):
            return None
        parts = [(hit.line, *cells[cell])]
    else:
        nxt = hit.line + 1
        if nxt + 1 < len(lines) and lines[nxt].page == line.page and wrapped_head(line, lines[nxt]):
            nxt += 1  # the heads wrapped onto a second row: the values are under both
        if cell or nxt >= len(lines) or lines[nxt].page != line.page:
            return None
        first = lines[nxt].cells[0] if lines[nxt].cells else (0, len(lines[nxt].text))
        if len(lines[nxt].cells) >= 2:
            first = _cell_below(hit, line, lines[nxt]) or first  # a table: the value is under its head
        if any(h.line == nxt and first[0] <= h.start < first[1] for h in hits):
            return None
        parts = [(nxt, *first)]
    label_left = line.left_at(hit.start)
    for _ in range(multiline):
        nxt = parts[-1][0] + 1
        if nxt >= len(lines) or lines[nxt].page != line.page:
            break
        span = _continuation(lines[parts[0][0]], parts[0][1], label_left, lines[nxt],
                             [h for h in hits if h.line == nxt])
        if span is None:
            break
        parts.append((nxt, *span))
    text = " ".join(lines[i].text[s:e].strip() for i, s, e in parts)
    confidence = min(lines[i].confidence(s, e, default_confidence) for i, s, e in parts)
    first_part = parts[0]
    return Value(text, confidence, first_part[0], lines[first_part[0]].page, first_part[1], first_part[2],
                 tuple(parts))


def _cell_below(hit: Hit, line: Line, below: Line) -> tuple[int, int] | None:
    """The cell of the next row under a header label (tables print values under their heads)."""
    box = line.box(hit.start, hit.end)
    if box is None or not below.words:
        return None
    best, best_overlap = None, 0.0
    for start, end in below.cells:
        cell_box = below.box(start, end)
        if cell_box is None:
            continue
        overlap = min(box.right, cell_box.right) - max(box.left, cell_box.left)
        if overlap > best_overlap:
            best, best_overlap = (start, end), overlap
    return best


def _continuation(first: Line, start: int, label_left: float | None, candidate: Line,
                  candidate_hits: Sequence[Hit]) -> tuple[int, int] | None:
    """The span of ``candidate`` that continues a wrapped value, or None."""
    if candidate_hits:
        return None  # a row with a label of its own starts a new field
    if not candidate.words:
        if _SIGNING.search(candidate.folded):
            return None
        # the tail of a label that wrapped in its column ("Việt:") is not part of the value
        tail = re.match(r"^[^\s:]{1,12}:\s*", candidate.text)
        return (tail.end() if tail else 0), len(candidate.text)
    value_left = first.left_at(start)
    height = max(first.height, 10.0)
    # inline ("Nơi sinh: xã …" wraps to the margin) or tab layout (wraps under the value column)
    inline = first.cell_at(start) == first.cell_at(max(0, start - 2))
    anchor = label_left if inline else value_left
    for cell_start, cell_end in candidate.cells or ((0, len(candidate.text)),):
        left = candidate.left_at(cell_start)
        if left is None:
            continue
        aligned = anchor is not None and abs(left - anchor) < 1.5 * height
        if not aligned:
            if not inline and anchor is not None and left < anchor and not _label_tail(candidate, cell_start, cell_end):
                return None  # something in the label column: a new (unrecognised) field starts here
            continue
        if any(cell_start <= h.start < cell_end for h in candidate_hits):
            return None
        if _SIGNING.search(candidate.folded[cell_start:cell_end]):
            return None
        return cell_start, _trim_end(candidate.text, cell_start, cell_end)
    return None


def _label_tail(line: Line, start: int, end: int) -> bool:
    """The tail of a wrapped label ("nhân", "Việt:") or OCR noise in the label column."""
    text = line.text[start:end]
    words = line.words_in(start, end)
    if words and (sum(c.isalnum() for c in text) <= 2 or max(w.confidence for w in words) < 0.6):
        return True
    capitalised = [w for w in text.split() if sum(c.isupper() for c in w) >= 2]
    return len(text.split()) <= 3 and not capitalised and not any(c.isdigit() for c in text)


def _skip_english(text: str, pos: int, stop: int) -> int:
    """Skip the English half of a bilingual label ("Họ tên / Full name:"), which may be read with
    its own OCR errors, up to its colon or the end of the cell."""
    match = re.match(r"\s*/\s*", text[pos:stop])
    if not match:
        return pos
    end = pos + match.end()
    while end < stop and (text[end].isascii() and (text[end].isalpha() or text[end] in " .'")):
        if text[end].isupper() and end + 1 < stop and text[end + 1].isupper():
            break  # an upper-case value (a name) starts here
        end += 1
    return end


def _skip_separators(text: str, pos: int, stop: int) -> int:
    while pos < stop and text[pos] in _SEPARATORS:
        pos += 1
    return pos


def _trim_end(text: str, start: int, stop: int) -> int:
    end = stop
    while end > start and text[end - 1] in " \t":
        end -= 1
    return end
