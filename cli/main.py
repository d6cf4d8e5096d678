"""The ``sohoa`` command.

Each module of this package registers one area's sub-commands (``register(commands, bench)``), so
the command line grows with the code it drives; this module names every command, imports only the
module of the one being run, and turns errors into one line on stderr with the exit code of
design.md: 0 success, 1 a negative verdict, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import importlib.metadata
import logging
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from api.config import ApiSettings
from core.errors import ConfigError, SohoaError
from core.logs import configure_logging
from core.memory import keep_freed_memory
from core.settings import Settings, load_settings
from workers.config import WorkerSettings

log = logging.getLogger("sohoa")

# Each command, the module that registers it and what ``sohoa --help`` says of it. Only the module
# of the command being run is imported: ``sohoa verify`` does not pay for OpenCV and Celery, nor
# ``sohoa ocr`` for pyHanko (importing every module costs seconds).
COMMANDS: dict[str, tuple[str, str]] = {
    "process": ("cli.process", "digitize a dossier: OCR, classify, extract, certify, store"),
    "ocr": ("cli.ocr", "clean up and OCR a PDF or image"),
    "extract": ("cli.extract", "classify one document and extract its fields"),
    "train": ("cli.extract", "train the document-type classifier from generated samples"),
    "samples": ("cli.samples", "synthetic dossiers with ground truth"),
    "pki": ("cli.signing", "development PKI"),
    "certify": ("cli.signing", "certify a PDF as an electronic copy of its original (PAdES)"),
    "verify": ("cli.signing", "the auditor's report on a certified copy or a signed manifest"),
    "certify-queue": ("cli.certify_queue", "certified-copy requests waiting for a certifying officer"),
    "reuse": ("cli.storage", "digitized results that can be reused, by personal ID"),
    "audit": ("cli.storage", "the audit trail"),
    "export": ("cli.storage", "a dossier's results for the portal"),
    "store": ("cli.storage", "the object store"),
    "db": ("cli.storage", "the records database"),
    "worker": ("cli.workers", "run a Celery worker"),
    "submit": ("cli.workers", "send a dossier's files to the Celery workers as one batch"),
    "status": ("cli.workers", "progress of a batch"),
    "serve": ("cli.serve", "the HTTP API"),
    "keys": ("cli.serve", "API keys"),
    "review": ("cli.review", "the verification station: check and correct flagged fields"),
    "import": ("cli.importer", "bring in another deployment's data (the provinces before the merger)"),
    "stats": ("cli.stats", "the digitization figures of a period (Decision 766/QĐ-TTg)"),
    "components": ("cli.stats", "components of a dossier reused from earlier papers, or on paper"),
    "info": ("cli.info", "which data folder, database, store, broker and signer commands here use"),
    "backup": ("cli.backup", "a consistent snapshot of the records and objects"),
    "restore": ("cli.backup", "restore a backup into empty services"),
}
BENCHES: dict[str, str] = {
    "ocr": "cli.ocr",
    "photos": "cli.ocr",
    "extract": "cli.extract",
    "split": "cli.extract",
    "certify": "cli.signing",
    "store": "cli.storage",
    "pipeline": "cli.workers",
    "api": "cli.serve",
    "review": "cli.review",
    "import": "cli.importer",
    "stats": "cli.stats",
}

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


def _version() -> str:
    try:
        return importlib.metadata.version("sohoa")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _chosen(argv: Sequence[str]) -> tuple[str | None, str | None]:
    """The command (and benchmark) named on the command line, before parsing it."""
    words = [a for a in argv if not a.startswith("-")]
    command = words[0] if words else None
    bench = words[1] if command == "bench" and len(words) > 1 else None
    return command, bench


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser with the chosen command's module registered in full, every other command by name."""
    parser = _Parser(prog="sohoa", description="Digitize, OCR, classify and certify administrative dossiers.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--version", action="version", version=f"sohoa {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    bench_parser = commands.add_parser("bench", help="benchmarks printing figures beside their baselines")
    bench = bench_parser.add_subparsers(dest="bench", metavar="BENCH", parser_class=_Parser)
    bench.required = True
    command, bench_name = _chosen(argv)
    modules = {COMMANDS[command][0]} if command in COMMANDS else set()
    if command == "bench":
        modules = set(BENCHES.values()) if bench_name is None else {BENCHES.get(bench_name, "")} - {""}
    for name in sorted(modules):
        importlib.import_module(name).register(commands, bench)
    for name, (module, help_text) in COMMANDS.items():
        if module not in modules:
            commands.add_parser(name, help=help_text, add_help=False)
    for name, module in BENCHES.items():
        if module not in modules:
            bench.add_parser(name, help=f"see sohoa bench {name} --help", add_help=False)
    return parser


# Test-only variables (a test database URL) are the test suite's, not settings.
_ENV_ALLOWED_PREFIXES = ("SOHOA_TEST_",)


def known_variables() -> set[str]:
    """Every SOHOA_* variable some part of sohoa reads."""
    names = {f"SOHOA_{name.upper()}" for name in (*Settings.model_fields, *WorkerSettings.model_fields)}
    names |= {f"SOHOA_API_{name.upper()}" for name in ApiSettings.model_fields}
    return names | {"SOHOA_OFFICIAL"}


def check_environment(environ: Mapping[str, str] = os.environ) -> None:
    """A misspelt SOHOA_* variable is an error, not a setting silently left at its default."""
    known = known_variables()
    for name in sorted(environ):
        if name.startswith("SOHOA_") and name not in known and not name.startswith(_ENV_ALLOWED_PREFIXES):
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{name} is not a sohoa setting{hint}")


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    keep_freed_memory()
    argv = sys.argv[1:] if argv is None else list(argv)
    # pyHanko imports DSA support that cryptography deprecates: nothing sohoa does, noise on every
    # command (and in the page workers, which read PYTHONWARNINGS).
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    os.environ.setdefault("PYTHONWARNINGS", "ignore:DSA is deprecated")
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    configure_logging([logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                      os.environ.get("SOHOA_LOG_FORMAT", "text"))
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        check_environment()
        if args.command in ("bench", "train"):
            use_checkout_benchmarks()
        return handler(args, load_settings())
    except BrokenPipeError:  # `sohoa export … | head`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
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
