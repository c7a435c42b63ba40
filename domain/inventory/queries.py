"""Reading stock (库存查询): levels with their totals, the stock ledger (库存流水), backorders
(缺货) and the reservations of orders.  Every path asks ``domain/inventory/scope.py``."""

from __future__ import annotations

from collections.abc import Sequence

from db.tables import Backorder, Reservation, Stock, StockLedgerEntry
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.catalog import service as catalog
from domain.inventory import scope
from domain.inventory.model import BackorderStatus, LedgerFilter, StockFilter, StockTotals
from domain.orders import scope as orders_scope
from domain.paging import Page, PageResult
from domain.scope import require_found


async def require_stock_ids(
    uow: UnitOfWork,
    *,
    warehouse_ids: Sequence[int] = (),
    zone_ids: Sequence[int] = (),
    field: str,
) -> None:
    """Id arguments naming warehouses or zones (the caller holds ``stock:read``, which reaches
    all of them): NOT_FOUND when unknown or another seller's."""
    if warehouse_ids:
        found = await uow.shops.warehouses_by_ids(warehouse_ids)
        require_found(warehouse_ids, found, "Warehouse", field)
    if zone_ids:
        require_found(zone_ids, await uow.layout.zones_by_ids(zone_ids), "Zone", field)


async def _require_orders(uow: UnitOfWork, actor: Actor, ids: Sequence[int], field: str) -> None:
    """Id arguments naming orders go through the orders scope: FORBIDDEN without
    ``orders:read``, NOT_FOUND when out of reach.  (Not through domain.orders.service, which
    imports the inventory services.)"""
    if not ids:
        return
    within = orders_scope.orders(actor).require(field)
    found = await uow.orders.by_ids(ids)
    readable = [pk for pk, o in found.items() if orders_scope.may_read(within, o.supplier_id)]
    require_found(ids, readable, "Order", field)


async def _readable_stock_filter(uow: UnitOfWork, actor: Actor, flt: StockFilter) -> StockFilter:
    scope.stock(actor).require()
    await catalog.require_skus(uow, actor, sorted(flt.sku_ids), "filter.skuIds")
    await require_stock_ids(uow, warehouse_ids=one(flt.warehouse_id), field="filter.warehouseId")
    await require_stock_ids(uow, zone_ids=one(flt.zone_id), field="filter.zoneId")
    return flt


async def _readable_ledger_filter(uow: UnitOfWork, actor: Actor, flt: LedgerFilter) -> LedgerFilter:
    scope.stock(actor).require()
    await catalog.require_skus(uow, actor, sorted(flt.sku_ids), "filter.skuIds")
    await _require_orders(uow, actor, one(flt.order_id), "filter.orderId")
    await require_stock_ids(uow, warehouse_ids=one(flt.warehouse_id), field="filter.warehouseId")
    return flt


def one(pk: int | None) -> list[int]:
    return [pk] if pk is not None else []


async def stock_levels(
    uow: UnitOfWork, actor: Actor, flt: StockFilter, page: Page
) -> PageResult[Stock]:
    flt = await _readable_stock_filter(uow, actor, flt)
    return await uow.stock_queries.list_stock(flt, page)


async def count_stock_levels(uow: UnitOfWork, actor: Actor, flt: StockFilter) -> int:
    return await uow.stock_queries.count_stock(await _readable_stock_filter(uow, actor, flt))


async def stock_totals(uow: UnitOfWork, actor: Actor, flt: StockFilter) -> StockTotals:
    return await uow.stock_queries.stock_totals(await _readable_stock_filter(uow, actor, flt))


async def ledger_entries(
    uow: UnitOfWork, actor: Actor, flt: LedgerFilter, page: Page
) -> PageResult[StockLedgerEntry]:
    flt = await _readable_ledger_filter(uow, actor, flt)
    return await uow.stock_queries.list_ledger(flt, page)


async def count_ledger_entries(uow: UnitOfWork, actor: Actor, flt: LedgerFilter) -> int:
    return await uow.stock_queries.count_ledger(await _readable_ledger_filter(uow, actor, flt))


async def backorders(
    uow: UnitOfWork,
    actor: Actor,
    status: BackorderStatus | None,
    sku_ids: frozenset[int],
    page: Page,
) -> PageResult[Backorder]:
    scope.stock(actor).require()
    await catalog.require_skus(uow, actor, sorted(sku_ids), "skuIds")
    return await uow.stock_queries.list_backorders(status, sku_ids, page)


async def count_backorders(
    uow: UnitOfWork, actor: Actor, status: BackorderStatus | None, sku_ids: frozenset[int]
) -> int:
    scope.stock(actor).require()
    await catalog.require_skus(uow, actor, sorted(sku_ids), "skuIds")
    return await uow.stock_queries.count_backorders(status, sku_ids)


async def reservations_for_order(
    uow: UnitOfWork, actor: Actor, order_id: int, field: str = "orderId"
) -> list[Reservation]:
    """What is reserved for one order: ``stock:read``, and the order inside the orders scope."""
    scope.stock(actor).require()
    await _require_orders(uow, actor, [order_id], field)
    return await uow.stock_queries.reservations_of([order_id])


# -- by id (node, DataLoaders): only what the actor may read, nothing without stock:read --------
async def stock_levels_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, Stock]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.stock_queries.stock_by_ids(ids)


async def ledger_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, StockLedgerEntry]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.stock_queries.ledger_by_ids(ids)


async def reservations_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, Reservation]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.stock_queries.reservations_by_ids(ids)


async def reservations_of_orders(
    uow: UnitOfWork, actor: Actor, order_ids: Sequence[int]
) -> list[Reservation]:
    if not scope.stock(actor).allowed:
        return []
    return await uow.stock_queries.reservations_of(order_ids)


async def backorders_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, Backorder]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.stock_queries.backorders_by_ids(ids)


async def available_by_sku(uow: UnitOfWork, actor: Actor, sku_ids: Sequence[int]) -> dict[int, int]:
    if not scope.stock(actor).allowed:
        return {}
    return await uow.stock_queries.available_by_sku(sku_ids)
