"""Storage commands: ``sohoa reuse``, ``sohoa audit verify``, ``sohoa export``, ``sohoa store …``,
``sohoa db …`` and ``sohoa bench store``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

from core.errors import InputError, IntegrityError
from core.settings import Settings
from storage.audit import record_event, verify_chain
from storage.backup import open_existing_database, open_existing_store
from storage.db import head_revision, open_database
from storage.export import export_dossier
from storage.gc import collect_garbage
from storage.objects import open_store
from storage.records import referenced_keys
from storage.reuse import find_reusable


def _db(settings: Settings):
    return open_database(settings.resolved_database_url)


def _store(settings: Settings):
    return open_store(settings.resolved_store_url)


# Commands that read a deployment open it only if it is there: run in the wrong folder, they say
# so instead of creating an empty deployment and answering from it.
def _existing_db(settings: Settings):
    return open_existing_database(settings.resolved_database_url)


def _existing_store(settings: Settings):
    return open_existing_store(settings.resolved_store_url)


def _dump(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# -- handlers ---------------------------------------------------------------------------------------


def _reuse(args: argparse.Namespace, settings: Settings) -> int:
    results = find_reusable(_existing_db(settings), args.personal_id, args.type)
    if args.json:
        _dump([r.as_json() for r in results])
        return 0
    if not results:
        print(f"no reusable result for {args.personal_id}" + (f" of type {args.type}" if args.type else ""))
        return 0
    for r in results:
        cert = f"  certified {r.certified.certification_number}" if r.certified else ""
        name = (r.fields.get("full_name") or {}).get("value") or ""
        print(
            f"{r.doc_type:24} {r.created:%Y-%m-%d %H:%M}  dossier {r.dossier_code}  document {r.document_id}"
            f"  {name}{cert}\n{'':24} {r.certified.object_key if r.certified else r.pdf_key}"
        )
    return 0


def _audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from storage.importer.segments import verify_segments  # the trails of deployments imported here

    db = _existing_db(settings)
    report = verify_chain(db)
    segments = verify_segments(db)
    if args.json:
        _dump(
            {
                "ok": report.ok and segments.ok,
                "events": report.events,
                "last_hash": report.last_hash,
                "first_broken_seq": report.first_broken_seq,
                "reason": report.reason or segments.reason,
                "imported_segments": segments.segments,
                "imported_events": segments.events,
                "broken_segment": segments.broken_segment,
            }
        )
        return 0 if report.ok and segments.ok else 1
    if not report.ok:
        raise IntegrityError(f"audit chain broken at event {report.first_broken_seq}: {report.reason}")
    if not segments.ok:
        raise IntegrityError(f"imported audit trail broken: {segments.reason}")
    print(f"audit chain intact: {report.events} events, last hash {report.last_hash}")
    if segments.segments:
        print(f"{segments.segments} imported segments intact: {segments.events} events"
              + (f" ({segments.unsealed} still being imported)" if segments.unsealed else ""))
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    db = _existing_db(settings)
    data = export_dossier(db, _existing_store(settings), args.dossier_code, timedelta(hours=args.link_hours))
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    record_event(
        db,
        actor=args.actor,
        action="dossier.exported",
        subject=f"dossier:{data['MaHoSo']}",
        details={"documents": len(data["DanhSachGiayToKetQua"])},
    )
    return 0


def _store_gc(args: argparse.Namespace, settings: Settings) -> int:
    report = collect_garbage(
        _existing_db(settings), _existing_store(settings), min_age=timedelta(minutes=args.min_age), dry_run=args.dry_run
    )
    verb = "would remove" if report.dry_run else "removed"
    print(
        f"scanned {report.scanned} blobs: {report.referenced} referenced, {verb} {len(report.removed)} "
        f"unreferenced ({report.bytes_removed} bytes), spared {report.spared_young} younger than "
        f"{args.min_age} min"
    )
    return 0


def _store_put(args: argparse.Namespace, settings: Settings) -> int:
    if not args.file.is_file():
        raise InputError(f"no such file: {args.file}")
    obj = _store(settings).put_file(args.file, args.content_type)
    print(f"{obj.key}  {obj.size} bytes  {'already stored' if obj.existed else 'stored'}")
    return 0


def _store_get(args: argparse.Namespace, settings: Settings) -> int:
    _existing_store(settings).download(args.key, args.output)
    print(f"{args.output}: verified against {args.key}")
    return 0


def _store_url(args: argparse.Namespace, settings: Settings) -> int:
    store = _existing_store(settings)
    if not store.exists(args.key):
        raise InputError(f"object {args.key} is not in the store")
    print(store.presigned_url(args.key, timedelta(hours=args.hours)))
    return 0


def _store_verify(args: argparse.Namespace, settings: Settings) -> int:
    store = _existing_store(settings)
    bad: list[str] = []
    missing = sorted(k for k in referenced_keys(_existing_db(settings)) if not store.exists(k))
    checked = 0
    for key in store.iter_keys():
        checked += 1
        try:
            store.get_bytes(key)
        except IntegrityError:
            bad.append(key)
    for key in missing:
        print(f"missing: {key}", file=sys.stderr)
    for key in bad:
        print(f"corrupt: {key}", file=sys.stderr)
    print(f"checked {checked} blobs: {len(bad)} corrupt, {len(missing)} referenced but missing")
    return 1 if bad or missing else 0


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    db = _db(settings)
    print(f"{db.engine.url.render_as_string(hide_password=True)} at revision {head_revision()}")
    return 0


def _bench_store(args: argparse.Namespace, settings: Settings) -> int:
    from bench.store import run_bench

    return run_bench(args, settings)


# -- registration ------------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("reuse", help="find the latest reusable result for a personal ID")
    p.add_argument("--personal-id", required=True, metavar="ID", help="12-digit personal ID")
    p.add_argument("--type", metavar="T", help="document type (design.md), e.g. birth_certificate")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_reuse)

    p = commands.add_parser("audit", help="the append-only audit log")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=type(p))
    sub.required = True
    v = sub.add_parser("verify", help="walk the hash chain and name the first broken link")
    v.add_argument("--json", action="store_true")
    v.set_defaults(handler=_audit_verify)

    p = commands.add_parser("export", help="export a dossier for the national public service portal (JSON)")
    p.add_argument("dossier_code", metavar="DOSSIER_CODE")
    p.add_argument("-o", "--output", type=Path, help="write the JSON here instead of stdout")
    p.add_argument(
        "--link-hours", type=float, default=24 * 7, help="validity of download links (default 168)"
    )
    p.add_argument("--actor", default="export", help="who exports, for the audit log")
    p.set_defaults(handler=_export)

    p = commands.add_parser("store", help="the object store")
    sub = p.add_subparsers(dest="store_command", metavar="ACTION", parser_class=type(p))
    sub.required = True
    g = sub.add_parser("gc", help="remove blobs no record points at")
    g.add_argument(
        "--min-age",
        type=float,
        default=60.0,
        metavar="MINUTES",
        help="spare blobs younger than this (default 60)",
    )
    g.add_argument("--dry-run", action="store_true")
    g.set_defaults(handler=_store_gc)
    g = sub.add_parser("put", help="store a file; prints its key")
    g.add_argument("file", type=Path)
    g.add_argument("--content-type", default="application/octet-stream")
    g.set_defaults(handler=_store_put)
    g = sub.add_parser("get", help="fetch a blob, verifying its hash")
    g.add_argument("key")
    g.add_argument("-o", "--output", type=Path, required=True)
    g.set_defaults(handler=_store_get)
    g = sub.add_parser("url", help="a download link for a blob (presigned on S3)")
    g.add_argument("key")
    g.add_argument("--hours", type=float, default=1.0)
    g.set_defaults(handler=_store_url)
    g = sub.add_parser("verify", help="re-hash every blob and check every referenced blob exists")
    g.set_defaults(handler=_store_verify)

    p = commands.add_parser("db", help="the records database")
    sub = p.add_subparsers(dest="db_command", metavar="ACTION", parser_class=type(p))
    sub.required = True
    g = sub.add_parser("upgrade", help="migrate the database to the newest schema")
    g.set_defaults(handler=_db_upgrade)

    p = bench.add_parser("store", help="object store throughput and reuse look-up latency at 100k documents")
    p.add_argument("--s3-url", help="S3 store to measure (default: start a SeaweedFS server)")
    p.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to create a throwaway database on ('' to skip)",
    )
    p.add_argument("--documents", type=int, default=100_000)
    p.add_argument("--blobs", type=int, default=200, help="small blobs to upload")
    p.add_argument("--blob-kb", type=int, default=256)
    p.add_argument("--large-mb", type=int, default=32, help="one large file, uploaded multipart")
    p.add_argument("--lookups", type=int, default=2000)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_bench_store)
