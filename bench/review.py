"""``sohoa bench review``: a scripted clerk at the verification station, before and after feedback.

Generated damaged scans go through the production page work and extraction once, and every
generalisation the extractor was not built on is used at once: people and places from
``samples.holdout`` (words the lexicon does not know, so the feedback has something to learn), the
form versions whose label wordings are held out there too (``samples.forms``, split ``unseen``),
the layouts the type classifier never trained on, and, for every other document, a scan at 150 dpi
instead of 300 (a fax or a phone capture), so the clerk meets values the machine read wrong and
fields it could not find, not only unsure ones it read right. The clerk works through every field
sent to review, as the ``/review`` page lets one: Enter where the machine's value is right (1
keystroke), the key of an alternative and Enter where one of the other readings is right (2),
otherwise the truth typed and Enter. Typed values go through the station's own checks
(``api.review``), so a truth the rules would refuse counts as an error left after review. Names and
places the clerk vouched for are written to the learned words of a scratch records database
(``storage.learned``), read back as the flow reads them, and the same scans are extracted a second
time: the second column shows what the feedback saved. A next batch of documents (other people and
places from the same held-out vocabulary, as a commune's next dossiers share its names) is worked
without and with that feedback: what it saves on documents it was not learned from.

Figures: share of documents with nothing to review, fields routed to review, keystrokes per
reviewed field (and per reviewed field that was already right), routed fields the machine had
wrong, errors left after review (must be 0), silent errors (a wrong value not routed to review).
Tune on one seed, report another beside it (``--seed``).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from api.review import Submission, alternatives, check_submission, learned_kinds
from classifiers.extract import extract_fields
from classifiers.lexicon import LearnedWords
from core.doctypes import DOC_TYPES, fields_of
from core.model import Document, Page
from core.settings import load_settings
from pipeline import tesseract
from storage.archive import fields_json
from storage.db import open_database
from storage.learned import Vouched, learn, learned_words
from storage.review import FieldRefused, ReviewDocument

TYPES = tuple(t for t in DOC_TYPES if fields_of(t))


@dataclass
class Run:
    documents: int = 0
    clean_documents: int = 0
    fields: int = 0
    routed: int = 0
    routed_right: int = 0
    keystrokes: int = 0
    keystrokes_right: int = 0
    routed_wrong: int = 0
    errors_after_review: int = 0
    silent_errors: int = 0
    learned: list[Vouched] = field(default_factory=list)
    wrong: Counter[str] = field(default_factory=Counter)  # routed fields the machine had wrong, by name
    silent: list[str] = field(default_factory=list)  # "field: read ≠ truth" of each silent error

    def figures(self) -> dict[str, float | int]:
        return {
            "documents": self.documents,
            "nothing_to_review": round(self.clean_documents / max(1, self.documents), 3),
            "fields": self.fields,
            "routed": self.routed,
            "routed_share": round(self.routed / max(1, self.fields), 3),
            "keystrokes_per_reviewed_field": round(self.keystrokes / max(1, self.routed), 2),
            "keystrokes_per_right_reviewed_field": (round(self.keystrokes_right / self.routed_right, 2)
                                                    if self.routed_right else None),  # none routed right
            "routed_wrong": self.routed_wrong,
            "errors_after_review": self.errors_after_review,
            "silent_errors": self.silent_errors,
        }


def _documents(count: int, seed: int, batch: str = "first") -> list:
    from bench.extract import held_out_layouts
    from samples import forms, holdout
    from samples.generator import LAYOUTS, generate_document

    out = []
    with holdout.vocabulary("held-out"):
        for i in range(count):
            doc_type = TYPES[i % len(TYPES)]
            rng = random.Random(f"sohoa-bench-review/{seed}/{i}" + ("" if batch == "first" else f"/{batch}"))
            layouts = held_out_layouts(LAYOUTS[doc_type])
            pool = forms.versions(doc_type, "unseen")
            version = pool[(i // len(TYPES)) % len(pool)] if pool else None
            out.append(generate_document(doc_type, rng, layout=layouts[(i // len(TYPES)) % len(layouts)],
                                         version=version))
    return out


def _scan(image: np.ndarray, low: bool) -> tuple[np.ndarray, float]:
    """The page as scanned: at 300 dpi, or at 150 (every second pixel) for a low-resolution capture."""
    return (np.ascontiguousarray(image[::2, ::2]), 150.0) if low else (image, 300.0)


def operate(run: Run, doc_type: str, document: Document, truth: dict[str, str]) -> None:
    """The scripted clerk over one extracted document."""
    entries = fields_json(document.fields)
    run.documents += 1
    routed = [n for n, e in entries.items() if e["needs_review"] or not e["valid"]]
    run.clean_documents += not routed
    review = ReviewDocument(0, "bench", doc_type, None, "needs_review", 0, len(document.pages), "", "", None,
                            datetime.now(UTC), None, entries)
    kinds = learned_kinds(truth)
    for name, want in truth.items():
        entry = entries.get(name)
        if entry is None:
            continue
        run.fields += 1
        got = entry["value"] or ""
        if name not in routed:
            if got != want:
                run.silent_errors += 1
                run.silent.append(f"{name}: {got!r} ≠ {want!r}")
            continue
        run.routed += 1
        run.routed_wrong += got != want
        if got != want:
            run.wrong[name if got else f"{name} (not found)"] += 1
        if got == want:
            run.routed_right += 1
            run.keystrokes += 1
            run.keystrokes_right += 1
            submission = Submission(version=0, confirm=(name,))
        else:
            alts = alternatives(entry)
            run.keystrokes += 2 if want in alts else len(want) + 1
            submission = Submission(version=0, values={name: want})
        try:
            _, decisions = check_submission(review, submission)
            recorded = decisions[0].value if decisions[0].value is not None else got
        except FieldRefused:
            recorded = None
        if recorded != want:
            run.errors_after_review += 1
        elif name in kinds:
            run.learned.append(Vouched(kinds[name], want, "bench clerk", None, name))


def _ocr(batches: list[list], settings) -> list[list[tuple[Page, ...]]]:
    """Every document's pages through the production page work, in one run of the page executor."""
    from flow.run import ocr_pages

    pages, owners = [], []
    for b, samples in enumerate(batches):
        for n, sample in enumerate(samples):
            for i, image in enumerate(sample.pages):
                scan, dpi = _scan(image, low=n % 2 == 1)
                pages.append(Page(source=f"bench-{b}-{n}", source_sha256="", index=i, image=scan, dpi=dpi))
                owners.append((b, n))
    done = ocr_pages(pages, settings)
    return [[tuple(p for p, o in zip(done, owners, strict=True) if o == (b, n)) for n in range(len(samples))]
            for b, samples in enumerate(batches)]


def _work(samples: list, pages: list[tuple[Page, ...]], known: LearnedWords) -> Run:
    run = Run()
    for sample, doc_pages in zip(samples, pages, strict=True):
        extracted = extract_fields(Document(doc_pages, doc_type=sample.doc_type), read_line=tesseract.read_line,
                                   learned=known)
        operate(run, sample.doc_type, extracted, sample.fields)
    return run


def run_bench(*, documents: int = 16, seed: int = 16) -> dict:
    """The clerk over one batch of documents before and after its own feedback, and over the next
    batch (other documents, people and places drawn from the same held-out vocabulary, as the next
    dossiers of a commune share its names and places) without and with that feedback."""
    started = time.monotonic()
    settings = load_settings()
    first, following = _documents(documents, seed), _documents(documents, seed, "next")
    first_pages, following_pages = _ocr([first, following], settings)
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-review-") as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'records.db'}")
        try:
            nothing = LearnedWords.of(learned_words(db))
            before = _work(first, first_pages, nothing)
            learn(db, before.learned)
            known = LearnedWords.of(learned_words(db))  # as the flow loads them for a batch
            after = _work(first, first_pages, known)
            next_before = _work(following, following_pages, nothing)
            next_after = _work(following, following_pages, known)
        finally:
            db.dispose()
    runs = {"before": before, "after": after, "next_before": next_before, "next_after": next_after}
    figures = {name: run.figures() for name, run in runs.items()}
    ok = (all(f["errors_after_review"] == 0 for f in figures.values())
          and all((f["keystrokes_per_right_reviewed_field"] or 0) <= 1.3 for f in figures.values())
          and figures["after"]["routed"] < figures["before"]["routed"])
    return {"seed": seed, "pages": sum(len(p) for p in first_pages + following_pages),
            "seconds": round(time.monotonic() - started, 1), "learned": len(before.learned), **figures, "ok": ok,
            "wrong_fields": dict(before.wrong.most_common()),
            "silent": {name: run.silent for name, run in runs.items() if run.silent}}


LABELS = (
    ("nothing_to_review", "documents with nothing to review"),
    ("routed", "fields routed to review"),
    ("routed_share", "share of fields routed"),
    ("keystrokes_per_reviewed_field", "keystrokes per reviewed field"),
    ("keystrokes_per_right_reviewed_field", "… per reviewed field already right"),
    ("routed_wrong", "routed fields the machine had wrong"),
    ("errors_after_review", "errors left after review (target 0)"),
    ("silent_errors", "silent errors (wrong, not routed)"),
)


COLUMNS = (("before", "before"), ("after", "after feedback"), ("next_before", "next: before"),
           ("next_after", "next: after"))


def print_figures(figures: dict) -> None:
    before = figures["before"]
    print(f"sohoa bench review: 2 × {before['documents']} documents ({figures['pages']} pages), "
          f"{before['fields']} fields each, seed {figures['seed']}, held-out names, places, wordings and layouts, "
          f"{figures['seconds']} s; the clerk vouched for {figures['learned']} names/places in the first batch")
    print(f"    {'':<40}" + "".join(f"{title:>16}" for _, title in COLUMNS))
    for key, label in LABELS:
        shown = ["—" if figures[c][key] is None else str(figures[c][key]) for c, _ in COLUMNS]
        print(f"    {label:<40}" + "".join(f"{v:>16}" for v in shown))
    if figures["wrong_fields"]:
        print("    the machine had wrong (first batch): "
              + ", ".join(f"{name} {n}" for name, n in figures["wrong_fields"].items()))
    for column, errors in figures["silent"].items():
        print(f"    silent errors ({column}): " + "; ".join(errors))
    print("    (next: the next batch of documents, the same vocabulary, before and after the first batch's feedback)")
    print("    targets met" if figures["ok"] else "    TARGETS NOT MET")
