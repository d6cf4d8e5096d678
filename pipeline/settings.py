"""One settings object for the whole project, read from ``SOHOA_*`` environment variables.

With nothing set, everything is embedded under ``./sohoa-data`` (local object store, SQLite, a
process pool, a development signer). Setting ``SOHOA_DATABASE_URL``, ``SOHOA_STORE_URL`` and
``SOHOA_BROKER_URL`` moves the same code onto PostgreSQL, S3 and Celery.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError

ENV_PREFIX = "SOHOA_"


class Settings(BaseModel):
    """Every setting, validated; :func:`load_settings` reads them from the environment. (A plain
    model, not ``pydantic_settings``: importing that costs a seventh of a second at every start of
    the CLI and of every worker, more than reading a few variables.)"""

    model_config = ConfigDict(extra="ignore", frozen=True)

    data_dir: Path = Path("./sohoa-data")
    database_url: str | None = None  # default: sqlite under data_dir
    store_url: str | None = None  # default: file:// under data_dir; or s3://ACCESS:SECRET@host:port/bucket
    broker_url: str | None = None  # unset: in-process pool

    # OCR
    ocr_lang: str = "vie+eng"
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    ocr_batch_pages: int = Field(default=3, ge=1)  # pages a worker OCRs together (one Tesseract start)
    max_page_pixels: int = 120_000_000  # larger pages are downsampled at ingest
    max_pages_per_file: int = 500
    max_file_bytes: int = 200 * 1024 * 1024

    # Certification
    agency: str = "UBND xã Thử Nghiệm (development)"
    certifying_officer: str = "Cán bộ chứng thực (development)"
    signer_pkcs12: Path | None = None  # unset: a development signer under data_dir/pki
    signer_pkcs12_password: str | None = None
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_user_pin: str | None = None
    pkcs11_key_label: str | None = None
    pkcs11_cert_label: str | None = None
    tsa_url: str | None = None
    trust_roots: list[Path] = Field(default_factory=list)  # PEM/DER roots; default: the dev root

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sohoa.db').as_posix()}"

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"file://{(self.data_dir / 'objects').as_posix()}"

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"


def _from_env(environ: Mapping[str, str]) -> dict[str, object]:
    """``SOHOA_NAME`` for every field ``name``; a list is given as JSON (``["a.pem", "b.pem"]``)."""
    values: dict[str, object] = {}
    for name, field in Settings.model_fields.items():
        raw = environ.get(f"{ENV_PREFIX}{name.upper()}")
        if raw is None:
            continue
        if "list[" in str(field.annotation):
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()}: not a JSON list ({exc.msg})") from exc
        else:
            values[name] = raw
    return values


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (CLI flags) on top; a value
    that does not validate is a :class:`ConfigError` naming its variable."""
    values = {**_from_env(os.environ), **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "?"
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}: {first['msg']} (got {first.get('input')!r})") from exc
