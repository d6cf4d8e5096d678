"""``sohoa bench extract``: type accuracy, field exact match and silent errors on real OCR.

Documents come from the sample generator with a seed of the caller's choosing and only in layouts
the classifier was never trained on (``train.TRAIN_LAYOUTS`` are excluded), damaged as scans are, and
go through the same page work as production (clean-up, OCR, QR) and the same classify → extract path.
A field counts as right only when its value equals the ground truth exactly; a wrong value that was
not flagged for review is a silent error, the figure that matters most to a clerk.

Two splits of wording (``samples.forms``): ``seen`` prints the labels the extractor was written
against; ``unseen`` prints form versions whose wordings are kept in ``samples/holdout.py``, which
nothing in ``classifiers/`` reads. Both run on the same seeds and layouts and are printed side by
side: tune on ``seen`` only, report ``unseen``.

The generator's default names and places are words the lexicon knows, which flatters the name and
place figures; ``vocabulary="held-out"`` draws people and addresses from ``samples.holdout`` instead
(real words the lexicon does not know), where the only right outcomes are the value as printed or a
value sent to review.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.train_types import TRAIN_LAYOUTS
from classifiers.classify import classify_document
from classifiers.extract import NAME_FIELDS, PLACE_FIELDS, extract_fields
from core.doctypes import DOC_TYPES, OTHER
from core.model import Document, Page
from pipeline import tesseract

log = logging.getLogger(__name__)

TARGETS = {"type_accuracy": 0.995, "field_exact": 0.99, "silent_personal_id": 0}
# What public Vietnamese ID-card extraction projects report (exact match), for comparison.
PUBLIC_BASELINE = {"personal_id": 0.90, "date_of_birth": 0.88}
ID_FIELDS = ("personal_id", "husband_personal_id", "wife_personal_id", "owner_personal_id",
             "applicant_personal_id")
CODE_FIELDS = ("certificate_number", "certificate_serial", "enterprise_code")
KINDS = ("names", "places", "dates", "IDs", "other")


def field_kind(name: str) -> str:
    """The family a field belongs to, for figures per kind of value (names and places are the
    ones the lexicon vouches for; IDs and dates have their own validators)."""
    if name in NAME_FIELDS:
        return "names"
    if name in PLACE_FIELDS:
        return "places"
    if "date" in name:
        return "dates"
    if name in ID_FIELDS or name in CODE_FIELDS:
        return "IDs"
    return "other"


@dataclass
class KindFigures:
    """One kind of field: compared, exact, sent to review, silent errors (wrong and not flagged)."""

    fields: int = 0
    exact: int = 0
    review: int = 0
    silent: int = 0

    @property
    def exact_share(self) -> float:
        return self.exact / self.fields if self.fields else 0.0


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
    kinds: dict[str, KindFigures] = field(default_factory=lambda: {k: KindFigures() for k in KINDS})
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pages: int = 0
    vocabulary: str = "default"
    split: str = "seen"
    scored_documents: int = 0  # documents with fields (not "other")
    clean_documents: int = 0  # of those, documents with nothing sent to review

    @property
    def clean_share(self) -> float:
        return self.clean_documents / self.scored_documents if self.scored_documents else 0.0

    @property
    def review_share(self) -> float:
        total = sum(self.fields.values())
        return self.flagged / total if total else 0.0

    @property
    def silent_critical(self) -> int:
        """Silent errors on IDs, dates and names: the ones that must be zero."""
        return sum(self.kinds[k].silent for k in ("names", "dates", "IDs"))

    @property
    def type_accuracy(self) -> float:
        return self.type_correct / self.documents if self.documents else 0.0

    @property
    def field_exact(self) -> float:
        total = sum(self.fields.values())
        return sum(self.exact.values()) / total if total else 0.0


def held_out_layouts(layouts: int) -> list[int]:
    return [i for i in range(layouts) if i not in TRAIN_LAYOUTS] or list(range(layouts))


def bench_documents(count: int, seed: int, types: Sequence[str] | None = None, *,
                    vocabulary: str = "default", split: str = "seen") -> list:
    """``count`` generated documents per type (``other`` included), held-out layouts only, people
    and places drawn from ``vocabulary`` (``default`` or ``held-out``, see ``samples.holdout``),
    labels worded as the ``split``'s form versions print them (``seen`` or ``unseen``, see
    ``samples.forms``). The same seed gives the same people in both splits."""
    from samples import forms, holdout
    from samples.generator import LAYOUTS, generate_document

    out = []
    with holdout.vocabulary(vocabulary):
        for doc_type in types or DOC_TYPES:
            layouts = held_out_layouts(LAYOUTS[doc_type])
            pool = forms.versions(doc_type, split) if split != "seen" else ()
            for i in range(count):
                rng = random.Random(f"sohoa-bench-extract/{seed}/{doc_type}/{i}")
                version = pool[i % len(pool)] if pool else None
                out.append(generate_document(doc_type, rng, layout=layouts[i % len(layouts)], version=version))
    return out


def run_bench(count: int, seed: int, *, settings: object, types: Sequence[str] | None = None,
              vocabulary: str = "default", split: str = "seen") -> BenchResult:
    from flow.run import ocr_pages

    started = time.monotonic()
    samples = bench_documents(count, seed, types, vocabulary=vocabulary, split=split)
    pages: list[Page] = []
    owners: list[int] = []
    for n, sample in enumerate(samples):
        for i, image in enumerate(sample.pages):
            pages.append(Page(source=f"bench-{n}-{sample.doc_type}", source_sha256="", index=i, image=image,
                              dpi=300.0))
            owners.append(n)
    done = ocr_pages(pages, settings)  # type: ignore[arg-type]
    result = BenchResult(pages=len(pages), vocabulary=vocabulary, split=split)
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
    document = extract_fields(Document(pages, doc_type=truth_type, type_confidence=document.type_confidence),
                              read_line=tesseract.read_line)
    result.scored_documents += 1
    result.clean_documents += not any(f.needs_review for f in document.fields.values())
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
        kind = result.kinds[field_kind(name)]
        kind.fields += 1
        kind.exact += right
        kind.review += flagged
        kind.silent += not right and not flagged
        if not right and not flagged:
            result.silent += 1
            result.silent_ids += name in ID_FIELDS
            result.errors.append(f"SILENT {truth_type}.{name}: {got!r} != {truth!r}" + (f" ({f.reason})" if f and f.reason else ""))
        elif not right:
            result.errors.append(f"review {truth_type}.{name}: {got!r} != {truth!r} ({f.reason if f else ''})")


def _header(result: BenchResult, *, count: int, seed: int, vocabulary: str) -> str:
    held = "held-out layouts " + ",".join(str(i) for i in held_out_layouts(5))
    return (f"sohoa bench extract: {result.documents} documents, {result.pages} pages, seed {seed}, {count} per type, "
            f"{held}, {vocabulary}, damaged scans, real OCR ({result.seconds:.0f} s)")


def _kind_lines(columns: dict[str, BenchResult]) -> list[str]:
    """Per kind of field, one row per figure, a column per run."""
    heads = "".join(f"{name:>12}" for name in columns)
    lines = [f"{'per kind of field':<34}{heads}"]
    for kind in KINDS:
        figures = {name: r.kinds[kind] for name, r in columns.items()}
        if not any(f.fields for f in figures.values()):
            continue
        lines.append(f"{'  ' + kind + ': exact match':<34}"
                     + "".join(f"{f.exact_share:>12.1%}" for f in figures.values())
                     + "   of " + " / ".join(str(f.fields) for f in figures.values()))
        lines.append(f"{'    sent to review':<34}" + "".join(f"{f.review:>12d}" for f in figures.values()))
        lines.append(f"{'    silent errors':<34}" + "".join(f"{f.silent:>12d}" for f in figures.values()))
    return lines


def format_result(result: BenchResult, *, count: int, seed: int) -> str:
    lines = [
        _header(result, count=count, seed=seed, vocabulary=f"{result.split} wordings, {result.vocabulary} vocabulary"),
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
        (f"{'documents with nothing to review':<34}{result.clean_documents:>10d}{'':>10}   of "
         f"{result.scored_documents}"),
        "",
        *_kind_lines({"sohoa": result}),
    ]
    return "\n".join(lines)


def format_comparison(results: dict[str, BenchResult], *, count: int, seed: int) -> str:
    """Runs on several vocabularies side by side: how much of the default figure is the lexicon
    knowing the generator's words."""
    first = next(iter(results.values()))
    names = list(results)
    heads = "".join(f"{name:>12}" for name in names)

    def row(label: str, values: list[str], target: str = "") -> str:
        return f"{label:<34}" + "".join(f"{v:>12}" for v in values) + (f"{target:>10}" if target else "")

    lines = [
        _header(first, count=count, seed=seed, vocabulary="columns: " + " vs ".join(names)
                + f" (wordings{'/vocabulary' if '/' in names[0] else ''})").replace(
            f"({first.seconds:.0f} s)", f"({sum(r.seconds for r in results.values()):.0f} s)"),
        "",
        f"{'measure':<34}{heads}{'target':>10}",
        row("document type accuracy", [f"{r.type_accuracy:.1%}" for r in results.values()],
            f"{TARGETS['type_accuracy']:.1%}"),
        row("confidently wrong types (≥0.90)", [str(r.confident_wrong) for r in results.values()], "0"),
        row("field exact match, overall", [f"{r.field_exact:.1%}" for r in results.values()],
            f"{TARGETS['field_exact']:.1%}"),
    ]
    for doc_type in DOC_TYPES:
        if first.fields[doc_type]:
            lines.append(row("  " + doc_type, [f"{r.exact[doc_type] / r.fields[doc_type]:.1%}" if r.fields[doc_type]
                                              else "-" for r in results.values()]))
    lines += [
        row("fields routed to review", [f"{r.review_share:.1%}" for r in results.values()], "≤10%"),
        row("documents with nothing to review", [f"{r.clean_documents}/{r.scored_documents}"
                                                for r in results.values()], "≥60%"),
        row("silent errors (wrong, not flagged)", [str(r.silent) for r in results.values()]),
        row("  on IDs, dates and names", [str(r.silent_critical) for r in results.values()], "0"),
        row("  on personal IDs", [str(r.silent_ids) for r in results.values()], str(TARGETS["silent_personal_id"])),
        row("fields sent to review", [str(r.flagged) for r in results.values()]),
        row("  of which right", [str(r.flagged_right) for r in results.values()]),
        "",
        *_kind_lines(results),
    ]
    return "\n".join(lines)
