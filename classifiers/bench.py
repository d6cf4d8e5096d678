"""``sohoa bench extract``: type accuracy, field exact match and silent errors on real OCR.

Documents come from the sample generator with a seed of the caller's choosing and only in layouts
the classifier was never trained on (``train.TRAIN_LAYOUTS`` are excluded), damaged as scans are, and
go through the same page work as production (clean-up, OCR, QR) and the same classify → extract path.
A field counts as right only when its value equals the ground truth exactly; a wrong value that was
not flagged for review is a silent error, the figure that matters most to a clerk.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from classifiers.classify import classify_document
from classifiers.doctypes import DOC_TYPES, OTHER
from classifiers.extract import extract_fields
from classifiers.train import TRAIN_LAYOUTS
from pipeline.model import Document, Page

log = logging.getLogger(__name__)

TARGETS = {"type_accuracy": 0.995, "field_exact": 0.99, "silent_personal_id": 0}
# What public Vietnamese ID-card extraction projects report (exact match), for comparison.
PUBLIC_BASELINE = {"personal_id": 0.90, "date_of_birth": 0.88}
ID_FIELDS = ("personal_id", "husband_personal_id", "wife_personal_id", "owner_personal_id",
             "applicant_personal_id")


@dataclass
class BenchResult:
    documents: int = 0
    type_correct: int = 0
    confident_wrong: int = 0  # a wrong type with confidence ≥ 0.9
    fields: Counter = field(default_factory=Counter)  # per type: fields compared
    exact: Counter = field(default_factory=Counter)  # per type: exact matches
    per_field: Counter = field(default_factory=Counter)
    per_field_exact: Counter = field(default_factory=Counter)
    flagged: int = 0
    flagged_right: int = 0  # right values sent to review anyway (the cost of caution)
    silent: int = 0
    silent_ids: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pages: int = 0

    @property
    def type_accuracy(self) -> float:
        return self.type_correct / self.documents if self.documents else 0.0

    @property
    def field_exact(self) -> float:
        total = sum(self.fields.values())
        return sum(self.exact.values()) / total if total else 0.0


def held_out_layouts(layouts: int) -> list[int]:
    return [i for i in range(layouts) if i not in TRAIN_LAYOUTS] or list(range(layouts))


def bench_documents(count: int, seed: int, types: Sequence[str] | None = None) -> list:
    """``count`` generated documents per type (``other`` included), held-out layouts only."""
    from samples.generator import LAYOUTS, generate_document

    out = []
    for doc_type in types or DOC_TYPES:
        layouts = held_out_layouts(LAYOUTS[doc_type])
        for i in range(count):
            rng = random.Random(f"sohoa-bench-extract/{seed}/{doc_type}/{i}")
            out.append(generate_document(doc_type, rng, layout=layouts[i % len(layouts)]))
    return out


def run_bench(count: int, seed: int, *, settings: object, types: Sequence[str] | None = None) -> BenchResult:
    from pipeline.run import ocr_pages

    started = time.monotonic()
    samples = bench_documents(count, seed, types)
    pages: list[Page] = []
    owners: list[int] = []
    for n, sample in enumerate(samples):
        for i, image in enumerate(sample.pages):
            pages.append(Page(source=f"bench-{n}-{sample.doc_type}", source_sha256="", index=i, image=image,
                              dpi=300.0))
            owners.append(n)
    done = ocr_pages(pages, settings)  # type: ignore[arg-type]
    result = BenchResult(pages=len(pages))
    for n, sample in enumerate(samples):
        doc_pages = tuple(p for p, owner in zip(done, owners, strict=True) if owner == n)
        score_document(result, sample, doc_pages)
    result.seconds = time.monotonic() - started
    return result


def score_document(result: BenchResult, sample: object, pages: tuple[Page, ...]) -> None:
    truth_type: str = sample.doc_type  # type: ignore[attr-defined]
    truth_fields: dict[str, str] = sample.fields  # type: ignore[attr-defined]
    document = classify_document(Document(pages))
    result.documents += 1
    if document.doc_type == truth_type:
        result.type_correct += 1
    else:
        if document.type_confidence >= 0.9:
            result.confident_wrong += 1
        result.errors.append(f"type {truth_type}: got {document.doc_type} ({document.type_confidence:.2f})")
    if truth_type == OTHER:
        return
    # fields are scored on the true type, so one misclassification is not counted twice
    document = extract_fields(Document(pages, doc_type=truth_type, type_confidence=document.type_confidence))
    for name, truth in truth_fields.items():
        f = document.fields.get(name)
        got = (f.value if f else None) or ""
        right = got == truth
        flagged = bool(f and f.needs_review)
        result.fields[truth_type] += 1
        result.per_field[name] += 1
        if right:
            result.exact[truth_type] += 1
            result.per_field_exact[name] += 1
        result.flagged += flagged
        result.flagged_right += right and flagged
        if not right and not flagged:
            result.silent += 1
            result.silent_ids += name in ID_FIELDS
            result.errors.append(f"SILENT {truth_type}.{name}: {got!r} != {truth!r}")
        elif not right:
            result.errors.append(f"review {truth_type}.{name}: {got!r} != {truth!r} ({f.reason if f else ''})")


def format_result(result: BenchResult, *, count: int, seed: int) -> str:
    held = "held-out layouts " + ",".join(str(i) for i in held_out_layouts(5))
    lines = [
        (f"sohoa bench extract: {result.documents} documents, {result.pages} pages, seed {seed}, {count} per type, "
         f"{held}, damaged scans, real OCR ({result.seconds:.0f} s)"),
        "",
        f"{'measure':<34}{'sohoa':>10}{'target':>10}   baseline",
        (f"{'document type accuracy':<34}{result.type_accuracy:>10.1%}{TARGETS['type_accuracy']:>10.1%}   "
         "Paperless-ngx: no threshold, leans to the commonest class"),
        f"{'confidently wrong types (≥0.90)':<34}{result.confident_wrong:>10d}{0:>10d}",
        (f"{'field exact match, overall':<34}{result.field_exact:>10.1%}{TARGETS['field_exact']:>10.1%}   "
         "OCRmyPDF / Paperless-ngx: no field extraction"),
    ]
    for doc_type in DOC_TYPES:
        if result.fields[doc_type]:
            share = result.exact[doc_type] / result.fields[doc_type]
            lines.append(f"{'  ' + doc_type:<34}{share:>10.1%}{TARGETS['field_exact']:>10.1%}")
    for name, baseline in PUBLIC_BASELINE.items():
        if result.per_field[name]:
            share = result.per_field_exact[name] / result.per_field[name]
            lines.append(f"{'  field ' + name:<34}{share:>10.1%}{'':>10}   public ID-card projects: "
                         f"{baseline:.0%}")
    total = sum(result.fields.values())
    lines += [
        f"{'silent errors (wrong, not flagged)':<34}{result.silent:>10d}{'':>10}   of {total} fields",
        f"{'  on personal IDs':<34}{result.silent_ids:>10d}{TARGETS['silent_personal_id']:>10d}",
        f"{'fields sent to review':<34}{result.flagged:>10d}{'':>10}   of which right: {result.flagged_right}",
    ]
    return "\n".join(lines)
