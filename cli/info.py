"""``sohoa info``: which data folder, records database, object store, broker and signer a command
run here would use, where each setting came from, and whether each is there.

Every command defaults to ``./sohoa-data`` of the current folder, so the same command run in two
folders works on two deployments; this says which one before anything is done. It only looks:
it creates no folder, database, bucket or PKI, and prints no password, secret key or PIN.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import SohoaError
from core.settings import ENV_PREFIX, Settings
from storage.backup import hide_password, s3_parts, sqlite_path
from storage.db import head_revision

PROBE_SECONDS = 3


@dataclass(frozen=True)
class Item:
    """One thing a command uses: what it is, the setting that chose it, and what was found."""

    name: str
    value: str
    source: str  # the SOHOA_* variable that set it, or "default"
    state: str  # what was found, in a few words
    ok: bool


def _source(*fields: str) -> str:
    names = [f"{ENV_PREFIX}{f.upper()}" for f in fields]
    set_ = [n for n in names if os.environ.get(n)]
    return ", ".join(set_) if set_ else "default"


def _data_dir(settings: Settings) -> Item:
    folder = settings.data_dir.expanduser().resolve()
    state = "exists" if folder.is_dir() else "missing (created by the first command that stores something)"
    return Item("data folder", str(folder), _source("data_dir"), state, True)


def _database(settings: Settings, probe: bool) -> Item:
    url = settings.resolved_database_url
    path = sqlite_path(url)
    if path is not None:
        path = path.resolve()
        url = f"sqlite:///{path.as_posix()}"
    source = _source("database_url") if settings.database_url else _source("data_dir")
    shown = hide_password(url)
    if path is not None and not path.is_file():
        return Item("database", shown, source, "missing: no records here yet", False)
    if not probe:
        return Item("database", shown, source, "not checked", True)
    try:
        revision = _revision(url, path)
    except Exception as exc:  # noqa: BLE001 - any failure to look is the answer, in one line
        return Item("database", shown, source, f"unreachable: {_line(exc)}", False)
    head = head_revision()
    if revision is None:
        return Item("database", shown, source, "reachable, holds no sohoa records", False)
    if revision != head:
        return Item("database", shown, source, f"schema {revision}, this sohoa wants {head} (sohoa db upgrade)", False)
    return Item("database", shown, source, f"schema {revision} (current)", True)


def _revision(url: str, path: Path | None) -> str | None:
    if path is not None:  # opened as it is (rw: closing it tidies the WAL files away), never migrated
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=PROBE_SECONDS)
        try:
            row = conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).fetchone()
            return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] if row else None
        finally:
            conn.close()
    from sqlalchemy import create_engine, inspect, text

    from storage.db import _normalise_url

    engine = create_engine(_normalise_url(url), connect_args={"connect_timeout": PROBE_SECONDS})
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _store(settings: Settings, probe: bool) -> Item:
    url = settings.resolved_store_url
    source = _source("store_url") if settings.store_url else _source("data_dir")
    if url.startswith("s3://"):
        try:
            parts = s3_parts(url)
        except SohoaError as exc:
            return Item("store", "s3://…", source, str(exc), False)
        scheme = "https" if parts["secure"] else "http (?secure=false)"
        shown = f"s3://{parts['endpoint']}/{parts['bucket']} over {scheme}"
        if not probe:
            return Item("store", shown, source, "not checked", True)
        try:
            from storage.backup import open_existing_store

            open_existing_store(url)
        except Exception as exc:  # noqa: BLE001 - one line: away, refused, or no bucket
            return Item("store", shown, source, _line(exc), False)
        return Item("store", shown, source, "bucket exists", True)
    folder = Path(url.removeprefix("file://")).expanduser().resolve()
    if folder.is_dir():
        return Item("store", f"file://{folder.as_posix()}", source, "exists", True)
    return Item("store", f"file://{folder.as_posix()}", source, "missing: no objects here yet", False)


def _broker(settings: Settings, probe: bool) -> Item:
    if not settings.broker_url:
        return Item("broker", "none: pages are processed in the command's own process pool",
                    _source("broker_url"), "in-process", True)
    shown = hide_password(settings.broker_url)
    if not probe:
        return Item("broker", shown, _source("broker_url"), "not checked", True)
    try:
        from kombu import Connection

        with Connection(settings.broker_url, connect_timeout=PROBE_SECONDS) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - one line
        return Item("broker", shown, _source("broker_url"), f"unreachable: {_line(exc)}", False)
    return Item("broker", shown, _source("broker_url"), "reachable", True)


def _signer(settings: Settings) -> Item:
    if settings.pkcs11_module:
        value = (f"PKCS#11 module {settings.pkcs11_module}, token {settings.pkcs11_token_label!r}, "
                 f"key {settings.pkcs11_key_label or settings.pkcs11_cert_label!r}")
        found = Path(settings.pkcs11_module).is_file()
        return Item("signer", value, _source("pkcs11_module"), "module found" if found else "module missing", found)
    if settings.signer_pkcs12:
        path = settings.signer_pkcs12.expanduser().resolve()
        found = path.is_file()
        return Item("signer", f"PKCS#12 {path}", _source("signer_pkcs12"),
                    "file found" if found else "file missing", found)
    from signing.devpki import ROOT_FILE

    pki = settings.pki_dir.expanduser().resolve()
    exists = (pki / ROOT_FILE).is_file()
    state = "exists" if exists else "missing: created on first certification"
    allowed = "" if not settings.allow_dev_signer else "; SOHOA_ALLOW_DEV_SIGNER=true"
    return Item("signer", f"DEVELOPMENT ONLY PKI under {pki} (not for real certified copies)",
                "default", state + allowed, True)


def _trust(settings: Settings) -> Item:
    if settings.trust_roots:
        missing = [str(p) for p in settings.trust_roots if not Path(p).is_file()]
        state = f"{len(settings.trust_roots)} file(s)" + (f", missing: {', '.join(missing)}" if missing else "")
        expired = [] if missing else _expired_roots(settings)
        if expired:
            state += "; " + "; ".join(expired)
        return Item("trust roots", ", ".join(str(p) for p in settings.trust_roots), _source("trust_roots"),
                    state, not missing and not expired)
    return Item("trust roots", "the development root (of the signer above)", "default",
                "no real signature is trusted", True)


def _expired_roots(settings: Settings) -> list[str]:
    """Configured roots (signers' and TSAs') that have expired, each named with its date."""
    from signing.keys import TrustConfig, load_certificate_paths

    try:
        roots = tuple(load_certificate_paths(settings.trust_roots))
        tsa = tuple(load_certificate_paths(settings.tsa_trust_roots))
    except Exception as exc:  # noqa: BLE001 - an unreadable root is said in one line
        return [f"unreadable: {_line(exc)}"]
    return TrustConfig(roots=roots, tsa_roots=tsa or None).expired_roots()


def _public_url(settings: Settings) -> Item:
    if settings.public_base_url:
        return Item("public URL", settings.public_base_url, _source("public_base_url"), "in the copies' QR code", True)
    return Item("public URL", "unset", "default", "the copies' QR code carries no address", True)


def _line(exc: BaseException) -> str:
    if isinstance(exc, SohoaError):
        return str(exc)
    exc = getattr(exc, "orig", None) or exc  # SQLAlchemy's wrapper: the driver's own words
    text_ = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text_[0][:160]}" if text_ else type(exc).__name__


def deployment(settings: Settings, *, probe: bool = True) -> list[Item]:
    """What a command run with these settings would use, looked at and never created."""
    return [
        _data_dir(settings),
        _database(settings, probe),
        _store(settings, probe),
        _broker(settings, probe),
        _signer(settings),
        _trust(settings),
        _public_url(settings),
    ]


def _info(args: argparse.Namespace, settings: Settings) -> int:
    from cli.main import _version

    items = deployment(settings, probe=not args.no_check)
    if args.json:
        print(json.dumps({"version": _version(), "items": [asdict(i) for i in items]}, ensure_ascii=False, indent=2))
    else:
        print(f"sohoa {_version()}")
        for item in items:
            mark = "" if item.ok else "  <-"
            print(f"{item.name:12} {item.value}\n{'':12} {item.state} [{item.source}]{mark}")
    return 0 if all(i.ok for i in items) else 1


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "info",
        help="which data folder, database, store, broker and signer commands here use",
        description="Say which data folder, records database, object store, broker and signer a sohoa "
        "command run with these settings uses, where each setting came from, and whether each is there. "
        "Creates nothing; prints no secret. Exit 1 when something is missing or unreachable.",
    )
    p.add_argument("--no-check", action="store_true", help="do not connect to the database, store or broker")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_info)
