"""notifications: alerts for a seller's staff (orders stuck before reservation, stock drift)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db import rls

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_by_user_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "severity IN ('INFO', 'WARNING', 'CRITICAL')", name="notifications_severity_known"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["org_id", "read_by_user_id"],
            ["users.org_id", "users.id"],
            name="notifications_read_by_user_id_fkey",
        ),
        sa.PrimaryKeyConstraint("org_id", "id"),
    )
    op.create_index("notifications_org_time", "notifications", ["org_id", "created_at"])
    op.create_index(
        "notifications_one_open_per_key",
        "notifications",
        ["org_id", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    rls.enable_tenant_rls("notifications")
    rls.grant_sequences()


def downgrade() -> None:
    op.drop_table("notifications")
