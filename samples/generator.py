"""Synthetic scanned Vietnamese administrative documents with ground truth.

This is the public face of ``samples/``: the OCR benchmark, the classifier's training set and many
tests draw their pages here. Every document is reproducible from its ``random.Random`` alone, its
``text`` is exactly what is printed (same lines, NFC) so character error rates can be computed
against it, and its ``fields`` follow the contract of design.md (names, ISO dates, upper-case
names, ``Nam``/``Nữ``, 12-digit IDs, decimal area).
"""

from __future__ import annotations

import io
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image

from core.doctypes import DOC_TYPES, FIELDS
from core.errors import InputError
from samples import documents
from samples.cards import cccd
from samples.damage import apply_damage
from samples.documents import Draft
from samples.facts import Person
from samples.forms import FormVersion
from samples.wording import LAYOUT_STYLES, Layout

log = logging.getLogger(__name__)

Builder = Callable[[random.Random, Layout, Person | None], Draft]
_BUILDERS: dict[str, Builder] = {
    "cccd": cccd,
    "birth_certificate": documents.birth_certificate,
    "marriage_certificate": documents.marriage_certificate,
    "death_certificate": documents.death_certificate,
    "residence_confirmation": documents.residence_confirmation,
    "land_use_certificate": documents.land_use_certificate,
    "business_registration": documents.business_registration,
    "application_form": documents.application_form,
    "other": documents.other,
}

# Layout indices mean the same style in every type (see samples.wording.LAYOUT_STYLES):
#   0 Noto Serif 13 pt, "label: value", agency | motto header, dates also in words
#   1 DejaVu Sans 11 pt, labels in a column, motto above a left-aligned agency, numbered, ID after name
#   2 DejaVu Serif 12 pt, ruled label/value rows, bilingual labels, framed, short fields paired
#   3 Noto Sans 10.5 pt, inline, centred motto + agency, numbered and paired, land parcel as a table
#   4 DejaVu Serif Condensed 14 pt, wide label column, framed
# Marriage certificates print a husband/wife table in layouts 0, 2 and 3.
# CCCD: 0 card image (2021 chip card), 1 A4 photocopy of its two sides, 2 A4 photocopy of the 2024
# card, 3 image of both sides of the 2024 card, 4 enlarged A4 photocopy of the 2021 card.
LAYOUTS: dict[str, int] = {doc_type: len(LAYOUT_STYLES) for doc_type in DOC_TYPES}

# Contract fields per type (design.md); every generated document fills all of them.
CONTRACT_FIELDS: dict[str, tuple[str, ...]] = FIELDS


@dataclass(frozen=True)
class SampleDocument:
    """One synthetic document: damaged scans, the clean pages behind them, and ground truth."""

    doc_type: str
    layout: int
    pages: tuple[np.ndarray, ...]  # damaged scans, uint8 RGB (H, W, 3), 300 dpi
    clean_pages: tuple[np.ndarray, ...]  # the same pages before damage (upright, unskewed)
    fields: dict[str, str]  # ground truth, contract names and normalisation
    text: str  # ground-truth text, pages separated by "\f", lines by "\n"
    damage: tuple[dict, ...]  # per page what was applied (see samples.damage.apply_damage)
    qr_payloads: tuple[str, ...] = ()  # texts of the QR codes printed on the pages (CCCD cards)

    def ground_truth(self) -> dict:
        """What ``.gt.json`` holds (the pixels aside)."""
        return {"doc_type": self.doc_type, "layout": self.layout, "pages": len(self.pages),
                "fields": self.fields, "qr_payloads": list(self.qr_payloads), "damage": list(self.damage)}


@dataclass(frozen=True)
class SampleText:
    """The ground truth of one synthetic document without its pixels (see :func:`generate_text`)."""

    doc_type: str
    layout: int
    fields: dict[str, str]  # contract names and normalisation, as in SampleDocument
    text: str  # printed text, pages separated by "\f", lines by "\n", as in SampleDocument


def _check_type(doc_type: str) -> None:
    if doc_type not in _BUILDERS:
        raise InputError(f"unknown document type {doc_type!r} (known: {', '.join(DOC_TYPES)})")


def generate_document(doc_type: str, rng: random.Random, *, layout: int | None = None, damage: float = 1.0,
                      allow_rotation: bool = True, subject: Person | None = None,
                      version: FormVersion | None = None) -> SampleDocument:
    """One document of ``doc_type``; ``layout`` None picks one at random, ``damage`` 0.0 is a clean scan.

    ``subject`` makes the document about a given person (a dossier's applicant); it is ignored by
    types that are not about one person. ``version`` prints the labels in that form version's
    wording (``samples.forms``) instead of the layout's.
    """
    layout = _pick_layout(doc_type, rng, layout)
    style = version.apply(LAYOUT_STYLES[layout]) if version is not None else LAYOUT_STYLES[layout]
    draft = _BUILDERS[doc_type](rng, style, subject)
    return finish(doc_type, layout, draft, rng, damage=damage, allow_rotation=allow_rotation)


def generate_text(doc_type: str, rng: random.Random, *, layout: int | None = None,
                  subject: Person | None = None, version: FormVersion | None = None) -> SampleText:
    """The fields and printed text :func:`generate_document` gives for the same arguments and ``rng``
    state, without drawing A4 pages: those that need only the words (the classifier's training set)
    save four fifths of the time. Cards are small images and are drawn all the same."""
    layout = _pick_layout(doc_type, rng, layout)
    style = version.apply(LAYOUT_STYLES[layout]) if version is not None else LAYOUT_STYLES[layout]
    draft = _BUILDERS[doc_type](rng, replace(style, draw=False), subject)
    return SampleText(doc_type=doc_type, layout=layout, fields=dict(draft.fields), text=draft.text)


def _pick_layout(doc_type: str, rng: random.Random, layout: int | None) -> int:
    """``layout``, or one drawn from ``rng`` when None, checked against ``doc_type``'s layouts."""
    _check_type(doc_type)
    if layout is None:
        layout = rng.randrange(LAYOUTS[doc_type])
    if not 0 <= layout < LAYOUTS[doc_type]:
        raise InputError(f"layout {layout} out of range 0–{LAYOUTS[doc_type] - 1} for {doc_type}")
    return layout


def finish(doc_type: str, layout: int, draft: Draft, rng: random.Random, *, damage: float = 1.0,
           allow_rotation: bool = True) -> SampleDocument:
    """Scan a drafted document: damage each page and join the printed lines into ``text``."""
    scans, applied = [], []
    for image, _ in draft.pages:
        scan, info = apply_damage(image, rng, severity=damage, allow_rotation=allow_rotation)
        scans.append(scan)
        applied.append(info)
    return SampleDocument(doc_type=doc_type, layout=layout, pages=tuple(scans),
                          clean_pages=tuple(image for image, _ in draft.pages), fields=dict(draft.fields),
                          text=draft.text, damage=tuple(applied), qr_payloads=draft.qr_payloads)


def _document_rng(seed: int, index: int) -> random.Random:
    """Each document has its own stream, so a document does not change when the count does."""
    return random.Random(f"sohoa-samples/{seed}/{index}")


def generate(out_dir: Path, count: int, seed: int, types: Sequence[str] | None = None, *,
             layouts: Sequence[int] | None = None, damage: float = 1.0) -> list[Path]:
    """Write ``count`` documents, types in turn; returns the image (one page) or PDF paths."""
    chosen = tuple(types) if types else DOC_TYPES
    for doc_type in chosen:
        _check_type(doc_type)
    if count < 0:
        raise InputError("count must not be negative")
    for doc_type in chosen:
        if layouts and not any(0 <= n < LAYOUTS[doc_type] for n in layouts):
            raise InputError(f"no layout among {list(layouts)} exists for {doc_type} (0–{LAYOUTS[doc_type] - 1})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(count):
        doc_type = chosen[index % len(chosen)]
        rng = _document_rng(seed, index)
        layout = None
        if layouts:
            layout = rng.choice([n for n in layouts if 0 <= n < LAYOUTS[doc_type]])
        doc = generate_document(doc_type, rng, layout=layout, damage=damage)
        stem = out_dir / f"{index:04d}-{doc_type}"
        written.append(write_document(doc, stem))
        log.info("wrote %s (layout %d, %d page(s))", written[-1].name, doc.layout, len(doc.pages))
    return written


def write_document(doc: SampleDocument, stem: Path, *, jpeg_quality: int = 85) -> Path:
    """``stem.png`` (one page) or ``stem.pdf`` (several), beside ``stem.gt.json`` and ``stem.gt.txt``."""
    if len(doc.pages) == 1:
        path = stem.with_suffix(".png")
        Image.fromarray(doc.pages[0]).save(path, compress_level=1)  # level 6 is 3x slower, 15% smaller
    else:
        path = stem.with_suffix(".pdf")
        path.write_bytes(pages_to_pdf(doc.pages, jpeg_quality=jpeg_quality))
    gt = {"file": path.name, **doc.ground_truth()}
    stem.with_suffix(".gt.json").write_text(json.dumps(gt, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    stem.with_suffix(".gt.txt").write_text(doc.text, encoding="utf-8")
    return path


def pages_to_pdf(pages: Sequence[np.ndarray], *, jpeg_quality: int = 85, grey: Sequence[bool] | None = None) -> bytes:
    """A scanned PDF: each page one JPEG at 300 dpi, rewritten by pikepdf (PIL's xref breaks pyHanko)."""
    images = []
    for i, page in enumerate(pages):
        image = Image.fromarray(page)
        if grey is not None and grey[i]:
            image = image.convert("L")
        images.append(image)
    raw = io.BytesIO()
    images[0].save(raw, format="PDF", save_all=True, append_images=images[1:], resolution=300.0,
                   quality=jpeg_quality)
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(raw.getvalue())) as pdf:
        # PIL stamps the current time; drop it so a seed always gives the same bytes.
        for key in list(pdf.docinfo.keys()):
            del pdf.docinfo[key]
        pdf.save(out, deterministic_id=True)
    return out.getvalue()


def write_sample_dossier(out_dir: Path, seed: int = 2026) -> list[Path]:
    """Regenerate the committed sample dossier (see :mod:`samples.dossier`)."""
    from samples.dossier import write_dossier  # here: samples.dossier imports this module

    return write_dossier(Path(out_dir), seed)
