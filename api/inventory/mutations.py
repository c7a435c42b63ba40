"""Inventory mutations (stock:write or layout:write, see the role matrix; checked by the services).

Stock changes run in one unit of work each, retried on lock failures like every mutation
(``api.errors.run_mutation``); bulk forms are atomic.  Typed errors come back in the payload:
INSUFFICIENT_STOCK, UNKNOWN_SKU, UNKNOWN_BIN, NEGATIVE_QUANTITY, SAME_BIN,
BIN_WAREHOUSE_MISMATCH, CONCURRENT_UPDATE, ...
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.catalog.types import Warehouse
from api.context import Context
from api.errors import run_mutation
from api.ids import decode_id
from api.inventory.inputs import (
    AdjustStockInput,
    CreateBinsInput,
    CreateWarehouseInput,
    CreateZoneInput,
    ReceiveStockInput,
    RestockReturnInput,
    SetSafetyStockInput,
    SetShopStockPolicyInput,
    TransferStockInput,
    UpdateBinInput,
    UpdateWarehouseInput,
    UpdateZoneInput,
)
from api.inventory.types import (
    Bin,
    BinPayload,
    BinsPayload,
    ShopStockPolicy,
    ShopStockPolicyPayload,
    StockChangePayload,
    StockLevel,
    WarehousePayload,
    Zone,
    ZonePayload,
)
from api.permissions import IsAuthenticated
from domain.inventory import layout, shop_policies, stock_moves
from domain.inventory.model import StockState


def _levels(states: list[StockState]) -> StockChangePayload:
    return StockChangePayload(stock_levels=[StockLevel.from_state(s) for s in states])


@strawberry.type
class InventoryMutations:
    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def receive_stock(
        self, info: Info[Context, None], input: ReceiveStockInput
    ) -> StockChangePayload:
        ctx = info.context

        async def action() -> StockChangePayload:
            actor = ctx.require_actor()
            warehouse_id = decode_id(input.warehouse_id, "Warehouse", field="warehouseId")
            lines = input.lines()
            async with ctx.uow() as uow:
                states = await stock_moves.receive_stock(
                    uow,
                    actor,
                    warehouse_id=warehouse_id,
                    items=lines,
                    reason=input.reason,
                    reference=input.reference,
                )
                await uow.commit()
            return _levels(states)

        return await run_mutation(info, action, StockChangePayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def adjust_stock(
        self, info: Info[Context, None], input: AdjustStockInput
    ) -> StockChangePayload:
        ctx = info.context

        async def action() -> StockChangePayload:
            actor = ctx.require_actor()
            lines = input.lines()
            async with ctx.uow() as uow:
                states = await stock_moves.adjust_stock(
                    uow, actor, items=lines, reason=input.reason, reference=input.reference
                )
                await uow.commit()
            return _levels(states)

        return await run_mutation(info, action, StockChangePayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def transfer_stock(
        self, info: Info[Context, None], input: TransferStockInput
    ) -> StockChangePayload:
        ctx = info.context

        async def action() -> StockChangePayload:
            actor = ctx.require_actor()
            lines = input.lines()
            async with ctx.uow() as uow:
                states = await stock_moves.transfer_stock(
                    uow, actor, items=lines, reason=input.reason, reference=input.reference
                )
                await uow.commit()
            return _levels(states)

        return await run_mutation(info, action, StockChangePayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def set_safety_stock(
        self, info: Info[Context, None], input: SetSafetyStockInput
    ) -> StockChangePayload:
        ctx = info.context

        async def action() -> StockChangePayload:
            actor = ctx.require_actor()
            lines = input.lines()
            async with ctx.uow() as uow:
                states = await stock_moves.set_safety_stock(uow, actor, items=lines)
                await uow.commit()
            return _levels(states)

        return await run_mutation(info, action, StockChangePayload)

    @strawberry.mutation(  # type: ignore[untyped-decorator]
        permission_classes=[IsAuthenticated],
        description="Put returned units of a shipped line back on hand (at most what shipped).",
    )
    async def restock_return(
        self, info: Info[Context, None], input: RestockReturnInput
    ) -> StockChangePayload:
        ctx = info.context

        async def action() -> StockChangePayload:
            actor = ctx.require_actor()
            order_id = decode_id(input.order_id, "Order", field="orderId")
            line_id = decode_id(input.order_line_id, "OrderLine", field="orderLineId")
            bin_id = decode_id(input.bin_id, "Bin", field="binId")
            async with ctx.uow() as uow:
                state = await stock_moves.restock_return(
                    uow,
                    actor,
                    order_id=order_id,
                    order_line_id=line_id,
                    bin_id=bin_id,
                    quantity=input.quantity,
                    reason=input.reason,
                    reference=input.reference,
                )
                await uow.commit()
            return _levels([state])

        return await run_mutation(info, action, StockChangePayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def create_warehouse(
        self, info: Info[Context, None], input: CreateWarehouseInput
    ) -> WarehousePayload:
        ctx = info.context

        async def action() -> WarehousePayload:
            async with ctx.uow() as uow:
                row = await layout.create_warehouse(
                    uow,
                    ctx.require_actor(),
                    code=input.code,
                    name=input.name,
                    address=input.address,
                    provinces=input.provinces,
                    priority=input.priority,
                )
                await uow.commit()
            return WarehousePayload(warehouse=Warehouse.from_row(row))

        return await run_mutation(info, action, WarehousePayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def update_warehouse(
        self, info: Info[Context, None], input: UpdateWarehouseInput
    ) -> WarehousePayload:
        ctx = info.context

        async def action() -> WarehousePayload:
            pk = decode_id(input.id, "Warehouse")
            async with ctx.uow() as uow:
                row = await layout.update_warehouse(
                    uow,
                    ctx.require_actor(),
                    pk,
                    name=input.name,
                    address=input.address,
                    provinces=input.provinces,
                    priority=input.priority,
                    is_active=input.is_active,
                )
                await uow.commit()
            return WarehousePayload(warehouse=Warehouse.from_row(row))

        return await run_mutation(info, action, WarehousePayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def create_zone(self, info: Info[Context, None], input: CreateZoneInput) -> ZonePayload:
        ctx = info.context

        async def action() -> ZonePayload:
            warehouse_id = decode_id(input.warehouse_id, "Warehouse", field="warehouseId")
            async with ctx.uow() as uow:
                row = await layout.create_zone(
                    uow,
                    ctx.require_actor(),
                    warehouse_id=warehouse_id,
                    code=input.code,
                    name=input.name,
                    walk_order=input.walk_order,
                )
                await uow.commit()
            return ZonePayload(zone=Zone.from_row(row))

        return await run_mutation(info, action, ZonePayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def update_zone(self, info: Info[Context, None], input: UpdateZoneInput) -> ZonePayload:
        ctx = info.context

        async def action() -> ZonePayload:
            pk = decode_id(input.id, "Zone")
            async with ctx.uow() as uow:
                row = await layout.update_zone(
                    uow, ctx.require_actor(), pk, name=input.name, walk_order=input.walk_order
                )
                await uow.commit()
            return ZonePayload(zone=Zone.from_row(row))

        return await run_mutation(info, action, ZonePayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def create_bins(self, info: Info[Context, None], input: CreateBinsInput) -> BinsPayload:
        ctx = info.context

        async def action() -> BinsPayload:
            zone_id = decode_id(input.zone_id, "Zone", field="zoneId")
            async with ctx.uow() as uow:
                rows = await layout.create_bins(
                    uow, ctx.require_actor(), zone_id=zone_id, bins=input.drafts()
                )
                await uow.commit()
            return BinsPayload(bins=[Bin.from_row(row) for row in rows])

        return await run_mutation(info, action, BinsPayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def update_bin(self, info: Info[Context, None], input: UpdateBinInput) -> BinPayload:
        ctx = info.context

        async def action() -> BinPayload:
            pk = decode_id(input.id, "Bin")
            async with ctx.uow() as uow:
                row = await layout.update_bin(
                    uow, ctx.require_actor(), pk, code=input.code, walk_seq=input.walk_seq
                )
                await uow.commit()
            return BinPayload(bin=Bin.from_row(row))

        return await run_mutation(info, action, BinPayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def set_shop_stock_policy(
        self, info: Info[Context, None], input: SetShopStockPolicyInput
    ) -> ShopStockPolicyPayload:
        ctx = info.context

        async def action() -> ShopStockPolicyPayload:
            shop_id = decode_id(input.shop_id, "Shop", field="shopId")
            async with ctx.uow() as uow:
                row = await shop_policies.set_shop_stock_policy(
                    uow, ctx.require_actor(), shop_id, input.policy()
                )
                await uow.commit()
            return ShopStockPolicyPayload(policy=ShopStockPolicy.from_row(row))

        return await run_mutation(info, action, ShopStockPolicyPayload)
