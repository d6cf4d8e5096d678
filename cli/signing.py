"""``sohoa pki init-dev``, ``sohoa certify``, ``sohoa verify`` and ``sohoa bench certify``.

Handlers only parse, call the library and print; every user mistake becomes an ``InputError`` or
``ConfigError`` (one line, exit 2). ``verify`` exits 0 PASSED, 1 FAILED, 2 INDETERMINATE.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import ConfigError, InputError
from core.model import nfc
from core.settings import Settings
from core.vietnam_time import vietnam_datetime
from flow.policy import register_text, register_year
from signing.certify import StampInfo, certify_copy
from signing.devpki import ensure_dev_pki
from signing.keys import TrustConfig, load_certificates, load_signer, trust_config, trust_roots
from signing.manifest import verify_manifest
from signing.officials import official_signer
from signing.verify import verify_pdf
from storage.db import open_database
from storage.records import find_by_sha256
from storage.register import mark_used, reserve_number, void_number
from storage.result_codes import result_code_of


def register(commands: Any, bench: Any) -> None:
    pki = commands.add_parser("pki", help="signing keys and the development PKI")
    pki_commands = pki.add_subparsers(dest="pki_command", metavar="PKI_COMMAND", parser_class=type(pki))
    pki_commands.required = True
    init = pki_commands.add_parser("init-dev", help="create the DEVELOPMENT-ONLY root, intermediate and signer")
    init.add_argument("--dir", type=Path, help="where to put it (default: SOHOA_DATA_DIR/pki)")
    init.add_argument("--force", action="store_true", help="replace an existing development PKI")
    init.set_defaults(handler=_pki_init_dev)

    certify = commands.add_parser("certify", help="certify a PDF as an electronic copy of its original (PAdES)")
    certify.add_argument("file", type=Path, help="the PDF to certify")
    certify.add_argument("-o", "--output", type=Path, required=True, help="where to write the certified copy")
    certify.add_argument("--signer", type=Path, help="signer config: a .p12/.pfx file or a JSON file of signer settings")
    certify.add_argument("--number", help="certification number (default: the next number of the register)")
    certify.add_argument("--agency", help="agency named on the stamp (default: SOHOA_AGENCY)")
    certify.add_argument("--officer", "--official", dest="officer",
                         help="certifying officer, who signs with their own key unless --signer is given "
                              "(default: SOHOA_CERTIFYING_OFFICER)")
    certify.add_argument("--qr", help="text of the stamp's QR code")
    certify.add_argument("--tsa", help="RFC 3161 timestamp authority URL (default: SOHOA_TSA_URL)")
    certify.add_argument("--level", choices=["B-B", "B-T", "B-LT", "B-LTA"], help="PAdES level (default: highest possible)")
    certify.add_argument("--json", action="store_true", help="print the result as JSON")
    certify.set_defaults(handler=_certify)

    verify = commands.add_parser("verify", help="the auditor's report on a certified copy or a signed manifest")
    verify.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="signed PDFs (several: one line each), or one manifest JSON with --signature")
    verify.add_argument("--signature", type=Path, help="detached CMS signature of a manifest (MANIFEST.json.p7s)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument("--trust-root", type=Path, action="append", help="trusted root certificate (repeatable)")
    verify.add_argument("--expected-sha256", help="the hash recorded for this file in the dossier")
    verify.add_argument("--offline", action="store_true", help="never fetch revocation information")
    verify.add_argument("--no-records", action="store_true",
                        help="do not look the file's hash up in the dossier records")
    verify.add_argument("--at", metavar="DATETIME", type=_moment,
                        help="verify as of this ISO 8601 time, offline (what an auditor will see then)")
    verify.set_defaults(handler=_verify)

    bench_certify = bench.add_parser("certify", help="certified copies per second, soft key and SoftHSM2")
    bench_certify.add_argument("--file", type=Path, help="PDF to certify (default: a generated 1.5 MB one-page scan)")
    bench_certify.add_argument("-n", "--count", type=int, default=20, help="certifications per signer")
    bench_certify.add_argument("--no-hsm", action="store_true", help="skip the SoftHSM2 signer")
    bench_certify.add_argument("--json", action="store_true")
    bench_certify.set_defaults(handler=_bench)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date/time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a directory") from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc


def _pki_init_dev(args: argparse.Namespace, settings: Settings) -> int:
    pki = ensure_dev_pki(args.dir or settings.pki_dir, force=args.force)
    print(f"development PKI (DEVELOPMENT ONLY - CHỈ DÙNG THỬ NGHIỆM) in {pki.directory}")
    print(f"  root:         {pki.root_cert_path}")
    print(f"  intermediate: {pki.intermediate_cert_path}")
    print(f"  signer:       {pki.signer_p12_path} (password in {pki.directory / 'dev-signer.p12.password'})")
    return 0


def signer_settings(settings: Settings, config: Path | None) -> Settings:
    """Settings with the signer described by ``--signer``: a PKCS#12 file (password from
    SOHOA_SIGNER_PKCS12_PASSWORD) or a JSON object of signer settings (the SOHOA_* names, lower
    case, without the prefix: ``{"pkcs11_module": ..., "pkcs11_key_label": ...}``)."""
    if config is None:
        return settings
    if not config.exists():
        raise InputError(f"{config}: no such signer config")
    if config.suffix.lower() in (".p12", ".pfx"):
        return settings.model_copy(update={"signer_pkcs12": config, "pkcs11_module": None})
    try:
        values = json.loads(config.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{config}: signer config must be a .p12/.pfx file or a JSON object") from exc
    if not isinstance(values, dict):
        raise ConfigError(f"{config}: signer config must be a JSON object")
    allowed = {n for n in Settings.model_fields if n.startswith(("signer_", "pkcs11_")) or n in ("tsa_url", "trust_roots")}
    unknown = set(values) - allowed
    if unknown:
        raise ConfigError(f"{config}: unknown signer settings {', '.join(sorted(unknown))}")
    return Settings(**{**settings.model_dump(), **values})


def _certify(args: argparse.Namespace, settings: Settings) -> int:
    data = _read(args.file)
    settings = signer_settings(settings, args.signer)
    now = datetime.now(UTC)
    agency = args.agency or settings.agency
    db, entry = None, None
    if args.number:
        number = args.number  # numbered by the officer (a register kept elsewhere)
    else:  # a file certified outside any dossier still takes the next number of the register
        db = open_database(settings.resolved_database_url)
        entry = reserve_number(db, agency=agency, year=register_year(now), subject=args.file.name, actor="cli")
        number = register_text(entry)
    officer = " ".join(nfc(args.officer or settings.certifying_officer).split())
    stamp = StampInfo(
        agency=agency,
        officer=officer,
        certification_number=number,
        signed_at=now,
        qr_payload=args.qr,
    )
    tsa = args.tsa or settings.tsa_url
    try:
        # --signer names the key; otherwise the certifying officer's own (SOHOA_OFFICIALS_FILE, or
        # their development certificate, or the agency key when they have none).
        chosen = load_signer(settings) if args.signer else nullcontext(official_signer(settings, officer))
        with chosen as signer:
            roots = trust_roots(settings) if tsa and settings.trust_roots else None
            copy = certify_copy(data, signer, stamp, tsa_url=tsa, level=args.level, trust_roots=roots)
    except BaseException as exc:
        if db is not None and entry is not None:
            void_number(db, entry.entry_id, reason=f"{type(exc).__name__}: {exc}", actor="cli")
        raise
    if db is not None and entry is not None:
        mark_used(db, entry.entry_id, certified_copy_id=None, actor="cli",
                  note=f"{args.file.name} → {args.output.name}, sha256 {copy.sha256}")
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(copy.pdf)
    except OSError as exc:
        raise InputError(f"cannot write {args.output}: {exc.strerror}") from exc
    result = {
        "output": str(args.output),
        "certification_number": copy.certification_number,
        "signer": copy.signer,
        "signed_at": copy.signed_at.isoformat(),
        "timestamp": copy.timestamp.isoformat() if copy.timestamp else None,
        "sha256": copy.sha256,
        "document_sha256": copy.document_sha256,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"{args.output}: certified copy {copy.certification_number}, sha256 {copy.sha256}")
        print(f"  signer: {copy.signer}")
        if copy.timestamp:
            print(f"  timestamp: {copy.timestamp.isoformat()}")
    return 0


def _trust(args: argparse.Namespace, settings: Settings) -> TrustConfig:
    trust = trust_config(settings, create_dev=False)  # an auditor's check creates nothing
    if args.trust_root:
        trust = replace(trust, roots=tuple(c for path in args.trust_root for c in load_certificates(path)))
        for warning in trust.expired_roots():
            logging.getLogger(__name__).warning("%s", warning)
    return trust


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    if not getattr(args, "verbose", 0):
        # pyHanko logs every rejected modification with a traceback; the report already says it.
        logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    trust = _trust(args, settings)
    roots = list(trust.roots)
    first = args.files[0]
    if args.signature is not None or first.suffix.lower() == ".json":
        if len(args.files) > 1:
            raise InputError("a manifest is verified alone: give one manifest JSON and its --signature")
        signature_path = args.signature or first.with_name(first.name + ".p7s")
        manifest = verify_manifest(_read(first), _read(signature_path), roots, allow_fetching=not args.offline)
        print(json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2) if args.json else manifest.summary())
        return manifest.exit_code

    files = [(path, _read_pdf(path)) for path in args.files]  # bad input refuses the run before any check
    lookup = None if args.no_records or args.expected_sha256 else _records_lookup(settings)
    reports = [
        (path, verify_pdf(data, roots=roots, expected_sha256=args.expected_sha256, record_lookup=lookup,
                          allow_fetching=not args.offline, validation_time=args.at,
                          intermediates=trust.intermediates, tsa_roots=trust.tsa_roots, policy=trust.policy))
        for path, data in files
    ]
    checks = {path: (_record_checks(settings, report) if lookup is not None else []) for path, report in reports}
    if args.json:
        out = [{"file": str(path), **report.to_dict(), "record_checks": checks[path]} for path, report in reports]
        print(json.dumps(out[0] if len(out) == 1 else out, ensure_ascii=False, indent=2))
    elif len(reports) == 1:
        _print_report(*reports[0])
        for check in checks[reports[0][0]]:
            print(f"  {check['what']} {check['value']}: {check['verdict']}")
    else:
        _print_table(reports)
    codes = {report.exit_code for _path, report in reports}
    if any(c["verdict"].startswith("DIFFERS") for found in checks.values() for c in found):
        codes.add(1)
    return 1 if 1 in codes else max(codes)  # one forgery among them outweighs what could not be checked


def _read_pdf(path: Path) -> bytes:
    data = _read(path)
    if b"%PDF-" not in data[:1024]:
        raise InputError(f"{path}: not a PDF file")
    return data


def _print_table(reports: list[tuple[Path, Any]]) -> None:
    width = max(len(str(path)) for path, _report in reports)
    for path, report in reports:
        signers = "; ".join(s.signer_subject or "?" for s in report.signatures if s.kind == "signature")
        reasons = ", ".join(report.reasons) or "-"
        print(f"{path!s:<{width}}  {report.status:<13}  {report.level or '-':<8}  {reasons}  [{signers}]")


def _records_lookup(settings: Settings) -> Callable[[str], bool | None] | None:
    """``sha256 -> True`` when the records hold a certified copy or searchable PDF with that hash;
    ``None`` (unknown) otherwise: a file sohoa has no record of is not thereby a forgery. Only an
    existing database is consulted (never created or migrated by an auditor's check)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None

    def lookup(sha256: str) -> bool | None:
        try:
            db = open_database(url, upgrade=False)
            try:
                return True if find_by_sha256(db, sha256) else None
            finally:
                db.dispose()
        except Exception:  # records unavailable: the signature verdict still stands
            logging.getLogger(__name__).info("dossier records not available", exc_info=True)
            return None

    return lookup


def _record_checks(settings: Settings, report: Any) -> list[dict[str, str]]:
    """For a sohoa copy: the register number and the result code its certification names, each
    against the records of the copy with this hash (when the records are reachable)."""
    certification = next((s for s in report.signatures if s.role == "certification"), None)
    if certification is None or not report.sha256:
        return []
    try:
        db = open_database(settings.resolved_database_url, upgrade=False)
        try:
            copy = next((m for m in find_by_sha256(db, report.sha256) if m.kind == "certified_copy"), None)
            code = result_code_of(db, copy.document.id) if copy is not None else None
        finally:
            db.dispose()
    except Exception:  # records unavailable: the signatures' verdict still stands
        logging.getLogger(__name__).info("dossier records not available", exc_info=True)
        return []
    if copy is None:
        return [{"what": "register number", "value": certification.register_number or "-",
                 "verdict": "not in these records"}]
    checks = [{"what": "register number", "value": certification.register_number or "-",
               "verdict": "matches the register" if certification.register_number == copy.certified.certification_number
               else f"DIFFERS from the register ({copy.certified.certification_number})"}]
    if certification.result_code:  # a copy made before result codes were issued names none
        same = certification.result_code == code
        checks.append({"what": "result code", "value": certification.result_code,
                       "verdict": "matches the records" if same else f"DIFFERS from the records ({code or 'none'})"})
    return checks


_ROLE_NAMES = {"digitization": "digitization signature (số hóa) by",
               "certification": "certification (chứng thực) by"}


def _print_report(path: Path, report: Any) -> None:
    reasons = ", ".join(report.reasons) or "none"
    print(f"{path}: {report.status} ({reasons})")
    if report.level:
        print(f"  {'PAdES level: ' if report.level.startswith('B-') else ''}{report.level}   sha256: {report.sha256}")
    if report.record_match is not None:
        print(f"  matches the dossier record: {'yes' if report.record_match else 'NO'}")
    for sig in report.signatures:
        covers = f" (covers revision {sig.revision + 1})" if sig.revision is not None else ""
        print(f"  [{sig.kind}] {sig.field_name}{covers}: {sig.status} {', '.join(sig.reasons)}")
        if sig.role:
            print(f"    {_ROLE_NAMES[sig.role]} {sig.official or '?'}")
        if sig.signer_subject:
            print(f"    signer:       {sig.signer_subject}")
        if sig.reason:
            print(f"    reason:       {sig.reason}")
        if sig.signing_time:
            print(f"    signing time: {vietnam_datetime(sig.signing_time)}, claimed")  # --json: ISO 8601
        if sig.timestamp_time:
            print(f"    timestamp:    {vietnam_datetime(sig.timestamp_time)}")
        print(
            f"    integrity: {'ok' if sig.intact and sig.valid else 'BROKEN'}   trusted: {'yes' if sig.trusted else 'no'}"
            f"   coverage: {sig.coverage}   changes after signing: {sig.modification_level}"
            f"   DocMDP: {sig.docmdp_level or '-'} {'ok' if sig.docmdp_ok is not False else 'VIOLATED'}"
            f"   revocation: {sig.revocation}"
        )
        for message in sig.messages:
            print(f"    - {message}")
    for message in report.messages:
        print(f"  - {message}")


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.certify import print_results, run_bench

    data = _read(args.file) if args.file else None
    results = run_bench(settings, pdf=data, count=args.count, hsm=not args.no_hsm)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        print_results(results, file=sys.stdout)
    return 0
