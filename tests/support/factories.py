"""Factories: each test builds the data it needs in an organisation of its own."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from db.engine import Database
from db.tables import (
    Customer,
    Order,
    OrderLine,
    Organization,
    Product,
    Shop,
    Sku,
    User,
    Warehouse,
)
from db.uow import UnitOfWork
from domain.accounts.model import Actor, Role
from domain.accounts.passwords import hash_password

PASSWORD = "test-pass-123"
_counter = itertools.count(1)


@lru_cache(maxsize=1)
def password_hash() -> str:
    # argon2 is slow on purpose; hash the shared test password once per session.
    return hash_password(PASSWORD)


@dataclass
class Seller:
    org_id: int
    slug: str
    users: dict[Role, User] = field(default_factory=dict)
    shops: dict[str, Shop] = field(default_factory=dict)
    skus: list[Sku] = field(default_factory=list)
    warehouse: Warehouse | None = None

    def actor(self, role: Role = Role.OWNER) -> Actor:
        user = self.users[role]
        assert user.id is not None
        return Actor.for_user(
            org_id=self.org_id,
            user_id=user.id,
            role=role,
            username=user.username,
            supplier_id=user.supplier_id,
        )

    @property
    def shop(self) -> Shop:
        return self.shops["TMALL"]


async def make_org(db: Database, *, skus: int = 3) -> Seller:
    """An organisation with one user per role, a shop per channel, a warehouse and SKUs."""
    slug = f"org-{uuid.uuid4().hex[:10]}"
    async with UnitOfWork(db, None) as uow:
        org = await uow.accounts.add_org(slug, f"Seller {slug}")
        assert org.id is not None
        await uow.commit()
    seller = Seller(org_id=org.id, slug=slug)
    async with UnitOfWork(db, org.id) as uow:
        supplier = await uow.accounts.add_supplier("Supplier A")
        for role in Role:
            seller.users[role] = await uow.accounts.add_user(
                User(
                    org_id=org.id,
                    username=role.value.lower(),
                    display_name=role.value.title(),
                    password_hash=password_hash(),
                    role=role.value,
                    supplier_id=supplier.id if role is Role.SUPPLIER else None,
                )
            )
        for channel in ("TMALL", "JD", "PDD", "DOUYIN", "MANUAL"):
            seller.shops[channel] = await uow.shops.add_shop(channel, f"{channel} shop")
        seller.warehouse = await uow.shops.add_warehouse(
            code="WH1", name="Main warehouse", provinces=["浙江省"], priority=1
        )
        product = Product(org_id=org.id, code="P1", name="Test product", category="test")
        sku_rows = [
            Sku(
                org_id=org.id,
                product_id=0,
                code=f"SKU-{i}",
                barcode=f"69{i:011d}",
                name=f"Variant {i}",
                weight_g=100 * i,
                price_fen=1000 * i,
            )
            for i in range(1, skus + 1)
        ]
        await uow.catalog.add_product(product, sku_rows)
        seller.skus = sku_rows
        await uow.commit()
    return seller


async def make_order(
    db: Database,
    seller: Seller,
    *,
    lines: int = 2,
    status: str = "NEW",
    receiver_name: str = "张三",
    phone: str = "13800138000",
    shop: Shop | None = None,
    skus: Sequence[Sku] | None = None,
    quantity: int = 1,
    supplier_id: int | None = None,
    buyer_nick: str | None = None,
    created_at: datetime | None = None,
    paid_at: datetime | None = None,
    unpaid: bool = False,
) -> Order:
    """An order with one line per SKU (``skus``, else the seller's first ``lines``), for a
    drop-ship supplier and a buyer when given; created and paid now unless told otherwise
    (``unpaid``: no payment time, as an order awaiting payment, 待付款)."""
    shop = shop or seller.shop
    assert shop.id is not None
    now = datetime.now(UTC)
    async with UnitOfWork(db, seller.org_id) as uow:
        customer_id = None
        if buyer_nick is not None:
            customer = await uow.orders.add_customer(
                Customer(
                    org_id=seller.org_id,
                    channel=shop.channel,
                    nick=buyer_nick,
                    name=receiver_name,
                    phone=phone,
                )
            )
            customer_id = customer.id
        order = Order(
            org_id=seller.org_id,
            shop_id=shop.id,
            external_id=f"T{next(_counter)}{uuid.uuid4().hex[:6]}",
            status=status,
            receiver_name=receiver_name,
            receiver_phone=phone,
            receiver_phone_tail=phone[-4:],
            receiver_province="浙江省",
            receiver_city="杭州市",
            receiver_district="西湖区",
            receiver_address="文三路 100 号",
            paid_at=None if unpaid else paid_at or now,
            created_at=created_at or now,
            supplier_id=supplier_id,
            customer_id=customer_id,
        )
        order_lines = []
        for sku in skus if skus is not None else seller.skus[:lines]:
            assert sku.id is not None
            order_lines.append(
                OrderLine(
                    org_id=seller.org_id,
                    order_id=0,
                    sku_id=sku.id,
                    quantity=quantity,
                    unit_price_fen=sku.price_fen,
                )
            )
        order.goods_fen = sum(line.unit_price_fen * line.quantity for line in order_lines)
        order.total_fen = order.goods_fen
        await uow.orders.add(order, order_lines)
        await uow.commit()
    return order


async def make_supplier_user(db: Database, seller: Seller, supplier: str, username: str) -> User:
    """Another drop-ship supplier (代发) of the seller, with its SUPPLIER user."""
    async with UnitOfWork(db, seller.org_id) as uow:
        row = await uow.accounts.add_supplier(supplier)
        user = await uow.accounts.add_user(
            User(
                org_id=seller.org_id,
                username=username,
                display_name=supplier,
                password_hash=password_hash(),
                role=Role.SUPPLIER.value,
                supplier_id=row.id,
            )
        )
        await uow.commit()
    return user


__all__ = ["Organization", "Seller", "make_order", "make_org", "make_supplier_user"]
