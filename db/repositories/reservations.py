"""SQL of the reservation loop (批量占用): lock a batch of pending orders and the stock rows
of their SKUs, then write the whole batch with one statement per kind of row.

Runs on the asyncpg connection of a ``db.uow.DriverUnitOfWork`` (or of a ``UnitOfWork``'s
session, see ``UnitOfWork.driver``).  The lock order is the one every transaction follows: the
organisation's reservation queue lock, then order rows, then stock rows by primary key
(``db.repositories.locks``).  New stock quantities are computed by the caller from the rows as
locked here and written as values, never as ``reserved + n`` over an older read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.repositories import locks
from domain.inventory.model import DemandLine, LedgerNote, OrderDemand, StockSlot, StockState

_HAS_RETRYABLE_SQL = (
    "SELECT EXISTS (" + locks.PENDING_FROM.format(what="1", new_orders="", tail="").strip() + ")"
)

_COUNT_PENDING_SQL = """
SELECT count(*) AS pending, min(o.created_at) AS oldest
FROM orders o
WHERE o.org_id = $1 AND o.status = 'NEW'
"""

# One round trip: each locked order with its shop's rules and its lines, each line with what
# is already reserved for it and in which warehouses.
_DEMAND_SQL = """
SELECT o.id, o.status, o.shop_id, o.external_id, o.total_fen, o.receiver_province,
       o.paid_at, o.created_at, sh.allow_partial_reservation,
       coalesce(p.allow_split, false) AS allow_split,
       (SELECT coalesce(json_agg(json_build_array(l.id, l.sku_id, l.quantity, r.reserved,
                                                  r.warehouses) ORDER BY l.id), '[]')
        FROM order_lines l
        CROSS JOIN LATERAL (
            SELECT CAST(coalesce(sum(x.quantity), 0) AS int) AS reserved,
                   coalesce(array_remove(array_agg(DISTINCT x.warehouse_id), NULL),
                            '{}') AS warehouses
            FROM reservations x
            WHERE x.org_id = l.org_id AND x.order_id = l.order_id
              AND x.order_line_id = l.id AND x.status = 'ACTIVE') r
        WHERE l.org_id = o.org_id AND l.order_id = o.id) AS lines,
       CAST(pg_current_snapshot() AS text) AS snapshot
FROM orders o
JOIN shops sh ON sh.org_id = o.org_id AND sh.id = o.shop_id
LEFT JOIN shop_stock_policies p ON p.org_id = o.org_id AND p.shop_id = o.shop_id
WHERE o.org_id = $1 AND o.id = ANY(CAST($2 AS bigint[]))
"""

# Per SKU, the earliest waiting order outside the batch: walked in the waiting-backorder index's
# order (paid time, then id) and stopped at the first one, so a long queue of waiting orders on a
# hot SKU costs one index step, not a sort of the whole queue at every batch.  Unpaid orders
# queue by creation time and are looked up apart (rare: manual orders entered before payment).
_BLOCKERS_SQL = """
SELECT k.sku_id, first.queued_at, first.id
FROM unnest(CAST($2 AS bigint[])) AS k(sku_id)
CROSS JOIN LATERAL (
    SELECT c.queued_at, c.id FROM (
        (SELECT o.paid_at AS queued_at, o.id
         FROM backorders b
         JOIN orders o ON o.org_id = b.org_id AND o.id = b.order_id
         WHERE b.org_id = $1 AND b.status = 'WAITING' AND b.sku_id = k.sku_id
           AND b.paid_at IS NOT NULL AND o.status = 'BACKORDERED'
           AND b.order_id <> ALL(CAST($3 AS bigint[]))
         ORDER BY b.paid_at, b.id
         LIMIT 1)
        UNION ALL
        (SELECT o.created_at AS queued_at, o.id
         FROM backorders b
         JOIN orders o ON o.org_id = b.org_id AND o.id = b.order_id
         WHERE b.org_id = $1 AND b.status = 'WAITING' AND b.sku_id = k.sku_id
           AND b.paid_at IS NULL AND o.status = 'BACKORDERED'
           AND b.order_id <> ALL(CAST($3 AS bigint[]))
         ORDER BY o.created_at, o.id
         LIMIT 1)
    ) AS c
    ORDER BY c.queued_at, c.id
    LIMIT 1
) AS first
"""

# $1 org; $2-$3 stock (id, reserved); $4-$12 allocations (order, line, stock, sku, warehouse,
# bin, units, on_hand after, reserved after); $13-$17 ledger note.
_WRITE_STOCK_SQL = """
WITH stk AS (
    UPDATE stock AS s SET reserved = v.reserved, updated_at = now()
    FROM unnest(CAST($2 AS bigint[]), CAST($3 AS int[])) AS v(id, reserved)
    WHERE s.org_id = $1 AND s.id = v.id
    RETURNING s.id
),
alloc AS (
    SELECT * FROM unnest(CAST($4 AS bigint[]), CAST($5 AS bigint[]), CAST($6 AS bigint[]),
                         CAST($7 AS bigint[]), CAST($8 AS bigint[]), CAST($9 AS bigint[]),
                         CAST($10 AS int[]), CAST($11 AS int[]), CAST($12 AS int[]))
        AS a(order_id, line_id, stock_id, sku_id, warehouse_id, bin_id, quantity,
             on_hand_after, reserved_after)
),
res AS (
    INSERT INTO reservations (org_id, order_id, order_line_id, sku_id, warehouse_id,
                              bin_id, stock_id, quantity, status, close_reason)
    SELECT $1, order_id, line_id, sku_id, warehouse_id, bin_id, stock_id, quantity,
           'ACTIVE', ''
    FROM alloc
    RETURNING id, order_line_id, stock_id
),
led AS (
    INSERT INTO stock_ledger (
        org_id, stock_id, sku_id, warehouse_id, bin_id, kind,
        on_hand_delta, reserved_delta, on_hand_after, reserved_after,
        order_id, order_line_id, reservation_id,
        reason, reference, actor_label, actor_user_id, actor_token_id)
    SELECT $1, a.stock_id, a.sku_id, a.warehouse_id, a.bin_id, 'RESERVE',
           0, a.quantity, a.on_hand_after, a.reserved_after,
           a.order_id, a.line_id, r.id,
           CAST($13 AS text), CAST($14 AS varchar), CAST($15 AS varchar),
           CAST($16 AS bigint), CAST($17 AS bigint)
    FROM alloc a
    JOIN res r ON r.order_line_id = a.line_id AND r.stock_id = a.stock_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM stk) AS stock_rows, (SELECT count(*) FROM led) AS ledger_rows
"""

# $1 org; $2 every order of the batch; $3-$7 short lines (order, line, sku, units, paid);
# $8 the snapshot the batch read stock after (see ``ReservationQueue.demands``).
_WRITE_BACKORDERS_SQL = """
WITH short AS (
    SELECT * FROM unnest(CAST($3 AS bigint[]), CAST($4 AS bigint[]), CAST($5 AS bigint[]),
                         CAST($6 AS int[]), CAST($7 AS timestamptz[]))
        AS s(order_id, line_id, sku_id, quantity, paid_at)
),
filled AS (
    UPDATE backorders AS b
    SET status = 'FILLED', resolved_at = now(), last_attempt_at = now(),
        attempts = b.attempts + 1
    WHERE b.org_id = $1 AND b.order_id = ANY(CAST($2 AS bigint[])) AND b.status = 'WAITING'
      AND b.order_line_id NOT IN (SELECT line_id FROM short)
    RETURNING 1
),
waiting AS (
    INSERT INTO backorders (org_id, order_id, order_line_id, sku_id, quantity,
                            paid_at, status, attempts, tried_in, tried_by)
    SELECT $1, order_id, line_id, sku_id, quantity, paid_at, 'WAITING', 1,
           CAST(CAST($8 AS text) AS pg_snapshot), pg_current_xact_id()
    FROM short
    ON CONFLICT (org_id, order_line_id) WHERE status = 'WAITING'
    DO UPDATE SET quantity = EXCLUDED.quantity, attempts = backorders.attempts + 1,
                  last_attempt_at = now(), tried_in = EXCLUDED.tried_in,
                  tried_by = EXCLUDED.tried_by
    RETURNING 1
)
SELECT (SELECT count(*) FROM filled) AS filled, (SELECT count(*) FROM waiting) AS waiting
"""


@dataclass(frozen=True)
class Shortfall:
    """A line that waits (缺货): its order, the line, its SKU and the units lacking."""

    order_id: int
    line_id: int
    sku_id: int
    quantity: int
    paid_at: datetime | None


@dataclass(frozen=True)
class AllocationRow:
    """One reservation to write, with the locked row's quantities after it."""

    order_id: int
    line_id: int
    stock: StockState
    quantity: int
    on_hand_after: int
    reserved_after: int


@dataclass(frozen=True)
class QueuedDemand:
    demand: OrderDemand
    queued_at: datetime


class ReservationQueue:
    """The reservation loop's statements for one organisation."""

    def __init__(self, conn: Any, org_id: int) -> None:
        self.conn = conn  # asyncpg.Connection (asyncpg ships no type information)
        self.org_id = org_id
        #: The snapshot ``demands`` read in, which the batch's waiting lines record.
        self._snapshot: str | None = None

    async def lock_pending(self, limit: int) -> list[int]:
        """Take the queue, then lock up to ``limit`` pending orders, first paid first: NEW
        ones, and BACKORDERED ones with available stock of a SKU they wait for where, in a
        transaction their last try did not see, a stock row of the SKU changed or another
        order stopped waiting for it (it may have been the one they yielded to).  Orders
        another transaction holds are skipped (the next batch takes them)."""
        await locks.lock_reservation_queue(self.conn, self.org_id)
        return await locks.lock_pending_orders(self.conn, self.org_id, limit)

    async def has_retryable_backorders(self) -> bool:
        """Whether a waiting order is worth another try (see ``lock_pending``)."""
        return bool(await self.conn.fetchval(_HAS_RETRYABLE_SQL, self.org_id))

    async def pending_count(self) -> tuple[int, datetime | None]:
        """Orders waiting for their first reservation attempt, and the oldest one's time."""
        row = await self.conn.fetchrow(_COUNT_PENDING_SQL, self.org_id)
        return int(row["pending"]), row["oldest"]

    async def demands(self, order_ids: Sequence[int]) -> list[QueuedDemand]:
        """What reservation needs of locked orders, read after their locks were granted (a
        fresh snapshot, so reservations committed by the previous holder are seen).

        The statement's snapshot is kept for ``write_backorders``: it is taken before the batch
        reads stock, so every stock change it shows, the batch saw; a change it does not show
        (one still in flight, a row inserted meanwhile) makes the waiting lines worth another
        attempt once it commits (see ``locks.PENDING_FROM``)."""
        if not order_ids:
            return []
        heads = await self.conn.fetch(_DEMAND_SQL, self.org_id, list(order_ids))
        if heads:
            self._snapshot = heads[0]["snapshot"]
        found = []
        for head in heads:
            # SQLAlchemy's pool registers a JSON codec on its connections; a bare one has none.
            raw = head["lines"]
            lines = json.loads(raw) if isinstance(raw, str) else raw
            found.append(
                QueuedDemand(
                    demand=OrderDemand(
                        order_id=head["id"],
                        status=head["status"],
                        shop_id=head["shop_id"],
                        external_id=head["external_id"],
                        total_fen=head["total_fen"],
                        province=head["receiver_province"],
                        paid_at=head["paid_at"],
                        allow_partial=head["allow_partial_reservation"],
                        allow_split=head["allow_split"],
                        lines=tuple(
                            DemandLine(line_id, sku_id, quantity, reserved)
                            for line_id, sku_id, quantity, reserved, _ in lines
                        ),
                        reserved_warehouses=frozenset(
                            w for *_, warehouses in lines for w in warehouses
                        ),
                    ),
                    queued_at=head["paid_at"] or head["created_at"],
                )
            )
        return found

    async def blockers(
        self, sku_ids: Sequence[int], batch: Sequence[int]
    ) -> dict[int, tuple[datetime, int]]:
        """Per SKU, the queue place of the earliest order outside ``batch`` that waits for it:
        no order paid after that one may take the SKU."""
        if not sku_ids:
            return {}
        rows = await self.conn.fetch(_BLOCKERS_SQL, self.org_id, list(sku_ids), list(batch))
        return {r["sku_id"]: (r["queued_at"], r["id"]) for r in rows}

    async def lock_stock(self, sku_ids: Sequence[int]) -> list[StockSlot]:
        return await locks.lock_available_stock(self.conn, self.org_id, sku_ids)

    async def write_stock(
        self, after: Sequence[StockState], allocations: Sequence[AllocationRow], note: LedgerNote
    ) -> None:
        """Stock rows' new reserved values, the reservations and their ledger rows: one
        statement."""
        if not after and not allocations:
            return
        row = await self.conn.fetchrow(
            _WRITE_STOCK_SQL,
            self.org_id,
            [s.stock_id for s in after],
            [s.reserved for s in after],
            [a.order_id for a in allocations],
            [a.line_id for a in allocations],
            [a.stock.stock_id for a in allocations],
            [a.stock.sku_id for a in allocations],
            [a.stock.warehouse_id for a in allocations],
            [a.stock.bin_id for a in allocations],
            [a.quantity for a in allocations],
            [a.on_hand_after for a in allocations],
            [a.reserved_after for a in allocations],
            note.reason,
            note.reference,
            note.actor_label,
            note.actor_user_id,
            note.actor_token_id,
        )
        if row["stock_rows"] != len(after) or row["ledger_rows"] != len(allocations):
            raise RuntimeError("a locked stock row was not written")

    async def write_backorders(
        self, order_ids: Sequence[int], shortfalls: Sequence[Shortfall]
    ) -> None:
        """Short lines wait (new or updated backorders, with the snapshot and transaction of
        this attempt); the batch's other waiting lines are filled."""
        if shortfalls and self._snapshot is None:
            raise RuntimeError("write_backorders before demands: no snapshot to record")
        await self.conn.fetchrow(
            _WRITE_BACKORDERS_SQL,
            self.org_id,
            list(order_ids),
            [s.order_id for s in shortfalls],
            [s.line_id for s in shortfalls],
            [s.sku_id for s in shortfalls],
            [s.quantity for s in shortfalls],
            [s.paid_at for s in shortfalls],
            self._snapshot,
        )
