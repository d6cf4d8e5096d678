"""``sohoa import`` (another deployment, or a JSON-lines manifest of a system that is not sohoa) and
``sohoa bench import``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from core.errors import InputError
from core.settings import Settings
from storage.db import open_database
from storage.importer import ImportReport, RecordKind, load_agency_map, run_import
from storage.objects import open_store

_ROWS = (
    (RecordKind.DOSSIER, "dossiers"),
    (RecordKind.DOCUMENT, "documents"),
    (RecordKind.COPY, "certified copies"),
    (RecordKind.MANIFEST, "signed manifests"),
    (RecordKind.REGISTER, "register entries"),
    (RecordKind.STATION, "stations"),
    (RecordKind.BATCH, "batches"),
    (RecordKind.SOURCE_FILE, "originals"),
    (RecordKind.RESULT_CODE, "result codes"),
    (RecordKind.RESULT, "procedure results"),
    (RecordKind.COMPONENT, "components"),
    (RecordKind.PLACE, "reception places"),
    (RecordKind.WORD, "learned words"),
    (RecordKind.CERTIFY, "certify requests"),
    (RecordKind.AUDIT, "audit events"),
    (RecordKind.BLOB, "blobs"),
)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def closing_table(report: ImportReport) -> str:
    """What the import did (or, dry, would do), kind by kind, then bytes and time."""
    head = ("", "copied", "already present", "merged", "conflicts", "refused")
    lines = [f"{head[0]:18}" + "".join(f"{h:>17}" for h in head[1:])]
    for kind, name in _ROWS:
        t = report.counts.kinds[kind]
        lines.append(f"{name:18}" + "".join(f"{v:>17}" for v in (t.copied, t.present, t.merged, t.conflicts, t.refused)))
    verb = "would copy" if report.dry_run else "copied"
    lines.append(
        f"{verb} {_size(report.bytes_copied)} of blobs; {report.records} records in {report.seconds:.1f} s"
        + (f" ({report.records / report.seconds:.0f} records/s)" if report.seconds > 0 else "")
    )
    if report.retried:
        lines.append(f"{report.retried} conflicts retried; those still in conflict are listed below")
    if report.dry_run:
        lines.append("dry run: nothing was written")
    for kind, ref, detail in report.counts.problems:
        lines.append(f"  {kind} {ref}: {detail}")
    return "\n".join(lines)


class _Bar:
    """One tqdm bar per phase on stderr (quiet when stderr is not a terminal unless asked)."""

    def __init__(self, enabled: bool, totals: dict[str, int]) -> None:
        self.enabled = enabled
        self.totals = totals
        self.bars: dict[str, object] = {}
        pause = os.environ.get("SOHOA_TEST_IMPORT_PAUSE")  # fault tests: a window to kill the run in
        self.pause = float(pause) if pause else 0.0

    def __call__(self, phase: str, n: int) -> None:
        if self.pause:
            time.sleep(self.pause)
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(phase)
        if bar is None:
            bar = self.bars[phase] = tqdm(total=self.totals.get(phase) or None, desc=phase, unit=" rec", file=sys.stderr,
                                          leave=True, dynamic_ncols=True)
        bar.update(n)  # type: ignore[attr-defined]

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()  # type: ignore[attr-defined]


def _former_agency(args: argparse.Namespace, settings: Settings) -> int:
    from storage.backup import open_existing_database
    from storage.importer.search import dossiers_of_former_agency

    db = open_existing_database(settings.resolved_database_url)
    try:
        for code in dossiers_of_former_agency(db, args.former_agency):
            print(code)
    finally:
        db.dispose()
    return 0


def _conflicts(args: argparse.Namespace, settings: Settings) -> int:
    """The conflicts not settled yet, of every source imported here (or the one named)."""
    from storage.backup import open_existing_database
    from storage.importer.conflicts import list_conflicts

    identity = None
    if args.from_database or args.from_store:
        if not (args.from_database and args.from_store):
            raise InputError("a sohoa deployment is named by both --from-database and --from-store")
        from storage.importer.sohoa_source import SohoaSource

        source = SohoaSource(args.from_database, args.from_store)
        try:
            identity = source.identity()
        finally:
            source.close()
    elif args.manifest:
        from storage.importer.manifest import ManifestSource

        manifest = ManifestSource(args.manifest)
        try:
            identity = manifest.identity()
        finally:
            manifest.close()
    db = open_existing_database(settings.resolved_database_url)
    try:
        found = list_conflicts(db, identity)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps([{"source": c.source, "kind": c.kind, "ref": c.ref, "detail": c.detail,
                           "at": c.at.isoformat()} for c in found], ensure_ascii=False, indent=2))
        return 0
    for c in found:
        print(f"{c.source}\t{c.kind} {c.ref}\t{c.detail}")
    print(f"{len(found)} conflicts" + (" (settle them here, then: sohoa import --retry-conflicts …)" if found else ""),
          file=sys.stderr)
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    if args.former_agency:
        return _former_agency(args, settings)
    if args.conflicts:
        return _conflicts(args, settings)
    if args.batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    if bool(args.manifest) == bool(args.from_database or args.from_store):
        raise InputError("give --from-database and --from-store (a sohoa deployment) or --manifest FILE")
    agencies = load_agency_map(args.agency_map)
    if args.manifest:
        from storage.importer.manifest import ManifestSource

        source = ManifestSource(args.manifest)
    else:
        if not (args.from_database and args.from_store):
            raise InputError("a sohoa deployment is imported from both --from-database and --from-store")
        from storage.importer.sohoa_source import SohoaSource

        source = SohoaSource(args.from_database, args.from_store)
    try:
        db = open_database(settings.resolved_database_url)
        store = open_store(settings.resolved_store_url)
        totals = source.totals()
        bar = _Bar(args.progress or sys.stderr.isatty(), {
            "blobs": totals.blobs, "dossiers": totals.dossiers, "register": totals.register, "audit": totals.audit,
        })
        try:
            report = run_import(
                db, store, source, agencies=agencies, dry_run=args.dry_run, chunk=args.batch_size,
                actor=args.actor, progress=bar, retry_conflicts=args.retry_conflicts,
            )
        finally:
            bar.close()
    finally:
        source.close()
    if args.json:
        print(json.dumps({
            "source": report.source, "dry_run": report.dry_run, "seconds": round(report.seconds, 3),
            "bytes_copied": report.bytes_copied, "audit_segment": report.audit_segment, "retried": report.retried,
            "kinds": {k: vars(t) for k, t in report.counts.kinds.items()},
            "problems": [{"kind": k, "ref": r, "detail": d} for k, r, d in report.counts.problems],
        }, ensure_ascii=False, indent=2))
    else:
        print(closing_table(report))
    return 1 if report.unsettled else 0


def _bench_import(args: argparse.Namespace, settings: Settings) -> int:
    from bench.import_bench import run_bench

    return run_bench(args, settings)


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "import",
        help="bring in another deployment's records and blobs (or a JSON-lines manifest)",
        description="Copy every dossier, document, certified copy, register entry, station, batch, original "
        "received, audit event and blob of another sohoa deployment into this one, or the documents of a "
        "JSON-lines manifest. Safe to interrupt and run again; one import of a source runs at a time.",
        epilog="Conflicts (a dossier code here with other content, a copy number its register gave other "
        "bytes, a station code here for another station) are reported, never overwritten, and kept: "
        "list them with `sohoa import --conflicts`, settle them here (correct the record, or give the "
        "former code its own name in --agency-map), then run `sohoa import --retry-conflicts "
        "--from-database URL --from-store URL` to weigh them again. Exit status: 0 when every record was "
        "copied, already present or merged; 1 when any was refused or is in conflict (the rest is "
        "imported); 2 when nothing was done (bad input, or another import of the source is running).",
    )
    p.add_argument("--from-database", metavar="URL", help="the source's records database (sqlite:///… or postgresql://…)")
    p.add_argument("--from-store", metavar="URL", help="the source's object store (file://… or s3://…)")
    p.add_argument("--manifest", type=Path, metavar="FILE",
                   help="a JSON-lines manifest of a system that is not sohoa (storage/importer/manifest.py)")
    p.add_argument("--agency-map", type=Path, metavar="FILE",
                   help="JSON object: former agency → current agency (a run without it uses the one given before)")
    p.add_argument("--dry-run", action="store_true", help="say what would be copied, merged and refused; write nothing")
    p.add_argument("--batch-size", type=int, default=500, metavar="N", help="records per transaction (default 500)")
    p.add_argument("--actor", default="import", help="who imports, for the audit log")
    p.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    p.add_argument("--json", action="store_true", help="print the closing table as JSON")
    p.add_argument("--conflicts", action="store_true",
                   help="list the conflicts not settled yet (of the source named, else of every source), and stop")
    p.add_argument("--retry-conflicts", action="store_true",
                   help="weigh this source's conflicts again (after settling them), then import as usual")
    p.add_argument("--former-agency", metavar="AGENCY",
                   help="list the imported dossiers whose agency was AGENCY before the merger, and stop")
    p.set_defaults(handler=_import)

    b = bench.add_parser("import", help="records per second importing a synthetic deployment into PostgreSQL + S3")
    b.add_argument("--records", type=int, default=100_000)
    b.add_argument("--blobs", type=int, default=10_000)
    b.add_argument("--blob-kb", type=int, default=4)
    b.add_argument("--s3-url", help="S3 store to import into (default: start a SeaweedFS server)")
    b.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help="PostgreSQL server to create throwaway source and target databases on")
    b.add_argument("--batch-size", type=int, default=500)
    b.add_argument("--json", action="store_true")
    b.set_defaults(handler=_bench_import)
