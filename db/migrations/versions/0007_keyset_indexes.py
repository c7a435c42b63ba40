"""keyset paging: the sort indexes of orders and notifications end with the row's id

Lists are paged by key (``WHERE (created_at, id) < (:created_at, :id) ORDER BY created_at DESC,
id DESC LIMIT n + 1``), not by offset.  An index on ``(org_id, created_at)`` alone answers that
with an incremental sort of every row sharing a ``created_at`` (all the orders of one import
transaction, say); and for ``paid_at`` it sorts *all* unpaid orders of the seller (NULL is one
group) on every page that reaches them.  Ending each sort index with ``id`` makes a page one
index range read in either direction; the indexes are replaced, not added, so a status change of
an order (never a HOT update: ``status`` is indexed) writes no more index entries than before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, index, sort column): each index goes from (org_id, column) to (org_id, column, id).
INDEXES = [
    ("orders", "orders_org_created", "created_at"),
    ("orders", "orders_org_paid", "paid_at"),
    ("notifications", "notifications_org_time", "created_at"),
]


def upgrade() -> None:
    for table, index, column in INDEXES:
        op.drop_index(index, table_name=table)
        op.create_index(index, table, ["org_id", column, "id"], unique=False)


def downgrade() -> None:
    for table, index, column in reversed(INDEXES):
        op.drop_index(index, table_name=table)
        op.create_index(index, table, ["org_id", column], unique=False)
