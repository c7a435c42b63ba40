"""Every lock on orders and stock rows, in one place, in one order.

A transaction that locks more than one kind takes them in this order, and so can never deadlock
with another that follows it:

1. the organisation's reservation queue (a transaction-scoped advisory lock: one reservation
   batch at a time per seller, so first paid stays first served across batches);
2. order rows, by primary key;
3. stock rows, by primary key.

Every statement waits at most ``lock_timeout`` (set by the unit of work); the callers retry
(``domain.inventory.retry``) and end in ``ConcurrentUpdate``, never in a masked error.  The
functions take an asyncpg connection: ``DriverUnitOfWork.conn`` or ``UnitOfWork.driver()``.

One lock is outside any transaction: the reservation loop's lease (``reservation_loop_lease``),
which says which process runs a seller's loop; it is never waited for, only tried.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.util import greenlet_spawn

from db.engine import Database
from domain.inventory.model import StockSlot, StockState

#: Advisory-lock key space of the reservation queue: this base plus the organisation id.
RESERVATION_QUEUE_KEY = 0x0F0F_0002 << 32
#: Advisory-lock key space of the reservation loop's lease: this base plus the organisation id.
RESERVATION_LOOP_KEY = 0x0F0F_0003 << 32

_LOCK_ORDERS_SQL = """
SELECT id, status, shop_id, external_id, total_fen, supplier_id FROM orders
WHERE org_id = $1 AND id = ANY(CAST($2 AS bigint[]))
ORDER BY id
FOR UPDATE
"""

_LOCK_AVAILABLE_STOCK_SQL = """
SELECT s.id, s.sku_id, s.warehouse_id, s.bin_id, s.on_hand, s.reserved, s.safety,
       b.code AS bin_code, z.walk_order, b.walk_seq, w.provinces, w.priority
FROM stock s
JOIN bins b ON b.org_id = s.org_id AND b.id = s.bin_id
JOIN zones z ON z.org_id = b.org_id AND z.id = b.zone_id
JOIN warehouses w ON w.org_id = s.org_id AND w.id = s.warehouse_id
WHERE s.org_id = $1 AND s.sku_id = ANY(CAST($2 AS bigint[])) AND w.is_active
  AND s.on_hand - s.reserved - s.safety > 0
ORDER BY s.id
FOR UPDATE OF s
"""

_LOCK_STOCK_AT_SQL = """
SELECT s.id, s.sku_id, s.warehouse_id, s.bin_id, s.on_hand, s.reserved, s.safety
FROM stock s
JOIN unnest(CAST($2 AS bigint[]), CAST($3 AS bigint[])) AS k(sku_id, bin_id)
  ON s.sku_id = k.sku_id AND s.bin_id = k.bin_id
WHERE s.org_id = $1
ORDER BY s.id
FOR UPDATE OF s
"""

_LOCK_STOCK_SQL = """
SELECT id, sku_id, warehouse_id, bin_id, on_hand, reserved, safety
FROM stock
WHERE org_id = $1 AND id = ANY(CAST($2 AS bigint[]))
ORDER BY id
FOR UPDATE
"""


# Stock rows with something available, in active warehouses: a waiting order is worth another
# try only for one of these SKUs.  Materialised first, so that the visibility checks below run
# for waiting lines whose SKU has stock at all (on an exhausted hot SKU, none), not for every
# waiting line of the seller at every batch.
PENDING_FROM = """
WITH avail AS MATERIALIZED (
    SELECT s.sku_id, s.changed_by
    FROM stock s
    JOIN warehouses w ON w.org_id = s.org_id AND w.id = s.warehouse_id
    WHERE s.org_id = $1 AND w.is_active AND s.on_hand - s.reserved - s.safety > 0
)
SELECT {what}
FROM orders o
WHERE o.org_id = $1
  AND ({new_orders}(o.status = 'BACKORDERED' AND EXISTS (
             SELECT 1
             FROM backorders b
             JOIN avail s ON s.sku_id = b.sku_id
             WHERE b.org_id = o.org_id AND b.order_id = o.id AND b.status = 'WAITING'
               AND (b.tried_in IS NULL
                    OR (s.changed_by IS DISTINCT FROM b.tried_by
                        AND NOT pg_visible_in_snapshot(s.changed_by, b.tried_in))
                    OR EXISTS (
                        SELECT 1 FROM backorders r
                        WHERE r.org_id = b.org_id AND r.sku_id = b.sku_id
                          AND r.resolved_by >= pg_snapshot_xmin(b.tried_in)
                          AND r.resolved_by IS DISTINCT FROM b.tried_by
                          AND NOT pg_visible_in_snapshot(r.resolved_by, b.tried_in)))))){tail}
"""

_PENDING_SQL = PENDING_FROM.format(
    what="o.id",
    new_orders="o.status = 'NEW' OR ",
    tail="""
ORDER BY coalesce(o.paid_at, o.created_at), o.id
LIMIT $2
FOR UPDATE OF o SKIP LOCKED""",
)


async def lock_reservation_queue(conn: Any, org_id: int) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", RESERVATION_QUEUE_KEY + org_id)


@asynccontextmanager
async def reservation_loop_lease(db: Database, org_id: int) -> AsyncIterator[bool]:
    """Try to become the one running reservation loop of a seller; yields whether it did.

    A session-level advisory lock, tried (never waited for) on a pooled connection kept for the
    loop's life and idle meanwhile.  It ends with the loop, or with the connection: when a
    worker dies, PostgreSQL sees its idle connection close and lets the lease go at once, where
    a mark in Redis would have to expire.  A connection that could not be unlocked is thrown
    away rather than pooled, since the lock would go with it into the pool.
    """
    raw = await db.engine.raw_connection()
    key = RESERVATION_LOOP_KEY + org_id
    released = False
    try:
        conn = raw.driver_connection
        assert conn is not None
        held = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
        try:
            yield held
        finally:
            if held:
                # A connection lost meanwhile took the lock with it; throwing it away is all
                # that is left to do, and the loop's own outcome is what the caller needs.
                with contextlib.suppress(Exception):
                    released = await conn.fetchval("SELECT pg_advisory_unlock($1)", key)
            else:
                released = True
    finally:
        if not released:
            await greenlet_spawn(raw.invalidate)
        await greenlet_spawn(raw.close)


@dataclass(frozen=True)
class LockedOrder:
    """An order row as locked: what a status change checks and announces."""

    order_id: int
    status: str
    shop_id: int
    external_id: str
    total_fen: int
    supplier_id: int | None


async def lock_orders(conn: Any, org_id: int, order_ids: Sequence[int]) -> dict[int, str]:
    """Lock orders by primary key; returns the status of each one found."""
    return {o.order_id: o.status for o in (await lock_order_rows(conn, org_id, order_ids))}


async def lock_order_rows(conn: Any, org_id: int, order_ids: Sequence[int]) -> list[LockedOrder]:
    """Lock orders by primary key; returns the ones found, as locked, by id."""
    if not order_ids:
        return []
    rows = await conn.fetch(_LOCK_ORDERS_SQL, org_id, sorted(set(order_ids)))
    return [
        LockedOrder(
            order_id=r["id"],
            status=r["status"],
            shop_id=r["shop_id"],
            external_id=r["external_id"],
            total_fen=r["total_fen"],
            supplier_id=r["supplier_id"],
        )
        for r in rows
    ]


async def lock_available_stock(conn: Any, org_id: int, sku_ids: Sequence[int]) -> list[StockSlot]:
    """Lock the stock rows of ``sku_ids`` that have something available in an active
    warehouse, by primary key, and return them as locked (the newest version: a row another
    transaction changed while we waited is returned as it committed it)."""
    if not sku_ids:
        return []
    rows = await conn.fetch(_LOCK_AVAILABLE_STOCK_SQL, org_id, sorted(set(sku_ids)))
    return [
        StockSlot(
            state=_state(row),
            bin_code=row["bin_code"],
            zone_order=row["walk_order"],
            walk_seq=row["walk_seq"],
            warehouse_provinces=tuple(row["provinces"] or ()),
            warehouse_priority=row["priority"],
        )
        for row in rows
    ]


async def lock_stock_at(
    conn: Any, org_id: int, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], StockState]:
    """Lock the stock rows of (sku, bin) ``keys`` by primary key; returns those found."""
    if not keys:
        return {}
    ordered = sorted(set(keys))
    rows = await conn.fetch(
        _LOCK_STOCK_AT_SQL, org_id, [k[0] for k in ordered], [k[1] for k in ordered]
    )
    states = [_state(r) for r in rows]
    return {s.key: s for s in states}


async def lock_stock(conn: Any, org_id: int, stock_ids: Sequence[int]) -> dict[int, StockState]:
    """Lock stock rows by primary key and return what they hold."""
    if not stock_ids:
        return {}
    rows = await conn.fetch(_LOCK_STOCK_SQL, org_id, sorted(set(stock_ids)))
    return {r["id"]: _state(r) for r in rows}


def _state(row: Any) -> StockState:
    return StockState(
        stock_id=row["id"],
        sku_id=row["sku_id"],
        warehouse_id=row["warehouse_id"],
        bin_id=row["bin_id"],
        on_hand=row["on_hand"],
        reserved=row["reserved"],
        safety=row["safety"],
    )


async def lock_pending_orders(conn: Any, org_id: int, limit: int) -> list[int]:
    """Lock up to ``limit`` orders the reservation loop should try, first paid first: NEW ones,
    and BACKORDERED ones whose SKUs gained stock (or lost a blocker) since their last try.
    Orders another transaction holds are skipped (the next batch takes them)."""
    rows = await conn.fetch(_PENDING_SQL, org_id, limit)
    return [r["id"] for r in rows]
