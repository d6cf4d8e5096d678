"""The door: the API key is checked and the body's size bounded before a single body byte is read.

FastAPI reads (and for JSON, parses) a request's body before it resolves the dependencies that
check the key, so a 300 MB JSON body with no key on ``POST /v1/keys`` grew the server by 1.2 GB and
was answered 422. This ASGI middleware sits in front of the routing: a request under ``/v1/`` (all
but the health check) without a valid key is answered 401 at once, whatever its body; a body whose
``Content-Length`` passes the route's cap is answered 413 at once; a body without one (chunked) is
counted as it is read and cut at the cap with the same 413. Roles stay with the routes' own
dependencies (403): the door only knows that the caller is someone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from anyio import to_thread
from starlette.datastructures import Headers

from api.auth import UNAUTHORIZED, authenticate

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MULTIPART_SLACK = 1024 * 1024  # boundaries and form fields around the files


@dataclass(frozen=True)
class BodyCaps:
    """Largest body per kind of route, in bytes: uploads may carry a whole batch, verification one
    PDF, every other call a small JSON document (a review decision, a key's name, a reason)."""

    upload: int
    verify: int
    json: int = 1024 * 1024
    other: int = 64 * 1024  # GET, DELETE and the pages: nothing to send

    def for_route(self, method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") == "/v1/batches":
            return self.upload + MULTIPART_SLACK
        if method == "POST" and path.rstrip("/") == "/v1/verify":
            return self.verify + MULTIPART_SLACK
        if method == "POST" and _RESULTS.match(path):  # a procedure's result: one PDF, as verified
            return self.verify + MULTIPART_SLACK
        if method in ("POST", "PUT", "PATCH"):
            return self.json
        return self.other


_OPEN = re.compile(r"^/v1/health/?$")
_RESULTS = re.compile(r"^/v1/dossiers/[^/]+/results/?$")


def needs_key(path: str) -> bool:
    """Every call under ``/v1/`` needs a key but the health check; pages and docs are public."""
    return path.startswith("/v1/") and not _OPEN.match(path)


def key_of(headers: Headers) -> str | None:
    """The key as the routes read it: ``Authorization: Bearer …``, else ``X-API-Key``."""
    auth = headers.get("authorization", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return headers.get("x-api-key") or None


# A key as :func:`api.auth.create_key` makes it, and the parameter names clients put keys under.
_KEY_VALUE = re.compile(rb"sohoa_[0-9a-f]{12}_[A-Za-z0-9_\-]*")
_KEY_PARAMS = frozenset({b"api_key", b"apikey", b"api-key", b"key", b"x-api-key", b"token", b"access_token",
                         b"authorization", b"auth"})
_REDACTED = b"REDACTED"


def redact_query_keys(scope: Scope) -> bool:
    """Blank any API key in the query string, in the request's own scope, and say whether there was
    one. The server's access log writes the path and query string from this very scope when the
    answer goes out, so a key sent as ``?api_key=…`` would otherwise be kept in the log for good."""
    query: bytes = scope.get("query_string") or b""
    if not query:
        return False
    found = False
    parts = []
    for part in query.split(b"&"):
        name, eq, value = part.partition(b"=")
        if eq and value and unquote_to_bytes(name.replace(b"+", b" ")).strip().lower() in _KEY_PARAMS:
            part, found = name + b"=" + _REDACTED, True
        elif _KEY_VALUE.search(unquote_to_bytes(part)):
            part, found = name + (b"=" + _REDACTED if eq else b""), True
        parts.append(part)
    if found:
        scope["query_string"] = b"&".join(parts)
    return found


class RequestGuard:
    """ASGI middleware: authentication and body caps before the body (see the module docstring)."""

    def __init__(self, app: ASGIApp, caps: BodyCaps) -> None:
        self.app = app
        self.caps = caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = Headers(scope=scope)
        if redact_query_keys(scope):
            await _answer(send, 401, "API keys are not taken in the query string (it is written to logs and "
                          "browser histories); send it as Authorization: Bearer …, and have this key "
                          "revoked: it has been exposed", UNAUTHORIZED)
            return
        if needs_key(path):
            key = key_of(headers)
            if not key:
                await _answer(send, 401, "an API key is required (Authorization: Bearer …)", UNAUTHORIZED)
                return
            engine = scope["app"].state.engine
            if await to_thread.run_sync(authenticate, engine, key) is None:
                await _answer(send, 401, "the API key is not valid or was revoked", UNAUTHORIZED)
                return
        cap = self.caps.for_route(method, path)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _answer(send, 400, "Content-Length is not a number")
                return
            if int(length) > cap:
                await _answer(send, 413, _too_large(cap))
                return
        guarded = _Guarded(send)
        counted = _Counted(receive, send, cap)
        counted.guarded = guarded
        await self.app(scope, counted, guarded)


class _Guarded:
    """The app's ``send``, silenced once the door has answered 413 for a body cut short."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.closed = False
        self.started = False

    async def __call__(self, message: Message) -> None:
        if self.closed:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class _Counted:
    """The app's ``receive``, counting body bytes: past the cap, the 413 is sent now and the app is
    told the client went away, so whatever it was reading stops and nothing it says is sent."""

    def __init__(self, receive: Receive, send: Send, cap: int) -> None:
        self.receive = receive
        self.raw_send = send
        self.cap = cap
        self.seen = 0
        self.guarded: _Guarded | None = None

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.cap:
                return await self._cut()
        return message

    async def _cut(self) -> Message:
        guarded = self.guarded
        if guarded is None or not guarded.started:
            await _answer(self.raw_send, 413, _too_large(self.cap))
        if guarded is not None:
            guarded.closed = True
        return {"type": "http.disconnect"}


def _too_large(cap: int) -> str:
    return f"the request body is larger than this call takes ({cap / 2**20:.0f} MiB)"


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           (b"connection", b"close")]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
