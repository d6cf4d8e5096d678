"""The object store: one interface for every blob the project keeps, addressed by its SHA-256.

Keys are derived from content (``sha256/ab/cd/<hex>``, design.md), so a write of bytes already
stored is a no-op, a record can never point at different bytes than it was made with, and every
read can be checked against the key it came from. Two implementations share this contract: a local
folder (the embedded default, :mod:`storage.local`) and S3 through the ``minio`` SDK
(:mod:`storage.s3`). :func:`open_store` picks one from a URL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from core.errors import ConfigError, InputError, IntegrityError

_HEX = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """What a write did: the key, the hash and size of the bytes, and whether they were already there."""

    key: str
    sha256: str
    size: int
    existed: bool


@dataclass(frozen=True)
class ObjectInfo:
    """One listed blob; ``modified`` lets garbage collection spare blobs written moments ago."""

    key: str
    size: int
    modified: datetime


@runtime_checkable
class ObjectStore(Protocol):
    """Content-addressed blob storage. Implementations never modify a stored blob."""

    url: str

    def put_bytes(self, data: bytes, content_type: str = "application/octet-stream") -> StoredObject: ...

    def put_file(self, path: Path, content_type: str = "application/octet-stream") -> StoredObject: ...

    def get_bytes(self, key: str) -> bytes: ...

    def download(self, key: str, dest: Path) -> Path: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def iter_keys(self) -> Iterator[str]: ...

    def iter_objects(self) -> Iterator[ObjectInfo]: ...

    def presigned_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str: ...

    def local_path(self, key: str) -> Path | None: ...


def key_for(sha256_hex: str) -> str:
    """The object key of bytes with this SHA-256 (lower-case hex)."""
    if not _HEX.fullmatch(sha256_hex):
        raise InputError(f"not a SHA-256 hex digest: {sha256_hex!r}")
    return f"sha256/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


def sha256_of_key(key: str) -> str:
    """The hash a key promises; refuses anything that is not a content-addressed key."""
    m = _KEY.fullmatch(key)
    if not m or m.group(1) != m.group(3)[:2] or m.group(2) != m.group(3)[2:4]:
        raise InputError(f"not an object key of this store: {key!r}")
    return m.group(3)


def is_key(key: str) -> bool:
    try:
        sha256_of_key(key)
    except InputError:
        return False
    return True


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_stream(stream: BinaryIO) -> tuple[str, int]:
    """Hash a stream in chunks, so large scans never sit in memory whole."""
    h = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def sha256_file(path: Path) -> tuple[str, int]:
    with open(path, "rb") as f:
        return sha256_stream(f)


def hash_upload(path: Path) -> tuple[str, str, int]:
    """(key, sha256, size) of a file about to be stored: the key depends on the content, so every
    store hashes the whole file before writing; a file that cannot be read is the caller's bad input."""
    try:
        digest, size = sha256_file(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    return key_for(digest), digest, size


def check_bytes(key: str, data: bytes, where: str) -> bytes:
    """Raise IntegrityError unless ``data`` hashes to what ``key`` promises."""
    expected = sha256_of_key(key)
    actual = sha256_bytes(data)
    if actual != expected:
        raise IntegrityError(f"object {key} in {where} is corrupt: its bytes hash to {actual}")
    return data


def open_store(url: str) -> ObjectStore:
    """Open ``file://DIR`` (created if missing) or ``s3://ACCESS:SECRET@host:port/bucket[?secure=false]``."""
    if url.startswith("file://"):
        from storage.local import LocalStore

        return LocalStore(Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        from storage.s3 import S3Store

        return S3Store.from_url(url)
    if "://" not in url:
        from storage.local import LocalStore

        return LocalStore(Path(url))
    raise ConfigError(f"unsupported store URL scheme: {url.split('://', 1)[0]}:// (use file:// or s3://)")
