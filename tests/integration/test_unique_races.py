"""Concurrent writes of the same key: one wins, the others get the typed DUPLICATE that the
service's own check gives, never "Unexpected error."; get-or-create paths never fail at all.

A service checks that a key is free before it writes, but concurrent requests can all pass the
check; the database's unique constraint decides, and db/integrity.py reports its verdict as
DUPLICATE on the same field.  The races are forced deterministically where that matters (one
transaction holds its insert open while another checks), and then run at scale through the API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from api.ids import to_global_id
from db.engine import Database
from db.integrity import duplicate_keys
from db.tables import Customer, Order, Shop, ShopStockPolicyRow, Supplier
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.errors import Duplicate
from domain.inventory import layout as inventory
from domain.orders import service as orders
from domain.orders.model import LineDraft, ManualOrderDraft, Receiver
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_org

CREATE_ORDER = """mutation($input: CreateOrderInput!) {
  createOrder(input: $input) { order { externalId } errors { field message code } } }"""

RECEIVER = Receiver(
    name="李四",
    phone="13912345678",
    province="广东省",
    city="深圳市",
    district="南山区",
    address="科技园 1 号",
)


def order_input(seller: Seller, external_id: str | None = None) -> dict[str, Any]:
    sku = seller.skus[0]
    assert sku.id is not None
    value: dict[str, Any] = {
        "receiver": {
            "name": RECEIVER.name,
            "phone": RECEIVER.phone,
            "province": RECEIVER.province,
            "city": RECEIVER.city,
            "address": RECEIVER.address,
        },
        "lines": [{"skuId": to_global_id("Sku", sku.id), "quantity": 1, "unitPriceFen": 1990}],
    }
    if external_id is not None:
        value["externalId"] = external_id
    return value


def draft(seller: Seller, external_id: str | None = None, buyer: str | None = None) -> Any:
    sku = seller.skus[0]
    assert sku.id is not None
    return ManualOrderDraft(
        receiver=RECEIVER,
        lines=(LineDraft(sku_id=sku.id, quantity=1, unit_price_fen=1990),),
        external_id=external_id,
        buyer_nick=buyer,
    )


async def count(db: Database, seller: Seller, model: Any, *where: Any) -> int:
    async with UnitOfWork(db, seller.org_id) as uow:
        stmt = select(func.count()).select_from(model).where(*where)
        return int(await uow.session.scalar(stmt) or 0)


async def lose_a_race(
    db: Database, org_id: int, work: Callable[[UnitOfWork], Awaitable[object]]
) -> BaseException | None:
    """Run ``work`` twice: the second checks while the first's writes are not committed yet,
    so its check passes and its insert waits for the first; then the first commits.  What the
    second raised (None if it succeeded)."""
    async with UnitOfWork(db, org_id) as first:
        await work(first)

        async def second() -> None:
            async with UnitOfWork(db, org_id) as uow:
                await work(uow)
                await uow.commit()

        loser = asyncio.create_task(second())
        for _ in range(200):
            await asyncio.sleep(0.01)
            if await _waiting_for_a_lock(db):
                break
        else:
            pytest.fail("the second insert never waited for the first")
        await first.commit()
    try:
        await loser
    except Exception as error:
        return error
    return None


async def _waiting_for_a_lock(db: Database) -> bool:
    async with db.engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def test_a_lost_race_to_an_external_id_is_the_checks_duplicate(
    db: Database, seller: Seller
) -> None:
    actor = seller.actor(Role.OPERATOR)
    error = await lose_a_race(
        db,
        seller.org_id,
        lambda uow: orders.create_manual_order(uow, actor, draft(seller, "RACE-1")),
    )
    assert isinstance(error, Duplicate), error
    assert (error.field, error.message) == (
        "externalId",
        "An order with this external id already exists in this shop",
    )
    assert await count(db, seller, Order, Order.external_id == "RACE-1") == 1


async def test_a_lost_race_to_a_bin_code_names_the_input_row(db: Database, seller: Seller) -> None:
    """The database does not say which key broke (RLS hides it); the bins' check, run again
    after the loss, names the row."""
    actor = seller.actor(Role.WAREHOUSE)
    assert seller.warehouse is not None and seller.warehouse.id is not None
    async with UnitOfWork(db, seller.org_id) as uow:
        zone = await inventory.create_zone(
            uow, actor, warehouse_id=seller.warehouse.id, code="R", name="race"
        )
        await uow.commit()
    assert zone.id is not None
    calls = iter([["R-01", "R-02"], ["R-09", "R-02"]])

    async def add_bins(uow: UnitOfWork) -> object:
        drafts = [inventory.BinDraft(code) for code in next(calls)]
        return await inventory.create_bins(uow, actor, zone_id=zone.id or 0, bins=drafts)

    error = await lose_a_race(db, seller.org_id, add_bins)
    assert isinstance(error, Duplicate), error
    assert (error.field, error.message) == (
        "bins.1.code",
        "A bin with this code exists in this warehouse",
    )


async def test_thirty_concurrent_orders_with_one_external_id(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    token = client.token_for(seller, Role.OPERATOR)
    bodies = await asyncio.gather(
        *(
            client.gql(CREATE_ORDER, {"input": order_input(seller, "WX-20261201-7")}, token=token)
            for _ in range(30)
        )
    )
    assert all("errors" not in body for body in bodies), [b for b in bodies if "errors" in b]
    payloads = [body["data"]["createOrder"] for body in bodies]
    won = [p for p in payloads if p["order"] is not None]
    lost = [p["errors"] for p in payloads if p["order"] is None]
    assert len(won) == 1 and won[0]["errors"] == []
    assert (
        lost
        == [
            [
                {
                    "field": "externalId",
                    "message": "An order with this external id already exists in this shop",
                    "code": "DUPLICATE",
                }
            ]
        ]
        * 29
    )
    assert await count(db, seller, Order, Order.external_id == "WX-20261201-7") == 1


async def test_a_sellers_first_manual_orders_share_the_manual_shop_and_the_new_buyer(
    db: Database, admin_db: Database
) -> None:
    """Concurrent first manual orders create the manual shop (手工单) and a new buyer once,
    and every order succeeds."""
    seller = await make_org(db)
    async with admin_db.engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM shops WHERE org_id = :org AND channel = 'MANUAL'"),
            {"org": seller.org_id},
        )
    actor = seller.actor(Role.OPERATOR)

    async def create() -> None:
        async with UnitOfWork(db, seller.org_id) as uow:
            await orders.create_manual_order(uow, actor, draft(seller, buyer="wx_new_buyer"))
            await uow.commit()

    await asyncio.gather(*(create() for _ in range(16)))
    assert await count(db, seller, Order) == 16
    assert await count(db, seller, Shop, Shop.channel == "MANUAL") == 1
    assert await count(db, seller, Customer, Customer.nick == "wx_new_buyer") == 1


async def test_concurrent_users_one_username_and_one_new_supplier(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    create = """mutation($input: CreateUserInput!) {
      createUser(input: $input) { user { username } errors { field message code } } }"""
    token = client.token_for(seller, Role.OWNER)

    def user(name: str, supplier: str | None = None) -> dict[str, Any]:
        role = "SUPPLIER" if supplier else "WAREHOUSE"
        fields = {"username": name, "password": "clerk-pass-1", "role": role}
        return {"input": fields | ({"supplier": supplier} if supplier else {})}

    same = await asyncio.gather(
        *(client.data(create, user("clerk9"), token=token) for _ in range(6))
    )
    results = [d["createUser"] for d in same]
    assert sum(r["user"] is not None for r in results) == 1
    assert [r["errors"] for r in results if r["user"] is None] == [
        [{"field": "username", "message": "This username is taken", "code": "DUPLICATE"}]
    ] * 5

    # Six users of one supplier nobody has created yet: the supplier is made once, all succeed.
    several = await asyncio.gather(
        *(client.data(create, user(f"dai{i}", "新代发仓"), token=token) for i in range(6))
    )
    assert all(d["createUser"]["errors"] == [] for d in several)
    assert await count(db, seller, Supplier, Supplier.name == "新代发仓") == 1


async def test_concurrent_layout_codes(client: GraphQLClient, seller: Seller) -> None:
    token = client.token_for(seller, Role.WAREHOUSE)
    warehouse = """mutation { createWarehouse(input: {code: "HZ9", name: "杭州九号仓"}) {
      warehouse { id } errors { field code } } }"""
    answers = [
        d["createWarehouse"]
        for d in await asyncio.gather(*(client.data(warehouse, token=token) for _ in range(10)))
    ]
    made = [a["warehouse"]["id"] for a in answers if a["warehouse"]]
    assert len(made) == 1
    assert [a["errors"] for a in answers if not a["warehouse"]] == [
        [{"field": "code", "code": "DUPLICATE"}]
    ] * 9

    zone = await client.data(
        """mutation($w: ID!) { createZone(input: {warehouseId: $w, code: "A"}) {
          zone { id } errors { code } } }""",
        {"w": made[0]},
        token=token,
    )
    zone_id = zone["createZone"]["zone"]["id"]
    bins = """mutation($z: ID!, $codes: [BinDraftInput!]!) {
      createBins(input: {zoneId: $z, bins: $codes}) { bins { code } errors { field code } } }"""
    # Each request adds its own code and, in third place, the code they all want.
    answers = [
        d["createBins"]
        for d in await asyncio.gather(
            *(
                client.data(
                    bins,
                    {
                        "z": zone_id,
                        "codes": [{"code": f"A-0{i}-1"}, {"code": f"A-0{i}-2"}, {"code": "A-99"}],
                    },
                    token=token,
                )
                for i in range(8)
            )
        )
    ]
    assert sum(a["errors"] == [] for a in answers) == 1
    assert [a["errors"] for a in answers if a["errors"]] == [
        [{"field": "bins.2.code", "code": "DUPLICATE"}]
    ] * 7


async def test_concurrent_stock_policy_changes_of_one_shop_all_succeed(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    """Setting a policy is an upsert: concurrent changes queue up on the row, none fails."""
    shop = seller.shops["JD"]
    assert shop.id is not None
    policy = """mutation($shop: ID!, $ratio: Int!) {
      setShopStockPolicy(input: {shopId: $shop, ratioPercent: $ratio}) { errors { code } } }"""
    token = client.token_for(seller, Role.WAREHOUSE)
    answers = await asyncio.gather(
        *(
            client.data(
                policy, {"shop": to_global_id("Shop", shop.id), "ratio": 10 * i}, token=token
            )
            for i in range(8)
        )
    )
    assert all(a["setShopStockPolicy"]["errors"] == [] for a in answers)
    assert await count(db, seller, ShopStockPolicyRow, ShopStockPolicyRow.shop_id == shop.id) == 1


#: Unique keys whose every write is ``INSERT ... ON CONFLICT`` (get-or-create, counters, the
#: reservation loop's backorders, one open notification per key): nothing races into them.
WRITTEN_WITH_ON_CONFLICT = {
    "customers_org_id_channel_nick_key",
    "shop_stock_policies_org_id_shop_id_key",
    "stock_org_id_sku_id_bin_id_key",
    "backorders_one_waiting_per_line",
    "notifications_one_open_per_key",
    "order_number_counters_org_id_day_key",
}


async def test_every_unique_key_a_write_can_break_names_its_field(admin_db: Database) -> None:
    """A new unique constraint either declares what its caller is told (``unique_key``) or is
    written only with ON CONFLICT (listed above); keys that include ``id`` cannot be broken by
    another row and exist as foreign-key targets."""
    async with admin_db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                """
                SELECT i.indexrelid::regclass::text,
                       array(SELECT a.attname FROM unnest(i.indkey) k(n)
                             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n)
                FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                WHERE c.relnamespace = 'public'::regnamespace
                  AND i.indisunique AND NOT i.indisprimary
                """
            )
        )
        found = {name: columns for name, columns in rows}
    declared = duplicate_keys()
    unexplained = {
        name
        for name, columns in found.items()
        if name not in declared and name not in WRITTEN_WITH_ON_CONFLICT and "id" not in columns
    }
    assert not unexplained, (
        f"{sorted(unexplained)}: declare them with unique_key (db/tables/_base.py) or list "
        "them in WRITTEN_WITH_ON_CONFLICT if every write uses ON CONFLICT"
    )
    assert not set(declared) - set(found), "declared keys missing from the database"
