"""The object store contract, on the local folder and on a real S3 server (SeaweedFS)."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from minio import Minio

from core.errors import ConfigError, InputError, IntegrityError
from storage.objects import ObjectStore, key_for, open_store, sha256_of_key
from storage.s3 import PART_SIZE, S3Store
from tests.support.servers import S3Endpoint


def test_keys_are_content_addressed() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert key_for(digest) == f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert sha256_of_key(key_for(digest)) == digest
    for bad in ("../etc/passwd", f"sha256/00/00/{digest}", "sha256/ab"):
        with pytest.raises(InputError):
            sha256_of_key(bad)


def test_put_is_idempotent_and_reads_verify(store: ObjectStore) -> None:
    data = "Giấy khai sinh — bản chính".encode()
    first = store.put_bytes(data, "text/plain")
    second = store.put_bytes(data, "text/plain")
    assert first.key == key_for(hashlib.sha256(data).hexdigest())
    assert (first.existed, second.existed) == (False, True)
    assert store.get_bytes(first.key) == data
    assert store.exists(first.key)
    assert list(store.iter_keys()) == [first.key]


def test_missing_object_is_a_clear_error(store: ObjectStore) -> None:
    key = key_for("0" * 64)
    assert not store.exists(key)
    with pytest.raises(InputError, match="not in the store"):
        store.get_bytes(key)


def test_put_file_streams_large_files_multipart(store: ObjectStore, tmp_path: Path) -> None:
    big = tmp_path / "scan.tiff"
    big.write_bytes(os.urandom(PART_SIZE + 3 * 1024 * 1024))  # more than one part
    obj = store.put_file(big, "image/tiff")
    assert obj.size == big.stat().st_size and not obj.existed
    assert store.put_file(big).existed
    out = store.download(obj.key, tmp_path / "back.tiff")
    assert out.read_bytes() == big.read_bytes()
    if isinstance(store, S3Store):
        etag = store.client.stat_object(store.bucket, obj.key).etag
        assert "-" in etag, f"expected a multipart ETag, got {etag}"


def test_local_blobs_are_read_only_and_leave_no_temp_files(local_store: ObjectStore) -> None:
    obj = local_store.put_bytes(b"original scan")
    path = local_store.local_path(obj.key)
    assert path is not None and path.read_bytes() == b"original scan"
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert local_store.presigned_url(obj.key).startswith("file://")


def test_local_corruption_is_detected(local_store: ObjectStore) -> None:
    obj = local_store.put_bytes(b"A" * 1000)
    path = local_store.local_path(obj.key)
    assert path is not None
    path.chmod(0o644)
    path.write_bytes(b"B" * 1000)
    with pytest.raises(IntegrityError, match="corrupt"):
        local_store.get_bytes(obj.key)
    with pytest.raises(IntegrityError):
        local_store.download(obj.key, path.parent.parent / "out.bin")


def test_s3_corruption_on_the_server_is_detected(s3_store: S3Store, tmp_path: Path) -> None:
    obj = s3_store.put_bytes(b"certified copy bytes" * 100, "application/pdf")
    tampered = b"certified copy BYTES" * 100
    s3_store.client.put_object(s3_store.bucket, obj.key, io.BytesIO(tampered), len(tampered))
    with pytest.raises(IntegrityError, match="corrupt"):
        s3_store.get_bytes(obj.key)
    with pytest.raises(IntegrityError):
        s3_store.download(obj.key, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


def test_s3_wrong_secret_is_refused(s3_endpoint: S3Endpoint) -> None:
    with pytest.raises(ConfigError, match="refused the credentials"):
        open_store(s3_endpoint.store_url("sohoa-wrong", secret="not-the-secret"))
    client = Minio(s3_endpoint.url, s3_endpoint.access_key, "not-the-secret", secure=False)
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        client.list_buckets()


def test_s3_presigned_url_downloads_and_cannot_be_altered(s3_store: S3Store) -> None:
    data = b"%PDF certified copy"
    obj = s3_store.put_bytes(data, "application/pdf")
    url = s3_store.presigned_url(obj.key, timedelta(minutes=5))
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == data
    other = s3_store.put_bytes(b"someone else's copy")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url.replace(obj.key, other.key), timeout=10)
    assert refused.value.code == 403


def test_delete_and_store_urls(store: ObjectStore) -> None:
    obj = store.put_bytes(b"unreferenced")
    store.delete(obj.key)
    assert not store.exists(obj.key)
    assert list(store.iter_keys()) == []


def test_bad_store_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        open_store("ftp://example/bucket")
    with pytest.raises(ConfigError):
        open_store("s3://127.0.0.1:9/bucket")
    with pytest.raises(ConfigError):
        open_store("s3://a:b@127.0.0.1:9/ab")


def test_unreachable_s3_server_is_one_clear_error() -> None:
    from core.errors import ExternalToolError

    with pytest.raises(ExternalToolError, match="unreachable"):
        open_store("s3://a:b@127.0.0.1:9/bucket?secure=false")
