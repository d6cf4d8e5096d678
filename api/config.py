"""Settings of the HTTP API alone (``SOHOA_API_*``), beside the project's shared ``Settings``.

Kept apart so the shared settings stay about the pipeline; the per-file limits (bytes, pages,
pixels) are the pipeline's own, so the API refuses exactly what ingest would refuse.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.budget import ParseBudget
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
    # A batch's job process: killed past this wall time or this much memory (its own and its page
    # workers' resident memory together), and the batch failed with that reason, not tried again.
    job_seconds: int = Field(default=3600, ge=10)
    job_memory_mb: int = Field(default=4096, ge=256)
    # A batch whose job process died (a crash, the kernel's OOM killer, a server killed mid-run) is
    # started again at most this many times in all, then failed with the reason.
    job_attempts: int = Field(default=3, ge=1)
    # How long a running batch's claim holds without a heartbeat (renewed every quarter of it):
    # a batch is taken up again after a crash only once this has passed, never while its job runs.
    job_lease_seconds: int = Field(default=40, ge=4)
    # Let verification fetch issuer certificates and revocation data (OCSP, CRL) from addresses named
    # in the uploaded PDF's certificates. Off: an uploaded file must not steer the server's requests
    # (server-side request forgery); a file without embedded revocation data is then reported
    # INDETERMINATE (TRY_LATER, "could not be checked offline"). Turn on only behind an egress policy.
    verify_fetch: bool = False
    # Every parse of an uploaded PDF in the server (verification, the upload's checks, a result) runs in a
    # process of its own with this much CPU time, heap and wall time (see api.budget): a file that
    # costs more is refused with the reason, and the request threads never carry the work.
    parse_cpu_seconds: int = Field(default=20, ge=1)
    parse_memory_mb: int = Field(default=1024, ge=64)
    parse_wall_seconds: int = Field(default=60, ge=1)

    def parse_budget(self) -> ParseBudget:
        return ParseBudget(cpu_seconds=self.parse_cpu_seconds, memory_mb=self.parse_memory_mb,
                           wall_seconds=float(self.parse_wall_seconds))

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
