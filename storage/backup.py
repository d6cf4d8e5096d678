"""Backup and restore of a deployment: its records and its objects, as one consistent snapshot.

A backup is a folder: ``records.sqlite`` (every table of the records database, whatever the
source's engine), ``objects/`` (a local object store holding every blob) and ``backup.json`` (what
it holds, with the records file's hash). Copying ``sohoa.db`` by hand is not a backup: in WAL mode
the newest transactions live in ``sohoa.db-wal`` until a checkpoint, and a copy of the main file
alone lost 18 of 69 audit events. So the records are read in one snapshot: SQLite's online backup
API, or one read-only REPEATABLE READ transaction on PostgreSQL (a logical copy through SQLAlchemy,
which needs no ``pg_dump`` of the server's version on the machine).

The records are taken first and the objects after: blobs are written before any record points at
them and are never changed, so every blob the snapshot names is there to copy (checked; a blob
written meanwhile is copied too, and harmless). A restore writes the objects first and the records
last, into services that hold no records yet, so an interrupted restore never leaves records
pointing at missing blobs.

This module also opens a deployment that must exist already (:func:`open_existing_database`,
:func:`open_existing_store`): read-only commands use them, so a command run in the wrong folder
says so instead of creating an empty deployment there and answering from it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Integer, MetaData, Table, func, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from core.errors import ConfigError, ExternalToolError, InputError, IntegrityError
from storage.db import Database, _alembic_config, create_db_engine, head_revision, migrate
from storage.models import Base
from storage.objects import ObjectStore, open_store

log = logging.getLogger(__name__)

FORMAT = 1
RECORDS_FILE = "records.sqlite"
OBJECTS_DIR = "objects"
MANIFEST_FILE = "backup.json"
_CHUNK_ROWS = 1000


# -- an existing deployment ------------------------------------------------------------------------


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other engines or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1] if "///" in url else ""
    return Path(path).expanduser() if path and path != ":memory:" else None


def hide_password(url: str) -> str:
    """A URL fit to print: its password (or S3 secret) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return parts._replace(netloc=f"{user}@{netloc[-1]}").geturl()


def schema_revision(engine: Engine) -> str | None:
    """The records' Alembic revision; None when the database holds no sohoa schema."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_existing_database(url: str) -> Database:
    """Open records that exist already, at this sohoa's schema; never creates a file or a table."""
    shown = hide_password(url)
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise ConfigError(
            f"no records database at {path.resolve()}: this command reads an existing deployment; run it where "
            "that deployment's SOHOA_DATA_DIR (or SOHOA_DATABASE_URL) points (sohoa info shows what is used)"
        )
    engine = create_db_engine(url)
    try:
        current = schema_revision(engine)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ExternalToolError(f"cannot open database {shown}: {reason}") from exc
    head = head_revision()
    if current is None:
        engine.dispose()
        raise ConfigError(f"database {shown} holds no sohoa records (no schema): nothing to read there")
    if current != head:
        engine.dispose()
        raise ConfigError(
            f"database {shown} is at schema revision {current}, this sohoa reads {head}: run sohoa db upgrade"
        )
    return Database(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def s3_parts(url: str) -> dict[str, Any]:
    """The parts of ``s3://ACCESS:SECRET@host:port/bucket[?secure=false&region=R]``."""
    parts = urlsplit(url)
    if not parts.hostname or not parts.username or parts.password is None:
        raise ConfigError("S3 store URL needs s3://ACCESS:SECRET@host:port/bucket")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {
        "endpoint": parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}",
        "access_key": unquote(parts.username),
        "secret_key": unquote(parts.password),
        "bucket": parts.path.strip("/"),
        "secure": query.get("secure", "true").lower() not in {"false", "0", "no"},
        "region": query.get("region"),
    }


def open_existing_store(url: str) -> ObjectStore:
    """Open an object store that exists already; never creates a folder or a bucket."""
    if url.startswith("s3://"):
        from storage.s3 import S3Store

        p = s3_parts(url)
        store = S3Store(p["endpoint"], p["access_key"], p["secret_key"], p["bucket"], secure=p["secure"],
                        region=p["region"], create_bucket=False)
        try:
            found = store.client.bucket_exists(store.bucket)
        except Exception as exc:  # the server is away or refuses the keys: one line
            raise ExternalToolError(f"cannot reach the object store {store.url}: {type(exc).__name__}") from exc
        if not found:
            raise ConfigError(f"the object store {store.url} has no bucket {store.bucket!r}")
        return store
    folder = Path(url.removeprefix("file://")) if url.startswith("file://") or "://" not in url else None
    if folder is not None and not folder.is_dir():
        raise ConfigError(
            f"no object store at {folder.resolve()}: this command reads an existing deployment (sohoa info shows what is used)"
        )
    return open_store(url)


# -- the snapshot's description --------------------------------------------------------------------


@dataclass
class BackupManifest:
    """What a backup holds, written beside it as ``backup.json`` and checked before a restore."""

    format: int
    created: str  # ISO 8601, UTC
    source_database: str  # engine name: sqlite | postgresql
    revision: str | None
    records_sha256: str
    tables: dict[str, int] = field(default_factory=dict)  # rows per table
    objects: int = 0
    object_bytes: int = 0
    audit_events: int = 0

    def write(self, folder: Path) -> None:
        text_ = json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        tmp = folder / (MANIFEST_FILE + ".tmp")
        tmp.write_text(text_, encoding="utf-8")
        tmp.replace(folder / MANIFEST_FILE)

    @classmethod
    def read(cls, folder: Path) -> BackupManifest:
        path = folder / MANIFEST_FILE
        if not path.is_file():
            raise InputError(f"{folder} is not a sohoa backup (no {MANIFEST_FILE})")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = cls(**data)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{path} is not a sohoa backup description: {exc}") from exc
        if manifest.format != FORMAT:
            raise InputError(f"{folder}: backup format {manifest.format}, this sohoa reads format {FORMAT}")
        return manifest


@dataclass(frozen=True)
class BackupReport:
    folder: Path
    manifest: BackupManifest


# -- copying records -------------------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _sqlite_snapshot(source: Path, dest: Path) -> None:
    """SQLite's online backup API: a consistent copy with the WAL's committed transactions in it,
    taken while other processes keep writing."""
    src = sqlite3.connect(f"file:{source}?mode=rw", uri=True, timeout=30)  # rw: leaves no WAL files behind
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def _tables_in_order(source: MetaData) -> list[str]:
    """The model's tables parents first, then any other table the database holds (the API's)."""
    known = [t.name for t in Base.metadata.sorted_tables if t.name in source.tables]
    others = [t.name for t in source.sorted_tables if t.name not in known and t.name != "alembic_version"]
    return known + others


def _create_missing_tables(source: MetaData, dest_engine: Engine) -> None:
    """Tables the migrations do not make (the API's keys and requests), rebuilt from the source's
    description with engine-neutral types."""
    present = set(inspect(dest_engine).get_table_names())
    extra = MetaData()
    for table in source.sorted_tables:
        if table.name in present or table.name == "alembic_version":
            continue
        copy = table.to_metadata(extra)
        for column in copy.columns:
            try:
                column.type = column.type.as_generic()
            except NotImplementedError:
                pass
            column.server_default = None
        copy.indexes.clear()
    extra.create_all(dest_engine)


def _copy_rows(source_engine: Engine, dest_engine: Engine, revision: str | None) -> dict[str, int]:
    """A logical copy of every table, in one read-only snapshot of the source, into a destination
    whose schema is brought to the source's revision first. Returns rows per table."""
    if revision is not None:
        cfg = _alembic_config()
        with dest_engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
    source_meta = MetaData()
    source_meta.reflect(source_engine)
    _create_missing_tables(source_meta, dest_engine)
    dest_meta = MetaData()
    dest_meta.reflect(dest_engine)
    counts: dict[str, int] = {}
    source = source_engine.connect()
    if source_engine.dialect.name == "postgresql":  # every table read from one snapshot
        source = source.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with source as src, dest_engine.begin() as dst:
        for conn in (src, dst):
            if conn.dialect.name == "postgresql":  # naive times (SQLite's) mean UTC on both sides
                conn.execute(text("SET TIME ZONE 'UTC'"))
        for name in _tables_in_order(source_meta):
            counts[name] = _copy_table(src, dst, name, source_meta.tables[name], dest_meta.tables[name])
        src.rollback()
    return counts


def _copy_table(src: Any, dst: Any, name: str, source_table: Table, dest_table: Table) -> int:
    """Rows in primary-key order (a document reused from another comes after it), through the
    model's table where there is one (its types: UTC datetimes, JSON), else the reflected one."""
    columns = [c.name for c in source_table.columns if c.name in dest_table.columns]
    model = Base.metadata.tables.get(name)
    table = model if model is not None and all(c in model.columns for c in columns) else dest_table
    reader = model if table is model else source_table
    wanted = [reader.columns[c] for c in columns]
    order = [reader.columns[c.name] for c in source_table.primary_key.columns if c.name in columns]
    dst.execute(table.delete())  # a migration may seed a row (the audit head); the snapshot's wins
    rows = 0
    result = src.execute(select(*wanted).order_by(*order))
    while chunk := result.fetchmany(_CHUNK_ROWS):
        dst.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in chunk])
        rows += len(chunk)
    if dst.dialect.name == "postgresql":  # the next id after the restored ones
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer):
                dst.execute(
                    text(f"SELECT setval(pg_get_serial_sequence(:t, :c), "
                         f"COALESCE((SELECT MAX({column.name}) FROM {name}), 0) + 1, false)"),
                    {"t": name, "c": column.name},
                )
    return rows


def _row_counts(engine: Engine) -> dict[str, int]:
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(meta.tables[name])).scalar_one()
                for name in _tables_in_order(meta)}


def _is_empty(engine: Engine) -> bool:
    names = set(inspect(engine).get_table_names())
    return not names


# -- backup ----------------------------------------------------------------------------------------


def backup(database_url: str, store_url: str, dest: Path,
           progress: Callable[[str], None] = lambda _m: None) -> BackupReport:
    """Take a consistent snapshot of the records, then copy every object, into ``dest`` (a new or
    empty folder)."""
    dest = dest.expanduser()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest} is not an empty folder: a backup goes into a new one")
    db = open_existing_database(database_url)
    try:
        store: ObjectStore | None = open_existing_store(store_url)
    except ConfigError:
        if not store_url.startswith("file://"):
            db.dispose()
            raise
        store = None  # records, no blob stored yet: the folder appears with the first one
    dest.mkdir(parents=True, exist_ok=True)
    records = dest / RECORDS_FILE
    try:
        revision = schema_revision(db.engine)
        path = sqlite_path(database_url)
        progress("records: taking a snapshot")
        if path is not None:
            _sqlite_snapshot(path, records)
        else:
            target = create_db_engine(f"sqlite:///{records.as_posix()}")
            try:
                _copy_rows(db.engine, target, revision)
            finally:
                target.dispose()
    finally:
        db.dispose()
    snapshot = _open_snapshot(records)
    try:
        tables = _row_counts(snapshot.engine)
        from storage.records import referenced_keys

        referenced = referenced_keys(snapshot)
    finally:
        snapshot.dispose()
    progress(f"records: {sum(tables.values())} rows in {len(tables)} tables; objects: copying")
    backed_up = open_store(f"file://{(dest / OBJECTS_DIR).as_posix()}")
    copied, size = _copy_objects(store, backed_up, progress) if store is not None else (0, 0)
    missing = sorted(k for k in referenced if not backed_up.exists(k))
    if missing:
        raise IntegrityError(
            f"{len(missing)} object(s) the records name are not in the object store (first: {missing[0]}); "
            "the backup in {dest} is incomplete: run sohoa store verify".replace("{dest}", str(dest))
        )
    manifest = BackupManifest(
        format=FORMAT,
        created=datetime.now(UTC).isoformat(),
        source_database="sqlite" if sqlite_path(database_url) else "postgresql",
        revision=revision,
        records_sha256=_file_sha256(records),
        tables=tables,
        objects=copied,
        object_bytes=size,
        audit_events=tables.get("audit_events", 0),
    )
    manifest.write(dest)
    log.info("backup written: %d rows, %d objects", sum(tables.values()), copied)
    return BackupReport(dest, manifest)


def _copy_objects(source: ObjectStore, dest: ObjectStore, progress: Callable[[str], None]) -> tuple[int, int]:
    """Every blob, each checked against its key on the way (a corrupt one stops the copy)."""
    count = size = 0
    with tempfile.TemporaryDirectory(prefix="sohoa-backup-") as spare:
        for key in source.iter_keys():
            local = source.local_path(key)
            if local is None:  # through a file, not memory: a blob may be hundreds of megabytes
                local = source.download(key, Path(spare) / "blob")
            stored = dest.put_file(local)
            if stored.key != key:
                raise IntegrityError(f"object {key} in {source.url} is corrupt: its bytes hash to {stored.sha256}")
            count += 1
            size += stored.size
            if count % 500 == 0:
                progress(f"objects: {count} copied")
    return count, size


def _open_snapshot(path: Path) -> Database:
    engine = create_db_engine(f"sqlite:///{path.as_posix()}")
    return Database(url=f"sqlite:///{path.as_posix()}", engine=engine,
                    sessions=sessionmaker(engine, expire_on_commit=False))


# -- restore ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreReport:
    tables: dict[str, int]
    objects: int
    revision: str | None


def check_backup(src: Path) -> BackupManifest:
    """The backup's description, with its records file checked against the hash it recorded."""
    src = src.expanduser()
    manifest = BackupManifest.read(src)
    records = src / RECORDS_FILE
    if not records.is_file():
        raise InputError(f"{src}: the backup has no {RECORDS_FILE}")
    if _file_sha256(records) != manifest.records_sha256:
        raise IntegrityError(f"{records} does not hash to what {MANIFEST_FILE} recorded: the backup is damaged")
    return manifest


def restore(src: Path, database_url: str, store_url: str,
            progress: Callable[[str], None] = lambda _m: None) -> RestoreReport:
    """Restore a backup into a records database that holds nothing yet and an object store: objects
    first, then the records; then the schema is brought to this sohoa's revision."""
    src = src.expanduser()
    manifest = check_backup(src)
    path = sqlite_path(database_url)
    if path is not None and path.exists() and path.stat().st_size > 0:
        raise InputError(f"a records database already exists at {path}: restore goes into an empty deployment")
    engine = None
    if path is None:
        engine = create_db_engine(database_url)
        try:
            empty = _is_empty(engine)
        except OperationalError as exc:
            engine.dispose()
            raise ExternalToolError(f"cannot open database {hide_password(database_url)}: {exc.orig}") from exc
        if not empty:
            engine.dispose()
            raise InputError(
                f"database {hide_password(database_url)} is not empty: restore goes into an empty database"
            )
    target_store = open_store(store_url)
    progress(f"objects: restoring {manifest.objects}")
    copied, _size = _copy_objects(open_store(f"file://{(src / OBJECTS_DIR).as_posix()}"), target_store, progress)
    if copied != manifest.objects:
        raise IntegrityError(f"{src}: {copied} objects found, the backup recorded {manifest.objects}")
    progress("records: restoring")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        src_conn = sqlite3.connect(f"file:{src / RECORDS_FILE}?mode=ro", uri=True)
        dst_conn = sqlite3.connect(path)
        try:
            src_conn.backup(dst_conn)
            dst_conn.execute("PRAGMA journal_mode=WAL")
        finally:
            dst_conn.close()
            src_conn.close()
        engine = create_db_engine(database_url)
    else:
        assert engine is not None
        snapshot = _open_snapshot(src / RECORDS_FILE)
        try:
            _copy_rows(snapshot.engine, engine, manifest.revision)
        finally:
            snapshot.dispose()
    try:
        tables = _row_counts(engine)
        if tables != manifest.tables:
            differ = sorted(n for n in set(tables) | set(manifest.tables) if tables.get(n) != manifest.tables.get(n))
            raise IntegrityError(f"restored rows differ from the backup's in {', '.join(differ)}")
        migrate(engine)
    finally:
        engine.dispose()
    log.info("restored %d rows and %d objects", sum(tables.values()), copied)
    return RestoreReport(tables=tables, objects=copied, revision=manifest.revision)
