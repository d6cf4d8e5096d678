"""The S3 object store, through the ``minio`` SDK (MinIO in production; any plain S3 server works).

Writes are idempotent: the blob's key is its hash, so a ``HEAD`` that finds it skips the upload.
Files are streamed and uploaded in parts (multipart above :data:`PART_SIZE`), and every read is
hashed against its key, so a blob changed on the server is caught rather than served.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from core.errors import ConfigError, ExternalToolError, InputError, IntegrityError
from storage.objects import (
    CHUNK,
    ObjectInfo,
    StoredObject,
    check_bytes,
    hash_upload,
    is_key,
    key_for,
    sha256_bytes,
    sha256_file,
    sha256_of_key,
)

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024  # S3 parts must be >= 5 MiB; files above one part go multipart
_AUTH_CODES = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken"}


def _error(exc: Exception, what: str) -> Exception:
    """Map an SDK/network failure to the project's one-line errors."""
    if isinstance(exc, S3Error):
        if exc.code in _AUTH_CODES:
            return ConfigError(f"S3 server refused the credentials ({exc.code}) while trying to {what}")
        if exc.code == "NoSuchBucket":
            return ConfigError(f"S3 bucket missing ({exc.bucket_name}) while trying to {what}")
        return ExternalToolError(f"S3 error {exc.code} while trying to {what}: {exc.message}")
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return ExternalToolError(f"S3 server unreachable while trying to {what}: {exc}")
    return exc


class S3Store:
    """Blobs in one bucket under their content-addressed keys."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = True,
        region: str | None = None,
        create_bucket: bool = True,
    ) -> None:
        if len(bucket) < 3:
            raise ConfigError(f"S3 bucket name {bucket!r} too short (3 characters at least)")
        self.bucket = bucket
        self.endpoint = endpoint
        scheme = "https" if secure else "http"
        self.url = f"s3://{endpoint}/{bucket}" + ("" if secure else "?secure=false")  # no secrets
        self._http = f"{scheme}://{endpoint}"
        # Few retries and short timeouts: a dead server should fail in seconds with one clear line.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=60),
            maxsize=10,
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        if create_bucket:
            self.ensure_bucket()

    @classmethod
    def from_url(cls, url: str) -> S3Store:
        """``s3://ACCESS:SECRET@host:port/bucket[?secure=false&region=R]`` (secrets URL-quoted if needed)."""
        parts = urlsplit(url)
        if not parts.hostname or not parts.username or parts.password is None:
            raise ConfigError("S3 store URL needs s3://ACCESS:SECRET@host:port/bucket")
        bucket = parts.path.strip("/")
        if not bucket or "/" in bucket:
            raise ConfigError(
                "S3 store URL needs exactly one bucket name after the host: s3://…@host:port/bucket"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        secure = query.get("secure", "true").lower() not in {"false", "0", "no"}
        endpoint = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        return cls(
            endpoint,
            unquote(parts.username),
            unquote(parts.password),
            bucket,
            secure=secure,
            region=query.get("region"),
        )

    def __repr__(self) -> str:
        return f"S3Store({self.url})"

    def ensure_bucket(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
                log.info("created bucket %s on %s", self.bucket, self.endpoint)
        except S3Error as exc:
            if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise _error(exc, f"open bucket {self.bucket}") from exc
        except Exception as exc:
            raise _error(exc, f"open bucket {self.bucket}") from exc

    def _size(self, key: str) -> int | None:
        try:
            return self.client.stat_object(self.bucket, key).size
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}:
                return None
            raise _error(exc, f"look up {key}") from exc
        except Exception as exc:
            raise _error(exc, f"look up {key}") from exc

    def _already(self, key: str, size: int) -> bool:
        stored = self._size(key)
        if stored is None:
            return False
        if stored != size:
            log.warning("replacing %s: stored size %d differs from %d", key, stored, size)
            return False
        return True

    # -- writes ------------------------------------------------------------------------------------

    def put_bytes(self, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        import io

        digest = sha256_bytes(data)
        key = key_for(digest)
        if self._already(key, len(data)):
            return StoredObject(key, digest, len(data), existed=True)
        try:
            self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type, part_size=PART_SIZE
            )
        except Exception as exc:
            raise _error(exc, f"upload {key}") from exc
        return StoredObject(key, digest, len(data), existed=False)

    def put_file(self, path: Path, content_type: str = "application/octet-stream") -> StoredObject:
        """Hash the file first (the key depends on it), then stream it up in parts."""
        key, digest, size = hash_upload(path)
        if self._already(key, size):
            return StoredObject(key, digest, size, existed=True)
        try:
            with open(path, "rb") as f:
                self.client.put_object(
                    self.bucket,
                    key,
                    f,
                    size,
                    content_type=content_type,
                    part_size=PART_SIZE,
                    num_parallel_uploads=1,
                )
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from exc
        except Exception as exc:
            raise _error(exc, f"upload {key}") from exc
        if sha256_file(path)[0] != digest:
            raise IntegrityError(f"{path} changed while it was being stored")
        return StoredObject(key, digest, size, existed=False)

    # -- reads -------------------------------------------------------------------------------------

    def _get(self, key: str):
        sha256_of_key(key)
        try:
            return self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject"}:
                raise InputError(f"object {key} is not in the store {self.url}") from None
            raise _error(exc, f"read {key}") from exc
        except Exception as exc:
            raise _error(exc, f"read {key}") from exc

    def get_bytes(self, key: str) -> bytes:
        response = self._get(key)
        try:
            data = response.read()
        except Exception as exc:
            raise _error(exc, f"read {key}") from exc
        finally:
            response.close()
            response.release_conn()
        return check_bytes(key, data, self.url)

    def download(self, key: str, dest: Path) -> Path:
        """Stream a blob to ``dest``, hashing on the way; a corrupt blob leaves no file behind."""
        import hashlib

        response = self._get(key)
        h = hashlib.sha256()
        tmp = dest.with_name(dest.name + ".part")
        try:
            with open(tmp, "wb") as out:
                for chunk in response.stream(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise _error(exc, f"read {key}") from exc
        finally:
            response.close()
            response.release_conn()
        if h.hexdigest() != sha256_of_key(key):
            tmp.unlink(missing_ok=True)
            raise IntegrityError(f"object {key} in {self.url} is corrupt: its bytes hash to {h.hexdigest()}")
        tmp.replace(dest)
        return dest

    def exists(self, key: str) -> bool:
        sha256_of_key(key)
        return self._size(key) is not None

    def delete(self, key: str) -> None:
        sha256_of_key(key)
        try:
            self.client.remove_object(self.bucket, key)
        except Exception as exc:
            raise _error(exc, f"delete {key}") from exc

    def iter_objects(self) -> Iterator[ObjectInfo]:
        try:
            for obj in self.client.list_objects(self.bucket, prefix="sha256/", recursive=True):
                if obj.object_name and is_key(obj.object_name) and obj.last_modified is not None:
                    modified = obj.last_modified
                    if modified.tzinfo is None:
                        modified = modified.replace(tzinfo=UTC)
                    yield ObjectInfo(obj.object_name, obj.size or 0, modified)
        except S3Error as exc:
            raise _error(exc, "list objects") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc, "list objects") from exc

    def iter_keys(self) -> Iterator[str]:
        for info in self.iter_objects():
            yield info.key

    def presigned_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        """A time-limited GET link, e.g. for a citizen to download a certified copy."""
        sha256_of_key(key)
        try:
            return self.client.presigned_get_object(self.bucket, key, expires=expires)
        except Exception as exc:
            raise _error(exc, f"sign a link to {key}") from exc

    def local_path(self, key: str) -> Path | None:
        return None
