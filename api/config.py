"""Settings of the HTTP API alone (``SOHOA_API_*``), beside the project's shared ``Settings``.

Kept apart so the shared settings stay about the pipeline; the per-file limits (bytes, pages,
pixels) are the pipeline's own, so the API refuses exactly what ingest would refuse.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from api.uploads import UploadLimits
from core.settings import Settings


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOHOA_API_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8000
    max_files: int = 50  # per upload
    max_batch_bytes: int = 500 * 1024 * 1024  # per upload, all files together
    jobs: int = 1  # batches processed at once (each uses the pipeline's page workers)
    job_niceness: int = 10  # background work yields the CPU to the upload answers
    spool_dir: Path | None = None  # default: <data_dir>/api-spool
    # Let verification fetch issuer certificates and revocation data (OCSP, CRL) from addresses named
    # in the uploaded PDF's certificates. Off: an uploaded file must not steer the server's requests
    # (server-side request forgery); a file without embedded revocation data is then reported
    # INDETERMINATE (TRY_LATER, "could not be checked offline"). Turn on only behind an egress policy.
    verify_fetch: bool = False

    def spool(self, settings: Settings) -> Path:
        return self.spool_dir or settings.data_dir / "api-spool"

    def limits(self, settings: Settings) -> UploadLimits:
        return UploadLimits(
            max_file_bytes=settings.max_file_bytes,
            max_batch_bytes=self.max_batch_bytes,
            max_files=self.max_files,
            max_pages=settings.max_pages_per_file,
            max_page_pixels=settings.max_page_pixels,
        )
