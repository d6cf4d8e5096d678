"""A lease on a running batch: who runs it, and until when that claim holds unless renewed.

A job process claims a batch and renews the lease (a heartbeat) while it runs. A batch still
``processing`` after a restart is taken up again only once its lease has run out, so a job that
outlived its server (or runs on another one) is never doubled by a second run; a job that died
stops renewing, and its batch is tried again, at most a set number of times. ``lease_until`` is
seconds since the epoch: compared in SQL the same way on every backend.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(96)))
        batch.add_column(sa.Column("lease_until", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
