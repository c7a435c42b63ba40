"""GraphQL types for shops, warehouses, products and SKUs."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from api.context import Context
from api.money import Money
from api.permissions import MoneyRead
from db import tables
from domain.shops.model import Channel


@strawberry.type(description="A shop (店铺) on one channel.")
class Shop(relay.Node):
    id: relay.NodeID[int]
    channel: Channel
    name: str
    allow_partial_reservation: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.Shop) -> Shop:
        assert row.id is not None
        return cls(
            id=row.id,
            channel=Channel(row.channel),
            name=row.name,
            allow_partial_reservation=row.allow_partial_reservation,
            created_at=row.created_at,
        )


@strawberry.type(description="A warehouse (仓库) and the provinces it ships to first.")
class Warehouse(relay.Node):
    id: relay.NodeID[int]
    code: str
    name: str
    address: str
    provinces: list[str]
    priority: int
    is_active: bool

    @classmethod
    def from_row(cls, row: tables.Warehouse) -> Warehouse:
        assert row.id is not None
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            address=row.address,
            provinces=list(row.provinces),
            priority=row.priority,
            is_active=row.is_active,
        )


@strawberry.type(description="A sellable variant (规格); `code` is the seller's code (商家编码).")
class Sku(relay.Node):
    id: relay.NodeID[int]
    code: str
    barcode: str | None
    name: str
    weight_g: int
    _row: strawberry.Private[tables.Sku]

    @strawberry.field(permission_classes=[MoneyRead], description="List price (标价).")  # type: ignore[untyped-decorator]
    def price(self) -> Money | None:
        return Money.of(self._row.price_fen)

    @strawberry.field
    async def product(self, info: Info[Context, None]) -> Product | None:
        row = await info.context.loaders.product.load(self._row.product_id)
        return Product.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: tables.Sku) -> Sku:
        assert row.id is not None
        return cls(
            id=row.id,
            code=row.code,
            barcode=row.barcode,
            name=row.name,
            weight_g=row.weight_g,
            _row=row,
        )


@strawberry.type(description="A product (商品) with its SKUs.")
class Product(relay.Node):
    id: relay.NodeID[int]
    code: str
    name: str
    category: str
    created_at: datetime

    @strawberry.field
    async def skus(self, info: Info[Context, None]) -> list[Sku]:
        rows = await info.context.loaders.product_skus.load(self.id)
        return [Sku.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: tables.Product) -> Product:
        assert row.id is not None
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            category=row.category,
            created_at=row.created_at,
        )
