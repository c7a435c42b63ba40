"""drop indexes the reservation path writes but no query reads

Every reservation changes its order's status (``status`` is indexed, so the update is never HOT
and writes an entry into every index of ``orders``) and inserts an ``order_history`` row.  These
indexes were only costs on that path:

- ``orders``: ``org_id`` (covered by the composite ``(org_id, ...)`` indexes), ``shop_id``
  (covered by the unique ``(org_id, shop_id, external_id)``: queries always name ``org_id``),
  ``created_by_user_id`` (never queried; users are not deleted);
- ``order_history``: ``org_id``, ``actor_user_id``, ``actor_token_id`` (history is read by
  ``order_id`` only).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = [
    ("orders", "org_id"),
    ("orders", "shop_id"),
    ("orders", "created_by_user_id"),
    ("order_history", "org_id"),
    ("order_history", "actor_user_id"),
    ("order_history", "actor_token_id"),
]


def upgrade() -> None:
    for table, column in DROPPED:
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)


def downgrade() -> None:
    for table, column in reversed(DROPPED):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)
