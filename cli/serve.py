"""``sohoa serve``, ``sohoa keys …`` and ``sohoa bench api``."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from api.app import create_app
from api.auth import Role, create_key, list_keys, revoke_key
from api.config import ApiSettings
from api.db import engine_for
from core.errors import ConfigError, InputError
from core.settings import Settings

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the HTTP API (stations, workflow systems, auditors)",
        description="Run the HTTP API with uvicorn. OpenAPI documentation at /docs, the auditor page at /auditor.",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1, or SOHOA_API_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000, or SOHOA_API_PORT)")
    serve.add_argument("--jobs", type=int, help="batches processed at once (default 1, or SOHOA_API_JOBS)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(handler=_serve)

    keys = commands.add_parser("keys", help="API keys: create, list, revoke")
    sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", parser_class=type(keys))
    sub.required = True
    create = sub.add_parser("create", help="make a key (printed once; only its hash is stored)")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--name", required=True, help="a station's code, or who holds the key")
    create.add_argument("--official", help="the holder's full name (required for a verifier or certifier key; "
                        "a station key's official signs the scans it uploads)")
    create.add_argument("--json", action="store_true", help="print id, name, role and key as JSON")
    create.set_defaults(handler=_keys_create)
    listing = sub.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_keys_list)
    revoke = sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=_keys_revoke)

    b = bench.add_parser(
        "api",
        help="N stations uploading at once: requests/s, p50/p99 of the upload answer, processed-once check",
        description="Start the API on a free loopback port in a temporary data folder, let N stations upload "
        "small generated scans concurrently (each upload sent twice with the same Idempotency-Key), then wait "
        "until every batch is processed and check that each was processed exactly once.",
    )
    b.add_argument("--stations", type=int, default=20, help="concurrent stations (default 20)")
    b.add_argument("--uploads", type=int, default=3, help="uploads per station (default 3)")
    b.add_argument("--no-wait", action="store_true", help="measure the uploads only; do not wait for processing")
    b.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for processing (default 600)")
    b.add_argument("--json", action="store_true", help="print the figures as JSON")
    b.set_defaults(handler=_bench)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from core.logs import adopt_handlers


    overrides = {k: v for k, v in {"host": args.host, "port": args.port, "jobs": args.jobs}.items() if v is not None}
    api_settings = ApiSettings(**overrides)
    if not 0 < api_settings.port < 65536:
        raise ConfigError(f"port {api_settings.port} is out of range")
    _check_can_listen(api_settings.host, api_settings.port)
    app = create_app(settings, api_settings)
    config = uvicorn.Config(
        app,
        host=api_settings.host,
        port=api_settings.port,
        log_level=args.log_level,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    adopt_handlers(settings.log_format)  # uvicorn's loggers, set up just now: same format, no personal IDs
    uvicorn.Server(config).run()
    return 0


def _check_can_listen(host: str, port: int) -> None:
    """uvicorn logs a failed bind and exits 1; say it in one line with the usage exit code instead."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    new = create_key(engine_for(settings.resolved_database_url), role=args.role, name=args.name,
                     official=args.official)
    if args.json:
        print(json.dumps({"id": new.id, "name": new.name, "role": new.role.value, "official": new.official,
                          "key": new.key}, ensure_ascii=False))
    else:
        print(new.key)
        print(f"key {new.id} for {new.role.value} {new.name!r}: shown once, keep it safe", file=sys.stderr)
    return 0


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    from storage.backup import sqlite_path

    path = sqlite_path(settings.resolved_database_url)
    if path is not None and not path.is_file():  # a look never creates a deployment
        raise ConfigError(f"no records database at {path.resolve()}, so no keys (sohoa info shows what is used)")
    rows = list_keys(engine_for(settings.resolved_database_url))
    if args.json:
        print(json.dumps(rows, default=str, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no keys yet: sohoa keys create --role … --name …", file=sys.stderr)
        return 0
    width = max(len("official"), *(len(str(r["official"] or "—")) for r in rows))
    print(f"{'id':>4}  {'role':<9} {'name':<24} {'official':<{width}}  {'key':<21} state")
    for r in rows:
        state = f"revoked {r['revoked']:%Y-%m-%d}" if r["revoked"] else "active"
        official = r["official"] or "—"
        print(f"{r['id']:>4}  {r['role']:<9} {r['name']:<24} {official:<{width}}  {'sohoa_' + r['prefix'] + '_…':<21} {state}")
    return 0


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    if not revoke_key(engine_for(settings.resolved_database_url), args.id):
        raise InputError(f"no active key {args.id}")
    print(f"key {args.id} revoked", file=sys.stderr)
    return 0


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.api import print_figures, run_bench

    if args.stations < 1 or args.uploads < 1:
        raise InputError("--stations and --uploads must be at least 1")
    figures = run_bench(settings, stations=args.stations, uploads=args.uploads, wait=not args.no_wait,
                        timeout=args.timeout)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_figures(figures)
    return 0 if figures["ok"] else 1
