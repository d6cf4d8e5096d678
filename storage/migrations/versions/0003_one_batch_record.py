"""One batch record: the API's upload batches (``api_batches``) folded into ``batches``.

Until now an upload had two rows: the API's (created by the API with ``create_all``, string id,
idempotency key, spool, attempts, the result it showed) and the records' (created when processing
started, linked back through ``api_batches.storage_batch_id``), and the API copied state from one
to the other. ``batches`` now holds what both held, so both runners continue the row made when the
upload was accepted.

Data: an API row linked to a records batch is merged into it (the records' status wins once it
is finished, page counts take the larger, the API's error line joins ``errors``); an API row
without one (queued, or refused before processing) becomes a new ``batches`` row, with its
station and dossier created as needed. The API's string id becomes ``public_id``, so the URLs
clients hold keep working; batches made elsewhere get a random one. Then ``api_batches`` is
dropped. The API's ``result`` JSON is not kept: the documents it listed are the records' own
documents of the batch, which the API now reads directly.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
FINISHED = ("done", "failed")

_stations = sa.table(
    "stations", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("name", sa.String),
    sa.column("created", TS),
)
_dossiers = sa.table(
    "dossiers", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("procedure_code", sa.String),
    sa.column("status", sa.String), sa.column("created", TS), sa.column("updated", TS),
)
_batches = sa.table(
    "batches",
    sa.column("id", sa.Integer), sa.column("public_id", sa.String), sa.column("station_id", sa.Integer),
    sa.column("dossier_id", sa.Integer), sa.column("procedure_code", sa.String), sa.column("status", sa.String),
    sa.column("certify", sa.Boolean), sa.column("files", sa.Integer), sa.column("uploaded_files", sa.JSON),
    sa.column("spool_dir", sa.Text), sa.column("idempotency_key", sa.String), sa.column("fingerprint", sa.String),
    sa.column("pages_total", sa.Integer), sa.column("pages_done", sa.Integer), sa.column("attempts", sa.Integer),
    sa.column("error", sa.Text), sa.column("errors", sa.JSON), sa.column("created", TS), sa.column("started", TS),
    sa.column("finished", TS),
)
_api_batches = sa.table(
    "api_batches",
    sa.column("id", sa.String), sa.column("station", sa.String), sa.column("idempotency_key", sa.String),
    sa.column("fingerprint", sa.String), sa.column("dossier_code", sa.String), sa.column("procedure_code", sa.String),
    sa.column("certify", sa.Boolean), sa.column("status", sa.String), sa.column("files", sa.JSON),
    sa.column("spool_dir", sa.Text), sa.column("pages_total", sa.Integer), sa.column("pages_done", sa.Integer),
    sa.column("attempts", sa.Integer), sa.column("result", sa.JSON), sa.column("error", sa.Text),
    sa.column("storage_batch_id", sa.Integer), sa.column("created", TS), sa.column("started", TS),
    sa.column("finished", TS),
)


def _ADDED() -> list[sa.Column]:
    return [
        sa.Column("public_id", sa.String(32)),
        sa.Column("procedure_code", sa.String(64)),
        sa.Column("certify", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("uploaded_files", sa.JSON()),
        sa.Column("spool_dir", sa.Text()),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text()),
        sa.Column("started", TS),
    ]


def upgrade() -> None:
    for column in _ADDED():
        op.add_column("batches", column)  # ALTER TABLE ADD COLUMN on every backend, no rebuild

    conn = op.get_bind()
    if sa.inspect(conn).has_table("api_batches"):
        _fold_api_batches(conn)
    for (batch_id,) in conn.execute(sa.select(_batches.c.id).where(_batches.c.public_id.is_(None))).all():
        conn.execute(_batches.update().where(_batches.c.id == batch_id).values(public_id=uuid.uuid4().hex))

    # Unique indexes rather than constraints, and NOT NULL only where ALTER can add it: on SQLite
    # either would rebuild the table, and dropping the old one trips the foreign keys of
    # source_files, documents and manifests. The model fills public_id on every insert.
    if conn.dialect.name != "sqlite":
        op.alter_column("batches", "public_id", existing_type=sa.String(32), nullable=False)
    op.create_index("uq_batches_public_id", "batches", ["public_id"], unique=True)
    op.create_index("uq_batches_station_idempotency_key", "batches", ["station_id", "idempotency_key"], unique=True)
    op.create_index("ix_batches_station_created", "batches", ["station_id", "created"])
    op.create_index("ix_batches_status", "batches", ["status"])
    if sa.inspect(conn).has_table("api_batches"):
        op.drop_table("api_batches")


def _fold_api_batches(conn: sa.Connection) -> None:
    """Every API row into ``batches``: merged into its records batch, or as a new row."""
    stations: dict[str, int] = {code: sid for sid, code in conn.execute(sa.select(_stations.c.id, _stations.c.code))}
    rows = conn.execute(sa.select(_api_batches).order_by(_api_batches.c.created)).mappings().all()
    for row in rows:
        upload = {
            "public_id": row["id"],
            "procedure_code": row["procedure_code"],
            "certify": bool(row["certify"]),
            "uploaded_files": row["files"] or [],
            "spool_dir": None if row["status"] in FINISHED else row["spool_dir"],
            "idempotency_key": row["idempotency_key"],
            "fingerprint": row["fingerprint"],
            "attempts": row["attempts"] or 0,
            "error": row["error"],
            "started": row["started"],
        }
        linked = None
        if row["storage_batch_id"] is not None:
            linked = conn.execute(
                sa.select(_batches).where(_batches.c.id == row["storage_batch_id"])
            ).mappings().first()
        if linked is not None and linked["public_id"] is None:
            conn.execute(_batches.update().where(_batches.c.id == linked["id"]).values(**upload, **_merged(row, linked)))
            continue
        station_id = stations.get(row["station"])
        if station_id is None:
            station_id = _insert(conn, _stations, code=row["station"], name=row["station"], created=row["created"])
            stations[row["station"]] = station_id
        _insert(
            conn,
            _batches,
            **upload,
            station_id=station_id,
            dossier_id=_dossier_id(conn, row),
            status=row["status"],
            files=len(row["files"] or []),
            pages_total=row["pages_total"] or 0,
            pages_done=row["pages_done"] or 0,
            errors=[row["error"]] if row["error"] else [],
            created=row["created"],
            finished=row["finished"],
        )


def _merged(api: Any, rec: Any) -> dict[str, Any]:
    """Status, counts and errors of one batch that had a row on each side."""
    status = rec["status"] if rec["status"] in FINISHED else api["status"]
    errors = list(rec["errors"] or [])
    if api["error"] and api["error"] not in errors:
        errors.append(api["error"])
    return {
        "status": status,
        "pages_total": max(rec["pages_total"] or 0, api["pages_total"] or 0),
        "pages_done": max(rec["pages_done"] or 0, api["pages_done"] or 0),
        "errors": errors,
        "created": api["created"] or rec["created"],  # when the upload was accepted
        "finished": rec["finished"] or api["finished"],
    }


def _dossier_id(conn: sa.Connection, row: Any) -> int | None:
    if not row["dossier_code"]:
        return None
    found = conn.execute(sa.select(_dossiers.c.id).where(_dossiers.c.code == row["dossier_code"])).scalar()
    if found is not None:
        return int(found)
    now = row["created"] or datetime.now(UTC)
    return _insert(
        conn, _dossiers, code=row["dossier_code"], procedure_code=row["procedure_code"], status="received",
        created=now, updated=now,
    )


def _insert(conn: sa.Connection, table: sa.TableClause, **values: Any) -> int:
    return int(conn.execute(table.insert().values(**values).returning(table.c.id)).scalar_one())


def downgrade() -> None:
    """Back to two tables: the uploads made through the API get their ``api_batches`` row again
    (linked to their records batch), then the added columns go."""
    conn = op.get_bind()
    op.create_table(
        "api_batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("station", sa.String(64), nullable=False, index=True),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("procedure_code", sa.String(64)),
        sa.Column("certify", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("spool_dir", sa.Text(), nullable=False),
        sa.Column("pages_total", sa.Integer(), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("storage_batch_id", sa.Integer()),
        sa.Column("created", TS, nullable=False),
        sa.Column("started", TS),
        sa.Column("finished", TS),
        sa.UniqueConstraint("station", "idempotency_key", name="uq_api_batches_station_idempotency_key"),
    )
    uploads = conn.execute(
        sa.select(_batches, _stations.c.code.label("station_code"), _dossiers.c.code.label("dossier_code"))
        .join(_stations, _stations.c.id == _batches.c.station_id)
        .outerjoin(_dossiers, _dossiers.c.id == _batches.c.dossier_id)
        .where(_batches.c.fingerprint.is_not(None))
    ).mappings().all()
    for r in uploads:
        conn.execute(_api_batches.insert().values(
            id=r["public_id"], station=r["station_code"], idempotency_key=r["idempotency_key"],
            fingerprint=r["fingerprint"], dossier_code=r["dossier_code"] or "", procedure_code=r["procedure_code"],
            certify=bool(r["certify"]), status=r["status"], files=r["uploaded_files"] or [],
            spool_dir=r["spool_dir"] or "", pages_total=r["pages_total"], pages_done=r["pages_done"],
            attempts=r["attempts"], result=None, error=r["error"],
            storage_batch_id=None if r["status"] == "queued" else r["id"],
            created=r["created"], started=r["started"], finished=r["finished"],
        ))
    for index in ("ix_batches_status", "ix_batches_station_created", "uq_batches_station_idempotency_key",
                  "uq_batches_public_id"):
        op.drop_index(index, "batches")
    for column in reversed(_ADDED()):
        op.drop_column("batches", column.name)  # ALTER TABLE DROP COLUMN (SQLite 3.35+), no rebuild
