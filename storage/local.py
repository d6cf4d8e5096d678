"""The local-folder object store: the embedded default, one file per blob under its key.

A blob is written to a temporary file in its final folder, flushed and fsynced, then renamed into
place and the folder fsynced, so a crash leaves either the whole blob or no blob, never half of
one. Blobs are made read-only once written: originals are never modified.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.errors import ConfigError, InputError, IntegrityError
from storage.objects import (
    CHUNK,
    ObjectInfo,
    StoredObject,
    check_bytes,
    hash_upload,
    is_key,
    key_for,
    sha256_bytes,
    sha256_of_key,
    sha256_stream,
)

log = logging.getLogger(__name__)

_TMP_PREFIX = ".tmp-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    """Blobs under ``root/sha256/ab/cd/<hex>``."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the object store folder {self.root}: {exc.strerror}") from exc
        self.url = f"file://{self.root.as_posix()}"

    def __repr__(self) -> str:
        return f"LocalStore({self.root})"

    def _path(self, key: str) -> Path:
        sha256_of_key(key)  # refuses anything that could escape the root
        return self.root / key

    # -- writes ------------------------------------------------------------------------------------

    def _existing(self, path: Path, size: int) -> bool:
        """True if a complete blob is already there; refresh its time so gc's grace period counts from now."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        if st.st_size != size:
            log.warning("replacing %s: stored size %d differs from %d", path.name, st.st_size, size)
            return False
        try:
            os.utime(path)
        except PermissionError:
            pass
        return True

    def _write(self, key: str, fill) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                fill(f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def put_bytes(self, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        digest = sha256_bytes(data)
        key = key_for(digest)
        if self._existing(self._path(key), len(data)):
            return StoredObject(key, digest, len(data), existed=True)
        self._write(key, lambda f: f.write(data))
        return StoredObject(key, digest, len(data), existed=False)

    def put_file(self, path: Path, content_type: str = "application/octet-stream") -> StoredObject:
        key, digest, size = hash_upload(path)
        if self._existing(self._path(key), size):
            return StoredObject(key, digest, size, existed=True)

        def fill(out) -> None:
            with open(path, "rb") as src:
                got, _ = _copy_hashing(src, out)
            if got != digest:
                raise IntegrityError(f"{path} changed while it was being stored")

        self._write(key, fill)
        return StoredObject(key, digest, size, existed=False)

    # -- reads -------------------------------------------------------------------------------------

    def get_bytes(self, key: str) -> bytes:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            raise InputError(f"object {key} is not in the store {self.root}") from None
        return check_bytes(key, data, str(self.root))

    def download(self, key: str, dest: Path) -> Path:
        """Copy a blob to ``dest`` and verify it on the way (no whole-file read into memory)."""
        src = self._path(key)
        if not src.exists():
            raise InputError(f"object {key} is not in the store {self.root}")
        with open(src, "rb") as f:
            digest, _ = sha256_stream(f)
        if digest != sha256_of_key(key):
            raise IntegrityError(f"object {key} in {self.root} is corrupt: its bytes hash to {digest}")
        shutil.copyfile(src, dest)
        return dest

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)

    def iter_objects(self) -> Iterator[ObjectInfo]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if name.startswith(_TMP_PREFIX):
                    # A temp file left by a crash mid-write: report it so gc can remove it.
                    pass
                elif not is_key(key):
                    continue
                try:
                    st = full.stat()
                except FileNotFoundError:
                    continue
                yield ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def iter_keys(self) -> Iterator[str]:
        for info in self.iter_objects():
            if is_key(info.key):
                yield info.key

    def remove_temp(self, key: str) -> None:
        """Remove a temp file left by an interrupted write (gc only)."""
        path = (self.root / key).resolve()
        if path.name.startswith(_TMP_PREFIX) and self.root in path.parents:
            path.unlink(missing_ok=True)

    def presigned_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        """A ``file://`` URL: a local folder has no signed links, and the path is only useful on this host."""
        path = self._path(key)
        if not path.is_file():
            raise InputError(f"object {key} is not in the store {self.root}")
        return path.as_uri()

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


def _copy_hashing(src, out) -> tuple[str, int]:
    import hashlib

    h = hashlib.sha256()
    n = 0
    while chunk := src.read(CHUNK):
        h.update(chunk)
        out.write(chunk)
        n += len(chunk)
    return h.hexdigest(), n
