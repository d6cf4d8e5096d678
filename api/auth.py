"""API keys and roles: each kind of user reaches only its own business.

A key looks like ``sohoa_<prefix>_<secret>``: the prefix finds the row, the SHA-256 of the whole key
is what is stored. A plain hash (not bcrypt/argon2) is enough because the secret is 32 random
bytes, not a password a person chose — there is nothing to guess — and it keeps authentication
within a fraction of a millisecond on every request of a busy station. The key itself is shown
once, when it is made, and never stored.

Roles: ``station`` uploads and reads its own batches; ``workflow`` reads dossiers, asks for certified
copies and reuse look-ups; ``verifier`` confirms and corrects flagged fields (the verification
station, ``/review``); ``auditor`` verifies PDFs and reads the audit trail; ``admin`` manages keys.
No role implies another: an admin key cannot read dossiers. A key may carry the full name of the
official holding it; a verifier key must, since its decisions are recorded under that name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, func, insert, or_, select, update

from api.db import api_keys, utcnow
from core.errors import InputError
from core.model import nfc

KEY_PREFIX = "sohoa"


class Role(StrEnum):
    STATION = "station"
    WORKFLOW = "workflow"
    VERIFIER = "verifier"
    CERTIFIER = "certifier"  # a certifying officer: confirms certified-copy requests, signs with their key
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name (a station's code for station keys) and role."""

    key_id: int
    name: str
    role: Role
    official: str | None = None  # the holder's full name (NFC)

    @property
    def actor(self) -> str:
        """How the caller appears in the audit trail."""
        return f"{self.role}:{self.name}"


@dataclass(frozen=True)
class NewKey:
    id: int
    name: str
    role: Role
    key: str  # shown once
    official: str | None = None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(engine: Engine, *, role: str, name: str, official: str | None = None) -> NewKey:
    """Make a key and store its hash; the key itself is returned once and kept nowhere."""
    try:
        role_ = Role(role)
    except ValueError as exc:
        raise InputError(f"unknown role {role!r} (use one of: {', '.join(r.value for r in Role)})") from exc
    name = name.strip()
    if not name or len(name) > 64 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise InputError("a key name must be 1–64 printable characters without spaces")
    official = " ".join(nfc(official).split()) if official else None
    if official is not None and (len(official) > 255 or not official.isprintable()):
        raise InputError("an official's name must be 1–255 printable characters")
    if role_ in (Role.VERIFIER, Role.CERTIFIER) and not official:
        raise InputError(f"a {role_.value} key needs the official's full name (--official \"Nguyễn Thị A\")")
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with engine.begin() as conn:
        key_id = conn.execute(
            insert(api_keys).values(name=name, role=role_.value, official=official, prefix=prefix,
                                    hash=hash_key(key), created=utcnow())
        ).inserted_primary_key[0]
    return NewKey(id=int(key_id), name=name, role=role_, key=key, official=official)


class LastAdminKey(InputError):
    """Revoking this key would leave no active admin key: nobody could make or revoke keys again
    through the API, and a compromised key could not be replaced without the server's shell."""


def revoke_key(engine: Engine, key_id: int) -> bool:
    """Revoke an active key; False when there is no such active key. The last active admin key is
    never revoked (:class:`LastAdminKey`): the check and the revocation are one statement, so two
    admins revoking each other at once cannot both succeed on SQLite."""
    admins = (
        select(func.count()).select_from(api_keys)
        .where(api_keys.c.role == Role.ADMIN.value, api_keys.c.revoked.is_(None))
        .scalar_subquery()
    )
    with engine.begin() as conn:
        done = conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None),
                   or_(api_keys.c.role != Role.ADMIN.value, admins > 1))
            .values(revoked=utcnow())
        ).rowcount
        if not done:
            role = conn.execute(
                select(api_keys.c.role).where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None))
            ).scalar()
            if role == Role.ADMIN.value:
                raise LastAdminKey(f"key {key_id} is the last active admin key; make another admin key "
                                   "before revoking it")
    _cache.clear()
    return bool(done)


def list_keys(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).mappings().all()
    return [
        {"id": r["id"], "name": r["name"], "role": r["role"], "official": r["official"], "prefix": r["prefix"], "created": r["created"],
         "revoked": r["revoked"]}
        for r in rows
    ]


class _Cache:
    """Verified keys for a few seconds: saves a database round trip per request under load, and
    a revoked key stops working within ``ttl`` seconds in every process."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        with self._lock:
            item = self._items.get(digest)
        if item and time.monotonic() - item[0] < self.ttl:
            return item[1]
        return None

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[digest] = (time.monotonic(), principal)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _Cache()


def authenticate(engine: Engine, key: str) -> Principal | None:
    parts = key.split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(key) > 200:
        return None
    digest = hash_key(key)
    cached = _cache.get(digest)
    if cached is not None:
        return cached
    with engine.connect() as conn:
        row = conn.execute(
            select(api_keys).where(api_keys.c.prefix == parts[1], api_keys.c.revoked.is_(None))
        ).mappings().first()
    if row is None or not hmac.compare_digest(row["hash"], digest):
        return None
    principal = Principal(key_id=row["id"], name=row["name"], role=Role(row["role"]), official=row["official"])
    _cache.put(digest, principal)
    return principal


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer sohoa_…`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key, as an alternative header")

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> Principal:
    key = (bearer.credentials if bearer else None) or header_key
    if not key:
        raise HTTPException(401, "an API key is required (Authorization: Bearer …)", headers=UNAUTHORIZED)
    principal = authenticate(request.app.state.engine, key)
    if principal is None:
        raise HTTPException(401, "the API key is not valid or was revoked", headers=UNAUTHORIZED)
    request.state.principal = principal
    return principal


def require(*roles: Role):
    """A dependency admitting only callers whose key has one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            names = " or ".join(sorted(r.value for r in allowed))
            raise HTTPException(403, f"this needs a key of role {names}; yours is of role {principal.role.value}")
        return principal

    return dependency
