"""Object store (local folder, S3), dossier records (SQLAlchemy + Alembic), audit log, reuse look-ups.

The pipeline calls :func:`open_store`, :func:`open_database`, :func:`start_batch`,
:func:`record_source_file` and :func:`archive_document`; everything else reads.
"""

from storage.archive import (
    ArchivedDocument,
    SourceRecord,
    archive_document,
    record_certified_copy,
    record_source_file,
    set_review,
    start_batch,
    update_batch,
)
from storage.db import Database, open_database
from storage.objects import ObjectStore, StoredObject, key_for, open_store
from storage.reuse import ReusableResult, find_reusable

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
