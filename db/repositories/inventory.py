"""SQL for inventory: warehouses' zones and bins, stock rows, reservations, backorders, the stock
ledger, shop stock policies and reconciliation.

Locking rules every method here follows (see DESIGN.md "Inventory rules"):

- Stock rows are locked with ``SELECT ... FOR UPDATE`` ordered by ``stock.id``, the one order
  every transaction uses, so two transactions never wait for each other in a cycle.
- An order row, when needed, is locked before any stock row.
- Missing stock rows are created (``INSERT ... ON CONFLICT DO NOTHING``, sorted by key) before
  any row is locked.
- Writes on locked rows set the values computed from the locked values and check that the row
  still held what was locked: a mismatch is a bug and aborts the transaction.

Bulk writes use ``unnest`` over arrays: one statement per table however many lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from db.repositories._base import Keyset, Repository
from db.tables import (
    Backorder,
    Bin,
    Order,
    OrderLine,
    Reservation,
    ShopStockPolicyRow,
    Sku,
    Stock,
    StockLedgerEntry,
    Warehouse,
    Zone,
)
from domain.inventory.model import (
    BackorderStatus,
    LedgerEntry,
    LedgerKind,
    LedgerNote,
    ReservationStatus,
    ShopStockPolicy,
    StockBalance,
    StockState,
)
from domain.paging import Page, PageResult


@dataclass(frozen=True)
class StockFilter:
    sku_ids: frozenset[int] = frozenset()
    warehouse_id: int | None = None
    zone_id: int | None = None
    below_safety: bool = False
    zero_available: bool = False


@dataclass(frozen=True)
class StockTotals:
    on_hand: int
    reserved: int
    safety: int
    available: int


@dataclass(frozen=True)
class LedgerFilter:
    sku_ids: frozenset[int] = frozenset()
    order_id: int | None = None
    warehouse_id: int | None = None
    kinds: frozenset[LedgerKind] = frozenset()
    since: datetime | None = None
    until: datetime | None = None


_BALANCE_FIELDS = (
    "stock_id",
    "sku_id",
    "sku_code",
    "warehouse_id",
    "bin_id",
    "bin_code",
    "on_hand",
    "reserved",
    "ledger_on_hand",
    "ledger_reserved",
    "active_reserved",
)

_AVAILABLE = col(Stock.on_hand) - col(Stock.reserved) - col(Stock.safety)

# The order of each list (and of its cursors).
#: Bins in pick-walk order, warehouse by warehouse.
BINS = Keyset(col(Bin.warehouse_id), col(Bin.walk_seq), col(Bin.code), col(Bin.id))
#: First paid, first served: the order the reservation loop retries them in (unpaid last).
BACKORDERS = Keyset(col(Backorder.paid_at), col(Backorder.id))
#: By SKU, then where it lies; served by the unique (org_id, sku_id, bin_id).
STOCK = Keyset(col(Stock.sku_id), col(Stock.warehouse_id), col(Stock.bin_id), col(Stock.id))
#: Newest first; served by the primary key (org_id, id).
LEDGER = Keyset(col(StockLedgerEntry.id), descending=True)


def _state(row: Any) -> StockState:
    return StockState(
        stock_id=row.id,
        sku_id=row.sku_id,
        warehouse_id=row.warehouse_id,
        bin_id=row.bin_id,
        on_hand=row.on_hand,
        reserved=row.reserved,
        safety=row.safety,
    )


class InventoryRepository(Repository):
    # -- warehouses, zones, bins, SKUs -----------------------------------------------------------
    async def warehouse(self, warehouse_id: int) -> Warehouse | None:
        return await self.session.scalar(
            select(Warehouse).where(
                col(Warehouse.id) == warehouse_id, col(Warehouse.org_id) == self.org_id
            )
        )

    async def warehouse_by_code(self, code: str) -> Warehouse | None:
        return await self.session.scalar(
            select(Warehouse).where(
                col(Warehouse.code) == code, col(Warehouse.org_id) == self.org_id
            )
        )

    async def zone(self, zone_id: int) -> Zone | None:
        return await self.session.scalar(
            select(Zone).where(col(Zone.id) == zone_id, col(Zone.org_id) == self.org_id)
        )

    async def zone_by_code(self, warehouse_id: int, code: str) -> Zone | None:
        return await self.session.scalar(
            select(Zone).where(
                col(Zone.org_id) == self.org_id,
                col(Zone.warehouse_id) == warehouse_id,
                col(Zone.code) == code,
            )
        )

    async def zones_by_ids(self, ids: Sequence[int]) -> dict[int, Zone]:
        return await self._by_ids(Zone, ids)

    async def zones_for_warehouses(self, warehouse_ids: Sequence[int]) -> dict[int, list[Zone]]:
        grouped: dict[int, list[Zone]] = {w: [] for w in warehouse_ids}
        if warehouse_ids:
            rows = await self.session.scalars(
                select(Zone)
                .where(
                    col(Zone.org_id) == self.org_id,
                    col(Zone.warehouse_id).in_(set(warehouse_ids)),
                )
                .order_by(col(Zone.walk_order), col(Zone.code))
            )
            for row in rows:
                grouped[row.warehouse_id].append(row)
        return grouped

    async def add(self, row: Warehouse | Zone | Bin | ShopStockPolicyRow) -> None:
        self.session.add(row)
        await self.session.flush()

    async def add_bins(self, bins: Sequence[Bin]) -> None:
        self.session.add_all(bins)
        await self.session.flush()

    async def bins_by_ids(self, ids: Sequence[int]) -> dict[int, Bin]:
        return await self._by_ids(Bin, ids)

    async def bin_codes_taken(self, warehouse_id: int, codes: Sequence[str]) -> set[str]:
        if not codes:
            return set()
        rows = await self.session.scalars(
            select(col(Bin.code)).where(
                col(Bin.org_id) == self.org_id,
                col(Bin.warehouse_id) == warehouse_id,
                col(Bin.code).in_(set(codes)),
            )
        )
        return set(rows)

    def _bins(self, zone_id: int | None, warehouse_id: int | None) -> Select[Any]:
        stmt = select(Bin).where(col(Bin.org_id) == self.org_id)
        if zone_id is not None:
            stmt = stmt.where(col(Bin.zone_id) == zone_id)
        if warehouse_id is not None:
            stmt = stmt.where(col(Bin.warehouse_id) == warehouse_id)
        return stmt

    async def list_bins(
        self, zone_id: int | None, warehouse_id: int | None, page: Page
    ) -> PageResult[Bin]:
        return await self._page(self._bins(zone_id, warehouse_id), BINS, page)

    async def count_bins(self, zone_id: int | None, warehouse_id: int | None) -> int:
        return await self._count(self._bins(zone_id, warehouse_id))

    async def known_skus(self, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        rows = await self.session.scalars(
            select(col(Sku.id)).where(col(Sku.org_id) == self.org_id, col(Sku.id).in_(set(ids)))
        )
        return {int(i) for i in rows if i is not None}

    # -- stock rows ------------------------------------------------------------------------------
    async def ensure_stock_rows(self, keys: Sequence[tuple[int, int, int]]) -> None:
        """Create the missing (sku, bin, warehouse) rows with zero stock, in key order.

        Sorted, so two transactions creating the same rows wait for each other in one order.
        Nothing is locked: the caller locks with ``lock_stock`` afterwards.
        """
        if not keys:
            return
        ordered = sorted(set(keys))
        await self.session.execute(
            text(
                """
                INSERT INTO stock (org_id, sku_id, bin_id, warehouse_id, on_hand, reserved, safety)
                SELECT CAST(:org AS bigint), k.sku_id, k.bin_id, k.warehouse_id, 0, 0, 0
                FROM unnest(CAST(:skus AS bigint[]), CAST(:bins AS bigint[]),
                            CAST(:whs AS bigint[]))
                     WITH ORDINALITY AS k(sku_id, bin_id, warehouse_id, n)
                ORDER BY k.n
                ON CONFLICT (org_id, sku_id, bin_id) DO NOTHING
                """
            ),
            {
                "org": self.org_id,
                "skus": [k[0] for k in ordered],
                "bins": [k[1] for k in ordered],
                "whs": [k[2] for k in ordered],
            },
        )

    async def lock_stock(
        self, keys: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], StockState]:
        """Lock the stock rows of (sku, bin) ``keys`` in primary-key order; returns those found."""
        if not keys:
            return {}
        rows = await self.session.execute(
            text(
                """
                SELECT s.id, s.sku_id, s.warehouse_id, s.bin_id, s.on_hand, s.reserved, s.safety
                FROM stock s
                JOIN unnest(CAST(:skus AS bigint[]), CAST(:bins AS bigint[])) AS k(sku_id, bin_id)
                  ON s.sku_id = k.sku_id AND s.bin_id = k.bin_id
                WHERE s.org_id = :org
                ORDER BY s.id
                FOR UPDATE OF s
                """
            ),
            {"org": self.org_id, "skus": [k[0] for k in keys], "bins": [k[1] for k in keys]},
        )
        states = [_state(row) for row in rows]
        return {s.key: s for s in states}

    async def lock_stock_ids(self, ids: Sequence[int]) -> dict[tuple[int, int], StockState]:
        if not ids:
            return {}
        rows = await self.session.execute(
            text(
                """
                SELECT id, sku_id, warehouse_id, bin_id, on_hand, reserved, safety
                FROM stock
                WHERE org_id = :org AND id = ANY(CAST(:ids AS bigint[]))
                ORDER BY id
                FOR UPDATE
                """
            ),
            {"org": self.org_id, "ids": sorted(set(ids))},
        )
        states = [_state(row) for row in rows]
        return {s.key: s for s in states}

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
                text(
                    """
                    UPDATE stock AS s
                    SET on_hand = v.on_hand, reserved = v.reserved, safety = v.safety,
                        updated_at = now()
                    FROM unnest(CAST(:ids AS bigint[]), CAST(:old_on_hand AS int[]),
                                CAST(:old_reserved AS int[]), CAST(:on_hand AS int[]),
                                CAST(:reserved AS int[]), CAST(:safety AS int[]))
                         AS v(id, old_on_hand, old_reserved, on_hand, reserved, safety)
                    WHERE s.id = v.id AND s.org_id = :org
                      AND s.on_hand = v.old_on_hand AND s.reserved = v.old_reserved
                    """
                ),
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
        await self.add_ledger(ledger, note)

    async def add_ledger(self, ledger: Sequence[LedgerEntry], note: LedgerNote) -> None:
        if not ledger:
            return
        await self.session.execute(
            text(
                """
                INSERT INTO stock_ledger (
                    org_id, stock_id, sku_id, warehouse_id, bin_id, kind,
                    on_hand_delta, reserved_delta, on_hand_after, reserved_after,
                    order_id, order_line_id, reservation_id,
                    reason, reference, actor_label, actor_user_id, actor_token_id)
                SELECT CAST(:org AS bigint), e.stock_id, e.sku_id, e.warehouse_id, e.bin_id,
                       e.kind, e.on_hand_delta, e.reserved_delta, e.on_hand_after,
                       e.reserved_after, e.order_id, e.order_line_id, e.reservation_id,
                       CAST(:reason AS text), CAST(:reference AS varchar),
                       CAST(:actor_label AS varchar), CAST(:actor_user_id AS bigint),
                       CAST(:actor_token_id AS bigint)
                FROM unnest(
                    CAST(:stock AS bigint[]), CAST(:sku AS bigint[]), CAST(:wh AS bigint[]),
                    CAST(:bin AS bigint[]), CAST(:kind AS varchar[]), CAST(:doh AS int[]),
                    CAST(:dres AS int[]), CAST(:oh AS int[]), CAST(:res AS int[]),
                    CAST(:ord AS bigint[]), CAST(:line AS bigint[]), CAST(:resv AS bigint[])
                ) WITH ORDINALITY AS e(stock_id, sku_id, warehouse_id, bin_id, kind,
                       on_hand_delta, reserved_delta, on_hand_after, reserved_after,
                       order_id, order_line_id, reservation_id, n)
                ORDER BY e.n
                """
            ),
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
                **_note_params(note),
            },
        )

    async def set_safety(self, values: Mapping[int, int]) -> None:
        """Set ``safety`` of locked stock rows (stock id -> units)."""
        if not values:
            return
        ids = sorted(values)
        await self.session.execute(
            text(
                """
                UPDATE stock AS s SET safety = v.safety, updated_at = now()
                FROM unnest(CAST(:ids AS bigint[]), CAST(:safety AS int[])) AS v(id, safety)
                WHERE s.id = v.id AND s.org_id = :org
                """
            ),
            {"org": self.org_id, "ids": ids, "safety": [values[i] for i in ids]},
        )

    # -- reservations: release and commit ---------------------------------------------------------
    async def lock_order(self, order_id: int) -> Order | None:
        return await self.session.scalar(
            select(Order)
            .where(col(Order.id) == order_id, col(Order.org_id) == self.org_id)
            .with_for_update()
        )

    async def order_lines(self, order_id: int) -> list[OrderLine]:
        rows = await self.session.scalars(
            select(OrderLine)
            .where(col(OrderLine.org_id) == self.org_id, col(OrderLine.order_id) == order_id)
            .order_by(col(OrderLine.id))
        )
        return list(rows)

    async def reservations_of(
        self,
        order_ids: Sequence[int],
        *,
        status: ReservationStatus | None = None,
        line_ids: Sequence[int] | None = None,
    ) -> list[Reservation]:
        if not order_ids:
            return []
        stmt = select(Reservation).where(
            col(Reservation.org_id) == self.org_id,
            col(Reservation.order_id).in_(set(order_ids)),
        )
        if status is not None:
            stmt = stmt.where(col(Reservation.status) == status.value)
        if line_ids is not None:
            stmt = stmt.where(col(Reservation.order_line_id).in_(set(line_ids)))
        rows = await self.session.scalars(stmt.order_by(col(Reservation.id)))
        return list(rows)

    async def close_reservations(
        self, ids: Sequence[int], status: ReservationStatus, reason: str
    ) -> None:
        if not ids:
            return
        result = await self.session.execute(
            text(
                """
                UPDATE reservations SET status = :status, closed_at = now(), close_reason = :reason
                WHERE org_id = :org AND id = ANY(CAST(:ids AS bigint[])) AND status = 'ACTIVE'
                """
            ),
            {"org": self.org_id, "ids": list(ids), "status": status.value, "reason": reason},
        )
        if result.rowcount != len(ids):  # type: ignore[attr-defined]
            raise RuntimeError("a reservation was closed by someone else under the order lock")

    async def cancel_backorders(self, order_id: int, line_ids: Sequence[int] | None) -> int:
        result = await self.session.execute(
            text(
                """
                UPDATE backorders SET status = 'CANCELLED', resolved_at = now()
                WHERE org_id = :org AND order_id = :order_id AND status = 'WAITING'
                  AND (CAST(:lines AS bigint[]) IS NULL
                       OR order_line_id = ANY(CAST(:lines AS bigint[])))
                """
            ),
            {
                "org": self.org_id,
                "order_id": order_id,
                "lines": list(line_ids) if line_ids is not None else None,
            },
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def returned_quantity(self, order_line_id: int) -> int:
        total = await self.session.scalar(
            select(func.coalesce(func.sum(StockLedgerEntry.on_hand_delta), 0)).where(
                col(StockLedgerEntry.org_id) == self.org_id,
                col(StockLedgerEntry.order_line_id) == order_line_id,
                col(StockLedgerEntry.kind) == LedgerKind.RETURN.value,
            )
        )
        return int(total or 0)

    # -- backorder queue -------------------------------------------------------------------------
    async def waiting_orders(self, sku_ids: Sequence[int] | None, limit: int) -> list[int]:
        """Orders with waiting backorders (on ``sku_ids`` if given), first paid first."""
        stmt = (
            select(col(Backorder.order_id), func.min(col(Backorder.paid_at)).label("paid"))
            .where(
                col(Backorder.org_id) == self.org_id,
                col(Backorder.status) == BackorderStatus.WAITING.value,
            )
            .group_by(col(Backorder.order_id))
            .order_by(text("paid ASC NULLS LAST"), col(Backorder.order_id))
            .limit(limit)
        )
        if sku_ids is not None:
            stmt = stmt.where(col(Backorder.sku_id).in_(set(sku_ids)))
        rows = await self.session.execute(stmt)
        return [int(r[0]) for r in rows]

    async def skus_with_waiting_and_stock(self) -> list[int]:
        """SKUs that have waiting backorders and some available stock now (the sweep)."""
        rows = await self.session.execute(
            text(
                """
                SELECT DISTINCT b.sku_id FROM backorders b
                WHERE b.org_id = :org AND b.status = 'WAITING'
                  AND EXISTS (
                    SELECT 1 FROM stock s JOIN warehouses w
                      ON w.org_id = s.org_id AND w.id = s.warehouse_id
                    WHERE s.org_id = b.org_id AND s.sku_id = b.sku_id AND w.is_active
                      AND s.on_hand - s.reserved - s.safety > 0)
                ORDER BY b.sku_id
                """
            ),
            {"org": self.org_id},
        )
        return [int(r[0]) for r in rows]

    def _backorders(self, status: BackorderStatus | None, sku_ids: frozenset[int]) -> Select[Any]:
        stmt = select(Backorder).where(col(Backorder.org_id) == self.org_id)
        if status is not None:
            stmt = stmt.where(col(Backorder.status) == status.value)
        if sku_ids:
            stmt = stmt.where(col(Backorder.sku_id).in_(sku_ids))
        return stmt

    async def list_backorders(
        self, status: BackorderStatus | None, sku_ids: frozenset[int], page: Page
    ) -> PageResult[Backorder]:
        return await self._page(self._backorders(status, sku_ids), BACKORDERS, page)

    async def count_backorders(
        self, status: BackorderStatus | None, sku_ids: frozenset[int]
    ) -> int:
        return await self._count(self._backorders(status, sku_ids))

    async def backorders_of(self, order_ids: Sequence[int]) -> list[Backorder]:
        if not order_ids:
            return []
        rows = await self.session.scalars(
            select(Backorder)
            .where(
                col(Backorder.org_id) == self.org_id, col(Backorder.order_id).in_(set(order_ids))
            )
            .order_by(col(Backorder.id))
        )
        return list(rows)

    # -- stock levels and ledger (reading) -------------------------------------------------------
    def _stock(self, flt: StockFilter) -> Select[Any]:
        stmt = select(Stock).where(col(Stock.org_id) == self.org_id)
        if flt.sku_ids:
            stmt = stmt.where(col(Stock.sku_id).in_(flt.sku_ids))
        if flt.warehouse_id is not None:
            stmt = stmt.where(col(Stock.warehouse_id) == flt.warehouse_id)
        if flt.zone_id is not None:
            stmt = stmt.where(
                col(Stock.bin_id).in_(
                    select(col(Bin.id)).where(
                        col(Bin.org_id) == self.org_id, col(Bin.zone_id) == flt.zone_id
                    )
                )
            )
        if flt.below_safety:
            stmt = stmt.where(col(Stock.safety) > 0, _AVAILABLE < 0)
        if flt.zero_available:
            stmt = stmt.where(_AVAILABLE <= 0)
        return stmt

    async def list_stock(self, flt: StockFilter, page: Page) -> PageResult[Stock]:
        return await self._page(self._stock(flt), STOCK, page)

    async def count_stock(self, flt: StockFilter) -> int:
        return await self._count(self._stock(flt))

    async def stock_totals(self, flt: StockFilter) -> StockTotals:
        sub = self._stock(flt).subquery()
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(sub.c.on_hand), 0),
                    func.coalesce(func.sum(sub.c.reserved), 0),
                    func.coalesce(func.sum(sub.c.safety), 0),
                )
            )
        ).one()
        on_hand, reserved, safety = (int(v) for v in row)
        return StockTotals(on_hand, reserved, safety, on_hand - reserved - safety)

    async def stock_by_ids(self, ids: Sequence[int]) -> dict[int, Stock]:
        return await self._by_ids(Stock, ids)

    async def ledger_by_ids(self, ids: Sequence[int]) -> dict[int, StockLedgerEntry]:
        return await self._by_ids(StockLedgerEntry, ids)

    async def reservations_by_ids(self, ids: Sequence[int]) -> dict[int, Reservation]:
        return await self._by_ids(Reservation, ids)

    async def backorders_by_ids(self, ids: Sequence[int]) -> dict[int, Backorder]:
        return await self._by_ids(Backorder, ids)

    async def available_by_sku(self, sku_ids: Sequence[int]) -> dict[int, int]:
        """Available stock per SKU over active warehouses (rows below zero count as zero)."""
        if not sku_ids:
            return {}
        rows = await self.session.execute(
            select(col(Stock.sku_id), func.sum(func.greatest(_AVAILABLE, 0)))
            .join(
                Warehouse,
                (col(Warehouse.org_id) == col(Stock.org_id))
                & (col(Warehouse.id) == col(Stock.warehouse_id)),
            )
            .where(
                col(Stock.org_id) == self.org_id,
                col(Stock.sku_id).in_(set(sku_ids)),
                col(Warehouse.is_active),
            )
            .group_by(col(Stock.sku_id))
        )
        found = {int(sku): int(total) for sku, total in rows}
        return {sku: found.get(sku, 0) for sku in sku_ids}

    def _ledger(self, flt: LedgerFilter) -> Select[Any]:
        stmt = select(StockLedgerEntry).where(col(StockLedgerEntry.org_id) == self.org_id)
        conditions: list[Any] = []
        if flt.sku_ids:
            conditions.append(col(StockLedgerEntry.sku_id).in_(flt.sku_ids))
        if flt.order_id is not None:
            conditions.append(col(StockLedgerEntry.order_id) == flt.order_id)
        if flt.warehouse_id is not None:
            conditions.append(col(StockLedgerEntry.warehouse_id) == flt.warehouse_id)
        if flt.kinds:
            conditions.append(col(StockLedgerEntry.kind).in_([k.value for k in flt.kinds]))
        if flt.since is not None:
            conditions.append(col(StockLedgerEntry.created_at) >= flt.since)
        if flt.until is not None:
            conditions.append(col(StockLedgerEntry.created_at) < flt.until)
        if conditions:
            stmt = stmt.where(and_(*conditions))
        return stmt

    async def list_ledger(self, flt: LedgerFilter, page: Page) -> PageResult[StockLedgerEntry]:
        return await self._page(self._ledger(flt), LEDGER, page)

    async def count_ledger(self, flt: LedgerFilter) -> int:
        return await self._count(self._ledger(flt))

    # -- shop stock policies ---------------------------------------------------------------------
    async def shop_policies(self) -> dict[int, ShopStockPolicy]:
        rows = await self.session.scalars(
            select(ShopStockPolicyRow).where(col(ShopStockPolicyRow.org_id) == self.org_id)
        )
        return {
            row.shop_id: ShopStockPolicy(
                ratio_percent=row.ratio_percent,
                cap=row.cap,
                pool=row.pool,
                allow_split=row.allow_split,
            )
            for row in rows
        }

    async def policy_rows(self) -> list[ShopStockPolicyRow]:
        rows = await self.session.scalars(
            select(ShopStockPolicyRow)
            .where(col(ShopStockPolicyRow.org_id) == self.org_id)
            .order_by(col(ShopStockPolicyRow.shop_id))
        )
        return list(rows)

    async def lock_policy_row(self, shop_id: int) -> ShopStockPolicyRow:
        """The shop's policy row, locked, created with the defaults if missing.

        Two concurrent changes of one shop's policy queue up on the row (the later one wins)
        instead of both inserting it and one failing on the unique (org_id, shop_id)."""
        await self.session.execute(
            insert(ShopStockPolicyRow)
            .values(
                org_id=self.org_id,
                shop_id=shop_id,
                ratio_percent=100,
                cap=None,
                pool=None,
                allow_split=False,
            )
            .on_conflict_do_nothing(index_elements=["org_id", "shop_id"])
        )
        row = await self.policy_row(shop_id)
        assert row is not None  # inserted above, or by the transaction it waited for
        return row

    async def policy_row(self, shop_id: int) -> ShopStockPolicyRow | None:
        return await self.session.scalar(
            select(ShopStockPolicyRow)
            .where(
                col(ShopStockPolicyRow.org_id) == self.org_id,
                col(ShopStockPolicyRow.shop_id) == shop_id,
            )
            .with_for_update()
        )

    # -- reconciliation --------------------------------------------------------------------------
    async def has_stock(self) -> bool:
        found = await self.session.scalar(
            select(col(Stock.id)).where(col(Stock.org_id) == self.org_id).limit(1)
        )
        return found is not None

    async def drifted_balances(self) -> tuple[int, list[StockBalance]]:
        """Every stock row whose on_hand/reserved disagree with the replayed ledger or with its
        active reservations, and how many rows were checked; one statement, so one consistent
        snapshot even while orders keep reserving."""
        row = (
            await self.session.execute(
                text(
                    """
                    WITH led AS (
                        SELECT stock_id, sum(on_hand_delta) AS on_hand,
                               sum(reserved_delta) AS reserved
                        FROM stock_ledger WHERE org_id = :org GROUP BY stock_id
                    ), act AS (
                        SELECT stock_id, sum(quantity) AS reserved
                        FROM reservations WHERE org_id = :org AND status = 'ACTIVE'
                        GROUP BY stock_id
                    ), bal AS (
                        SELECT s.id AS stock_id, s.sku_id, k.code AS sku_code, s.warehouse_id,
                               s.bin_id, b.code AS bin_code, s.on_hand, s.reserved,
                               coalesce(led.on_hand, 0) AS ledger_on_hand,
                               coalesce(led.reserved, 0) AS ledger_reserved,
                               coalesce(act.reserved, 0) AS active_reserved
                        FROM stock s
                        JOIN skus k ON k.org_id = s.org_id AND k.id = s.sku_id
                        JOIN bins b ON b.org_id = s.org_id AND b.id = s.bin_id
                        LEFT JOIN led ON led.stock_id = s.id
                        LEFT JOIN act ON act.stock_id = s.id
                        WHERE s.org_id = :org
                    )
                    SELECT (SELECT count(*) FROM bal) AS checked,
                           (SELECT coalesce(json_agg(d ORDER BY d.stock_id), '[]')
                            FROM bal AS d
                            WHERE d.on_hand <> d.ledger_on_hand
                               OR d.reserved <> d.ledger_reserved
                               OR d.reserved <> d.active_reserved) AS drifted
                    """
                ),
                {"org": self.org_id},
            )
        ).one()
        drifted = row.drifted if isinstance(row.drifted, list) else json.loads(row.drifted)
        return int(row.checked), [
            StockBalance(**{key: d[key] for key in _BALANCE_FIELDS}) for d in drifted
        ]

    async def ledger_orphans(self) -> int:
        """Ledger rows pointing at no stock row of this organisation (should be none)."""
        total = await self.session.scalar(
            text(
                """
                SELECT count(*) FROM stock_ledger l
                WHERE l.org_id = :org
                  AND NOT EXISTS (SELECT 1 FROM stock s WHERE s.id = l.stock_id AND s.org_id = :org)
                """
            ),
            {"org": self.org_id},
        )
        return int(total or 0)

    # -- search helpers for the API ----------------------------------------------------------------
    async def skus_matching(self, search: str) -> list[int]:
        pattern = f"%{search.lower()}%"
        rows = await self.session.scalars(
            select(col(Sku.id)).where(
                col(Sku.org_id) == self.org_id,
                or_(func.lower(col(Sku.code)).like(pattern), col(Sku.barcode) == search),
            )
        )
        return [int(i) for i in rows if i is not None]


def _note_params(note: LedgerNote) -> dict[str, Any]:
    return {
        "reason": note.reason,
        "reference": note.reference,
        "actor_label": note.actor_label,
        "actor_user_id": note.actor_user_id,
        "actor_token_id": note.actor_token_id,
    }
