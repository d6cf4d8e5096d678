"""``sohoa review list|show|set|confirm|learned``: the verification station from the command line.

The same rules as the ``/review`` page (``api.review``): a typed value is normalised and validated
as at extraction and refused with the field's name when it fails; every decision is recorded with
the official's full name (``--official``, or ``SOHOA_OFFICIAL``) in the records and the audit log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from api.review import Submission, alternatives, reason_vi, submit_review
from core.errors import InputError
from core.settings import Settings
from storage.backup import open_existing_database  # a look never creates a deployment
from storage.db import open_database
from storage.learned import LearnedKind, vouched
from storage.review import document_for_review, review_queue


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    review = commands.add_parser("review", help="the verification station: list, show, correct, confirm")
    sub = review.add_subparsers(dest="review_command", metavar="ACTION", parser_class=type(review))
    sub.required = True
    listing = sub.add_parser("list", help="documents needing review, oldest first")
    listing.add_argument("--station")
    listing.add_argument("--dossier")
    listing.add_argument("--type", dest="doc_type")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    show = sub.add_parser("show", help="a document's fields, flagged ones marked")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)
    setter = sub.add_parser("set", help="correct one field with the value on the paper")
    setter.add_argument("id", type=int)
    setter.add_argument("field")
    setter.add_argument("value")
    setter.set_defaults(handler=_set)
    confirm = sub.add_parser("confirm", help="confirm fields as read (all flagged ones if none are named)")
    confirm.add_argument("id", type=int)
    confirm.add_argument("fields", nargs="*")
    confirm.set_defaults(handler=_confirm)
    taught = sub.add_parser("learned", help="names and places people confirmed, with who and where (newest first)")
    taught.add_argument("--kind", choices=[k.value for k in LearnedKind])
    taught.add_argument("--limit", type=int, default=100)
    taught.add_argument("--json", action="store_true")
    taught.set_defaults(handler=_learned)
    for p in (setter, confirm):
        p.add_argument("--official", default=os.environ.get("SOHOA_OFFICIAL"),
                       help="your full name, as the audit log shows it (or SOHOA_OFFICIAL)")
    bench_review = bench.add_parser(
        "review", help="a scripted clerk over generated damaged documents, before and after the lexicon "
        "learned from its corrections")
    bench_review.set_defaults(handler=_bench)
    bench_review.add_argument("--documents", type=int, default=16,
                              help="documents (default 16, two of each type with fields)")
    bench_review.add_argument("--seed", type=int, default=16, help="16 is the seed tuned on; report another beside it")
    bench_review.add_argument("--json", action="store_true")


def _list(args: argparse.Namespace, settings: Settings) -> int:
    items = review_queue(open_existing_database(settings.resolved_database_url), station=args.station,
                         dossier=args.dossier, doc_type=args.doc_type)
    if args.json:
        print(json.dumps([{"document_id": i.document_id, "dossier_code": i.dossier_code, "doc_type": i.doc_type,
                           "flagged": list(i.flagged), "created": i.created.isoformat(), "station": i.station}
                          for i in items], ensure_ascii=False, indent=2))
        return 0
    for i in items:
        print(f"{i.document_id:>6}  {i.created:%Y-%m-%d %H:%M}  {i.dossier_code:<28} {i.doc_type:<22} "
              f"{', '.join(i.flagged)}")
    if not items:
        print("nothing to review", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    doc = document_for_review(open_existing_database(settings.resolved_database_url), args.id)
    if doc is None:
        raise InputError(f"no document {args.id}")
    if args.json:
        print(json.dumps({"document_id": doc.document_id, "dossier_code": doc.dossier_code, "doc_type": doc.doc_type,
                          "review_state": doc.review_state, "version": doc.version, "fields": doc.fields},
                         ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"document {doc.document_id} · {doc.dossier_code} · {doc.doc_type} · {doc.review_state} "
          f"· version {doc.version}")
    for name, entry in doc.fields.items():
        flagged = entry.get("needs_review") or not entry.get("valid", True)
        mark = "?" if flagged else ("✓" if entry.get("review") else " ")
        line = f" {mark} {name:<24} {entry.get('value') or '—'}"
        if flagged:
            why = reason_vi(entry.get("reason") or "", flagged=True)
            alts = alternatives(entry)
            line += f"   [{why}]" + (f" hoặc: {' | '.join(alts)}" if alts else "")
        elif entry.get("machine"):
            line += f"   (máy đọc: {entry['machine'].get('value')}; {entry['review']['by']})"
        print(line)
    return 0


def _learned(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        raise InputError("--limit must be at least 1")
    rows = vouched(open_existing_database(settings.resolved_database_url),
                   kind=LearnedKind(args.kind) if args.kind else None, limit=args.limit)
    if args.json:
        print(json.dumps([{"kind": r.kind.value, "text": r.text, "official": r.official, "document_id": r.document_id,
                           "field": r.field, "created": r.created.isoformat() if r.created else None} for r in rows],
                         ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        where = f"document {r.document_id} {r.field or ''}".strip() if r.document_id else (r.field or "")
        print(f"{r.created:%Y-%m-%d %H:%M}  {r.kind.value:<6} {r.text:<40} {r.official}  ({where})")
    if not rows:
        print("nothing learned yet", file=sys.stderr)
    return 0


def _decide(args: argparse.Namespace, settings: Settings, submission_of) -> int:
    if not args.official or not args.official.strip():
        raise InputError("say who you are: --official \"Họ và tên\" (or SOHOA_OFFICIAL)")
    db = open_database(settings.resolved_database_url)
    doc = document_for_review(db, args.id)
    if doc is None:
        raise InputError(f"no document {args.id}")
    updated = submit_review(db, args.id, submission_of(doc), official=args.official,
                            actor=f"cli:{os.environ.get('USER', 'unknown')}")
    left = ", ".join(updated.flagged) or "none"
    print(f"document {updated.document_id}: {updated.review_state} (version {updated.version}); still flagged: {left}")
    return 0


def _set(args: argparse.Namespace, settings: Settings) -> int:
    return _decide(args, settings, lambda doc: Submission(version=doc.version, values={args.field: args.value}))


def _confirm(args: argparse.Namespace, settings: Settings) -> int:
    def submission(doc):
        names = tuple(args.fields) or doc.flagged
        if not names:
            raise InputError(f"document {doc.document_id} has no flagged field to confirm")
        return Submission(version=doc.version, confirm=names)

    return _decide(args, settings, submission)


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.review import print_figures, run_bench

    if args.documents < 1:
        raise InputError("--documents must be at least 1")
    figures = run_bench(documents=args.documents, seed=args.seed)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_figures(figures)
    return 0 if figures["ok"] else 1
