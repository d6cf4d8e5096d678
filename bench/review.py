"""``sohoa bench review``: a scripted clerk at the verification station, before and after feedback.

Generated damaged scans (people and places from ``samples.holdout``, words the lexicon does not
know, so the feedback has something to learn) go through the production page work and extraction
once. The clerk then works through every field sent to review, as the ``/review`` page lets one:
Enter where the machine's value is right (1 keystroke), the key of an alternative and Enter where
one of the other readings is right (2), otherwise the truth typed and Enter. Typed values go
through the station's own checks (``api.review``), so a truth the rules would refuse counts as an
error left after review. Names and places the clerk vouched for are fed to the lexicon, and the
same scans are extracted a second time: the second column shows what the feedback saved.

Figures: share of documents with nothing to review, fields routed to review, keystrokes per
reviewed field (and per reviewed field that was already right), errors left after review (must be
0), silent errors (a wrong value not routed to review).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from api.review import Submission, alternatives, check_submission
from classifiers import lexicon
from classifiers.extract import extract_fields
from classifiers.validate import NAME_FIELDS, PLACE_FIELDS
from core.doctypes import DOC_TYPES, fields_of
from core.model import Document, Page
from core.settings import load_settings
from pipeline import tesseract
from storage.archive import fields_json
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
    errors_after_review: int = 0
    silent_errors: int = 0
    learned: list[lexicon.Learned] = field(default_factory=list)

    def figures(self) -> dict[str, float | int]:
        return {
            "documents": self.documents,
            "nothing_to_review": round(self.clean_documents / max(1, self.documents), 3),
            "fields": self.fields,
            "routed": self.routed,
            "routed_share": round(self.routed / max(1, self.fields), 3),
            "keystrokes_per_reviewed_field": round(self.keystrokes / max(1, self.routed), 2),
            "keystrokes_per_right_reviewed_field": round(self.keystrokes_right / max(1, self.routed_right), 2),
            "errors_after_review": self.errors_after_review,
            "silent_errors": self.silent_errors,
        }


def _documents(count: int, seed: int) -> list:
    import random

    from samples import holdout
    from samples.generator import generate_document

    with holdout.vocabulary("held-out"):
        return [generate_document(TYPES[i % len(TYPES)], random.Random(f"sohoa-bench-review/{seed}/{i}"))
                for i in range(count)]


def operate(run: Run, doc_type: str, document: Document, truth: dict[str, str]) -> None:
    """The scripted clerk over one extracted document."""
    entries = fields_json(document.fields)
    run.documents += 1
    routed = [n for n, e in entries.items() if e["needs_review"] or not e["valid"]]
    run.clean_documents += not routed
    review = ReviewDocument(0, "bench", doc_type, None, "needs_review", 0, len(document.pages), "", "", None,
                            datetime.now(UTC), None, entries)
    for name, want in truth.items():
        entry = entries.get(name)
        if entry is None:
            continue
        run.fields += 1
        got = entry["value"] or ""
        if name not in routed:
            run.silent_errors += got != want
            continue
        run.routed += 1
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
        elif name in NAME_FIELDS or name in PLACE_FIELDS:
            kind = "name" if name in NAME_FIELDS else "place"
            run.learned.append(lexicon.Learned(kind, want, "bench clerk", None, name))


def run_bench(*, documents: int = 8, seed: int = 16) -> dict:
    from flow.run import ocr_pages

    started = time.monotonic()
    settings = load_settings()
    samples = _documents(documents, seed)
    pages, owners = [], []
    for n, sample in enumerate(samples):
        for i, image in enumerate(sample.pages):
            pages.append(Page(source=f"bench-{n}", source_sha256="", index=i, image=image, dpi=300.0))
            owners.append(n)
    done = ocr_pages(pages, settings)
    by_doc = [tuple(p for p, o in zip(done, owners, strict=True) if o == n) for n in range(len(samples))]
    previous = os.environ.get(lexicon.LEARNED_ENV)
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-review-") as tmp:
        path = Path(tmp) / "confirmed.jsonl"
        os.environ[lexicon.LEARNED_ENV] = str(path)
        try:
            runs = []
            for _ in range(2):
                run = Run()
                for sample, doc_pages in zip(samples, by_doc, strict=True):
                    extracted = extract_fields(Document(doc_pages, doc_type=sample.doc_type),
                                               read_line=tesseract.read_line)
                    operate(run, sample.doc_type, extracted, sample.fields)
                runs.append(run)
                if run.learned:
                    lexicon.learn(path, run.learned)
        finally:
            if previous is None:
                os.environ.pop(lexicon.LEARNED_ENV, None)
            else:
                os.environ[lexicon.LEARNED_ENV] = previous
    before, after = (r.figures() for r in runs)
    ok = (before["errors_after_review"] == 0 and after["errors_after_review"] == 0
          and before["keystrokes_per_right_reviewed_field"] <= 1.3 and after["routed"] <= before["routed"])
    return {"seed": seed, "pages": len(pages), "seconds": round(time.monotonic() - started, 1),
            "learned": len(runs[0].learned), "before": before, "after": after, "ok": ok}


LABELS = (
    ("nothing_to_review", "documents with nothing to review"),
    ("routed", "fields routed to review"),
    ("routed_share", "share of fields routed"),
    ("keystrokes_per_reviewed_field", "keystrokes per reviewed field"),
    ("keystrokes_per_right_reviewed_field", "… per reviewed field already right"),
    ("errors_after_review", "errors left after review (target 0)"),
    ("silent_errors", "silent errors (wrong, not routed)"),
)


def print_figures(figures: dict) -> None:
    before, after = figures["before"], figures["after"]
    print(f"sohoa bench review: {before['documents']} documents, {figures['pages']} pages, "
          f"{before['fields']} fields, seed {figures['seed']}, held-out names and places, "
          f"{figures['seconds']} s; the clerk vouched for {figures['learned']} names/places")
    print(f"    {'':<40}{'before':>10}{'after feedback':>16}")
    for key, label in LABELS:
        print(f"    {label:<40}{before[key]!s:>10}{after[key]!s:>16}")
    print("    targets met" if figures["ok"] else "    TARGETS NOT MET")
