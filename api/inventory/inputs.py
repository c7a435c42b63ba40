"""Inputs of the inventory queries and mutations, and their conversion to domain values.

Bulk mutations take lists and are atomic: every line is checked before anything is written,
and an error names the line at fault (``items.3.binId``).
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.ids import decode_id
from domain.inventory.layout import BinDraft
from domain.inventory.model import (
    AdjustLine,
    LedgerFilter,
    LedgerKind,
    ReceiveLine,
    SafetyLine,
    ShopStockPolicy,
    StockFilter,
    TransferLine,
)


def _ids(values: list[strawberry.ID] | None, type_name: str, field: str) -> frozenset[int]:
    return frozenset(decode_id(v, type_name, field=field) for v in values or ())


def _optional_id(value: strawberry.ID | None, type_name: str, field: str) -> int | None:
    return decode_id(value, type_name, field=field) if value is not None else None


@strawberry.input(description="Narrow the stock levels; every field optional, all combined.")
class StockLevelFilterInput:
    sku_ids: list[strawberry.ID] | None = None
    warehouse_id: strawberry.ID | None = None
    zone_id: strawberry.ID | None = None
    below_safety: bool = strawberry.field(
        default=False, description="Only levels whose unreserved stock is below safety stock."
    )
    zero_available: bool = strawberry.field(
        default=False, description="Only levels with nothing available (可售为零)."
    )

    def to_domain(self) -> StockFilter:
        return StockFilter(
            sku_ids=_ids(self.sku_ids, "Sku", "filter.skuIds"),
            warehouse_id=_optional_id(self.warehouse_id, "Warehouse", "filter.warehouseId"),
            zone_id=_optional_id(self.zone_id, "Zone", "filter.zoneId"),
            below_safety=self.below_safety,
            zero_available=self.zero_available,
        )


@strawberry.input(description="Narrow the stock ledger (库存流水); newest first.")
class StockLedgerFilterInput:
    sku_ids: list[strawberry.ID] | None = None
    order_id: strawberry.ID | None = None
    warehouse_id: strawberry.ID | None = None
    kinds: list[LedgerKind] | None = None
    since: datetime | None = None
    until: datetime | None = None

    def to_domain(self) -> LedgerFilter:
        return LedgerFilter(
            sku_ids=_ids(self.sku_ids, "Sku", "filter.skuIds"),
            order_id=_optional_id(self.order_id, "Order", "filter.orderId"),
            warehouse_id=_optional_id(self.warehouse_id, "Warehouse", "filter.warehouseId"),
            kinds=frozenset(self.kinds or ()),
            since=self.since,
            until=self.until,
        )


@strawberry.input
class ReceiveLineInput:
    sku_id: strawberry.ID
    bin_id: strawberry.ID
    quantity: int


@strawberry.input(description="入库: goods arrive in bins of one warehouse.")
class ReceiveStockInput:
    warehouse_id: strawberry.ID
    items: list[ReceiveLineInput]
    reason: str = ""
    reference: str = strawberry.field(default="", description="Purchase order, delivery note.")

    def lines(self) -> list[ReceiveLine]:
        return [
            ReceiveLine(
                decode_id(it.sku_id, "Sku", field=f"items.{i}.skuId"),
                decode_id(it.bin_id, "Bin", field=f"items.{i}.binId"),
                it.quantity,
            )
            for i, it in enumerate(self.items)
        ]


@strawberry.input(description="Either `delta` (signed) or `counted` (what the count found).")
class AdjustLineInput:
    sku_id: strawberry.ID
    bin_id: strawberry.ID
    delta: int | None = None
    counted: int | None = None


@strawberry.input(description="盘点: correct on-hand quantities; a reason is required.")
class AdjustStockInput:
    items: list[AdjustLineInput]
    reason: str
    reference: str = ""

    def lines(self) -> list[AdjustLine]:
        return [
            AdjustLine(
                decode_id(it.sku_id, "Sku", field=f"items.{i}.skuId"),
                decode_id(it.bin_id, "Bin", field=f"items.{i}.binId"),
                delta=it.delta,
                counted=it.counted,
            )
            for i, it in enumerate(self.items)
        ]


@strawberry.input
class TransferLineInput:
    sku_id: strawberry.ID
    from_bin_id: strawberry.ID
    to_bin_id: strawberry.ID
    quantity: int


@strawberry.input(description="移库: unreserved units move between bins.")
class TransferStockInput:
    items: list[TransferLineInput]
    reason: str = ""
    reference: str = ""

    def lines(self) -> list[TransferLine]:
        return [
            TransferLine(
                decode_id(it.sku_id, "Sku", field=f"items.{i}.skuId"),
                decode_id(it.from_bin_id, "Bin", field=f"items.{i}.fromBinId"),
                decode_id(it.to_bin_id, "Bin", field=f"items.{i}.toBinId"),
                it.quantity,
            )
            for i, it in enumerate(self.items)
        ]


@strawberry.input
class SafetyLineInput:
    sku_id: strawberry.ID
    bin_id: strawberry.ID
    quantity: int


@strawberry.input(description="退货入库: returned units of a shipped order line back on hand.")
class RestockReturnInput:
    order_id: strawberry.ID
    order_line_id: strawberry.ID
    bin_id: strawberry.ID = strawberry.field(description="Where the returned units are put.")
    quantity: int
    reason: str = ""
    reference: str = strawberry.field(default="", description="E.g. the return's waybill.")


@strawberry.input(description="安全库存: units of a SKU in a bin never offered for sale.")
class SetSafetyStockInput:
    items: list[SafetyLineInput]

    def lines(self) -> list[SafetyLine]:
        return [
            SafetyLine(
                decode_id(it.sku_id, "Sku", field=f"items.{i}.skuId"),
                decode_id(it.bin_id, "Bin", field=f"items.{i}.binId"),
                it.quantity,
            )
            for i, it in enumerate(self.items)
        ]


@strawberry.input
class CreateWarehouseInput:
    code: str
    name: str
    address: str = ""
    provinces: list[str] = strawberry.field(
        default_factory=list, description="Provinces it ships to first (策略分仓); none: anywhere."
    )
    priority: int = strawberry.field(default=100, description="Lower is preferred.")


@strawberry.input
class UpdateWarehouseInput:
    id: strawberry.ID
    name: str | None = None
    address: str | None = None
    provinces: list[str] | None = None
    priority: int | None = None
    is_active: bool | None = None


@strawberry.input
class CreateZoneInput:
    warehouse_id: strawberry.ID
    code: str
    name: str = ""
    walk_order: int = 0


@strawberry.input
class UpdateZoneInput:
    id: strawberry.ID
    name: str | None = None
    walk_order: int | None = None


@strawberry.input
class BinDraftInput:
    code: str = strawberry.field(description="e.g. A-03-2-1 (zone-aisle-shelf-level)")
    walk_seq: int = 0


@strawberry.input(description="库位: add bins to a zone, all or none.")
class CreateBinsInput:
    zone_id: strawberry.ID
    bins: list[BinDraftInput]

    def drafts(self) -> list[BinDraft]:
        return [BinDraft(b.code, b.walk_seq) for b in self.bins]


@strawberry.input
class UpdateBinInput:
    id: strawberry.ID
    code: str | None = None
    walk_seq: int | None = None


@strawberry.input(description="A shop's stock sync (库存同步) and reservation policy.")
class SetShopStockPolicyInput:
    shop_id: strawberry.ID
    ratio_percent: int = 100
    cap: int | None = None
    pool: str | None = None
    allow_split: bool = False

    def policy(self) -> ShopStockPolicy:
        return ShopStockPolicy(
            ratio_percent=self.ratio_percent,
            cap=self.cap,
            pool=self.pool,
            allow_split=self.allow_split,
        )
