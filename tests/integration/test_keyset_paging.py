"""keyset_page against an oracle, and the indexes that make a keyset page one range read.

Every window of the order board (any ``after``, any ``before``, read from either end, with
ties and NULL sort values, with bounds that are rows and bounds between rows) is compared with
the same window cut from the board as Python sorts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Select, select, text
from sqlalchemy.dialects import postgresql
from sqlmodel import col

from db.engine import Database
from db.repositories._base import Keyset, keyset_select
from db.repositories.notifications import NEWEST_FIRST
from db.repositories.orders import SORTS
from db.tables import Notification, Order
from db.uow import UnitOfWork
from domain.orders.model import OrderFilter, OrderSort
from domain.paging import Key, Page
from tests.support.paging import T0, board_order, orders_with_ties, sort_value
from tests.support.sql import org_connection

FAR = 2**62  # an id beyond every row: a key between one sort value and the next


def list_order(sort: OrderSort) -> Callable[[Key, Key], int]:
    """Compare two keys in the board's order: by value (none last), then by id."""
    descending = sort.value.endswith("_DESC")

    def compare(a: Key, b: Key) -> int:
        (value_a, id_a), (value_b, id_b) = a, b
        if (value_a is None) != (value_b is None):
            return 1 if value_a is None else -1
        for x, y in ((value_a, value_b), (id_a, id_b)):
            if x != y:
                smaller = x < y
                return (1 if smaller else -1) if descending else (-1 if smaller else 1)
        return 0

    return compare


@pytest.mark.parametrize("sort", list(OrderSort))
async def test_every_window_is_the_slice_of_the_board(db: Database, sort: OrderSort) -> None:
    seller, orders = await orders_with_ties(db, count=10)
    compare = list_order(sort)
    board = board_order(orders, sort.value)
    keys = {o.id: (sort_value(o, sort.value), o.id) for o in orders}
    values = sorted({v for v, _ in keys.values() if v is not None})
    middle = values[len(values) // 2]
    phantoms: list[Key] = [(v, pk) for v in (values[0], middle, values[-1]) for pk in (0, FAR)]
    if any(v is None for v, _ in keys.values()):
        phantoms += [(None, 0), (None, FAR)]
    bounds: list[Key | None] = [None, *keys.values(), *phantoms]
    # Fewer upper bounds than lower ones: both ends run through the same code.
    befores = [None, keys[board[2].id], keys[board[-3].id], phantoms[3], phantoms[-1]]

    problems = []
    async with UnitOfWork(db, seller.org_id) as uow:
        for after in bounds:
            for before in befores:
                window = [
                    o
                    for o in board
                    if (after is None or compare(keys[o.id], after) > 0)
                    and (before is None or compare(keys[o.id], before) < 0)
                ]
                for from_end in (False, True):
                    for size in (0, 1, 3):
                        page = Page(size=size, after=after, before=before, from_end=from_end)
                        got = await uow.orders.list(OrderFilter(), sort, page)
                        want = window[max(0, len(window) - size) :] if from_end else window[:size]
                        # Rows behind the cursor reading started from (its own row included).
                        if from_end:
                            behind = before is not None and any(
                                compare(k, before) >= 0 for k in keys.values()
                            )
                        else:
                            behind = after is not None and any(
                                compare(k, after) <= 0 for k in keys.values()
                            )
                        more = len(window) > size
                        expected = (
                            [o.id for o in want],
                            [keys[o.id] for o in want],
                            behind if from_end else more,
                            more if from_end else behind,
                        )
                        actual = (
                            [o.id for o in got.rows],
                            list(got.keys),
                            got.has_next,
                            got.has_previous,
                        )
                        if actual != expected:
                            problems.append(f"{page}: got {actual}, expected {expected}")
    assert not problems, "\n".join(problems[:10])


# -- indexes -----------------------------------------------------------------------------------
def sql_of(stmt: Select[Any]) -> str:
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


async def plan_of(db: Database, org_id: int, stmt: Select[Any]) -> str:
    """The plan PostgreSQL picks when it may not read the table whole (the test tables are
    small, so left alone it would): what an index can serve, it then serves."""
    async with org_connection(db, org_id) as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
        rows = await conn.execute(text("EXPLAIN (COSTS OFF) " + sql_of(stmt)))
        return "\n".join(r[0] for r in rows)


CASES: list[tuple[str, Keyset, str]] = [
    *((f"orders {s.value}", SORTS[s], "orders_org_created") for s in OrderSort if "CREATED" in s),
    *((f"orders {s.value}", SORTS[s], "orders_org_paid") for s in OrderSort if "PAID" in s),
    ("notifications", NEWEST_FIRST, "notifications_org_time"),
]


@pytest.mark.parametrize(("keyset", "index"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_a_keyset_page_is_an_index_range_in_either_direction(
    db: Database, keyset: Keyset, index: str
) -> None:
    """The board's sorts read their page off an index that starts with ``org_id`` and ends
    with ``id``: no sort of the seller's rows (an incremental one sorts all rows of one time,
    or all unpaid orders) and no second index for the other NULL placement."""
    seller, _ = await orders_with_ties(db, count=4)
    model = Order if "orders" in index else Notification
    stmt = select(model).where(col(model.org_id) == seller.org_id)
    keys: list[Key | None] = [None, (T0 + timedelta(minutes=5), 7)]
    if keyset.nullable_first:
        keys.append((None, 7))  # a cursor among the unpaid
    problems = []
    for key in keys:
        for page in (Page(size=20, after=key), Page(size=20, before=key, from_end=True)):
            plan = await plan_of(db, seller.org_id, keyset_select(stmt, keyset, page))
            scans = [line for line in plan.splitlines() if "Scan" in line]
            on_index = re.compile(rf"Index Scan (Backward )?using {index} on ")
            off_index = [line for line in scans if not on_index.search(line)]
            # Two parts (rows with a paid time, then without) are merged: at most that sort,
            # over at most twice a page of rows.
            sorts = plan.count("Sort Key")
            if not scans or off_index or "Incremental Sort" in plan or sorts > len(scans) - 1:
                problems.append(f"{page}:\n{plan}")
    assert not problems, "\n\n".join(problems)
