"""Object store (local folder, S3), dossier records (SQLAlchemy + Alembic), audit log, reuse look-ups.

The flow calls :func:`open_store`, :func:`open_database`, :func:`start_batch`,
:func:`record_source_file` and :func:`archive_document`; everything else reads. The API records
and follows uploads through :mod:`storage.batches` (one batch record for both runners).
"""

# Imported on first use (PEP 562): ``import storage.objects`` or any ``sohoa`` command must not pay
# for SQLAlchemy and Alembic (about 0.6 s) when it only needs one light module of the package.
_EXPORTS = {
    "ArchivedDocument": "storage.archive",
    "SourceRecord": "storage.archive",
    "archive_document": "storage.archive",
    "record_certified_copy": "storage.archive",
    "record_source_file": "storage.archive",
    "set_review": "storage.archive",
    "start_batch": "storage.archive",
    "update_batch": "storage.archive",
    "Database": "storage.db",
    "open_database": "storage.db",
    "ObjectStore": "storage.objects",
    "StoredObject": "storage.objects",
    "key_for": "storage.objects",
    "open_store": "storage.objects",
    "ReusableResult": "storage.reuse",
    "find_reusable": "storage.reuse",
}


def __getattr__(name: str) -> object:
    import importlib

    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ArchivedDocument",
    "Database",
    "ObjectStore",
    "ReusableResult",
    "SourceRecord",
    "StoredObject",
    "archive_document",
    "find_reusable",
    "key_for",
    "open_database",
    "open_store",
    "record_certified_copy",
    "record_source_file",
    "set_review",
    "start_batch",
    "update_batch",
]
