"""What protects the API: N+1-free lists, query limits, malformed requests, error masking."""

from __future__ import annotations

import pytest

from api.ids import to_global_id
from db.engine import Database
from db.tables import Customer
from db.uow import UnitOfWork
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_order, make_org
from tests.support.sql import count_statements

BOARD = """query($first: Int!) { orders(first: $first) { totalCount edges { node {
  id externalId status total { amount fen } receiver { name maskedPhone }
  shop { name channel } buyer { nick }
  lines { quantity unitPrice { fen } sku { code name product { name } } } } } } }"""


async def test_order_list_statement_count_is_constant(client: GraphQLClient, db: Database) -> None:
    seller = await make_org(db)
    async with UnitOfWork(db, seller.org_id) as uow:
        buyer = await uow.orders.add_customer(
            Customer(org_id=seller.org_id, channel="TMALL", nick="buyer1")
        )
        await uow.commit()
    for i in range(50):
        order = await make_order(db, seller, lines=3, phone=f"1390000{i:04d}")
        async with UnitOfWork(db, seller.org_id) as uow:
            row = await uow.orders.get(order.id or 0)
            assert row is not None
            row.customer_id = buyer.id
            await uow.commit()
    token = client.token_for(seller)
    counts = {}
    for size in (10, 50):
        with count_statements(client.services.db.engine) as counter:
            data = await client.data(BOARD, {"first": size}, token=token)
        assert len(data["orders"]["edges"]) == size
        assert all(e["node"]["buyer"]["nick"] == "buyer1" for e in data["orders"]["edges"])
        counts[size] = counter.count
    assert counts[10] == counts[50], counts


async def test_depth_cost_and_alias_limits(client: GraphQLClient, seller: Seller) -> None:
    token = client.token_for(seller)
    nested = "product { skus { " * 6
    deep = (
        "{ orders { edges { node { lines { sku { " + nested + "code" + " } }" * 6 + " } } } } } }"
    )
    body = await client.gql(deep, token=token)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]

    costly = (
        "{ orders(first: 100) { edges { node { lines { sku { product { skus {"
        " product { skus { code } } } } } } } } } }"
    )
    body = await client.gql(costly, token=token)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"

    aliases = "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(40)) + " }"
    body = await client.gql(aliases, token=token)
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_malformed_requests(client: GraphQLClient, seller: Seller) -> None:
    response = await client.http.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

    token = client.token_for(seller)
    body = await client.gql('{ node(id: "bm9wZQ==") { id } }', token=token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    body = await client.gql(
        "query($id: ID!) { order(id: $id) { id } }",
        {"id": to_global_id("Shop", 1)},
        token=token,
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    body = await client.gql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("Order", 987654321)},
        token=token,
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_health_endpoints(client: GraphQLClient) -> None:
    assert (await client.http.get("/healthz")).json() == {"status": "ok"}
    ready = await client.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": True, "redis": True}


async def test_unexpected_errors_are_masked(
    client: GraphQLClient, seller: Seller, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.orders import service

    async def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("password=hunter2 leaked in a stack trace")

    monkeypatch.setattr(service, "count_orders", broken)
    body = await client.gql("{ orders { totalCount } }", token=client.token_for(seller))
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in str(body)
