"""Reading stock (库存查询): levels with their totals, the stock ledger (库存流水), backorders
(缺货) and the reservations of orders.  Staff only (``access.require_read``)."""

from __future__ import annotations

from collections.abc import Sequence

from db.tables import Backorder, Reservation, Stock, StockLedgerEntry
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.inventory.access import require_read
from domain.inventory.model import BackorderStatus, LedgerFilter, StockFilter, StockTotals


async def stock_levels(
    uow: UnitOfWork, actor: Actor, flt: StockFilter, offset: int, limit: int
) -> Sequence[Stock]:
    require_read(actor)
    return await uow.stock_queries.list_stock(flt, offset, limit)


async def count_stock_levels(uow: UnitOfWork, actor: Actor, flt: StockFilter) -> int:
    require_read(actor)
    return await uow.stock_queries.count_stock(flt)


async def stock_totals(uow: UnitOfWork, actor: Actor, flt: StockFilter) -> StockTotals:
    require_read(actor)
    return await uow.stock_queries.stock_totals(flt)


async def stock_levels_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> list[Stock]:
    require_read(actor)
    found = await uow.stock_queries.stock_by_ids(ids)
    return [found[i] for i in ids if i in found]


async def ledger_entries(
    uow: UnitOfWork, actor: Actor, flt: LedgerFilter, offset: int, limit: int
) -> Sequence[StockLedgerEntry]:
    require_read(actor)
    return await uow.stock_queries.list_ledger(flt, offset, limit)


async def count_ledger_entries(uow: UnitOfWork, actor: Actor, flt: LedgerFilter) -> int:
    require_read(actor)
    return await uow.stock_queries.count_ledger(flt)


async def backorders(
    uow: UnitOfWork,
    actor: Actor,
    status: BackorderStatus | None,
    sku_ids: frozenset[int],
    offset: int,
    limit: int,
) -> Sequence[Backorder]:
    require_read(actor)
    return await uow.stock_queries.list_backorders(status, sku_ids, offset, limit)


async def count_backorders(
    uow: UnitOfWork, actor: Actor, status: BackorderStatus | None, sku_ids: frozenset[int]
) -> int:
    require_read(actor)
    return await uow.stock_queries.count_backorders(status, sku_ids)


async def reservations_for_orders(
    uow: UnitOfWork, actor: Actor, order_ids: Sequence[int]
) -> list[Reservation]:
    require_read(actor)
    return await uow.stock_queries.reservations_of(order_ids)
