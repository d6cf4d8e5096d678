"""Field extraction: find each field's label in the OCR lines, take its value, normalise, validate.

The rules per type (which labels, what kind of value, how many wrapped lines, which section) live in
``classifiers/labels.py``; this module applies them to a document. Every field of the type comes back,
found or not: a field that was not found, failed a rule or was read with low OCR confidence carries
``needs_review`` and a reason, so a clerk sees what to check instead of trusting a silent gap.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from classifiers import lexicon
from classifiers.anchors import Hit, LabelSpec, Value, find_hits, value_after, value_cells
from classifiers.idcard import MRZ_FAILED, card_fields, expiry_by_law, parse_mrz, printed_dates, qr_issue_date
from classifiers.labels import RULES, Rule
from classifiers.normalise import NORMALISERS
from classifiers.reread import LineReader
from classifiers.second import second_readings
from classifiers.text import Line, fold, page_lines
from classifiers.validate import NAME_FIELDS, PLACE_FIELDS, flag, validate_fields
from core.doctypes import fields_of
from core.model import Document, Field

log = logging.getLogger(__name__)

MIN_CONFIDENCE = 0.55  # a value whose weakest OCR word is below this is sent to review
# Digits carry no redundancy a vocabulary could check (an area, a parcel number): a weaker read is
# enough to doubt them.
KIND_MIN_CONFIDENCE = {"area": 0.8, "number": 0.7, "money": 0.7, "serial": 0.7, "personal_id": 0.7,
                       "enterprise_code": 0.7, "date": 0.6}
_SIGNING_DATE = re.compile(r"ngay\s*(\d{1,2})\s*[a-z]{3,6}\s*(\d{1,2})\s*[a-z]{2,4}\s*(\d{4})")


def document_lines(document: Document) -> list[Line]:
    lines: list[Line] = []
    for index, page in enumerate(document.pages):
        lines.extend(page_lines(page, index))
    return lines


def extract_fields(document: Document, *, today: date | None = None, read_line: LineReader | None = None,
                   learned: lexicon.LearnedWords | None = None) -> Document:
    """Fields of the document's type by contract names, normalised and validated. Given a
    ``read_line`` (the flow passes Tesseract's), a name, place or number the page OCR may have
    misread is read a second time from the scan (``classifiers.second``); without one, the page
    OCR's reading stands alone. ``learned``: the names and places people confirmed at the
    verification station (the flow loads them from the records), known words beside the lexicon's."""
    with lexicon.consulting(learned):
        return _extract_fields(document, today, read_line)


def _extract_fields(document: Document, today: date | None, read_line: LineReader | None) -> Document:
    names = fields_of(document.doc_type)
    if not names:
        return replace(document, fields={})
    lines = document_lines(document)
    values: dict[str, Value] = {}
    fields = extract_from_lines(document.doc_type, lines, values)
    confirmed: dict[str, frozenset[str]] = {}
    if read_line is not None:
        fields, confirmed = second_readings(document.doc_type, fields, values, lines, document.pages,
                                            lambda kind, text, value: field_from_text(kind, text, value, lines),
                                            read_line)
    fields = {name: apply_vocabulary(name, f, confirmed.get(name)) for name, f in fields.items()}
    if document.doc_type == "cccd":
        fields = _with_card_qr(fields, document)
    fields = validate_fields(fields, today=today, min_confidence=MIN_CONFIDENCE)
    ordered = {name: fields[name] for name in names}
    review = [n for n, f in ordered.items() if f.needs_review]
    log.info("%s: %d fields, %d for review %s", document.doc_type, len(ordered), len(review), review)
    return replace(document, fields=ordered)


def extract_from_lines(doc_type: str, lines: Sequence[Line],
                       values: dict[str, Value] | None = None) -> dict[str, Field]:
    """Raw extraction (normalised, not yet validated) of every field of ``doc_type``; ``values``,
    when given, receives where each value was read (for a second reading)."""
    rules = RULES.get(doc_type, ())
    specs = [LabelSpec(rule.field, rule.labels) for rule in rules if rule.labels]
    hits = find_hits(lines, specs, by_meaning=True)
    out: dict[str, Field] = {}
    for rule in rules:
        if not rule.field.startswith("_"):  # distractors only bound other values
            out[rule.field], value = _extract_one(rule, hits, lines)
            if value is not None and values is not None:
                values[rule.field] = value
    for name in fields_of(doc_type):
        out.setdefault(name, Field(None, 0.0, needs_review=True, valid=False, reason="no rule"))
    return out


def _extract_one(rule: Rule, hits: Sequence[Hit], lines: Sequence[Line]) -> tuple[Field, Value | None]:
    value = _labelled_value(rule, hits, lines) if rule.labels else None
    if value is None and rule.fallback:
        value = FALLBACKS[rule.fallback](lines)
    if value is None or not value.text.strip():
        return Field(None, 0.0, needs_review=True, valid=False, reason="not found"), None
    return field_from_text(rule.kind, value.text, value, lines), value


def field_from_text(kind: str, text: str, value: Value, lines: Sequence[Line]) -> Field:
    """A field of ``kind`` from the raw ``text`` read at ``value``: normalised, with its first
    doubts (guesses, low OCR confidence) already flagged."""
    normalised, note = NORMALISERS[kind](text)
    box = lines[value.line].box(value.start, value.end)
    f = Field(normalised, round(value.confidence, 4), page=value.page, box=box, reason=note)
    if "guessed" in note:
        f = flag(f, "a guess from a damaged read", invalid=False)
    if kind in ("personal_id", "enterprise_code", "date", "serial") and note.startswith("repaired"):
        # a repaired digit is a guess the rules may confirm; its word was misread, so cap its confidence
        f = replace(f, confidence=min(f.confidence, 0.9))
    if not normalised and not note:
        f = flag(f, "empty value")
    elif f.confidence < KIND_MIN_CONFIDENCE.get(kind, 0.0):
        f = flag(f, f"low OCR confidence {f.confidence:.2f} for a {kind}", invalid=False)
    return f


def _labelled_value(rule: Rule, hits: Sequence[Hit], lines: Sequence[Line]) -> Value | None:
    mine = [h for h in hits if h.field == rule.field]
    if rule.pair is not None:
        return _pair_value(rule, mine, hits, lines)
    if not mine:
        return None
    order = range(len(mine) - 1, -1, -1) if rule.nth < 0 else range(rule.nth, len(mine))
    for index in order:  # a label with nothing after it (a heading, a blank) gives way to the next one
        value = value_after(mine[index], hits, lines, multiline=rule.lines)
        if value is not None and _plausible(rule.kind, value.text):
            return value
    return None


def _plausible(kind: str, text: str) -> bool:
    """Whether a candidate could be a value of its kind at all (a title that looked like a label
    gives a value without a digit where a date or an ID must have some)."""
    if not text.strip():
        return False
    if kind in ("date", "personal_id", "enterprise_code", "area", "money", "number"):
        return sum(c.isdigit() for c in text) >= (4 if kind in ("date", "personal_id", "enterprise_code") else 1) \
            or "khong thoi han" in fold(text)
    return True


def _pair_value(rule: Rule, mine: Sequence[Hit], hits: Sequence[Hit], lines: Sequence[Line]) -> Value | None:
    """Husband's and wife's values: two value cells of one table row, or two labelled blocks."""
    assert rule.pair is not None
    partner = rule.field.replace("husband_", "wife_") if rule.pair == 0 else rule.field.replace("wife_", "husband_")
    mine = [h for h in hits if h.field in (rule.field, partner)]
    if not mine:
        return None
    first = mine[0]
    cells = value_cells(first, hits, lines[first.line])
    if len(cells) >= 2:
        return value_after(first, hits, lines, cell=rule.pair)
    if len(cells) == 1 and rule.kind in ("date", "personal_id"):
        # a table row read without column gaps: two dates or two IDs side by side
        line = lines[first.line]
        start, end = cells[0]
        pattern = r"\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{4}" if rule.kind == "date" else r"[0-9OoIl]{12}"
        tokens = list(re.finditer(pattern, line.text[start:end]))
        if len(tokens) == 2:
            s, e = start + tokens[rule.pair].start(), start + tokens[rule.pair].end()
            return Value(line.text[s:e], line.confidence(s, e, 1.0), first.line, line.page, s, e)
    if len(mine) > rule.pair:
        return value_after(mine[rule.pair], hits, lines)
    return None


def _signing_date(lines: Sequence[Line]) -> Value | None:
    """The date of the signing line ("Hà Nội, ngày 05 tháng 11 năm 2026"), the last one on the paper."""
    for index in range(len(lines) - 1, -1, -1):
        folded = lines[index].folded
        match = _SIGNING_DATE.search(folded)
        if match:
            line = lines[index]
            start, end = match.span()
            return Value(line.text[start:end], line.confidence(start, end, 1.0), index, line.page, start, end)
    return None


def _title_line(lines: Sequence[Line]) -> Value | None:
    """The upper-case line(s) after the national motto: a form's title (long titles wrap)."""
    seen_motto = False
    found: list[int] = []
    for index, line in enumerate(lines[:25]):
        folded = line.folded
        if not found and ("doc lap" in folded or "hanh phuc" in folded):
            seen_motto = True
            continue
        letters = [c for c in line.text if c.isalpha()]
        upper = len(letters) >= 3 and sum(c.isupper() for c in letters) / len(letters) > 0.8
        if seen_motto and upper and (found or len(letters) >= 5):
            found.append(index)
        elif found:
            break
    if not found:
        return None
    text = " ".join(lines[i].text for i in found)
    confidence = min(lines[i].confidence(0, len(lines[i].text), 1.0) for i in found)
    first = lines[found[0]]
    return Value(text, confidence, found[0], first.page, 0, len(first.text))


_AUTHORITY = re.compile(r"^(.*?)\s+xac nhan thong tin ve cu tru")


def _authority(lines: Sequence[Line]) -> Value | None:
    """The confirming police office, named in the sentence "Công an phường X xác nhận thông tin…"."""
    for index, line in enumerate(lines):
        match = _AUTHORITY.search(line.folded)
        if match and match.group(1).strip():
            start = line.folded.find("cong an") if "cong an" in line.folded[: match.end(1)] else 0
            end = match.end(1)
            return Value(line.text[start:end], line.confidence(start, end, 1.0), index, line.page, start, end)
    return None


FALLBACKS = {"signing_date": _signing_date, "title": _title_line, "authority": _authority}


CHOICES = {
    "ethnicity": (lexicon.ETHNICITIES, 80.0),
    "nationality": (lexicon.NATIONALITIES, 80.0),
    "procedure_name": (lexicon.PROCEDURES, 85.0),
    "form_title": (lexicon.FORM_TITLES, 85.0),
}


def apply_vocabulary(name: str, f: Field, confirmed: frozenset[str] | None = None) -> Field:
    """Put back marks OCR lost where the vocabulary is unambiguous; send the rest to review.

    OCR reads "NGUYỄN" as "NGUYEN" with high confidence, so a name or address is trusted only when
    each of its words is a known one (after restoration); anything else is flagged with the words
    that were not recognised, for the clerk to check. ``confirmed``: the words a second reading
    read exactly alike (None without one), see ``lexicon.kept_as_read``.
    """
    if not f.value:
        return f
    if name in NAME_FIELDS:
        restored = lexicon.restore_name(f.value, confirmed)
        return _restored(f, restored, "name")
    if name in PLACE_FIELDS:
        f = _restored(f, lexicon.restore_place(f.value, confirmed=confirmed), "place")
        if re.search(r"\d{6,}", f.value or ""):
            f = flag(f, "a long number inside a place: another field ran into it")
        if re.search(r"(?:^|[\s,])(?:xã|phường|huyện|quận|tỉnh|thành phố|thị xã|thị trấn)$", f.value or "",
                     re.IGNORECASE):
            f = flag(f, "ends with an administrative word: cut short")
        return f
    if name == "enterprise_name":
        return _restored(f, lexicon.restore_place(f.value, lexicon.business_index()), "name")
    if name == "land_use_purpose":
        parts = [p.strip() for p in f.value.split(";") if p.strip()]
        snapped = [lexicon.snap_choice(p, lexicon.LAND_PURPOSES, cutoff=80.0) for p in parts]
        value = "; ".join(v for v, _ in snapped)
        f = replace(f, value=value) if value != f.value else f
        return f if all(ok for _, ok in snapped) else flag(f, "not a known land use purpose", invalid=False)
    if name in CHOICES:
        choices, cut = CHOICES[name]
        value, ok = lexicon.snap_choice(f.value, choices, cutoff=cut)
        if not ok:
            return flag(f, f"not a known {name.replace('_', ' ')}", invalid=False)
        return replace(f, value=value) if value != f.value else f
    return f


def _restored(f: Field, restored: lexicon.Restored, what: str) -> Field:
    reasons = [r for r in (f.reason, ("restored " + ", ".join(restored.repaired)) if restored.repaired else "") if r]
    f = replace(f, value=restored.text, reason="; ".join(reasons))
    if restored.unknown:
        f = flag(f, f"{what} word(s) not recognised: {', '.join(restored.unknown)}", invalid=False)
    if restored.guessed:
        f = flag(f, f"{what} marks restored from the vocabulary, not confirmed: {', '.join(restored.guessed)}",
                 invalid=False)
    return f


def _with_card_qr(fields: dict[str, Field], document: Document) -> dict[str, Field]:
    """Values from the card's QR code replace what OCR read of the same fields."""
    payloads = [p for page in document.pages for p in page.qr_payloads]
    from_qr = card_fields(payloads)
    out = dict(fields)
    mrz = parse_mrz(document.text)
    expiry = out.get("date_of_expiry")
    if "date_of_expiry" in mrz and (expiry is None or expiry.value is None or expiry.needs_review):
        out["date_of_expiry"] = Field(mrz["date_of_expiry"], 0.99, reason="from the machine-readable zone")
    if "personal_id" in mrz and "personal_id" not in from_qr:
        read = out.get("personal_id")
        if read is None or read.value != mrz["personal_id"]:
            reason = "from the machine-readable zone" + (f" (print read as {read.value!r})" if read and read.value
                                                          else "")
            out["personal_id"] = Field(mrz["personal_id"], 0.99, reason=reason)
    for name in mrz.get(MRZ_FAILED, "").split(","):
        if name and name not in from_qr and out.get(name) is not None:
            out[name] = flag(out[name], f"the machine-readable zone's check digit for the {name.replace('_', ' ')} "
                                        "does not match: compare the card itself", invalid=False)
    birth = out.get("date_of_birth")
    if "mrz_birth" in mrz and "date_of_birth" not in from_qr and birth is not None and birth.value \
            and birth.value[2:].replace("-", "") != mrz["mrz_birth"]:
        out["date_of_birth"] = flag(birth, f"the machine-readable zone gives the birth date as {mrz['mrz_birth']} "
                                           "(YYMMDD)", invalid=False)
    for name, value in from_qr.items():
        read = fields.get(name)
        agrees = read is not None and read.value == value
        reason = "from the card's QR code" + ("" if agrees or read is None or not read.value
                                                 else f" (print read as {read.value!r})")
        out[name] = Field(value, 1.0, page=read.page if read else None, box=read.box if read else None,
                          reason=reason)
    return _expiry_by_law(out, from_qr, payloads, document.text)


def _expiry_by_law(out: dict[str, Field], from_qr: dict[str, str], payloads: list[str],
                   text: str) -> dict[str, Field]:
    """The expiry date its label did not give (it sits under the photo, in 6 pt): the QR's birth and
    issue dates fix it by law (``idcard.expiry_by_law``), and that date printed on the card, label
    or not, confirms it; computed but not seen printed, it is proposed for review."""
    expiry = out.get("date_of_expiry")
    issued = qr_issue_date(payloads)
    if "date_of_birth" not in from_qr or issued is None or (expiry is not None and expiry.value
                                                             and not expiry.needs_review):
        return out
    due = expiry_by_law(date.fromisoformat(from_qr["date_of_birth"]), date.fromisoformat(issued))
    if due is None:
        return out
    if expiry is not None and expiry.value and expiry.value != due.isoformat():
        return out  # a doubtful reading of another date: left to the clerk as it is
    if due.isoformat() in printed_dates(text):
        out["date_of_expiry"] = Field(due.isoformat(), 0.95, reason="the QR code's birth and issue dates give "
                                      "this expiry by law, and it is printed on the card")
    else:
        out["date_of_expiry"] = flag(Field(due.isoformat(), 0.5, reason="computed from the QR code's birth "
                                           "and issue dates by law, not read on the card"), "not read on the card",
                                     invalid=False)
    return out
