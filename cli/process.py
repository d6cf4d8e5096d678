"""``sohoa process``: the main job, with a progress bar and a result table (or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.model import nfc
from core.settings import Settings
from flow.run import process_paths

if TYPE_CHECKING:
    # Every ``sohoa`` command registers here; rich and the orchestration are imported by the handler
    # that uses them, so ``sohoa ocr`` does not pay for them at start-up.
    from rich.console import Console

    from flow.run import ProcessResult


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "process",
        help="digitize a dossier: OCR, classify, extract, certify, store",
        description="Digitize the files of one dossier (PDF, TIFF, JPEG, PNG): clean-up, OCR, split into "
        "documents, classify, extract fields, build searchable PDF/A, certify, store and record.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="scanned files of the dossier")
    p.add_argument("--dossier", help="dossier code (MaHoSo); default: derived from the files")
    p.add_argument("--procedure", help="administrative procedure code (MaTTHC)")
    p.add_argument("--out", type=Path, help="also write each certified copy into this folder")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-certify", action="store_true", help="store the searchable PDFs without certifying")
    p.add_argument("--workers", type=int, help="page worker processes (default: one per core)")
    p.add_argument("--official", help="full name of the official who digitizes (signs the scans; "
                                      "default: SOHOA_DIGITIZING_OFFICIAL)")
    p.add_argument("--certifier", help="full name of the certifying officer who signs the certified copies "
                                       "(default: SOHOA_CERTIFYING_OFFICER)")
    p.set_defaults(handler=_process)


def _process(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


    if args.workers:
        settings = settings.model_copy(update={"workers": args.workers})
    if args.official:
        settings = settings.model_copy(update={"digitizing_official": nfc(args.official).strip()})
    if args.certifier:
        settings = settings.model_copy(update={"certifying_officer": nfc(args.certifier).strip()})
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=args.json,
        disable=not console.is_terminal and not sys.stderr.isatty(),
    )
    with progress:
        task = progress.add_task("reading", total=None)

        def pages_read(count: int) -> None:
            progress.update(task, description="OCR pages", total=count)

        def page_done(_page: object) -> None:
            progress.advance(task)

        options = {
            "dossier_code": args.dossier,
            "procedure_code": args.procedure,
            "certify": not args.no_certify,
            "out_dir": args.out,
        }
        if settings.broker_url:  # the same flow, run by the Celery workers
            from workers.submit import process_on_workers  # Celery's import: only with a broker

            progress.update(task, description="on the workers")
            result = process_on_workers(args.paths, settings, **options)
        else:
            result = process_paths(args.paths, settings, on_pages_read=pages_read, on_page_done=page_done, **options)
        progress.update(task, description="done")
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        out = Console()
        # Piped output has no width of its own; a table folded to 80 columns is unreadable.
        print_result_table(result, out if out.is_terminal else Console(width=160))
    return 0


def print_result_table(result: ProcessResult, console: Console) -> None:
    from rich.table import Table

    table = Table(
        title=f"Hồ sơ {result.dossier_code}"
        + (f" · TTHC {result.procedure_code}" if result.procedure_code else "")
        + f" · {result.pages} pages in {result.seconds:.1f} s",
        show_lines=True,
    )
    table.add_column("#", justify="right")
    table.add_column("document (pages)")
    table.add_column("type")
    table.add_column("conf.", justify="right")
    table.add_column("key fields")
    table.add_column("needs review")
    table.add_column("certified copy")
    for d in result.documents:
        if not d.done:
            table.add_row(str(d.number), ", ".join(d.pages), "—", "—", f"failed: {d.reason}", "—", "—")
            continue
        keys = "\n".join(f"{k}: {v}" for k, v in result.key_fields(d).items()) or "—"
        reused = f"\n(seen before: document {d.reused_from})" if d.reused_from else ""
        copy = result.certified_paths.get(d.number) or d.certified_key or "—"
        table.add_row(
            str(d.number),
            ", ".join(d.pages),
            d.doc_type,
            f"{d.confidence:.2f}",
            keys,
            ", ".join(d.needs_review) or "—",
            copy + reused,
        )
    console.print(table)
