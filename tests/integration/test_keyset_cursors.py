"""Keyset cursors, through the API: pages that neither repeat nor skip a row while orders
arrive, cursors refused by every list but their own, every connection walkable page by page to
exactly its unpaged list, at a cost in statements that does not grow with the page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from graphql import GraphQLEnumType, get_named_type

from api.ids import to_global_id
from db.engine import Database
from db.settings import Settings
from db.tables import Order
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.inventory import reservation as inventory
from domain.notifications import service as notifications
from domain.notifications.model import NotificationKind, Severity
from tests.support.api import GraphQLClient, graphql_client
from tests.support.factories import Seller, make_order, make_org
from tests.support.paging import T0, board_order, orders_with_ties
from tests.support.schema_walk import is_connection, query_fields, roomy
from tests.support.sql import count_statements
from tests.support.world import SellerWorld, build_seller

PAGE_FIELDS = """totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { id } }"""
ORDERS = f"""query($sort: OrderSort!, $first: Int, $after: String, $last: Int, $before: String,
  $filter: OrderFilterInput) {{
  orders(sort: $sort, first: $first, after: $after, last: $last, before: $before,
         filter: $filter) {{ {PAGE_FIELDS} }} }}"""


def ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def gid(order: Order) -> str:
    assert order.id is not None
    return to_global_id("Order", order.id)


def board(orders: list[Order], sort: str) -> list[str]:
    return [gid(o) for o in board_order(orders, sort)]


async def orders_page(client: GraphQLClient, token: str, sort: str, **page: Any) -> dict[str, Any]:
    data = await client.data(ORDERS, {"sort": sort, **page}, token=token)
    result: dict[str, Any] = data["orders"]
    return result


# -- the reported drift ---------------------------------------------------------------------
async def test_new_orders_between_two_pages_repeat_nothing(
    client: GraphQLClient, db: Database
) -> None:
    """The report: after 3 new orders arrived, page 2 of the board repeated 3 orders of page
    1.  Page 2 now starts right after page 1's last row, wherever new rows landed."""
    seller = await make_org(db)
    made = [await make_order(db, seller, created_at=T0 + timedelta(minutes=i)) for i in range(10)]
    expected = board(made, "CREATED_DESC")
    token = client.token_for(seller)

    first = await orders_page(client, token, "CREATED_DESC", first=4)
    assert ids(first) == expected[:4]
    for _ in range(3):
        await make_order(db, seller)  # newer than all: lands on page 1, already read
    second = await orders_page(
        client, token, "CREATED_DESC", first=4, after=first["pageInfo"]["endCursor"]
    )
    assert ids(second) == expected[4:8]
    assert second["totalCount"] == 13
    assert second["pageInfo"]["hasPreviousPage"] and second["pageInfo"]["hasNextPage"]
    third = await orders_page(
        client, token, "CREATED_DESC", first=4, after=second["pageInfo"]["endCursor"]
    )
    assert ids(third) == expected[8:]
    assert not third["pageInfo"]["hasNextPage"]


@dataclass
class Drift:
    """A seller whose board changes between every two page requests."""

    seller: Seller
    orders: list[Order]
    wave: int = 0

    async def arrive(self, db: Database) -> None:
        """Three orders: one before every row of the board, one after every row, one unpaid
        (待付款); wherever the sort puts them, on a page already read or one still ahead."""
        self.wave += 1
        early = T0 - timedelta(days=self.wave)
        late = T0 + timedelta(days=self.wave)
        self.orders += [
            await make_order(db, self.seller, created_at=early, paid_at=early, quantity=1),
            await make_order(db, self.seller, created_at=late, paid_at=late, quantity=9),
            await make_order(db, self.seller, created_at=T0, unpaid=True, quantity=4),
        ]


async def drifting_seller(db: Database) -> Drift:
    seller, orders = await orders_with_ties(db)
    return Drift(seller, orders)


SORTS = ["CREATED_DESC", "CREATED_ASC", "PAID_ASC", "PAID_DESC", "TOTAL_DESC", "TOTAL_ASC"]


@pytest.mark.parametrize("backwards", [False, True], ids=["first/after", "last/before"])
@pytest.mark.parametrize("sort", SORTS)
async def test_pages_follow_their_cursor_while_orders_arrive(
    client: GraphQLClient, db: Database, sort: str, backwards: bool
) -> None:
    """Each page is exactly the rows next to its cursor on the board as it is at that request;
    every order there from the start is met once, none twice, in board order."""
    drift = await drifting_seller(db)
    original = board(drift.orders, sort)
    token = client.token_for(drift.seller)
    size = 4
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        if backwards:
            page = await orders_page(client, token, sort, last=size, before=cursor)
        else:
            page = await orders_page(client, token, sort, first=size, after=cursor)
        now = board(drift.orders, sort)
        got = ids(page)
        if cursor is None:
            expected = now[-size:] if backwards else now[:size]
        else:
            at = now.index(seen[-1])
            expected = now[max(0, at - size) : at] if backwards else now[at + 1 : at + 1 + size]
        assert got == expected, f"page {pages + 1} of {sort}"
        assert page["totalCount"] == len(now)
        info = page["pageInfo"]
        behind, ahead = (
            (info["hasNextPage"], info["hasPreviousPage"])
            if backwards
            else (info["hasPreviousPage"], info["hasNextPage"])
        )
        assert behind == (cursor is not None)
        first_index = now.index(got[0])
        assert ahead == (first_index > 0 if backwards else first_index + len(got) < len(now))
        seen += reversed(got) if backwards else got
        pages += 1
        if not ahead:
            break
        cursor = info["startCursor"] if backwards else info["endCursor"]
        await drift.arrive(db)
    assert len(seen) == len(set(seen)), "a row was repeated"
    met = [row for row in (reversed(seen) if backwards else seen) if row in original]
    assert met == original, "an order there from the start was skipped or met out of order"
    assert pages >= 3


# -- cursors belong to one list ---------------------------------------------------------------
async def test_a_cursor_is_refused_by_every_other_list(client: GraphQLClient, db: Database) -> None:
    seller = await make_org(db)
    for i in range(3):
        await make_order(db, seller, created_at=T0 + timedelta(minutes=i))
    token = client.token_for(seller)
    page = await orders_page(client, token, "CREATED_DESC", first=1)
    cursor = page["pageInfo"]["endCursor"]
    assert len(ids(await orders_page(client, token, "CREATED_DESC", after=cursor))) == 2

    other_seller = await make_org(db)
    await make_order(db, other_seller)
    refusals = {
        "another sort": (ORDERS, {"sort": "PAID_ASC", "after": cursor}, token),
        "another filter": (
            ORDERS,
            {"sort": "CREATED_DESC", "after": cursor, "filter": {"statuses": ["NEW"]}},
            token,
        ),
        "another connection": (
            "query($after: String) { products(after: $after) { totalCount } }",
            {"after": cursor},
            token,
        ),
        "another seller": (
            ORDERS,
            {"sort": "CREATED_DESC", "after": cursor},
            client.token_for(other_seller),
        ),
        "tampered": (ORDERS, {"sort": "CREATED_DESC", "after": cursor[:-3] + "AAA"}, token),
        "an offset cursor": (ORDERS, {"sort": "CREATED_DESC", "after": "Y3Vyc29yOjE="}, token),
    }
    for name, (query, variables, caller) in refusals.items():
        body = await client.gql(query, variables, token=caller)
        [error] = body["errors"]
        assert error["extensions"] == {"code": "INVALID_CURSOR", "field": "after"}, name
        assert error["message"] != "Unexpected error.", name
    body = await client.gql(ORDERS, {"sort": "PAID_DESC", "last": 2, "before": cursor}, token=token)
    assert body["errors"][0]["extensions"] == {"code": "INVALID_CURSOR", "field": "before"}
    body = await client.gql(ORDERS, {"sort": "CREATED_DESC", "first": 1, "last": 1}, token=token)
    assert body["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "last"}


# -- every connection -------------------------------------------------------------------------
CONNECTIONS = sorted(
    name for name, field in query_fields().items() if is_connection(get_named_type(field.type))
)


def listings(name: str) -> list[dict[str, str]]:
    """The ways to list a connection's rows: one per value of its ``sort`` argument."""
    sort = query_fields()[name].args.get("sort")
    if sort is None:
        return [{}]
    kind = get_named_type(sort.type)
    assert isinstance(kind, GraphQLEnumType)
    return [{"sort": value} for value in kind.values]


@dataclass
class Lists:
    client: GraphQLClient
    world: SellerWorld
    token: str

    async def page(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        rendered = ", ".join(
            f"{k}: {v}" if k == "sort" else f"{k}: {_literal(v)}" for k, v in args.items()
        )
        data = await self.client.data(
            f"{{ {name}({rendered}) {{ {PAGE_FIELDS} }} }}", token=self.token
        )
        result: dict[str, Any] = data[name]
        return result


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


@pytest_asyncio.fixture(scope="module")
async def lists(db: Database, settings: Settings) -> AsyncIterator[Lists]:
    """A seller with something in every list, and more than one of most; an unpaid order on
    backorder (缺货) puts a NULL paid time in the backorder queue."""
    world = await build_seller(db)
    seller = world.seller
    owner = seller.actor(Role.OWNER)
    sku3 = seller.skus[2]
    for unpaid in (False, True):
        order = await make_order(db, seller, skus=[sku3], quantity=40, unpaid=unpaid)
        assert order.id is not None
        await inventory.reserve_order(db, owner, order.id)
    async with UnitOfWork(db, seller.org_id) as uow:
        for n in range(3):
            await notifications.raise_alert(
                uow,
                NotificationKind.STOCK_DRIFT,
                Severity.WARNING,
                f"Drift {n}",
                {},
                dedupe_key=f"drift.{n}",
            )
        await uow.commit()
    async with graphql_client(roomy(settings)) as client:
        yield Lists(client, world, client.token_for(seller, Role.OWNER))


@pytest.mark.parametrize("name", CONNECTIONS)
async def test_every_connection_pages_to_its_unpaged_list(lists: Lists, name: str) -> None:
    """Small pages, forwards and backwards, add up to the whole list, in its order."""
    for listing in listings(name):
        whole = await lists.page(name, {**listing, "first": 100})
        assert not whole["pageInfo"]["hasNextPage"]
        everything = ids(whole)
        assert len(everything) == whole["totalCount"] > 1, (name, listing)
        for size in (1, 2):
            forwards: list[str] = []
            page = await lists.page(name, {**listing, "first": size})
            while True:
                forwards += ids(page)
                assert page["pageInfo"]["hasPreviousPage"] == (len(forwards) > size)
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
                page = await lists.page(name, {**listing, "first": size, "after": after})
            assert forwards == everything, (name, listing, size)

            backwards: list[str] = []
            page = await lists.page(name, {**listing, "last": size})
            while True:
                backwards = ids(page) + backwards
                assert page["pageInfo"]["hasNextPage"] == (len(backwards) > size)
                if not page["pageInfo"]["hasPreviousPage"]:
                    break
                before = page["pageInfo"]["startCursor"]
                page = await lists.page(name, {**listing, "last": size, "before": before})
            assert backwards == everything, (name, listing, size)


@pytest.mark.parametrize("name", CONNECTIONS)
async def test_a_page_costs_the_same_statements_whatever_its_size(lists: Lists, name: str) -> None:
    engine = lists.client.services.db.engine
    for listing in listings(name):
        head = (await lists.page(name, {**listing, "first": 1}))["pageInfo"]["endCursor"]
        tail = (await lists.page(name, {**listing, "last": 1}))["pageInfo"]["startCursor"]
        situations = {
            "first": ("first", {}),
            "first/after": ("first", {"after": head}),
            "last": ("last", {}),
            "last/before": ("last", {"before": tail}),
        }
        for situation, (size_argument, cursor) in situations.items():
            counts = []
            for size in (1, 100):
                with count_statements(engine) as counter:
                    await lists.page(name, {**listing, **cursor, size_argument: size})
                counts.append(counter.count)
            assert counts[0] == counts[1], (name, listing, situation, counts)


BOARD = """query($first: Int, $after: String) { orders(first: $first, after: $after) {
  totalCount edges { node { id externalId status total { fen } receiver { name maskedPhone }
  shop { name channel } lines { quantity unitPrice { fen } sku { code name product { name } } } } }
  pageInfo { endCursor } } }"""


async def test_a_board_page_costs_the_same_statements_whatever_its_size_or_depth(
    client: GraphQLClient, db: Database
) -> None:
    seller = await make_org(db)
    for i in range(45):
        await make_order(db, seller, lines=2, created_at=T0 + timedelta(minutes=i))
    token = client.token_for(seller)
    start = (await client.data(BOARD, {"first": 2}, token=token))["orders"]
    counts = {}
    for size in (5, 40):
        with count_statements(client.services.db.engine) as counter:
            data = await client.data(
                BOARD, {"first": size, "after": start["pageInfo"]["endCursor"]}, token=token
            )
        assert len(data["orders"]["edges"]) == size
        counts[size] = counter.count
    assert counts[5] == counts[40], counts
