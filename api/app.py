"""The FastAPI application: stations, workflow systems and auditors over HTTP, versioned under /v1.

``create_app`` builds everything from the settings (no module-level state), so tests and the bench
run several apps side by side, each on its own data folder. The records database, object store and
signer are opened once per app and shared by the request threads.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from kombu import Connection
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.config import ApiSettings
from api.db import engine_for
from api.guard import BodyCaps, RequestGuard
from api.jobs import JobBudget, JobRunner
from api.schemas import Health, ServiceCheck
from api.uploads import UploadRefused
from core import metrics
from core.errors import ConfigError, ExternalToolError, InputError, IntegrityError, SohoaError
from core.settings import Settings, load_settings
from signing.keys import load_signer
from storage.batches import find_by_idempotency_key, get_batch
from storage.db import open_database
from storage.objects import open_store

log = logging.getLogger(__name__)

try:
    VERSION = version("sohoa")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0"

DESCRIPTION = """
Digitization, OCR and certification of administrative dossiers for one-stop centres.

* **Stations** upload the scans of a dossier (`POST /v1/batches`, answered 202 at once) and follow
  their processing (`GET /v1/batches/{id}`).
* **Workflow systems** read dossiers, ask for certified electronic copies and look up reusable results.
* **Verifiers** (the receiving officials) confirm and correct the fields the machine was unsure of
  (`GET /v1/review/queue`, `POST /v1/documents/{id}/review`); their page is at [/review](/review).
* **Auditors** verify a certified PDF and read the hash-chained audit trail; a small page for people
  is at [/auditor](/auditor).

Every call needs an API key (`Authorization: Bearer sohoa_…`) whose role admits it: `station`,
`workflow`, `verifier`, `auditor` or `admin` (`sohoa keys create --role R --name N`; a verifier key
also names its official: `--official "Nguyễn Thị A"`). No key: 401; a key of another
role: 403; another station's batch: 404.
"""

TAGS = [
    {"name": "stations", "description": "uploads from scanning stations"},
    {"name": "workflow", "description": "dossiers, certified copies and reuse, for workflow systems"},
    {"name": "review", "description": "the verification station: clerks confirm and correct flagged fields"},
    {"name": "auditors", "description": "verification reports and the audit trail"},
    {"name": "admin", "description": "API keys"},
    {"name": "service", "description": "health"},
]


class AppState:
    """What request handlers share: settings, the API's tables (keys, copy requests), the records
    (batches among them), the store, the signer."""

    def __init__(self, settings: Settings, api_settings: ApiSettings) -> None:
        self.settings = settings
        self.api = api_settings
        self.engine = engine_for(settings.resolved_database_url)
        self.runner = JobRunner(
            settings, jobs=api_settings.jobs, niceness=api_settings.job_niceness, spool=api_settings.spool(settings),
            budget=JobBudget(seconds=api_settings.job_seconds, memory_mb=api_settings.job_memory_mb,
                             attempts=api_settings.job_attempts, lease_seconds=api_settings.job_lease_seconds),
        )
        self._records: Any = None
        self._store: Any = None
        self._signer: Any = None
        self._lock = threading.Lock()
        self.sign_lock = threading.Lock()  # a PKCS#11 session takes one signature at a time

    @property
    def records(self) -> Any:
        """The dossier records database (``storage.db``), migrated on first use."""
        with self._lock:
            if self._records is None:

                self._records = open_database(self.settings.resolved_database_url)
            return self._records

    @property
    def store(self) -> Any:
        with self._lock:
            if self._store is None:

                self._store = open_store(self.settings.resolved_store_url)
            return self._store

    @property
    def signer(self) -> Any:
        with self._lock:
            if self._signer is None:

                self._signer = load_signer(self.settings)
            return self._signer

    def close(self) -> None:
        self.runner.shutdown()
        if self._records is not None:
            self._records.dispose()
        if self._signer is not None and hasattr(self._signer, "close"):
            self._signer.close()


def service_checks(state: AppState) -> list[ServiceCheck]:
    """One short check per service, each with a one-line reason when it fails."""

    def database() -> None:
        engine_for(state.settings.resolved_database_url)  # the API's tables, once it is reachable
        with state.records.session() as session:
            session.execute(text("SELECT 1"))

    def store() -> None:
        state.store.exists("sha256/00/00/" + "0" * 64)  # a round trip that reads nothing

    def broker() -> None:
        with Connection(state.settings.broker_url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)

    def signer() -> None:
        state.signer  # noqa: B018 - loading it is the check (a token that went away, a wrong password)

    probes: list[tuple[str, Callable[[], None]]] = [("database", database), ("store", store)]
    if state.settings.broker_url:
        probes.append(("broker", broker))
    probes.append(("signer", signer))
    checks = []
    for name, probe in probes:
        try:
            probe()
            checks.append(ServiceCheck(name=name, ok=True))
        except Exception as exc:  # noqa: BLE001 - reported, one line, no server path
            log.warning("health: %s failing: %s", name, type(exc).__name__)
            checks.append(ServiceCheck(name=name, ok=False, detail=_one_line(exc)))
    return checks


def _one_line(exc: BaseException) -> str:
    text_ = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return re.sub(r"(/[\w.-]+){2,}", "…", text_)  # no server paths


def create_app(settings: Settings | None = None, api_settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or load_settings()
    api_settings = api_settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before any job process starts: they write their figures there for GET /metrics.
        earlier = os.environ.get(metrics.MULTIPROC_ENV)
        metrics.use_folder(settings.metrics_dir or settings.data_dir / "metrics")
        state = AppState(settings, api_settings)
        app.state.sohoa = state
        app.state.engine = state.engine
        try:
            _ = state.records  # migrate now, not during the first request
        except SohoaError as exc:
            log.warning("dossier records unavailable: %s", exc)
        await run_in_threadpool(_warm_up, state)
        resumed = state.runner.resume()
        if resumed:
            log.info("queued %d unfinished batch(es) again", resumed)
        try:
            yield
        finally:
            state.close()
            # An app inside a longer process (tests, the bench) leaves its folder setting behind it.
            if earlier is None:
                os.environ.pop(metrics.MULTIPROC_ENV, None)
            else:
                os.environ[metrics.MULTIPROC_ENV] = earlier

    # Swagger UI and ReDoc from the package's own files: integrators' machines often have no
    # internet, and a page that loads its script from a CDN is blank there.
    app = FastAPIOffline(
        docs_url="/docs",
        redoc_url="/redoc",
        title="sohoa",
        version=VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    _error_handlers(app, settings, api_settings)
    # Key and body size are checked before the body is read (FastAPI reads it before dependencies).
    app.add_middleware(RequestGuard, caps=BodyCaps(upload=api_settings.max_batch_bytes,
                                                   verify=settings.max_file_bytes))

    from api import metrics as metrics_api
    from api.routes import admin, auditors, certify_queue, review, stations, workflow

    app.include_router(stations.router)
    app.include_router(workflow.router)
    app.include_router(auditors.router)
    app.include_router(admin.router)
    app.include_router(review.router)
    app.include_router(certify_queue.router)
    app.include_router(auditors.page)
    app.include_router(review.page)
    app.include_router(metrics_api.router(settings, lambda request: state_of(request).records))
    from api.routes import results, stats

    for router in (results.router, stats.router, stats.page):
        app.include_router(router)

    @app.get("/v1/health", response_model=Health, tags=["service"], summary="Are the API and its services up",
             responses={503: {"model": Health, "description": "a service the API needs is failing"}})
    def health(request: Request) -> JSONResponse:
        """Looks at every service a request may need — the records database, the object store, the
        broker (when one is configured) and the signer — and names the one that fails (503)."""
        checks = service_checks(state_of(request))
        body = Health(status="ok" if all(c.ok for c in checks) else "failing", version=VERSION, checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)

    return app


def _warm_up(state: AppState) -> None:
    """Pay the one-off costs before the first upload: imports of the file inspectors, the job
    processes, the first compilation of the batch queries; then freeze what start-up allocated,
    so the collector does not walk those objects again in the middle of an upload answer."""
    import gc

    import pikepdf  # noqa: F401
    from PIL import Image, PngImagePlugin, TiffImagePlugin  # noqa: F401


    state.runner.start()
    try:
        get_batch(state.records, "", station="")
        find_by_idempotency_key(state.records, "", "")
    except SohoaError as exc:  # already logged at start; uploads answer 503 until it is back
        log.debug("batch queries not warmed up: %s", exc)
    gc.collect()
    gc.freeze()


def state_of(request: Request) -> AppState:
    return request.app.state.sohoa


_STATUS = {InputError: 422, IntegrityError: 500, ConfigError: 503, ExternalToolError: 503}

# The store's word for a blob it does not hold (``storage.local`` and ``storage.s3`` raise it as
# InputError, the caller's fault, which it is only when the caller named the key).
_MISSING_BLOB = re.compile(r"^object (\S+) is not in the store\b")


class ServerPaths:
    """Where this server keeps things, to be cut out of anything said to a client: a refusal
    naming ``…/api-spool/…/000.png`` or the object store's folder told an attacker the layout."""

    def __init__(self, *roots: str | Path | None) -> None:
        found = {str(Path(tempfile.gettempdir()).resolve())}
        for root in roots:
            if root:
                found |= {str(root), str(Path(root).resolve())}
        self._pattern = re.compile(
            "(" + "|".join(re.escape(r.rstrip(os.sep)) for r in sorted(found, key=len, reverse=True)) + r")"
            r"(?:" + re.escape(os.sep) + r"[^\s'\":;,)]*)?"
        )

    def scrub(self, text: str) -> str:
        """Each server path becomes its last part (the file the client sent, or the store)."""
        return self._pattern.sub(lambda m: Path(m.group(0)).name or "the server", text)


def _store_root(settings: Settings) -> str | None:
    url = settings.resolved_store_url
    return url.removeprefix("file://") if url.startswith("file://") else None


def _error_handlers(app: FastAPI, settings: Settings, api_settings: ApiSettings) -> None:
    """One shape for every error: ``{"detail": "one line"}``; never a traceback or a server path
    to the client. A blob the records name but the store lacks or holds corrupt is the server's
    fault, not the caller's: 500, logged at ERROR with its key, so lost data is noticed."""
    paths = ServerPaths(settings.data_dir, api_settings.spool(settings), _store_root(settings))

    @app.exception_handler(UploadRefused)
    async def _refused(_request: Request, exc: UploadRefused) -> JSONResponse:
        return JSONResponse({"detail": paths.scrub(exc.message)}, status_code=exc.status)

    @app.exception_handler(SohoaError)
    async def _sohoa(request: Request, exc: SohoaError) -> JSONResponse:
        missing = _MISSING_BLOB.match(str(exc))
        if missing:
            log.error("stored object %s is missing (%s %s): %s", missing.group(1), request.method,
                      request.url.path, exc)
            return JSONResponse({"detail": f"a stored object is missing ({missing.group(1)}); "
                                           "the operators must restore it from backup"}, status_code=500)
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 422)
        if status >= 500:
            log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
        return JSONResponse({"detail": paths.scrub(str(exc))}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = paths.scrub(exc.detail) if isinstance(exc.detail, str) else exc.detail
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("records database unreachable on %s %s: %s", request.method, request.url.path,
                  type(exc.orig or exc).__name__)
        return JSONResponse({"detail": "the records database is unreachable; try again later"}, status_code=503)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OperationalError):  # met before the routes (the key check): the same 503
            return await _database_down(request, exc)
        log.exception("unexpected failure on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)
