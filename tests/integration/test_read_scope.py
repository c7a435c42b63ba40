"""Reading through GraphQL as the scope functions say, case by case: a supplier's portal, sorts
and searches by what the caller cannot see, filters naming what it cannot read.  (The schema
walk in test_scope_walk.py covers every field and caller; these show the rules plainly.)"""

from __future__ import annotations

from typing import Any

from api.ids import to_global_id
from db.engine import Database
from domain.accounts.model import Role
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_order, make_supplier_user

PORTAL = """{ orders { totalCount nodes { externalId total { fen } shop { name }
  lines { quantity unitPrice { fen } sku { code price { amount }
    product { code skus { code } } } } } } }"""
SORTED = "query($sort: OrderSort!) { orders(sort: $sort) { totalCount } }"
SEARCH = "query($q: String!) { orders(filter: {search: $q}) { nodes { externalId } } }"


async def token_with(client: GraphQLClient, seller: Seller, *scopes: str) -> str:
    made = await client.data(
        """mutation($input: CreateApiTokenInput!) {
             createApiToken(input: $input) { secret errors { code } } }""",
        {"input": {"name": "+".join(scopes), "scopes": list(scopes)}},
        token=client.token_for(seller, Role.OWNER),
    )
    secret: str = made["createApiToken"]["secret"]
    return secret


def codes(body: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(e["extensions"]["code"], e["extensions"].get("field")) for e in body["errors"]}


async def test_a_supplier_works_its_own_orders_and_sees_no_more(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    supplier = seller.users[Role.SUPPLIER]
    other = await make_supplier_user(db, seller, "Supplier B", "supplier2")
    own = await make_order(db, seller, skus=seller.skus[:1], supplier_id=supplier.supplier_id)
    await make_order(db, seller, skus=seller.skus[1:2], supplier_id=other.supplier_id)
    await make_order(db, seller, skus=seller.skus[2:], shop=seller.shops["JD"])
    body = await client.gql(PORTAL, token=client.token_for(seller, Role.SUPPLIER))
    page = body["data"]["orders"]
    assert page["totalCount"] == 1
    [order] = page["nodes"]
    assert order["externalId"] == own.external_id
    assert order["shop"] == {"name": "TMALL shop"}
    [line] = order["lines"]
    # Its SKU and that SKU's product, whose other SKUs are not its business; no money anywhere.
    assert line["sku"] == {
        "code": "SKU-1",
        "price": None,
        "product": {"code": "P1", "skus": [{"code": "SKU-1"}]},
    }
    assert order["total"] is None and line["unitPrice"] is None
    assert {code for code, _ in codes(body)} == {"FORBIDDEN"}
    listed = await client.data(
        "{ products { nodes { code } } shops { nodes { name } } }",
        token=client.token_for_user(other),
    )
    assert listed == {
        "products": {"nodes": [{"code": "P1"}]},
        "shops": {"nodes": [{"name": "TMALL shop"}]},
    }
    for query in ("{ warehouses { totalCount } }", "{ users { totalCount } }"):
        refused = await client.gql(query, token=client.token_for_user(other))
        assert codes(refused) == {("FORBIDDEN", None)}


async def test_sorting_and_searching_by_what_the_caller_cannot_see(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    supplier = seller.users[Role.SUPPLIER]
    await make_order(db, seller, supplier_id=supplier.supplier_id, phone="13800001234")
    staff = client.token_for(seller, Role.SERVICE)
    reader = await token_with(client, seller, "ORDERS_READ")
    for caller in (client.token_for(seller, Role.SUPPLIER), reader):
        for sort in ("TOTAL_DESC", "TOTAL_ASC"):
            body = await client.gql(SORTED, {"sort": sort}, token=caller)
            assert body["data"] is None
            assert codes(body) == {("FORBIDDEN", "sort")}
        assert (await client.data(SORTED, {"sort": "PAID_DESC"}, token=caller))["orders"] == {
            "totalCount": 1
        }
        # The phone tail (尾号) is not matched for them; order numbers and names still are.
        assert (await client.data(SEARCH, {"q": "1234"}, token=caller))["orders"]["nodes"] == []
        found = await client.data(SEARCH, {"q": "张三"}, token=caller)
        assert len(found["orders"]["nodes"]) == 1
    assert (await client.data(SORTED, {"sort": "TOTAL_DESC"}, token=staff))["orders"] == {
        "totalCount": 1
    }
    assert len((await client.data(SEARCH, {"q": "1234"}, token=staff))["orders"]["nodes"]) == 1


async def test_filters_naming_what_the_caller_cannot_read_are_forbidden(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    order = await make_order(db, seller)
    stock_only = await token_with(client, seller, "STOCK_READ")
    order_id = to_global_id("Order", order.id or 0)
    sku_id = to_global_id("Sku", seller.skus[0].id or 0)
    cases = [
        ("query($o: ID!) { stockLedger(filter: {orderId: $o}) { totalCount } }", "filter.orderId"),
        ("query($o: ID!) { orderReservations(orderId: $o) { quantity } }", None),
        ("query($s: [ID!]) { backorders(skuIds: $s) { totalCount } }", "skuIds"),
        ("query($s: [ID!]) { stockLevels(filter: {skuIds: $s}) { totalCount } }", "filter.skuIds"),
    ]
    for query, field in cases:
        body = await client.gql(query, {"o": order_id, "s": [sku_id]}, token=stock_only)
        assert codes(body) == {("FORBIDDEN", field)}, (query, body)
    # With the permissions to name them, the same filters work.
    everything = client.token_for(seller, Role.WAREHOUSE)
    for query, _ in cases:
        await client.data(query, {"o": order_id, "s": [sku_id]}, token=everything)


async def test_a_refusal_after_an_anonymous_call_is_still_forbidden(
    client: GraphQLClient, seller: Seller
) -> None:
    # Permission objects live as long as the schema: an anonymous caller's UNAUTHENTICATED
    # must not become the answer to the next signed-in caller who lacks a permission.
    anonymous = await client.gql("{ warehouses { totalCount } }")
    assert codes(anonymous) == {("UNAUTHENTICATED", None)}
    refused = await client.gql(
        "{ warehouses { totalCount } }", token=client.token_for(seller, Role.SUPPLIER)
    )
    assert codes(refused) == {("FORBIDDEN", None)}
