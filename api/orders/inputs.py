"""Inputs of the order queries and mutations, and their conversion to domain values."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.ids import decode_id
from api.money import Fen
from domain.orders.model import LineDraft, ManualOrderDraft, OrderFilter, OrderStatus, Receiver
from domain.shops.model import Channel


@strawberry.input(description="Narrow the order list; every field optional, all combined.")
class OrderFilterInput:
    statuses: list[OrderStatus] | None = None
    shop_ids: list[strawberry.ID] | None = None
    channels: list[Channel] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    paid_from: datetime | None = None
    paid_to: datetime | None = None
    search: str | None = strawberry.field(
        default=None,
        description="Order number, receiver name, or the last 4 digits of the phone (尾号; only "
        "for callers with buyers:read).",
    )

    def to_domain(self) -> OrderFilter:
        return OrderFilter(
            statuses=frozenset(self.statuses or ()),
            shop_ids=frozenset(
                decode_id(gid, "Shop", field="filter.shopIds") for gid in self.shop_ids or ()
            ),
            channels=frozenset(c.value for c in self.channels or ()),
            created_from=self.created_from,
            created_to=self.created_to,
            paid_from=self.paid_from,
            paid_to=self.paid_to,
            search=(self.search or "").strip() or None,
        )


@strawberry.input
class ReceiverInput:
    name: str
    phone: str
    province: str
    city: str
    district: str = ""
    address: str


@strawberry.input
class OrderLineInput:
    sku_id: strawberry.ID
    quantity: int = strawberry.field(description="Units, 1 to 99,999.")
    unit_price_fen: Fen = strawberry.field(
        description="Price per unit in fen (分): 1990 is ¥19.90; at most 10,000,000 (¥100,000)."
    )
    discount_fen: Fen = strawberry.field(
        default=Fen(0), description="Discount on the whole line in fen, at most its amount."
    )


@strawberry.input(description="A hand-entered order (手工单): WeChat, offline, other sales.")
class CreateOrderInput:
    receiver: ReceiverInput
    lines: list[OrderLineInput] = strawberry.field(
        description="1 to 200 lines; the goods and the total are at most ¥100,000,000 each."
    )
    shop_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the organisation's manual-order shop."
    )
    external_id: str | None = strawberry.field(
        default=None,
        description="Your own order number; when omitted, the seller's next manual order "
        "number of the day (M20261201-000123).",
    )
    shipping_fen: Fen = strawberry.field(
        default=Fen(0), description="Shipping fee in fen, at most 10,000,000 (¥100,000)."
    )
    buyer_nick: str | None = None
    buyer_remark: str = ""
    seller_remark: str = ""
    paid_at: datetime | None = None
    reserve_now: bool = strawberry.field(
        default=False,
        description="Reserve stock before answering, so the payload shows RESERVED or "
        "BACKORDERED (otherwise the reservation loop does it within moments).",
    )

    def to_domain(self) -> ManualOrderDraft:
        return ManualOrderDraft(
            receiver=Receiver(
                name=self.receiver.name,
                phone=self.receiver.phone,
                province=self.receiver.province,
                city=self.receiver.city,
                district=self.receiver.district,
                address=self.receiver.address,
            ),
            lines=tuple(
                LineDraft(
                    sku_id=decode_id(line.sku_id, "Sku", field=f"lines.{i}.skuId"),
                    quantity=line.quantity,
                    unit_price_fen=line.unit_price_fen,
                    discount_fen=line.discount_fen,
                )
                for i, line in enumerate(self.lines)
            ),
            shop_id=decode_id(self.shop_id, "Shop", field="shopId") if self.shop_id else None,
            external_id=self.external_id,
            shipping_fen=self.shipping_fen,
            buyer_nick=self.buyer_nick,
            buyer_remark=self.buyer_remark,
            seller_remark=self.seller_remark,
            paid_at=self.paid_at,
        )


@strawberry.input
class CancelOrderInput:
    id: strawberry.ID
    reason: str


@strawberry.input
class AddOrderRemarkInput:
    id: strawberry.ID
    text: str
