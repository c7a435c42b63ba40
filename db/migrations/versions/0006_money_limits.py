"""per-seller manual order number counters

Manual order numbers (手工单号) were "M" + the time to the second + 4 random digits, and
collided under load (1-4 of 1,200 concurrent manual orders failed).  They now come from a
counter per seller and day, ``M20261201-000123``, bumped in the order's own transaction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db import rls

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_number_counters",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("last_value > 0", name="order_number_counters_positive"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint("org_id", "day", name="order_number_counters_org_id_day_key"),
    )
    rls.enable_tenant_rls("order_number_counters")
    rls.grant_sequences()


def downgrade() -> None:
    op.drop_table("order_number_counters")
