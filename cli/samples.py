"""``sohoa samples generate|dossier``: write synthetic documents and the sample dossier."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import InputError
from core.settings import Settings
from samples.generator import DOC_TYPES, generate, write_sample_dossier


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("samples", help="generate synthetic scanned documents with ground truth")
    sub = parser.add_subparsers(dest="samples_command", metavar="SAMPLES", parser_class=type(parser))
    sub.required = True

    gen = sub.add_parser("generate", help="write N documents (PNG or PDF) with .gt.json and .gt.txt")
    gen.add_argument("out", type=Path, metavar="OUT", help="output folder (created)")
    gen.add_argument("--count", type=int, default=18, help="number of documents (default 18)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    gen.add_argument("--types", nargs="+", metavar="TYPE", help="document types (default: all nine)")
    gen.add_argument("--layouts", type=int, nargs="+", metavar="N", help="layout indices to draw from")
    gen.add_argument("--damage", type=float, default=1.0, help="0.0 clean scans … 1.0 full damage (default)")
    gen.set_defaults(handler=_generate)

    dossier = sub.add_parser("dossier", help="write the sample dossier (ho-so-mau.pdf, loose pages, .gt.json)")
    dossier.add_argument("out", type=Path, metavar="OUT", help="output folder (created)")
    dossier.add_argument("--seed", type=int, default=2026, help="random seed (default 2026, the committed one)")
    dossier.set_defaults(handler=_dossier)


def _types(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in DOC_TYPES]
    if unknown:
        raise InputError(f"unknown document type(s) {', '.join(unknown)}; known: {', '.join(DOC_TYPES)}")
    return names


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    if args.count < 1:
        raise InputError("--count must be at least 1")
    if not 0.0 <= args.damage <= 1.0:
        raise InputError("--damage must be between 0.0 and 1.0")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"{args.out} exists and is not a folder")
    paths = generate(args.out, args.count, args.seed, _types(args.types), layouts=args.layouts, damage=args.damage)
    print(f"wrote {len(paths)} document(s) to {args.out}")
    return 0


def _dossier(args: argparse.Namespace, settings: Settings) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"{args.out} exists and is not a folder")
    paths = write_sample_dossier(args.out, args.seed)
    total = sum(path.stat().st_size for path in paths)
    for path in paths:
        print(path)
    print(f"{len(paths)} file(s), {total / 1e6:.2f} MB")
    return 0
