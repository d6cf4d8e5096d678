"""``sohoa extract``, ``sohoa train`` and ``sohoa bench extract``.

``sohoa extract FILE [--json]``: OCR one document, classify it and extract its fields; the JSON is the
contract of design.md. ``sohoa train``: retrain the document-type classifier from the sample generator
and save it (seed, sizes and held-out metrics inside). ``sohoa bench extract``: figures on real OCR of
generated scans in layouts the model never saw, beside the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from classifiers.classify import MODEL_PATH, load_model
from classifiers.reasons import explain, in_vietnamese
from core.doctypes import DOC_TYPES
from core.errors import InputError
from core.model import Document
from core.settings import Settings
from flow.run import analyse_document, ocr_file

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("extract", help="classify one document and extract its fields")
    p.add_argument("file", type=Path, metavar="FILE", help="PDF or image of one document")
    p.add_argument("--json", action="store_true", help="JSON output (doc_type, confidence, fields)")
    p.set_defaults(handler=run_extract)

    t = commands.add_parser("train", help="train the document-type classifier from generated samples")
    t.add_argument("--seed", type=int, default=None, help="training data seed (default: the shipped model's)")
    t.add_argument("--per-type", type=int, default=None, help="generated documents per type (default 60)")
    t.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                   help="model file (default classifiers/models/doctype.joblib)")
    t.set_defaults(handler=run_train)

    b = bench.add_parser("extract", help="type accuracy, field exact match and silent errors on real OCR")
    b.add_argument("--count", type=int, default=3, help="generated documents per type (default 3)")
    b.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    b.add_argument("--types", default=None, help="comma-separated types (default: all nine)")
    b.add_argument("--errors", action="store_true", help="also list every wrong or flagged value")
    b.add_argument("--vocabulary", choices=("default", "held-out", "both"), default="default",
                   help="names and places the generator draws: its default lists, a held-out list the "
                        "lexicon does not know (samples/holdout.py), or both side by side (default: default)")
    b.add_argument("--split", choices=("seen", "dev", "unseen", "both"), default="both",
                   help="label wordings: those the extractor was written against, development versions "
                        "(samples/forms.py DEV, tuned on), held-out form versions "
                        "(samples/holdout.py), or both side by side (default: both)")
    b.set_defaults(handler=run_bench_extract)

    s = bench.add_parser("split", help="where one paper ends and the next begins, blank pages kept")
    s.add_argument("--split", choices=("seen", "heldout", "both"), default="both",
                   help="generator seeds the rules were tuned on, held-out seeds, or both (default)")
    s.set_defaults(handler=run_bench_split)


def document_json(document: Document) -> dict:
    return {
        "doc_type": document.doc_type,
        "confidence": round(document.type_confidence, 4),
        "fields": {
            name: {"value": f.value if f.value is not None else "", "confidence": round(f.confidence, 4),
                   "needs_review": f.needs_review, "reason": f.reason,
                   "reasons": [r.as_dict() for r in explain(f.reason)]}
            for name, f in document.fields.items()
        },
    }


def run_extract(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    pages = ocr_file(path, settings)
    pages = [p for p in pages if not p.blank] or pages
    if not pages:
        raise InputError(f"{path}: no pages")
    document = analyse_document(pages)
    if args.json:
        json.dump(document_json(document), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{path.name}: {document.doc_type} (confidence {document.type_confidence:.2f})")
    for name, f in document.fields.items():
        mark = "REVIEW" if f.needs_review else "ok"
        reason = f"  ({in_vietnamese(f.reason)})" if f.reason else ""
        print(f"  {name:<24} {f.value or '':<50} {f.confidence:5.2f} {mark}{reason}")
    return 0


def run_train(args: argparse.Namespace, settings: Settings) -> int:
    from bench.train_types import DEFAULT_PER_TYPE, DEFAULT_SEED, train_model

    seed = args.seed
    if seed is None:
        current = load_model()
        seed = int(current["seed"]) if current else DEFAULT_SEED
    per_type = args.per_type or DEFAULT_PER_TYPE
    if per_type < 5:
        raise InputError("--per-type must be at least 5")
    out = args.output or MODEL_PATH
    bundle = train_model(seed=seed, per_type=per_type, out=out)
    metrics = bundle["metrics"]
    print(f"trained document-type model v{bundle['version']} on {bundle['train_size']} texts "
          f"(seed {seed}, layouts {bundle['layouts']}) in {metrics['seconds']} s")
    print(f"held-out validation accuracy {metrics['validation_accuracy']:.1%} on {metrics['validation_size']} "
          f"texts; temperature {bundle['temperature']:.2f}; saved to {out} ({out.stat().st_size // 1024} KiB)")
    return 0


def run_bench_split(args: argparse.Namespace, settings: Settings) -> int:
    from bench.split_stacks import main as split_bench

    return split_bench(["--split", args.split])


def run_bench_extract(args: argparse.Namespace, settings: Settings) -> int:
    from bench.extract import format_comparison, format_result, run_bench

    if args.count < 1:
        raise InputError("--count must be at least 1")
    types = None
    if args.types:
        types = [t.strip() for t in args.types.split(",") if t.strip()]
        unknown = [t for t in types if t not in DOC_TYPES]
        if unknown:
            raise InputError(f"unknown document type(s): {', '.join(unknown)}")
    vocabularies = ("default", "held-out") if args.vocabulary == "both" else (args.vocabulary,)
    splits = ("seen", "unseen") if args.split == "both" else (args.split,)
    results = {}
    for split in splits:
        for v in vocabularies:
            name = split if len(vocabularies) == 1 else f"{split}/{v}"
            results[name] = run_bench(args.count, args.seed, settings=settings, types=types, vocabulary=v,
                                      split=split)
    if len(results) == 1:
        print(format_result(next(iter(results.values())), count=args.count, seed=args.seed))
    else:
        print(format_comparison(results, count=args.count, seed=args.seed))
    if args.errors:
        for name, result in results.items():
            print()
            if len(results) > 1:
                print(f"{name}:")
            print("\n".join(result.errors))
    return 0
