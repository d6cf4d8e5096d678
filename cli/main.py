"""The ``sohoa`` command.

Each area of the project registers its own sub-commands (``register(commands, bench)`` in its
``cli.py``), so the command line grows with the code it drives and this module only wires them and
turns errors into one line on stderr with the exit code of design.md: 0 success, 1 a negative
verdict, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from core.errors import SohoaError
from core.memory import keep_freed_memory
from core.settings import Settings, load_settings

log = logging.getLogger("sohoa")

# Modules whose ``register(commands, bench)`` adds sub-commands; a module not yet present is skipped.
COMMAND_MODULES = (
    "cli.process",
    "cli.ocr",
    "cli.samples",
    "cli.extract",
    "cli.signing",
    "cli.storage",
    "cli.workers",
    "cli.serve",
)

Handler = Callable[[argparse.Namespace, Settings], int]


class _Parser(argparse.ArgumentParser):
    """argparse prints usage and exits 2 on its own; keep its message to one clear line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise SystemExit(_usage_error(self.prog, message))


def _usage_error(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


CHECKOUT = Path(__file__).resolve().parent.parent


def use_checkout_benchmarks() -> None:
    """Make ``bench`` (and the test support it borrows) importable: the benchmarks live in the
    checkout beside the product, not in the installed package, and a console script does not put
    the checkout on ``sys.path``. Without a checkout, ``sohoa bench`` says so in one line."""
    if not (CHECKOUT / "bench" / "__init__.py").is_file():
        raise SohoaError("sohoa bench runs from a checkout of the project (bench/ is not installed)")
    root = str(CHECKOUT)
    if root not in sys.path:
        sys.path.insert(0, root)
    # Benchmark child processes (``python -m bench.…``) find it the same way.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sohoa", description="Digitize, OCR, classify and certify administrative dossiers.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    bench_parser = commands.add_parser("bench", help="benchmarks printing figures beside their baselines")
    bench = bench_parser.add_subparsers(dest="bench", metavar="BENCH", parser_class=_Parser)
    bench.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(commands, bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    keep_freed_memory()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command in ("bench", "train"):
            use_checkout_benchmarks()
        return handler(args, load_settings())
    except SohoaError as exc:
        print(f"sohoa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sohoa: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: keep the traceback in the log, one line for the user
        log.debug("unexpected failure", exc_info=True)
        print(f"sohoa: internal error: {type(exc).__name__}: {exc} (run with -vv for details)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
