"""GraphQL types for inventory (库存): zones, bins, stock levels, the stock ledger, backorders,
reservations and shop stock policies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from api.catalog.types import Shop, Sku, Warehouse
from api.context import Context
from api.errors import ApiError, UserError
from api.ids import decode_id_or_raise, to_global_id
from api.inventory.loaders import inventory_loaders
from api.pagination import Connection
from api.permissions import CatalogRead, ShopsRead
from db import tables
from domain.errors import ErrorCode
from domain.inventory.model import (
    BackorderStatus,
    LedgerKind,
    ReservationStatus,
    StockState,
    channel_available,
)
from domain.inventory.model import StockTotals as StockTotalsRow

StockLedgerKindEnum = strawberry.enum(LedgerKind, name="StockLedgerKind")
ReservationStatusEnum = strawberry.enum(ReservationStatus, name="ReservationStatus")
BackorderStatusEnum = strawberry.enum(BackorderStatus, name="BackorderStatus")


@strawberry.type(description="A picking zone (拣货区) of a warehouse, e.g. A shelving, C returns.")
class Zone(relay.Node):
    id: relay.NodeID[int]
    code: str
    name: str
    walk_order: int = strawberry.field(description="Where the zone comes on the pick walk.")
    _warehouse_id: strawberry.Private[int]

    @strawberry.field
    async def warehouse(self, info: Info[Context, None]) -> Warehouse | None:
        row = await info.context.loaders.warehouse.load(self._warehouse_id)
        return Warehouse.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: tables.Zone) -> Zone:
        assert row.id is not None
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            walk_order=row.walk_order,
            _warehouse_id=row.warehouse_id,
        )


@strawberry.type(description="A storage location (库位) such as A-03-2-1.")
class Bin(relay.Node):
    id: relay.NodeID[int]
    code: str
    walk_seq: int = strawberry.field(description="Order of the bin on the pick walk.")
    _zone_id: strawberry.Private[int]
    _warehouse_id: strawberry.Private[int]

    @strawberry.field
    async def zone(self, info: Info[Context, None]) -> Zone | None:
        row = await inventory_loaders(info.context).zone.load(self._zone_id)
        return Zone.from_row(row) if row else None

    @strawberry.field
    async def warehouse(self, info: Info[Context, None]) -> Warehouse | None:
        row = await info.context.loaders.warehouse.load(self._warehouse_id)
        return Warehouse.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: tables.Bin) -> Bin:
        assert row.id is not None
        return cls(
            id=row.id,
            code=row.code,
            walk_seq=row.walk_seq,
            _zone_id=row.zone_id,
            _warehouse_id=row.warehouse_id,
        )


async def _sku(info: Info[Context, None], sku_id: int) -> Sku | None:
    row = await info.context.loaders.sku.load(sku_id)
    return Sku.from_row(row) if row else None


async def _bin(info: Info[Context, None], bin_id: int) -> Bin | None:
    row = await inventory_loaders(info.context).bin.load(bin_id)
    return Bin.from_row(row) if row else None


async def _warehouse(info: Info[Context, None], warehouse_id: int) -> Warehouse | None:
    row = await info.context.loaders.warehouse.load(warehouse_id)
    return Warehouse.from_row(row) if row else None


@strawberry.type(
    description="One SKU in one bin: on hand (实物), reserved (占用), safety (安全库存), "
    "available = onHand − reserved − safety (可售)."
)
class StockLevel(relay.Node):
    id: relay.NodeID[int]
    on_hand: int
    reserved: int
    safety: int
    _sku_id: strawberry.Private[int]
    _warehouse_id: strawberry.Private[int]
    _bin_id: strawberry.Private[int]

    @strawberry.field(description="onHand − reserved − safety; below zero after a count.")  # type: ignore[untyped-decorator]
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety

    @strawberry.field(description="True when unreserved stock is below the safety stock.")  # type: ignore[untyped-decorator]
    def below_safety(self) -> bool:
        return self.safety > 0 and self.on_hand - self.reserved < self.safety

    @strawberry.field(permission_classes=[CatalogRead])  # type: ignore[untyped-decorator]
    async def sku(self, info: Info[Context, None]) -> Sku | None:
        return await _sku(info, self._sku_id)

    @strawberry.field
    async def warehouse(self, info: Info[Context, None]) -> Warehouse | None:
        return await _warehouse(info, self._warehouse_id)

    @strawberry.field
    async def bin(self, info: Info[Context, None]) -> Bin | None:
        return await _bin(info, self._bin_id)

    @strawberry.field(description="Available stock of this SKU in all active warehouses.")  # type: ignore[untyped-decorator]
    async def sku_available(self, info: Info[Context, None]) -> int:
        return await inventory_loaders(info.context).sku_available.load(self._sku_id)

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="What shop `shopId` may list of this SKU (库存同步): its policy's ratio, cap "
        "and shared pool applied to the SKU's available stock, rounded down."
    )
    async def channel_available(
        self,
        info: Info[Context, None],
        shop_id: Annotated[strawberry.ID, strawberry.argument(name="shopId")],
    ) -> int:
        shop = decode_id_or_raise(shop_id, "Shop", field="shopId")
        # An unknown, foreign or unreadable shop is NOT_FOUND, not "no policy: list it all".
        if await info.context.loaders.shop.load(shop) is None:
            raise ApiError(ErrorCode.NOT_FOUND, "Shop not found", field="shopId")
        loaders = inventory_loaders(info.context)
        available = await loaders.sku_available.load(self._sku_id)
        policies = await loaders.shop_policies.load(0)
        return channel_available(available, shop, policies)

    @classmethod
    def from_row(cls, row: tables.Stock) -> StockLevel:
        assert row.id is not None
        return cls(
            id=row.id,
            on_hand=row.on_hand,
            reserved=row.reserved,
            safety=row.safety,
            _sku_id=row.sku_id,
            _warehouse_id=row.warehouse_id,
            _bin_id=row.bin_id,
        )

    @classmethod
    def from_state(cls, state: StockState) -> StockLevel:
        return cls(
            id=state.stock_id,
            on_hand=state.on_hand,
            reserved=state.reserved,
            safety=state.safety,
            _sku_id=state.sku_id,
            _warehouse_id=state.warehouse_id,
            _bin_id=state.bin_id,
        )


@strawberry.type(description="Sums over every stock level matching the filter (all pages).")
class StockTotals:
    on_hand: int
    reserved: int
    safety: int
    available: int

    @classmethod
    def from_row(cls, row: StockTotalsRow) -> StockTotals:
        return cls(
            on_hand=row.on_hand,
            reserved=row.reserved,
            safety=row.safety,
            available=row.available,
        )


@strawberry.type
class StockLevelConnection(Connection[StockLevel]):
    totals: StockTotals
    pending_reservations: int = strawberry.field(
        description="Orders of this seller still waiting for their first reservation attempt."
    )


@strawberry.type(description="One change of a stock level (库存流水): who, why, and the result.")
class StockLedgerEntry(relay.Node):
    id: relay.NodeID[int]
    kind: LedgerKind
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    reason: str
    reference: str
    actor: str
    at: datetime
    _row: strawberry.Private[tables.StockLedgerEntry]

    @strawberry.field(permission_classes=[CatalogRead])  # type: ignore[untyped-decorator]
    async def sku(self, info: Info[Context, None]) -> Sku | None:
        return await _sku(info, self._row.sku_id)

    @strawberry.field
    async def warehouse(self, info: Info[Context, None]) -> Warehouse | None:
        return await _warehouse(info, self._row.warehouse_id)

    @strawberry.field
    async def bin(self, info: Info[Context, None]) -> Bin | None:
        return await _bin(info, self._row.bin_id)

    @strawberry.field(description="The order this change was for (reserve, release, ship, return).")  # type: ignore[untyped-decorator]
    def order_id(self) -> strawberry.ID | None:
        order = self._row.order_id
        return strawberry.ID(to_global_id("Order", order)) if order is not None else None

    @classmethod
    def from_row(cls, row: tables.StockLedgerEntry) -> StockLedgerEntry:
        assert row.id is not None
        return cls(
            id=row.id,
            kind=LedgerKind(row.kind),
            on_hand_delta=row.on_hand_delta,
            reserved_delta=row.reserved_delta,
            on_hand_after=row.on_hand_after,
            reserved_after=row.reserved_after,
            reason=row.reason,
            reference=row.reference,
            actor=row.actor_label,
            at=row.created_at,
            _row=row,
        )


@strawberry.type(description="Units of one bin promised to one order line (占用).")
class Reservation(relay.Node):
    id: relay.NodeID[int]
    order_line_id: strawberry.ID
    quantity: int
    status: ReservationStatus
    created_at: datetime
    closed_at: datetime | None
    close_reason: str
    _row: strawberry.Private[tables.Reservation]

    @strawberry.field(permission_classes=[CatalogRead])  # type: ignore[untyped-decorator]
    async def sku(self, info: Info[Context, None]) -> Sku | None:
        return await _sku(info, self._row.sku_id)

    @strawberry.field
    async def warehouse(self, info: Info[Context, None]) -> Warehouse | None:
        return await _warehouse(info, self._row.warehouse_id)

    @strawberry.field
    async def bin(self, info: Info[Context, None]) -> Bin | None:
        return await _bin(info, self._row.bin_id)

    @classmethod
    def from_row(cls, row: tables.Reservation) -> Reservation:
        assert row.id is not None
        return cls(
            id=row.id,
            order_line_id=strawberry.ID(to_global_id("OrderLine", row.order_line_id)),
            quantity=row.quantity,
            status=ReservationStatus(row.status),
            created_at=row.created_at,
            closed_at=row.closed_at,
            close_reason=row.close_reason,
            _row=row,
        )


@strawberry.type(description="An order line waiting for stock (缺货), served first paid first.")
class Backorder(relay.Node):
    id: relay.NodeID[int]
    quantity: int = strawberry.field(description="Units missing at the last attempt.")
    status: BackorderStatus
    paid_at: datetime | None
    attempts: int
    created_at: datetime
    last_attempt_at: datetime
    resolved_at: datetime | None
    order_id: strawberry.ID
    order_line_id: strawberry.ID
    _sku_id: strawberry.Private[int]

    @strawberry.field(permission_classes=[CatalogRead])  # type: ignore[untyped-decorator]
    async def sku(self, info: Info[Context, None]) -> Sku | None:
        return await _sku(info, self._sku_id)

    @classmethod
    def from_row(cls, row: tables.Backorder) -> Backorder:
        assert row.id is not None
        return cls(
            id=row.id,
            quantity=row.quantity,
            status=BackorderStatus(row.status),
            paid_at=row.paid_at,
            attempts=row.attempts,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            resolved_at=row.resolved_at,
            order_id=strawberry.ID(to_global_id("Order", row.order_id)),
            order_line_id=strawberry.ID(to_global_id("OrderLine", row.order_line_id)),
            _sku_id=row.sku_id,
        )


@strawberry.type(description="A shop's stock sync (库存同步) and reservation policy.")
class ShopStockPolicy:
    ratio_percent: int = strawberry.field(description="Share of available stock listed, 0-100.")
    cap: int | None = strawberry.field(description="Most units listed per SKU, if any.")
    pool: str | None = strawberry.field(
        description="Shared pool (共享库存池): shops of one pool never list more than available."
    )
    allow_split: bool = strawberry.field(description="Orders may ship from several warehouses.")
    _shop_id: strawberry.Private[int]

    @strawberry.field(permission_classes=[ShopsRead])  # type: ignore[untyped-decorator]
    async def shop(self, info: Info[Context, None]) -> Shop | None:
        row = await info.context.loaders.shop.load(self._shop_id)
        return Shop.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: tables.ShopStockPolicyRow) -> ShopStockPolicy:
        return cls(
            ratio_percent=row.ratio_percent,
            cap=row.cap,
            pool=row.pool,
            allow_split=row.allow_split,
            _shop_id=row.shop_id,
        )


# -- mutation payloads -------------------------------------------------------------------------
@strawberry.type
class StockChangePayload:
    stock_levels: list[StockLevel] = strawberry.field(
        default_factory=list, description="The stock levels after the change."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WarehousePayload:
    warehouse: Warehouse | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ZonePayload:
    zone: Zone | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BinsPayload:
    bins: list[Bin] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BinPayload:
    bin: Bin | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ShopStockPolicyPayload:
    policy: ShopStockPolicy | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
