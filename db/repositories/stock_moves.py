"""SQL that stock moves write (入库, 盘点, 移库, 安全库存, 释放, 发货出库, 退货入库): stock rows,
their ledger, closed reservations and cancelled backorders.

The rows written here were locked first (``db.repositories.locks``: order rows, then stock rows
by primary key), and the new values were computed from them as locked; each ``UPDATE`` checks that
the row still holds what was locked, so a mismatch is a bug that aborts the transaction rather
than a lost update.  Missing stock rows are created (``ensure_stock_rows``) before any row is
locked.  Bulk writes use ``unnest`` over arrays: one statement per table however many lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text

from db.repositories._base import Repository
from domain.inventory.model import LedgerEntry, LedgerNote, ReservationStatus, StockState

_ENSURE_STOCK_SQL = text(
    """
    INSERT INTO stock (org_id, sku_id, bin_id, warehouse_id, on_hand, reserved, safety)
    SELECT CAST(:org AS bigint), k.sku_id, k.bin_id, k.warehouse_id, 0, 0, 0
    FROM unnest(CAST(:skus AS bigint[]), CAST(:bins AS bigint[]), CAST(:whs AS bigint[]))
         WITH ORDINALITY AS k(sku_id, bin_id, warehouse_id, n)
    ORDER BY k.n
    ON CONFLICT (org_id, sku_id, bin_id) DO NOTHING
    """
)

_WRITE_STOCK_SQL = text(
    """
    UPDATE stock AS s
    SET on_hand = v.on_hand, reserved = v.reserved, safety = v.safety, updated_at = now()
    FROM unnest(CAST(:ids AS bigint[]), CAST(:old_on_hand AS int[]),
                CAST(:old_reserved AS int[]), CAST(:on_hand AS int[]),
                CAST(:reserved AS int[]), CAST(:safety AS int[]))
         AS v(id, old_on_hand, old_reserved, on_hand, reserved, safety)
    WHERE s.id = v.id AND s.org_id = :org
      AND s.on_hand = v.old_on_hand AND s.reserved = v.old_reserved
    """
)

_ADD_LEDGER_SQL = text(
    """
    INSERT INTO stock_ledger (
        org_id, stock_id, sku_id, warehouse_id, bin_id, kind,
        on_hand_delta, reserved_delta, on_hand_after, reserved_after,
        order_id, order_line_id, reservation_id,
        reason, reference, actor_label, actor_user_id, actor_token_id)
    SELECT CAST(:org AS bigint), e.stock_id, e.sku_id, e.warehouse_id, e.bin_id,
           e.kind, e.on_hand_delta, e.reserved_delta, e.on_hand_after,
           e.reserved_after, e.order_id, e.order_line_id, e.reservation_id,
           coalesce(e.reason, CAST(:reason AS text)),
           coalesce(e.reference, CAST(:reference AS varchar)),
           CAST(:actor_label AS varchar), CAST(:actor_user_id AS bigint),
           CAST(:actor_token_id AS bigint)
    FROM unnest(
        CAST(:stock AS bigint[]), CAST(:sku AS bigint[]), CAST(:wh AS bigint[]),
        CAST(:bin AS bigint[]), CAST(:kind AS varchar[]), CAST(:doh AS int[]),
        CAST(:dres AS int[]), CAST(:oh AS int[]), CAST(:res AS int[]),
        CAST(:ord AS bigint[]), CAST(:line AS bigint[]), CAST(:resv AS bigint[]),
        CAST(:reasons AS text[]), CAST(:references AS varchar[])
    ) WITH ORDINALITY AS e(stock_id, sku_id, warehouse_id, bin_id, kind,
           on_hand_delta, reserved_delta, on_hand_after, reserved_after,
           order_id, order_line_id, reservation_id, reason, reference, n)
    ORDER BY e.n
    """
)

_SET_SAFETY_SQL = text(
    """
    UPDATE stock AS s SET safety = v.safety, updated_at = now()
    FROM unnest(CAST(:ids AS bigint[]), CAST(:safety AS int[])) AS v(id, safety)
    WHERE s.id = v.id AND s.org_id = :org
    """
)

_CLOSE_RESERVATIONS_SQL = text(
    """
    UPDATE reservations AS r
    SET status = :status, closed_at = now(), close_reason = v.reason
    FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS v(id, reason)
    WHERE r.org_id = :org AND r.id = v.id AND r.status = 'ACTIVE'
    """
)

_CANCEL_BACKORDERS_SQL = text(
    """
    UPDATE backorders SET status = 'CANCELLED', resolved_at = now()
    WHERE org_id = :org AND status = 'WAITING'
      AND (order_id = ANY(CAST(:orders AS bigint[]))
           OR (order_id, order_line_id) IN (
               SELECT * FROM unnest(CAST(:line_orders AS bigint[]), CAST(:lines AS bigint[]))))
    RETURNING order_id
    """
)


class StockMoveRepository(Repository):
    async def ensure_stock_rows(self, keys: Sequence[tuple[int, int, int]]) -> None:
        """Create the missing (sku, bin, warehouse) rows with zero stock, in key order.

        Sorted, so two transactions creating the same rows wait for each other in one order.
        Nothing is locked: the caller locks with ``locks.lock_stock_at`` afterwards.
        """
        if not keys:
            return
        ordered = sorted(set(keys))
        await self.session.execute(
            _ENSURE_STOCK_SQL,
            {
                "org": self.org_id,
                "skus": [k[0] for k in ordered],
                "bins": [k[1] for k in ordered],
                "whs": [k[2] for k in ordered],
            },
        )

    async def write_stock(
        self,
        before: Mapping[tuple[int, int], StockState],
        after: Mapping[tuple[int, int], StockState],
        ledger: Sequence[LedgerEntry],
        note: LedgerNote,
    ) -> None:
        """Store the rows that changed (checked against what was locked) and their ledger."""
        changed = [after[k] for k in sorted(after) if after[k] != before.get(k)]
        if changed:
            result = await self.session.execute(
                _WRITE_STOCK_SQL,
                {
                    "org": self.org_id,
                    "ids": [s.stock_id for s in changed],
                    "old_on_hand": [before[s.key].on_hand for s in changed],
                    "old_reserved": [before[s.key].reserved for s in changed],
                    "on_hand": [s.on_hand for s in changed],
                    "reserved": [s.reserved for s in changed],
                    "safety": [s.safety for s in changed],
                },
            )
            if result.rowcount != len(changed):  # type: ignore[attr-defined]
                raise RuntimeError("a stock row changed while it was locked")
        await self._add_ledger(ledger, note)

    async def _add_ledger(self, ledger: Sequence[LedgerEntry], note: LedgerNote) -> None:
        if not ledger:
            return
        await self.session.execute(
            _ADD_LEDGER_SQL,
            {
                "org": self.org_id,
                "stock": [e.stock_id for e in ledger],
                "sku": [e.sku_id for e in ledger],
                "wh": [e.warehouse_id for e in ledger],
                "bin": [e.bin_id for e in ledger],
                "kind": [e.kind.value for e in ledger],
                "doh": [e.on_hand_delta for e in ledger],
                "dres": [e.reserved_delta for e in ledger],
                "oh": [e.on_hand_after for e in ledger],
                "res": [e.reserved_after for e in ledger],
                "ord": [e.order_id for e in ledger],
                "line": [e.order_line_id for e in ledger],
                "resv": [e.reservation_id for e in ledger],
                "reasons": [e.reason for e in ledger],
                "references": [e.reference for e in ledger],
                **_note_params(note),
            },
        )

    async def set_safety(self, values: Mapping[int, int]) -> None:
        """Set ``safety`` of locked stock rows (stock id -> units)."""
        if not values:
            return
        ids = sorted(values)
        await self.session.execute(
            _SET_SAFETY_SQL, {"org": self.org_id, "ids": ids, "safety": [values[i] for i in ids]}
        )

    async def close_reservations(
        self, reasons: Mapping[int, str], status: ReservationStatus
    ) -> None:
        """Close active reservations (id -> close reason) as RELEASED or COMMITTED."""
        if not reasons:
            return
        ids = sorted(reasons)
        result = await self.session.execute(
            _CLOSE_RESERVATIONS_SQL,
            {
                "org": self.org_id,
                "ids": ids,
                "reasons": [reasons[i] for i in ids],
                "status": status.value,
            },
        )
        if result.rowcount != len(ids):  # type: ignore[attr-defined]
            raise RuntimeError("a reservation was closed by someone else under the order lock")

    async def cancel_backorders(
        self, order_ids: Sequence[int], lines: Sequence[tuple[int, int]] = ()
    ) -> Counter[int]:
        """Cancel the waiting backorders of whole orders and of single (order id, line id)
        lines; returns how many each order lost."""
        if not order_ids and not lines:
            return Counter()
        rows = await self.session.execute(
            _CANCEL_BACKORDERS_SQL,
            {
                "org": self.org_id,
                "orders": list(order_ids),
                "line_orders": [order_id for order_id, _ in lines],
                "lines": [line_id for _, line_id in lines],
            },
        )
        return Counter(int(r[0]) for r in rows)


def _note_params(note: LedgerNote) -> dict[str, Any]:
    return {
        "reason": note.reason,
        "reference": note.reference,
        "actor_label": note.actor_label,
        "actor_user_id": note.actor_user_id,
        "actor_token_id": note.actor_token_id,
    }
