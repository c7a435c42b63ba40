"""SQL that reads stock: levels with their totals, SKU availability, the stock ledger,
backorders, reservations of orders, and what came back from customers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlmodel import col

from db.repositories._base import Keyset, Repository
from db.tables import Backorder, Bin, Reservation, Stock, StockLedgerEntry, Warehouse
from domain.inventory.model import (
    BackorderStatus,
    LedgerFilter,
    LedgerKind,
    ReservationStatus,
    StockFilter,
    StockTotals,
)
from domain.paging import Page, PageResult

_AVAILABLE = col(Stock.on_hand) - col(Stock.reserved) - col(Stock.safety)

# The order of each list (and of its cursors).
#: First paid, first served: the order the reservation loop retries them in (unpaid last).
BACKORDERS = Keyset(col(Backorder.paid_at), col(Backorder.id))
#: By SKU, then where it lies; served by the unique (org_id, sku_id, bin_id).
STOCK = Keyset(col(Stock.sku_id), col(Stock.warehouse_id), col(Stock.bin_id), col(Stock.id))
#: Newest first; served by the primary key (org_id, id).
LEDGER = Keyset(col(StockLedgerEntry.id), descending=True)


@dataclass(frozen=True, slots=True)
class ActiveReservation:
    """An active reservation as a stock move reads it: plain values, not an ORM object, since
    a bulk release or shipment reads thousands."""

    reservation_id: int
    order_id: int
    order_line_id: int
    sku_id: int
    bin_id: int
    stock_id: int
    quantity: int


class StockQueryRepository(Repository):
    # -- stock levels ----------------------------------------------------------------------------
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

    # -- the stock ledger --------------------------------------------------------------------------
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

    async def returned_units(self, order_line_id: int) -> int:
        """Units of an order line already restocked as returns (退货入库)."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(StockLedgerEntry.on_hand_delta), 0)).where(
                col(StockLedgerEntry.org_id) == self.org_id,
                col(StockLedgerEntry.order_line_id) == order_line_id,
                col(StockLedgerEntry.kind) == LedgerKind.RETURN.value,
            )
        )
        return int(total or 0)

    # -- backorders and reservations ---------------------------------------------------------------
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

    async def active_reservations(self, order_ids: Sequence[int]) -> list[ActiveReservation]:
        """The active reservations of orders, oldest first."""
        if not order_ids:
            return []
        rows = await self.session.execute(
            select(
                col(Reservation.id),
                col(Reservation.order_id),
                col(Reservation.order_line_id),
                col(Reservation.sku_id),
                col(Reservation.bin_id),
                col(Reservation.stock_id),
                col(Reservation.quantity),
            )
            .where(
                col(Reservation.org_id) == self.org_id,
                col(Reservation.order_id).in_(set(order_ids)),
                col(Reservation.status) == ReservationStatus.ACTIVE.value,
            )
            .order_by(col(Reservation.id))
        )
        return [ActiveReservation(int(r[0] or 0), r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    async def reservations_of(
        self,
        order_ids: Sequence[int],
        *,
        status: ReservationStatus | None = None,
        line_ids: Sequence[int] | None = None,
    ) -> list[Reservation]:
        """The reservations of orders (of some of their lines), oldest first."""
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
