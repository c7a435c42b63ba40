"""Inventory queries: stock levels (with totals), the stock ledger, backorders, zones, bins,
reservations of an order, shop stock policies.  (``warehouses`` is in api/catalog.)"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import from_domain
from api.ids import decode_id_or_raise
from api.inventory.inputs import StockLedgerFilterInput, StockLevelFilterInput
from api.inventory.loaders import inventory_loaders
from api.inventory.types import (
    Backorder,
    Bin,
    Reservation,
    ShopStockPolicy,
    StockLedgerEntry,
    StockLevel,
    StockLevelConnection,
    StockTotals,
    Zone,
)
from api.node import loaded, register_node
from api.pagination import Connection, PageRequest, list_connection
from api.permissions import OrdersRead, StockRead
from domain.errors import DomainError
from domain.inventory import layout, queries, reservation, shop_policies
from domain.inventory.model import BackorderStatus, LedgerFilter, StockFilter


@strawberry.type
class InventoryQueries:
    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[StockRead],
        description="Stock per SKU and bin, by SKU, warehouse, bin; with totals over all pages.",
    )
    async def stock_levels(
        self,
        info: Info[Context, None],
        filter: StockLevelFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> StockLevelConnection:
        ctx = info.context
        try:
            flt = filter.to_domain() if filter else StockFilter()
        except DomainError as exc:
            raise from_domain(exc) from exc
        page = await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: queries.count_stock_levels(uow, actor, flt),
            lambda uow, actor, page: queries.stock_levels(uow, actor, flt, page),
            StockLevel.from_row,
            filter=flt,
        )
        async with ctx.uow() as uow:
            totals = await queries.stock_totals(uow, ctx.require_actor(), flt)
        pending = await reservation.pending_reservations(
            ctx.services.db, ctx.require_actor().org_id
        )
        return StockLevelConnection(
            edges=page.edges,
            page_info=page.page_info,
            total_count=page.total_count,
            totals=StockTotals.from_row(totals),
            pending_reservations=pending.count,
        )

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[StockRead],
        description="Every stock change (库存流水), newest first: per SKU, order, time range.",
    )
    async def stock_ledger(
        self,
        info: Info[Context, None],
        filter: StockLedgerFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[StockLedgerEntry]:
        try:
            flt = filter.to_domain() if filter else LedgerFilter()
        except DomainError as exc:
            raise from_domain(exc) from exc
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: queries.count_ledger_entries(uow, actor, flt),
            lambda uow, actor, page: queries.ledger_entries(uow, actor, flt, page),
            StockLedgerEntry.from_row,
            filter=flt,
        )

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[StockRead],
        description="Order lines waiting for stock (缺货), first paid first.",
    )
    async def backorders(
        self,
        info: Info[Context, None],
        status: BackorderStatus | None = BackorderStatus.WAITING,
        sku_ids: list[strawberry.ID] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Backorder]:
        skus = frozenset(decode_id_or_raise(s, "Sku", field="skuIds") for s in sku_ids or ())
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: queries.count_backorders(uow, actor, status, skus),
            lambda uow, actor, page: queries.backorders(uow, actor, status, skus, page),
            Backorder.from_row,
            filter={"status": status, "skuIds": skus},
        )

    @strawberry.field(permission_classes=[StockRead], description="A warehouse's zones.")  # type: ignore[untyped-decorator]
    async def zones(self, info: Info[Context, None], warehouse_id: strawberry.ID) -> list[Zone]:
        ctx = info.context
        pk = decode_id_or_raise(warehouse_id, "Warehouse", field="warehouseId")
        try:
            async with ctx.uow() as uow:
                rows = await layout.zones_of(uow, ctx.require_actor(), pk)
        except DomainError as exc:
            raise from_domain(exc) from exc
        return [Zone.from_row(row) for row in rows]

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[StockRead], description="Bins (库位) in pick-walk order."
    )
    async def bins(
        self,
        info: Info[Context, None],
        warehouse_id: strawberry.ID | None = None,
        zone_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Bin]:
        warehouse = (
            decode_id_or_raise(warehouse_id, "Warehouse", field="warehouseId")
            if warehouse_id
            else None
        )
        zone = decode_id_or_raise(zone_id, "Zone", field="zoneId") if zone_id else None
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: layout.count_bins(uow, actor, zone_id=zone, warehouse_id=warehouse),
            lambda uow, actor, page: layout.find_bins(
                uow, actor, zone_id=zone, warehouse_id=warehouse, page=page
            ),
            Bin.from_row,
            filter={"warehouseId": warehouse, "zoneId": zone},
        )

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[StockRead, OrdersRead],
        description="What is reserved for an order, line by line and bin by bin (all statuses).",
    )
    async def order_reservations(
        self, info: Info[Context, None], order_id: strawberry.ID
    ) -> list[Reservation]:
        ctx = info.context
        pk = decode_id_or_raise(order_id, "Order", field="orderId")
        try:
            async with ctx.uow() as uow:
                rows = await queries.reservations_for_order(uow, ctx.require_actor(), pk)
        except DomainError as exc:
            raise from_domain(exc) from exc
        return [Reservation.from_row(row) for row in rows]

    @strawberry.field(permission_classes=[StockRead])  # type: ignore[untyped-decorator]
    async def shop_stock_policies(self, info: Info[Context, None]) -> list[ShopStockPolicy]:
        ctx = info.context
        try:
            async with ctx.uow() as uow:
                rows = await shop_policies.shop_stock_policies(uow, ctx.require_actor())
        except DomainError as exc:
            raise from_domain(exc) from exc
        return [ShopStockPolicy.from_row(row) for row in rows]


register_node("Zone", loaded(lambda ctx: inventory_loaders(ctx).zone, Zone.from_row))
register_node("Bin", loaded(lambda ctx: inventory_loaders(ctx).bin, Bin.from_row))
register_node(
    "StockLevel", loaded(lambda ctx: inventory_loaders(ctx).stock_level, StockLevel.from_row)
)
register_node(
    "StockLedgerEntry",
    loaded(lambda ctx: inventory_loaders(ctx).ledger_entry, StockLedgerEntry.from_row),
)
register_node(
    "Reservation", loaded(lambda ctx: inventory_loaders(ctx).reservation, Reservation.from_row)
)
register_node("Backorder", loaded(lambda ctx: inventory_loaders(ctx).backorder, Backorder.from_row))
