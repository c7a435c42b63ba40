"""manual order number counters; limits on quantities, prices and totals; BIGINT SKU prices

Manual order numbers (手工单号) were "M" + the time to the second + 4 random digits, and
collided under load (1-4 of 1,200 concurrent manual orders failed).  They now come from a
counter per seller and day, ``M20261201-000123``, bumped in the order's own transaction.

An order of 2,147,483,647 units at 2,147,483,647 fen was accepted; its total then broke the
order board for everyone.  The domain now refuses amounts beyond its limits
(domain/orders/model.py) and the same limits become CHECK constraints here, with the totals'
arithmetic (``total = goods - discount + shipping``).  The numbers are copied, not imported: a
migration must keep meaning what it meant when it ran.  SKU list prices become BIGINT like every
other amount.

Rows already beyond the limits (such as that order) are not changed silently: the upgrade stops
and lists them, so that someone decides what they should have been.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db import rls

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_LINE_QUANTITY = 99_999
MAX_UNIT_PRICE_FEN = 10_000_000
MAX_SHIPPING_FEN = 10_000_000
MAX_ORDER_TOTAL_FEN = 10_000_000_000

#: (table, constraint, condition) of every limit.
LIMITS = [
    (
        "orders",
        "orders_amounts_within_limits",
        f"goods_fen <= {MAX_ORDER_TOTAL_FEN} AND total_fen <= {MAX_ORDER_TOTAL_FEN}"
        f" AND shipping_fen <= {MAX_SHIPPING_FEN} AND discount_fen <= goods_fen",
    ),
    ("orders", "orders_total_adds_up", "total_fen = goods_fen - discount_fen + shipping_fen"),
    (
        "order_lines",
        "order_lines_within_limits",
        f"quantity <= {MAX_LINE_QUANTITY} AND unit_price_fen <= {MAX_UNIT_PRICE_FEN}"
        " AND discount_fen <= quantity * unit_price_fen",
    ),
    ("skus", "skus_price_within_limit", f"price_fen <= {MAX_UNIT_PRICE_FEN}"),
]


#: The columns of each table's conditions.
COLUMNS = {
    "orders": ["goods_fen", "discount_fen", "shipping_fen", "total_fen"],
    "order_lines": ["quantity", "unit_price_fen", "discount_fen"],
    "skus": ["price_fen"],
}


def _refuse_rows_beyond_limits() -> None:
    bind = op.get_bind()
    found = []
    for table, name, condition in LIMITS:
        # As numeric: in BIGINT the arithmetic of a condition can overflow on exactly the rows
        # it must find.
        columns = ", ".join(f"{c}::numeric AS {c}" for c in COLUMNS[table])
        rows = bind.execute(
            sa.text(
                f"SELECT org_id, id FROM (SELECT org_id, id, {columns} FROM {table}) AS t"
                f" WHERE NOT ({condition}) ORDER BY org_id, id LIMIT 20"
            )
        ).all()
        if rows:
            listed = ", ".join(f"(org {org_id}, id {pk})" for org_id, pk in rows)
            found.append(f"{table} breaking {name}: {listed}")
    if found:
        raise RuntimeError(
            "Rows beyond orderflow's limits on quantities and amounts (domain/orders/model.py) "
            "must be corrected or removed before this migration: " + "; ".join(found)
        )


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

    op.alter_column("skus", "price_fen", type_=sa.BigInteger(), existing_nullable=False)
    _refuse_rows_beyond_limits()
    for table, name, condition in LIMITS:
        op.create_check_constraint(name, table, condition)


def downgrade() -> None:
    for table, name, _ in reversed(LIMITS):
        op.drop_constraint(name, table, type_="check")
    op.alter_column("skus", "price_fen", type_=sa.Integer(), existing_nullable=False)
    op.drop_table("order_number_counters")
