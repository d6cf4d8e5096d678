"""``sohoa certify-queue list|confirm|refuse``: the certifying officer's queue from the command line
(``SOHOA_CERTIFY_BY_OFFICER=true``); ``list`` marks the requests whose paper the dossier's agreement
check holds (HELD, with the fields in disagreement). The officer names themself with ``--official`` (or
``SOHOA_OFFICIAL``): the register, the stamp, their signature and the audit trail carry that name.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from core.errors import InputError
from core.model import nfc
from core.settings import Settings
from flow import policy
from storage.backup import open_existing_database
from storage.certify_queue import CertifyRequest, RequestState, list_requests, refuse
from storage.db import open_database
from storage.objects import open_store


def register(commands: Any, bench: Any) -> None:
    queue = commands.add_parser("certify-queue", help="certified-copy requests waiting for a certifying officer")
    sub = queue.add_subparsers(dest="queue_command", metavar="QUEUE_COMMAND", parser_class=type(queue))
    sub.required = True
    listing = sub.add_parser("list", help="the requests (default: the waiting ones)")
    listing.add_argument("--state", choices=[s.value for s in RequestState], default=RequestState.WAITING.value)
    listing.add_argument("--all", action="store_true", help="every request, whatever its state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    for name, help_text in (("confirm", "confirm a request: certify the copy and sign it with your key"),
                            ("refuse", "refuse a request, with the reason")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("request", type=int, help="the request's number")
        p.add_argument("--official", default=os.environ.get("SOHOA_OFFICIAL"),
                       help="your full name, as the certifying officer (default: SOHOA_OFFICIAL)")
        if name == "refuse":
            p.add_argument("--reason", required=True, help="why the copy is not certified")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=_confirm if name == "confirm" else _refuse)


def _official(args: argparse.Namespace) -> str:
    name = " ".join(nfc(args.official or "").split())
    if not name:
        raise InputError('name the certifying officer: --official "Nguyễn Thị A" (or SOHOA_OFFICIAL)')
    return name


def _print(data: dict[str, Any], as_json: bool, line: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str) if as_json else line)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    db = open_existing_database(settings.resolved_database_url)  # a look never creates a deployment
    requests = list_requests(db, None if args.all else RequestState(args.state))
    # a waiting request whose paper the dossier's agreement check holds: confirm would be refused
    holds = policy.agreement_holds(db, {r.document_id for r in requests if r.state is RequestState.WAITING})

    def held(r: CertifyRequest) -> tuple[str, ...]:
        return holds.get(r.document_id, ()) if r.state is RequestState.WAITING else ()

    if args.json:
        print(json.dumps([{**r.__dict__, "held": bool(held(r)), "held_fields": list(held(r))} for r in requests],
                         ensure_ascii=False, indent=2, default=str))
        return 0
    for r in requests:
        decided = f"  {r.officer}" if r.officer else ""
        reason = f"  ({r.reason})" if r.reason else ""
        hold = (f"  HELD: another paper of its dossier reads {', '.join(held(r))} otherwise; a verifier must "
                "settle it before confirming") if held(r) else ""
        print(f"{r.id:>6}  document {r.document_id:<6}  {r.state:<10}  {r.requested:%d/%m/%Y %H:%M}  "
              f"{r.requested_by}{decided}{reason}{hold}")
    if not requests:
        print("no request")
    return 0


def _confirm(args: argparse.Namespace, settings: Settings) -> int:
    officer = _official(args)
    db = open_database(settings.resolved_database_url)
    copy, copy_id, key = policy.confirm_certification(
        db, open_store(settings.resolved_store_url), settings, request_id=args.request, officer=officer,
        actor=f"cli:{officer}",
    )
    _print({"request": args.request, "certified_copy_id": copy_id, "certification_number": copy.certification_number,
            "signer": copy.signer, "object_key": key, "sha256": copy.sha256}, args.json,
           f"request {args.request}: certified copy {copy_id}, số chứng thực {copy.certification_number}, "
           f"signed by {copy.signer}")
    return 0


def _refuse(args: argparse.Namespace, settings: Settings) -> int:
    officer = _official(args)
    refused = refuse(open_database(settings.resolved_database_url), args.request, officer=officer,
                     actor=f"cli:{officer}", reason=args.reason)
    _print(refused.__dict__, args.json, f"request {args.request}: refused by {officer} ({refused.reason})")
    return 0
