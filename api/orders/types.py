"""GraphQL types for orders (订单), their lines, buyers, remarks and history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from api.catalog.types import Shop, Sku
from api.context import Context
from api.errors import UserError
from api.money import Money
from api.permissions import BuyersRead, CatalogRead, MoneyRead, ShopsRead, StockRead
from db import tables
from domain.orders.model import OrderStatus, mask_phone

if TYPE_CHECKING:
    from api.inventory.types import Reservation


@strawberry.type(description="A buyer (买家) as known on one channel.")
class Buyer(relay.Node):
    id: relay.NodeID[int]
    nick: str
    name: str

    @classmethod
    def from_row(cls, row: tables.Customer) -> Buyer:
        assert row.id is not None
        return cls(id=row.id, nick=row.nick, name=row.name)


@strawberry.type(description="Where the parcel goes (收件人).")
class Receiver:
    name: str
    province: str
    city: str
    district: str
    address: str
    _phone: strawberry.Private[str]

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[BuyersRead], description="Phone in clear (needs buyers:read)."
    )
    def phone(self) -> str | None:
        return self._phone

    @strawberry.field(description="Phone with the middle digits hidden (138****8000).")  # type: ignore[untyped-decorator]
    def masked_phone(self) -> str:
        return mask_phone(self._phone)


@strawberry.type
class OrderLine(relay.Node):
    id: relay.NodeID[int]
    quantity: int
    _row: strawberry.Private[tables.OrderLine]

    @strawberry.field(permission_classes=[MoneyRead], description="Price of one unit.")  # type: ignore[untyped-decorator]
    def unit_price(self) -> Money | None:
        return Money.of(self._row.unit_price_fen)

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[MoneyRead], description="Discount on the whole line (subtracted)."
    )
    def discount(self) -> Money | None:
        return Money.of(self._row.discount_fen)

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[MoneyRead], description="quantity × unitPrice − discount"
    )
    def total(self) -> Money | None:
        row = self._row
        return Money.of(row.quantity * row.unit_price_fen - row.discount_fen)

    @strawberry.field(permission_classes=[CatalogRead])  # type: ignore[untyped-decorator]
    async def sku(self, info: Info[Context, None]) -> Sku | None:
        row = await info.context.loaders.sku.load(self._row.sku_id)
        return Sku.from_row(row) if row else None

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[StockRead],
        description="Where this line's units are reserved (warehouse, bin), in every status.",
    )
    async def reservations(
        self, info: Info[Context, None]
    ) -> list[Annotated[Reservation, strawberry.lazy("api.inventory.types")]] | None:
        from api.inventory.loaders import inventory_loaders
        from api.inventory.types import Reservation

        rows = await inventory_loaders(info.context).order_reservations.load(self._row.order_id)
        return [Reservation.from_row(r) for r in rows if r.order_line_id == self._row.id]

    @classmethod
    def from_row(cls, row: tables.OrderLine) -> OrderLine:
        assert row.id is not None
        return cls(id=row.id, quantity=row.quantity, _row=row)


@strawberry.type(description="One status change: from, to, who, why, when.")
class OrderStatusChange:
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: str
    reason: str
    at: datetime


@strawberry.type(description="A staff note on an order (备注).")
class OrderRemark:
    text: str
    author: str
    at: datetime


@strawberry.type(description="An order (订单) from a shop, or entered by hand (手工单).")
class Order(relay.Node):
    id: relay.NodeID[int]
    external_id: str = strawberry.field(description="The platform's order number (tid).")
    status: OrderStatus
    buyer_remark: str
    seller_remark: str
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    _row: strawberry.Private[tables.Order]

    @strawberry.field
    def receiver(self) -> Receiver:
        row = self._row
        return Receiver(
            name=row.receiver_name,
            province=row.receiver_province,
            city=row.receiver_city,
            district=row.receiver_district,
            address=row.receiver_address,
            _phone=row.receiver_phone,
        )

    @strawberry.field(permission_classes=[MoneyRead], description="Goods before discounts.")  # type: ignore[untyped-decorator]
    def goods(self) -> Money | None:
        return Money.of(self._row.goods_fen)

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[MoneyRead], description="The lines' discounts (subtracted)."
    )
    def discount(self) -> Money | None:
        return Money.of(self._row.discount_fen)

    @strawberry.field(permission_classes=[MoneyRead], description="Shipping fee (运费).")  # type: ignore[untyped-decorator]
    def shipping(self) -> Money | None:
        return Money.of(self._row.shipping_fen)

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[MoneyRead],
        description="What the buyer paid: goods − discount + shipping.",
    )
    def total(self) -> Money | None:
        return Money.of(self._row.total_fen)

    @strawberry.field(permission_classes=[ShopsRead])  # type: ignore[untyped-decorator]
    async def shop(self, info: Info[Context, None]) -> Shop | None:
        row = await info.context.loaders.shop.load(self._row.shop_id)
        return Shop.from_row(row) if row else None

    @strawberry.field(permission_classes=[BuyersRead])  # type: ignore[untyped-decorator]
    async def buyer(self, info: Info[Context, None]) -> Buyer | None:
        if self._row.customer_id is None:
            return None
        row = await info.context.loaders.customer.load(self._row.customer_id)
        return Buyer.from_row(row) if row else None

    @strawberry.field
    async def lines(self, info: Info[Context, None]) -> list[OrderLine]:
        rows = await info.context.loaders.order_lines.load(self.id)
        return [OrderLine.from_row(row) for row in rows]

    @strawberry.field(description="Every status change, oldest first.")  # type: ignore[untyped-decorator]
    async def history(self, info: Info[Context, None]) -> list[OrderStatusChange]:
        rows = await info.context.loaders.order_history.load(self.id)
        return [
            OrderStatusChange(
                from_status=OrderStatus(r.from_status) if r.from_status else None,
                to_status=OrderStatus(r.to_status),
                actor=r.actor_label,
                reason=r.reason,
                at=r.created_at,
            )
            for r in rows
        ]

    @strawberry.field
    async def remarks(self, info: Info[Context, None]) -> list[OrderRemark]:
        rows = await info.context.loaders.order_remarks.load(self.id)
        return [OrderRemark(text=r.text, author=r.author_label, at=r.created_at) for r in rows]

    @classmethod
    def from_row(cls, row: tables.Order) -> Order:
        assert row.id is not None
        return cls(
            id=row.id,
            external_id=row.external_id,
            status=OrderStatus(row.status),
            buyer_remark=row.buyer_remark,
            seller_remark=row.seller_remark,
            paid_at=row.paid_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            _row=row,
        )


@strawberry.type
class OrderPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderRemarkPayload:
    order: Order | None = None
    remark: OrderRemark | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
