"""Order boards to page through, and the order a sort puts them in, worked out in Python apart
from the SQL under test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from db.engine import Database
from db.tables import Order
from tests.support.factories import Seller, make_order, make_org

T0 = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # 双十一
#: The column behind each order sort (``CREATED_DESC`` -> ``created_at``).
SORT_COLUMNS = {"CREATED": "created_at", "PAID": "paid_at", "TOTAL": "total_fen"}


def sort_value(order: Order, sort: str) -> Any:
    return getattr(order, SORT_COLUMNS[sort.split("_")[0]])


def board_order(orders: list[Order], sort: str) -> list[Order]:
    """The orders as the sort defines them: by the sort value, ties by id, rows without a
    value (unpaid) last in either direction."""
    descending = sort.endswith("_DESC")
    valued = [o for o in orders if sort_value(o, sort) is not None]
    empty = [o for o in orders if sort_value(o, sort) is None]
    valued.sort(key=lambda o: (sort_value(o, sort), o.id), reverse=descending)
    empty.sort(key=lambda o: o.id or 0, reverse=descending)
    return valued + empty


async def orders_with_ties(db: Database, count: int = 12) -> tuple[Seller, list[Order]]:
    """A seller whose orders tie in every sort value (pairs share a time, totals repeat) and
    of which every fourth is unpaid (待付款: no payment time)."""
    seller = await make_org(db)
    orders = []
    for i in range(count):
        at = T0 + timedelta(minutes=i // 2)
        orders.append(
            await make_order(
                db,
                seller,
                created_at=at,
                paid_at=at,
                unpaid=i % 4 == 3,
                quantity=1 + i % 3,  # totals of 1000, 2000 and 3000 fen
            )
        )
    return seller, orders
