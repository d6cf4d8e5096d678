"""One settings object for the whole project, read from ``SOHOA_*`` environment variables.

With nothing set, everything is embedded under ``./sohoa-data`` (local object store, SQLite, a
process pool, a development signer). Setting ``SOHOA_DATABASE_URL``, ``SOHOA_STORE_URL`` and
``SOHOA_BROKER_URL`` moves the same code onto PostgreSQL, S3 and Celery.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from core.errors import ConfigError

ENV_PREFIX = "SOHOA_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    data_dir: Path = Path("./sohoa-data")
    database_url: str | None = None  # default: sqlite under data_dir
    store_url: str | None = None  # default: file:// under data_dir; or s3://ACCESS:SECRET@host:port/bucket
    broker_url: str | None = None  # unset: in-process pool

    # OCR
    # vie alone: with +eng Tesseract reads lines of Times New Roman with its English model and drops
    # their marks ("tỉnh" read "tinh"); English labels are still read, and mended from both dictionaries.
    ocr_lang: str = "vie"
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    ocr_batch_pages: int = Field(default=3, ge=1)  # pages a worker OCRs together (one Tesseract start)
    max_page_pixels: int = 120_000_000  # larger pages are downsampled at ingest
    max_pages_per_file: int = 500
    max_file_bytes: int = 200 * 1024 * 1024
    # Each page's clean-up and OCR (in a page worker, or the job process with one worker) and a PDF
    # page's text layer at ingest: past this time, or this much memory, the page fails alone with
    # the reason and the batch goes on (0: no limit).
    page_seconds: int = Field(default=120, ge=0)
    page_memory_mb: int = Field(default=1536, ge=0)

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
    # Where people reach this deployment's auditor page (https://…): printed in the certified
    # copies' QR code as the place to verify them. Unset: the code carries no address.
    public_base_url: str | None = None
    trust_roots: list[Path] = Field(default_factory=list)  # PEM/DER roots; default: the dev root
    # CA certificates a signed file may not carry (a folder of .pem/.crt/.cer/.der, or files): most
    # Vietnamese signed PDFs hold only the signer's certificate, not the issuing CA's.
    intermediate_certs: list[Path] = Field(default_factory=list)
    # Roots of the timestamp authorities, when they differ from the signers' (default: trust_roots).
    tsa_trust_roots: list[Path] = Field(default_factory=list)
    # The validation policy's dated algorithm rules (signing/policy.py): a signature made with SHA-1,
    # or with an RSA key shorter than rsa_min_bits (but at least 1024), is accepted only when a
    # trusted timestamp proves it existed before this date (ISO yyyy-mm-dd, or "never"). Defaults:
    # NIST SP 800-131A's end of both for signatures (after 2013). MD5 is never accepted.
    sha1_signatures_until: date | Literal["never"] = date(2014, 1, 1)
    short_rsa_keys_until: date | Literal["never"] = date(2014, 1, 1)
    rsa_min_bits: int = Field(default=2048, ge=1024)
    # A worker machine with no agency key configured would sign with a development PKI of its own,
    # and copies made on different machines would chain to different roots: ``sohoa worker``
    # refuses to start that way unless this says it is a development or test deployment.
    allow_dev_signer: bool = False

    # Operations
    # ``json``: one JSON object a line (for a log collector); ``text``: lines for people.
    log_format: Literal["text", "json"] = "text"
    # GET /metrics without an admin or auditor key (a Prometheus scraper on a closed network).
    metrics_open: bool = False
    # Where the processes of ``sohoa serve`` (or of one ``sohoa worker``) leave their figures for
    # the exporter to add up; emptied when the server starts. Default: <data_dir>/metrics.
    metrics_dir: Path | None = None

    # Officials (Circular 01/2023, Decree 23/2015): the one who digitizes signs the scan, a
    # certifying officer signs the certified copy, each with their own key. A JSON file mapping an
    # official's full name to their signer (PKCS#12 file or PKCS#11 token, see signing/officials.py);
    # unset or an official not in it: with the development PKI, a personal DEVELOPMENT ONLY
    # certificate issued on first use; with an agency key, the agency key.
    officials_file: Path | None = None
    # Who digitizes and who certifies when the caller names nobody (the CLI's --official, the API
    # key's official name take precedence).
    digitizing_official: str = "Cán bộ số hóa (development)"
    # A certified-copy request waits in a queue until an official with the certifier role confirms
    # it, and is signed with that officer's key; false: signed at once by the certifying officer.
    certify_by_officer: bool = False
    # The digitization result code (Circular 01/2023, Art. 8): the agency's code (mã định danh
    # điện tử of the agency, QCVN 102:2016) and the code's format; fields {agency}, {date}
    # (yymmdd), {seq} (with a width, e.g. {seq:06d}), {check} (one character over the rest).
    agency_code: str = "000.00.00.H00"
    result_code_format: str = "{agency}-{date}-{seq:06d}-{check}"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sohoa.db').as_posix()}"

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"file://{(self.data_dir / 'objects').as_posix()}"

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def development_signer(self) -> bool:
        """No agency key configured: certification would use the development PKI under pki_dir."""
        return not self.pkcs11_module and not self.signer_pkcs12


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (CLI flags) on top; a value
    that does not validate is a :class:`ConfigError` naming its variable (lists are JSON:
    ``SOHOA_TRUST_ROOTS='["a.pem", "b.pem"]'``)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "?"
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}: {first['msg']} (got {first.get('input')!r})") from exc
    except SettingsError as exc:  # a list given in the environment that is not JSON
        match = re.search(r'field "(\w+)"', str(exc))
        name = f"{ENV_PREFIX}{match.group(1).upper()}" if match else "a setting"
        raise ConfigError(f"{name}: not a JSON value ({exc.__cause__ or exc})") from exc
