"""Garbage collection of blobs no record points at.

Blobs are written before the records that point at them, so a crash between the two leaves a blob
nobody references; this removes such blobs. A blob younger than the grace period is spared (its
record may be committing right now), and each candidate is checked against the records again just
before it is deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.audit import record_event
from storage.db import Database
from storage.objects import ObjectStore, is_key
from storage.records import is_referenced, referenced_keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GcReport:
    scanned: int
    referenced: int
    removed: tuple[str, ...]
    spared_young: int
    bytes_removed: int
    dry_run: bool


def collect_garbage(
    db: Database,
    store: ObjectStore,
    *,
    min_age: timedelta = timedelta(hours=1),
    dry_run: bool = False,
    actor: str = "gc",
) -> GcReport:
    """Remove blobs no record points at and that are older than ``min_age``; the removal is audited."""
    keep = referenced_keys(db)
    cutoff = datetime.now(UTC) - min_age
    removed: list[str] = []
    scanned = young = size = 0
    for info in store.iter_objects():
        if not is_key(info.key):  # a temp file left by a crash mid-write (local store)
            if info.modified < cutoff and not dry_run and hasattr(store, "remove_temp"):
                store.remove_temp(info.key)
            continue
        scanned += 1
        if info.key in keep:
            continue
        if info.modified >= cutoff:
            young += 1
            continue
        if is_referenced(db, info.key):  # recorded since the scan began
            continue
        if not dry_run:
            store.delete(info.key)
            log.info("removed unreferenced blob %s (%d bytes)", info.key, info.size)
        removed.append(info.key)
        size += info.size
    if removed and not dry_run:
        record_event(
            db,
            actor=actor,
            action="store.gc",
            subject=f"store:{store.url}",
            details={"removed": len(removed), "bytes": size, "keys": removed[:100]},
        )
    return GcReport(scanned, scanned - len(removed) - young, tuple(removed), young, size, dry_run)
