"""Two sellers with something of every kind, and callers of every sort, for the scope tests.

Each seller has: a user per role, two drop-ship suppliers (代发) with a user each, two products
(P1 with SKU-1..3, P2 with P2-1 and P2-2), two warehouses with zones and bins, stock, orders of
each supplier and of its own (reserved, one backordered), a buyer, remarks, a stock policy and
API tokens.  The answers the tests expect are read here with plain SQL as the superuser (what is
really in the tables), never through the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text

from db.engine import Database
from db.tables import ApiToken, Order, Product, Sku, User
from db.uow import UnitOfWork
from domain.accounts import service as accounts
from domain.accounts.model import Role, Scope, permissions_of, token_scopes
from domain.accounts.tokens import new_api_token
from domain.inventory import reservation, shop_policies
from domain.inventory.model import ShopStockPolicy
from domain.notifications import service as notifications
from domain.notifications.model import NotificationKind, Severity
from domain.orders import service as orders
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_order, make_org, make_supplier_user
from tests.support.inventory import Layout, make_layout, receive
from tests.support.sql import org_connection

#: Where the rows of each Node type live.  A new Node type must be added here (and the world
#: must make one of it), or the scope tests fail saying so.
NODE_TABLES: dict[str, str] = {
    "Organization": "organizations",
    "User": "users",
    "ApiToken": "api_tokens",
    "Buyer": "customers",
    "Order": "orders",
    "OrderLine": "order_lines",
    "Shop": "shops",
    "Warehouse": "warehouses",
    "Product": "products",
    "Sku": "skus",
    "Zone": "zones",
    "Bin": "bins",
    "StockLevel": "stock",
    "StockLedgerEntry": "stock_ledger",
    "Reservation": "reservations",
    "Backorder": "backorders",
    "Notification": "notifications",
}

#: The tables whose rows the cross-seller test snapshots (everything a seller owns).
TENANT_TABLES = (
    *NODE_TABLES.values(),
    "suppliers",
    "order_history",
    "order_remarks",
    "shop_stock_policies",
)


@dataclass(frozen=True)
class Caller:
    """Someone calling the API: a user of one role or an API token, with what it may do."""

    name: str
    credential: str
    permissions: frozenset[Scope]
    org_id: int
    user_id: int | None = None
    supplier_id: int | None = None

    def may(self, scope: Scope) -> bool:
        return scope in self.permissions


@dataclass
class SellerWorld:
    seller: Seller
    layout: Layout
    second_supplier: User
    orders: list[Order]
    #: Ids of every Node type, by GraphQL type name.
    ids: dict[str, set[int]] = field(default_factory=dict)
    #: What each supplier's orders reach: supplier id -> type name -> ids.
    reach: dict[int, dict[str, set[int]]] = field(default_factory=dict)

    @property
    def org_id(self) -> int:
        return self.seller.org_id

    @property
    def supplier_ids(self) -> list[int]:
        found = [self.seller.users[Role.SUPPLIER].supplier_id, self.second_supplier.supplier_id]
        return [s for s in found if s is not None]

    def any_id(self, type_name: str) -> int:
        return min(self.ids[type_name])


async def build_seller(db: Database) -> SellerWorld:
    seller = await make_org(db)
    second = await make_supplier_user(db, seller, "Supplier B", "supplier2")
    async with UnitOfWork(db, seller.org_id) as uow:
        p2_skus = [
            Sku(org_id=seller.org_id, product_id=0, code=f"P2-{i}", name=f"P2 variant {i}")
            for i in (1, 2)
        ]
        await uow.catalog.add_product(
            Product(org_id=seller.org_id, code="P2", name="Second product", category="test"),
            p2_skus,
        )
        await uow.commit()
    layout = await make_layout(db, seller, extra_warehouses=[("WH2", [], 5)])
    sku1, sku2, sku3 = seller.skus
    for i, sku in enumerate([sku1, sku2, sku3, *p2_skus]):
        assert sku.id is not None
        await receive(db, seller, layout, sku.id, 5, bin_id=layout.bin_id(0, i % 3))
    first_supplier = seller.users[Role.SUPPLIER].supplier_id
    made = [
        await make_order(
            db, seller, skus=[sku1], supplier_id=first_supplier, buyer_nick="tb_buyer_1"
        ),
        await make_order(
            db, seller, skus=[p2_skus[0]], supplier_id=second.supplier_id, shop=seller.shops["JD"]
        ),
        await make_order(db, seller, skus=[sku2, sku3, p2_skus[1]], shop=seller.shops["DOUYIN"]),
        # More than there is: waits as a backorder (缺货).
        await make_order(db, seller, skus=[sku3], quantity=50, shop=seller.shops["PDD"]),
    ]
    owner = seller.actor(Role.OWNER)
    for order in made:
        assert order.id is not None
        await reservation.reserve_order(db, owner, order.id)
    async with UnitOfWork(db, seller.org_id) as uow:
        for order in made[:3]:
            assert order.id is not None
            await orders.add_remark(uow, owner, order.id, "请用顺丰")
        douyin = seller.shops["DOUYIN"].id
        assert douyin is not None
        await shop_policies.set_shop_stock_policy(
            uow, owner, douyin, ShopStockPolicy(ratio_percent=60, cap=8)
        )
        await notifications.raise_alert(
            uow,
            NotificationKind.STOCK_DRIFT,
            Severity.WARNING,
            "Stock of 1 bin disagrees with its ledger",
            {"driftedRows": 1},
            dedupe_key="stock.drift",
        )
        await uow.commit()
    world = SellerWorld(seller=seller, layout=layout, second_supplier=second, orders=made)
    await _read_ids(db, world)
    return world


async def add_api_tokens(db: Database, world: SellerWorld) -> dict[Scope, str]:
    """An API token per scope, made by the owner; ``tokens:write``, which no token may carry,
    written straight into the table as a token from before that rule would have been."""
    secrets: dict[Scope, str] = {}
    owner = world.seller.actor(Role.OWNER)
    async with UnitOfWork(db, world.org_id) as uow:
        for scope in Scope:
            if scope is Scope.TOKENS_WRITE:
                secret = new_api_token()
                await uow.accounts.add_token(
                    ApiToken(
                        org_id=world.org_id,
                        name="legacy token admin",
                        prefix=secret.prefix,
                        token_hash=secret.digest,
                        scopes=[scope.value],
                        created_by_user_id=owner.user_id or 0,
                    )
                )
                secrets[scope] = secret.plaintext
            else:
                _, secrets[scope] = await accounts.create_api_token(
                    uow, owner, name=scope.value, scopes=frozenset({scope}), expires_in_days=None
                )
        await uow.commit()
    await _read_ids(db, world)
    return secrets


def callers(client: GraphQLClient, world: SellerWorld, tokens: dict[Scope, str]) -> list[Caller]:
    """A user of every role, the second supplier's user, and an API token per scope."""
    found = []
    users = [*world.seller.users.values(), world.second_supplier]
    for user in users:
        assert user.id is not None
        found.append(
            Caller(
                name=f"{user.role} {user.username}",
                credential=client.token_for_user(user),
                permissions=permissions_of(Role(user.role)),
                org_id=world.org_id,
                user_id=user.id,
                supplier_id=user.supplier_id,
            )
        )
    for scope, secret in tokens.items():
        found.append(
            Caller(
                name=f"token {scope.value}",
                credential=secret,
                permissions=token_scopes(Role.OWNER, frozenset({scope})),
                org_id=world.org_id,
            )
        )
    return found


async def _read_ids(db: Database, world: SellerWorld) -> None:
    org = world.org_id
    async with org_connection(db, org) as conn:
        for type_name, table in NODE_TABLES.items():
            column = "id" if table == "organizations" else "org_id"
            rows = await conn.execute(
                text(f"SELECT id FROM {table} WHERE {column} = :org"), {"org": org}
            )
            world.ids[type_name] = {int(r[0]) for r in rows}
        for supplier in world.supplier_ids:
            reach: dict[str, set[int]] = {}
            queries = {
                "Order": "SELECT id FROM orders WHERE org_id = :org AND supplier_id = :s",
                "OrderLine": "SELECT l.id FROM order_lines l JOIN orders o ON o.id = l.order_id"
                " WHERE o.org_id = :org AND o.supplier_id = :s",
                "Sku": "SELECT l.sku_id FROM order_lines l JOIN orders o ON o.id = l.order_id"
                " WHERE o.org_id = :org AND o.supplier_id = :s",
                "Product": "SELECT k.product_id FROM skus k JOIN order_lines l ON l.sku_id = k.id"
                " JOIN orders o ON o.id = l.order_id WHERE o.org_id = :org AND o.supplier_id = :s",
                "Shop": "SELECT shop_id FROM orders WHERE org_id = :org AND supplier_id = :s",
            }
            for type_name, sql in queries.items():
                rows = await conn.execute(text(sql), {"org": org, "s": supplier})
                reach[type_name] = {int(r[0]) for r in rows}
            world.reach[supplier] = reach


async def snapshot(db: Database, org_id: int) -> dict[str, list[tuple[object, ...]]]:
    """Every row a seller owns, table by table (to prove a refused call changed nothing)."""
    found: dict[str, list[tuple[object, ...]]] = {}
    async with org_connection(db, org_id) as conn:
        for table in (*TENANT_TABLES, "audit_log", "outbox"):
            column = "id" if table == "organizations" else "org_id"
            rows = await conn.execute(
                text(f"SELECT * FROM {table} WHERE {column} = :org ORDER BY 1"), {"org": org_id}
            )
            found[table] = [tuple(r) for r in rows]
    return found
