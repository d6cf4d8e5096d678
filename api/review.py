"""The verification station's rules, shared by the HTTP routes and ``sohoa review``.

What a clerk types is checked the way extraction checks what OCR read: the field's normaliser
(``classifiers.normalise``, by the kind its rule declares) and the validators
(``classifiers.validate``) over the document as it would be after the submission, counting only
values a person or the machine vouches for (a still-flagged value cannot veto a correction). A
value that fails is refused with the field's name and is never stored. Names and places a person
confirmed or typed join the learned words in the records (``storage.learned``) with their
provenance, so the next dossier's extraction, on any machine, knows them.

This module also derives what the screen shows beside a value: the other readings (the second
reading of the scan, the print under a QR value, the form before the vocabulary rewrote its
marks), which letters are unsure, and the field's image cut from the original page.
"""

from __future__ import annotations

import difflib
import io
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageDraw

from classifiers.labels import RULES
from classifiers.normalise import NORMALISERS
from classifiers.validate import NAME_FIELDS, PLACE_FIELDS, validate_fields
from core.doctypes import DOC_TYPES, fields_of
from core.errors import InputError
from core.model import Field, nfc
from storage.db import Database
from storage.learned import LearnedKind
from storage.objects import ObjectStore
from storage.review import (
    Decision,
    FieldRefused,
    ReviewDocument,
    document_for_review,
    is_flagged,
    record_review,
)

log = logging.getLogger(__name__)

MAX_VALUE = 500  # characters: longer than any field on a paper


@dataclass(frozen=True)
class Submission:
    """One clerk's decisions on one document: ``confirm`` names fields whose shown value is right,
    ``values`` maps fields to typed values (raw, as typed)."""

    version: int
    confirm: tuple[str, ...] = ()
    values: Mapping[str, str] | None = None
    doc_type: str | None = None


def kind_of(doc_type: str, name: str) -> str:
    for rule in RULES.get(doc_type, ()):
        if rule.field == name:
            return rule.kind
    return "text"


def normalise_typed(doc_type: str, name: str, raw: str) -> str:
    """A typed value as extraction would record it, or :class:`FieldRefused` saying why not.

    Unlike OCR output, a typed value gets no repairs: a letter typed into an ID is refused, not
    turned into the digit it looks like."""
    text = " ".join(nfc(raw).split())
    if not text:
        raise FieldRefused(name, "empty value; type the value on the paper, or confirm the one shown")
    if len(text) > MAX_VALUE:
        raise FieldRefused(name, f"longer than {MAX_VALUE} characters")
    kind = kind_of(doc_type, name)
    if kind == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    if kind in ("personal_id", "enterprise_code"):
        digits = re.sub(r"[\s.]", "", text)
        if not digits.isdigit():
            raise FieldRefused(name, f"{text!r} is not a number: type digits only")
        text = digits
    value, note = NORMALISERS.get(kind, NORMALISERS["text"])(text)
    if not value:
        raise FieldRefused(name, f"{text!r} is not a {kind.replace('_', ' ')}{f' ({note})' if note else ''}")
    if kind == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise FieldRefused(name, f"{text!r} is not a date (type dd/mm/yyyy)")
    return nfc(value)


def check_submission(document: ReviewDocument, submission: Submission) -> tuple[str, list[Decision]]:
    """The decisions to record, each value normalised and validated; refuses the first bad field."""
    doc_type = submission.doc_type or document.doc_type
    if doc_type not in DOC_TYPES:
        raise FieldRefused("doc_type", f"unknown document type {doc_type!r}")
    known = set(fields_of(doc_type)) if doc_type != document.doc_type else set(document.fields)
    values = {nfc(k): v for k, v in (submission.values or {}).items()}
    confirm = [nfc(n) for n in submission.confirm]
    for name in [*values, *confirm]:
        if name not in known:
            raise FieldRefused(name, f"a {doc_type} has no such field")
    both = set(values) & set(confirm)
    if both:
        raise FieldRefused(min(both), "both confirmed and corrected; send one")
    typed = {name: normalise_typed(doc_type, name, raw) for name, raw in values.items()}
    current = document.fields if doc_type == document.doc_type else {}
    for name in confirm:
        if not (current.get(name) or {}).get("value"):
            raise FieldRefused(name, "there is no value to confirm; type the value on the paper")
    # The document as it would be: values a person vouches for (now or before) and the machine's
    # unflagged ones; the rest are left out so they cannot make a right correction look wrong.
    trusted: dict[str, Field] = {}
    for name, entry in current.items():
        if entry.get("value") and not is_flagged(entry):
            trusted[name] = Field(entry["value"], 1.0)
    for name in confirm:
        trusted[name] = Field(current[name]["value"], 1.0)
    for name, value in typed.items():
        trusted[name] = Field(value, 1.0)
    checked = validate_fields(trusted)
    for name in [*typed, *confirm]:
        verdict = checked[name]
        if not verdict.valid or verdict.needs_review:
            raise FieldRefused(name, f"{verdict.reason} (value {trusted[name].value!r})")
    decisions = [Decision(name, value) for name, value in typed.items()] + [Decision(name) for name in confirm]
    return doc_type, decisions


def submit_review(
    db: Database, document_id: int, submission: Submission, *, official: str, actor: str,
) -> ReviewDocument:
    """Check and record one submission; the names and places it vouches for join the learned words
    extraction consults (``storage.learned``), recorded with the review."""
    document = document_for_review(db, document_id)
    if document is None:
        raise InputError(f"no document {document_id}")
    doc_type, decisions = check_submission(document, submission)
    if not decisions and doc_type == document.doc_type:
        raise FieldRefused("fields", "nothing to record: confirm or correct at least one field")
    return record_review(
        db, document_id, version=submission.version, decisions=decisions, official=official, actor=actor,
        doc_type=doc_type if doc_type != document.doc_type else None, type_fields=fields_of(doc_type),
        learn=learned_kinds(d.field for d in decisions),
    )


def learned_kinds(names: Iterable[str]) -> dict[str, LearnedKind]:
    """Which of these fields hold a name or a place a person's decision teaches the lexicon."""
    out: dict[str, LearnedKind] = {}
    for name in names:
        if name in NAME_FIELDS:
            out[name] = LearnedKind.NAME
        elif name in PLACE_FIELDS:
            out[name] = LearnedKind.PLACE
    return out


# -- what the screen shows beside a value -------------------------------------------------------------

_QUOTED = re.compile(r"(?:second reading differs: |second reading gives |print read as |page read )(['\"])(.*?)\1")
_RESTORED = re.compile(r"(?:restored from the vocabulary, not confirmed|restored): ([^;]+)")
_NOT = re.compile(r"([^\s,;:()]+(?: [^\s,;:()]+)*) \(not ([^)]+)\)")
_READ_AS = re.compile(r"([^\s,;:()]+(?: [^\s,;:()]+)*) \(read as ([^)?]+)\?\)")
_UNKNOWN = re.compile(r"word\(s\) not recognised: ([^;]+)")


def alternatives(entry: Mapping[str, Any]) -> list[str]:
    """The other values the machine had for this field, best first: the readings that disagreed,
    the form before the vocabulary rewrote its marks, the vocabulary's suggestion for a word it
    did not know. Never the value itself; at most three (keys 1–3 on the page)."""
    machine = entry.get("machine") or entry
    value = machine.get("value") or ""
    reason = machine.get("reason") or ""
    out: list[str] = []
    for match in _QUOTED.finditer(reason):
        out.append(match.group(2))
    for match in _RESTORED.finditer(reason):
        for pair in match.group(1).split(", "):
            if "→" in pair:
                read, form = pair.split("→", 1)
                out.append(value.replace(form.strip(), read.strip(), 1))
    for match in _NOT.finditer(reason):
        for form in match.group(2).split("/"):
            out.append(value.replace(match.group(1), form.strip(), 1))
    for match in _READ_AS.finditer(reason):
        out.append(value.replace(match.group(2).strip(), match.group(1).strip(), 1))
    current = entry.get("value")
    if current != value and value:
        out.insert(0, value)  # reviewed: the machine's own value is an alternative
    seen: list[str] = []
    for alt in (nfc(a).strip() for a in out):
        if alt and alt != current and alt not in seen:
            seen.append(alt)
    return seen[:3]


def unsure_spans(value: str | None, alts: list[str], reason: str) -> list[tuple[int, int]]:
    """Character spans of ``value`` the machine is unsure of: where another reading differs, and
    the words the vocabulary did not recognise."""
    if not value:
        return []
    marks = [False] * len(value)
    for alt in alts:
        matcher = difflib.SequenceMatcher(a=value, b=alt, autojunk=False)
        for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
            if tag != "equal":
                for i in range(max(0, i1 - (i1 == i2)), max(i2, i1 + 1)):
                    if i < len(marks):
                        marks[i] = True
    for match in _UNKNOWN.finditer(reason):
        for word in re.split(r",\s*", match.group(1)):
            word = word.split(" (", 1)[0].strip()
            start = value.find(word) if word else -1
            if start >= 0:
                for i in range(start, start + len(word)):
                    marks[i] = True
    spans: list[tuple[int, int]] = []
    for i, on in enumerate(marks):
        if on and not value[i].isspace():
            if spans and spans[-1][1] == i:
                spans[-1] = (spans[-1][0], i + 1)
            else:
                spans.append((i, i + 1))
    return spans


# -- images ----------------------------------------------------------------------------------------------

class PageImages:
    """Page images of searchable PDFs, in the pixels the fields' boxes are measured in.

    The PDF holds the original scan (only turned upright), drawn over the whole page, so rendering
    the page at (image pixels / page width) gives back those pixels. A few recent pages are kept:
    a clerk fetches one field image after another from the same page."""

    def __init__(self, size: int = 6) -> None:
        self._items: OrderedDict[tuple[str, int], Image.Image] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def page(self, store: ObjectStore, pdf_key: str, index: int) -> Image.Image:
        with self._lock:
            cached = self._items.get((pdf_key, index))
            if cached is not None:
                self._items.move_to_end((pdf_key, index))
                return cached
        image = render_page(store.get_bytes(pdf_key), index)
        with self._lock:
            self._items[(pdf_key, index)] = image
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return image


def render_page(pdf: bytes, index: int) -> Image.Image:
    """The scan of page ``index`` in its own pixels, cut from the rendered page: the page may be
    larger than the scan (page 1 is grown by a band above it for the digitization signature), and
    the boxes of the fields are measured from the scan's corner."""
    document = pdfium.PdfDocument(pdf)
    try:
        if not 0 <= index < len(document):
            raise InputError(f"the document has no page {index + 1}")
        page = document[index]
        height = page.get_size()[1]
        scan = None  # the largest image on the page: the scan (a seal or a code is smaller)
        for obj in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]):
            left, bottom, right, top = obj.get_bounds()
            if scan is None or (right - left) * (top - bottom) > (scan[2] - scan[0]) * (scan[3] - scan[1]):
                scan = (left, bottom, right, top, *obj.get_px_size())
        if scan is None:
            return page.render(scale=300 / 72, grayscale=False).to_pil().convert("RGB")
        left, bottom, right, top, px_w, px_h = scan
        size = (px_w, px_h) if (px_w >= px_h) == (right - left >= top - bottom) else (px_h, px_w)  # upright
        scale = size[0] / (right - left)
        image = page.render(scale=scale, grayscale=False).to_pil().convert("RGB")
        # the rendered page's size is rounded: keep the scan's size, inside the render
        x0 = max(0, min(round(left * scale), image.width - size[0]))
        y0 = max(0, min(round((height - top) * scale), image.height - size[1]))
        box = (x0, y0, min(image.width, x0 + size[0]), min(image.height, y0 + size[1]))
        return image if box == (0, 0, *image.size) else image.crop(box)
    finally:
        document.close()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()


def field_crop(page: Image.Image, box: list[int] | tuple[int, int, int, int], *, mark: bool = True) -> Image.Image:
    """The field's value with its label (printed to the left of it on these papers) and a margin,
    cut from the page; ``mark`` outlines the value so the eye finds it at once."""
    left, top, width, height = (int(v) for v in box)
    pw, ph = page.size
    pad_y = max(8, int(height * 0.8))
    x0 = max(0, left - max(int(pw * 0.3), 4 * height))
    x1 = min(pw, left + width + max(16, 2 * height))
    y0, y1 = max(0, top - pad_y), min(ph, top + height + pad_y)
    crop = page.crop((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))).copy()
    if mark:
        draw = ImageDraw.Draw(crop)
        draw.rectangle((left - x0 - 3, top - y0 - 3, left - x0 + width + 3, top - y0 + height + 3),
                       outline=(230, 120, 0), width=2)
    return crop


def page_thumbnail(page: Image.Image, max_width: int) -> Image.Image:
    if page.width <= max_width:
        return page
    ratio = max_width / page.width
    return page.resize((max_width, max(1, int(page.height * ratio))), Image.Resampling.LANCZOS)


def blank_png() -> bytes:
    return png_bytes(Image.fromarray(np.full((8, 8, 3), 255, np.uint8)))


# -- reasons in the clerk's words ---------------------------------------------------------------------------

_REASONS_VI: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), vi) for p, vi in (
    (r"^not found$|^no rule$", "không tìm thấy giá trị trên giấy"),
    (r"^empty value$", "giá trị trống"),
    (r"^low OCR confidence ([\d.]+)", "máy đọc không rõ (độ tin cậy {0})"),
    (r"^a second reading (?:differs|gives)", "đọc lại từ bản quét ra kết quả khác"),
    (r"^name word\(s\) not recognised: (.+)", "có chữ trong tên không có trong danh mục: {0}"),
    (r"^place word\(s\) not recognised: (.+)", "có chữ trong địa danh không có trong danh mục: {0}"),
    (r"marks restored from the vocabulary, not confirmed: (.+)", "dấu do máy đoán lại, chưa chắc chắn: {0}"),
    (r"^a guess from a damaged read", "máy đoán từ chữ bị mờ, hỏng"),
    (r"^not a calendar date", "không phải ngày hợp lệ"),
    (r"^date is in the future", "ngày ở tương lai"),
    (r"^date before 1900", "ngày trước năm 1900"),
    (r"^implausible year", "năm không hợp lý"),
    (r"^expiry before birth", "ngày hết hạn trước ngày sinh"),
    (r"^\w+ after \w+$", "thứ tự các ngày trên giấy không hợp lý"),
    (r"^sex must be", "giới tính phải là Nam hoặc Nữ"),
    (r"^personal ID must be 12 digits", "số định danh phải có 12 chữ số"),
    (r"^province code (\d+) was never issued", "mã tỉnh {0} của số định danh không tồn tại"),
    (r"contradicts sex", "số định danh không khớp giới tính"),
    (r"contradict(?:s)? birth year", "số định danh không khớp năm sinh"),
    (r"^sex/century digit", "chữ số giới tính/thế kỷ của số định danh sai"),
    (r"^name has characters", "tên có ký tự không hợp lệ"),
    (r"^name has fewer than two words", "tên ít hơn hai chữ"),
    (r"^enterprise code must be 10 digits", "mã số doanh nghiệp phải có 10 chữ số"),
    (r"^area must be a decimal number", "diện tích phải là một số"),
    (r"^ends with an administrative word", "địa chỉ bị cắt ngắn"),
    (r"^a long number inside a place", "có dãy số lạ trong địa chỉ"),
    (r"^not a known (.+)", "không có trong danh mục"),
    (r"^the type was changed by review", "loại giấy tờ đã được đổi khi kiểm tra"),
))
_NOT_DOUBTS = re.compile(r"^(?:restored |repaired|from the |marks from a second reading|reviewed$)")


_WORD_NOTES_VI = ((re.compile(r" \(taught, read once\)"), " (đã có người xác nhận, máy mới đọc một lần)"),
                  (re.compile(r" \(not ([^)]+)\)"), r" (hay \1?)"),
                  (re.compile(r" \(read as ([^)?]+)\?\)"), r" (có phải \1?)"))


def _words_vi(text: str) -> str:
    """The notes beside unrecognised words, in Vietnamese."""
    for pattern, vi in _WORD_NOTES_VI:
        text = pattern.sub(vi, text)
    return text


def reason_vi(reason: str, *, flagged: bool) -> str:
    """Why the machine was unsure, in plain Vietnamese words (notes that are not doubts left out)."""
    out: list[str] = []
    for part in (p.strip() for p in (reason or "").split(";")):
        if not part or _NOT_DOUBTS.search(part):
            continue
        for pattern, vi in _REASONS_VI:
            match = pattern.search(part)
            if match:
                out.append(vi.format(*(_words_vi(g) for g in match.groups())))
                break
        else:
            out.append(f"máy không chắc chắn ({part})")
    if not out and flagged:
        out.append("máy không chắc chắn")
    return "; ".join(dict.fromkeys(out))
