"""``sohoa stats`` (the digitization figures of Decision 766/QĐ-TTg), ``sohoa components`` (reuse
as an act, and components handed in on paper only) and ``sohoa bench stats``."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime

from core.errors import InputError
from core.settings import Settings


def parse_day(text: str) -> date:
    """A day as people write it on documents (dd/mm/yyyy) or as data carries it (ISO 8601)."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InputError(f"not a date: {text!r} (use dd/mm/yyyy or yyyy-mm-dd)")


def _db(settings: Settings):
    from storage.backup import open_existing_database

    return open_existing_database(settings.resolved_database_url)


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    from storage.stats import RATES, StatsQuery, compute_stats

    query = StatsQuery(start=parse_day(args.from_), end=parse_day(args.to), agency=args.agency,
                       procedure=args.procedure, commune=args.commune)
    report = compute_stats(_db(settings), query).as_json()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    period = f"{query.start:%d/%m/%Y} – {query.end:%d/%m/%Y}"
    print(f"{report['dossiers']} dossiers received {period}"
          + "".join(f", {k} {v}" for k, v in report["filters"].items() if v))
    print(f"{'rate':<18} {'dossiers':>10} {'share':>7} {'points':>12}")
    for name in RATES:
        rate = report["rates"][name]
        share = "–" if rate is None else f"{100 * rate:.1f}%"
        earned, weight = report["points"]["earned"][name], report["points"]["weights"][name]
        print(f"{name:<18} {report['counts'][name]:>10} {share:>7} {earned:>6.2f} / {weight:<4.1f}")
    print(f"{'points':<18} {'':>10} {'':>7} {report['points']['total']:>6.2f} / {report['points']['of']:.0f}"
          f"  (full marks at {100 * report['points']['full_marks_at']:.0f}%)")
    if len(report["by_month"]) > 1:
        print("\nper month: " + "  ".join(
            f"{m['month']} {m['dossiers']} ({', '.join(f'{k} {100 * (v or 0):.0f}%' for k, v in m['rates'].items())})"
            for m in report["by_month"]))
    return 0


def _components_reuse(args: argparse.Namespace, settings: Settings) -> int:
    from storage.components import record_reuse

    info = record_reuse(_db(settings), args.dossier_code, args.document, actor=args.actor,
                        procedure_code=args.procedure, note=args.note)
    if args.json:
        print(json.dumps(info.as_json(), ensure_ascii=False, indent=2))
    else:
        said = "already recorded" if info.existed else "recorded"
        print(f"{info.dossier_code}: {info.doc_type} reused from dossier {info.reused_from_dossier} "
              f"(document {info.reused_document_id}), {said}")
    return 0


def _components_paper(args: argparse.Namespace, settings: Settings) -> int:
    from storage.components import declare_paper

    info = declare_paper(_db(settings), args.dossier_code, args.type, actor=args.actor, note=args.note)
    print(f"{info.dossier_code}: {info.doc_type} handed in on paper, not digitized (component {info.id})")
    return 0


def _components_list(args: argparse.Namespace, settings: Settings) -> int:
    from storage.components import components_of

    found = components_of(_db(settings), args.dossier_code)
    if args.json:
        print(json.dumps([c.as_json() for c in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(f"{args.dossier_code}: no component reused or declared on paper")
    for c in found:
        source = f" from {c.reused_from_dossier} (document {c.reused_document_id})" if c.reused_document_id else ""
        print(f"{c.id:>6}  {c.state:<7} {c.doc_type:<24}{source}  by {c.actor}  {c.created:%d/%m/%Y %H:%M}")
    return 0


def _bench_stats(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from bench.stats import main as bench_main
    except ImportError as exc:
        raise InputError("sohoa bench stats runs from a checkout of the project (bench/ is not installed)") from exc
    return bench_main(args)


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("stats", help="the digitization figures of a period (Decision 766/QĐ-TTg)")
    p.add_argument("--from", dest="from_", required=True, metavar="DAY", help="first day (dd/mm/yyyy or ISO)")
    p.add_argument("--to", required=True, metavar="DAY", help="last day, inclusive")
    p.add_argument("--agency", help="only dossiers received by this agency")
    p.add_argument("--procedure", metavar="MaTTHC", help="only dossiers of this procedure")
    p.add_argument("--commune", metavar="CODE", help="only dossiers received in this commune (post-2025 code)")
    p.add_argument("--json", action="store_true", help="print JSON (the same as GET /v1/stats)")
    p.set_defaults(handler=_stats)

    p = commands.add_parser("components", help="components of a dossier reused from earlier papers, or on paper")
    sub = p.add_subparsers(dest="components_command", metavar="ACTION", parser_class=type(p))
    sub.required = True
    r = sub.add_parser("reuse", help="record that a component is an earlier digitized document")
    r.add_argument("dossier_code", metavar="DOSSIER_CODE")
    r.add_argument("--document", type=int, required=True, metavar="ID", help="the digitized document reused")
    r.add_argument("--procedure", metavar="MaTTHC", help="the dossier's procedure, if sohoa does not know it")
    r.add_argument("--note", help="why, for the audit trail")
    r.add_argument("--actor", default="cli", help="who records it, for the audit trail")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=_components_reuse)
    r = sub.add_parser("paper", help="record a component handed in on paper and not digitized")
    r.add_argument("dossier_code", metavar="DOSSIER_CODE")
    r.add_argument("--type", required=True, metavar="T", help="document type, e.g. land_use_certificate")
    r.add_argument("--note")
    r.add_argument("--actor", default="cli")
    r.set_defaults(handler=_components_paper)
    r = sub.add_parser("list", help="the components reused or declared on paper")
    r.add_argument("dossier_code", metavar="DOSSIER_CODE")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=_components_list)

    b = bench.add_parser("stats", help="figures at scale: a province's dossiers on PostgreSQL")
    b.add_argument("--dossiers", type=int, default=1_000_000, help="dossiers to generate (default 1,000,000)")
    b.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help="a PostgreSQL server (a throwaway database is made on it and dropped after)")
    b.add_argument("--owners", type=int, default=1000, help="owner-view look-ups to time (default 1000)")
    b.add_argument("--repeat", type=int, default=5, help="runs of each month's figures (best and median)")
    b.add_argument("--seed", type=int, default=766)
    b.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    b.add_argument("--existing", metavar="URL", help="time a database an earlier --keep run generated")
    b.set_defaults(handler=_bench_stats)
