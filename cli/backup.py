"""``sohoa backup DEST`` and ``sohoa restore SRC``: a consistent snapshot of a deployment's records
and objects, and its restore into empty services (:mod:`storage.backup`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.settings import Settings
from storage.backup import backup, hide_password, restore


def _progress(quiet: bool):
    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    return say


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    report = backup(settings.resolved_database_url, settings.resolved_store_url, args.dest,
                    progress=_progress(args.json))
    m = report.manifest
    if args.json:
        print(json.dumps({"folder": str(report.folder), **m.__dict__}, ensure_ascii=False, indent=2))
        return 0
    print(
        f"backup of {hide_password(settings.resolved_database_url)} and {hide_password(settings.resolved_store_url)} "
        f"in {report.folder}: {sum(m.tables.values())} rows in {len(m.tables)} tables "
        f"({m.audit_events} audit events), {m.objects} objects ({m.object_bytes} bytes), schema {m.revision}"
    )
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    report = restore(args.src, settings.resolved_database_url, settings.resolved_store_url,
                     progress=_progress(args.json))
    if args.json:
        print(json.dumps({"tables": report.tables, "objects": report.objects, "revision": report.revision},
                         indent=2))
        return 0
    print(
        f"restored {sum(report.tables.values())} rows and {report.objects} objects into "
        f"{hide_password(settings.resolved_database_url)} and {hide_password(settings.resolved_store_url)}; "
        "check them with: sohoa audit verify && sohoa store verify"
    )
    return 0


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "backup",
        help="a consistent snapshot of the records and objects into a new folder",
        description="Snapshot the records (SQLite's online backup API, or one read-only transaction on "
        "PostgreSQL), then copy every object, into DEST (new or empty). Safe while sohoa runs.",
    )
    p.add_argument("dest", type=Path, metavar="DEST", help="a new or empty folder")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_backup)

    p = commands.add_parser(
        "restore",
        help="restore a backup into an empty records database and an object store",
        description="Restore the backup in SRC into the configured SOHOA_DATABASE_URL (which must hold "
        "nothing yet) and SOHOA_STORE_URL: objects first, then the records.",
    )
    p.add_argument("src", type=Path, metavar="SRC", help="a folder written by sohoa backup")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_restore)
