"""The role matrix through GraphQL: ``viewer`` reports what the server then allows, API tokens
stay within their scopes, a manager hands out read-only tokens, and an API token cannot log out."""

from __future__ import annotations

from typing import Any

from api.ids import to_global_id
from db.engine import Database
from domain.accounts.model import Role, Scope, permissions_of, token_scopes
from tests.support.api import GraphQLClient
from tests.support.factories import Seller
from tests.support.inventory import make_layout, sku_totals

VIEWER = "{ viewer { role scopes } }"
CREATE_TOKEN = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
    secret apiToken { id scopes } errors { code field message } } }"""
REVOKE_TOKEN = """mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) {
    apiToken { revokedAt } errors { code field } } }"""
CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    user { username } errors { code } } }"""
RECEIVE = """mutation($input: ReceiveStockInput!) { receiveStock(input: $input) {
    stockLevels { onHand } errors { code } } }"""


def names(scopes: frozenset[Scope]) -> list[str]:
    return [s.name for s in Scope if s in scopes]


async def make_token(
    client: GraphQLClient, token: str, scopes: list[str], name: str = "app"
) -> dict[str, Any]:
    made = await client.data(CREATE_TOKEN, {"input": {"name": name, "scopes": scopes}}, token=token)
    payload: dict[str, Any] = made["createApiToken"]
    return payload


async def test_viewer_reports_each_roles_permissions_in_matrix_order(
    client: GraphQLClient, seller: Seller
) -> None:
    for role in Role:
        viewer = (await client.data(VIEWER, token=client.token_for(seller, role)))["viewer"]
        assert viewer == {"role": role.value, "scopes": names(permissions_of(role))}


async def test_a_token_holds_its_scopes_within_its_creators_role(
    client: GraphQLClient, seller: Seller
) -> None:
    owner = client.token_for(seller, Role.OWNER)
    made = await make_token(client, owner, ["ORDERS_READ", "USERS_WRITE"])
    assert made["errors"] == []
    viewer = (await client.data(VIEWER, token=made["secret"]))["viewer"]
    assert viewer["scopes"] == ["ORDERS_READ", "USERS_WRITE"]
    # An orders-only token of the owner is not the owner: it manages neither users nor tokens.
    reader = (await make_token(client, owner, ["ORDERS_READ"]))["secret"]
    user_input = {"username": "intruder", "password": "intruder-pass-1", "role": "OWNER"}
    refused = await client.data(CREATE_USER, {"input": user_input}, token=reader)
    assert refused["createUser"]["errors"] == [{"code": "FORBIDDEN"}]
    listed = await client.gql("{ apiTokens { name } }", token=reader)
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    revoke = await client.data(
        REVOKE_TOKEN, {"input": {"id": made["apiToken"]["id"]}}, token=reader
    )
    assert revoke["revokeApiToken"]["errors"] == [{"code": "FORBIDDEN", "field": None}]
    # ... while users:write is exactly what the first token may use.
    user_input["role"] = "SERVICE"
    created = await client.data(CREATE_USER, {"input": user_input}, token=made["secret"])
    assert created["createUser"] == {"user": {"username": "intruder"}, "errors": []}
    # No token carries token management, whoever asks.
    minted = await make_token(client, owner, ["TOKENS_WRITE"])
    assert (minted["errors"][0]["code"], minted["errors"][0]["field"]) == ("FORBIDDEN", "scopes")
    assert token_scopes(Role.OWNER, frozenset({Scope.TOKENS_WRITE})) == frozenset()


async def test_a_manager_hands_out_read_only_tokens(client: GraphQLClient, seller: Seller) -> None:
    manager = client.token_for(seller, Role.MANAGER)
    owner = client.token_for(seller, Role.OWNER)
    reading = await make_token(client, manager, ["ORDERS_READ", "STOCK_READ", "MONEY_READ"])
    assert reading["errors"] == []
    writing = await make_token(client, manager, ["ORDERS_READ", "STOCK_WRITE"])
    assert writing["secret"] is None
    assert writing["errors"][0]["code"] == "FORBIDDEN"
    assert "stock:write" in writing["errors"][0]["message"]
    owners = await make_token(client, owner, ["STOCK_WRITE"], name="WMS")
    # The manager revokes what it could create, not the owner's write token.
    refused = await client.data(
        REVOKE_TOKEN, {"input": {"id": owners["apiToken"]["id"]}}, token=manager
    )
    assert refused["revokeApiToken"]["errors"] == [{"code": "FORBIDDEN", "field": "id"}]
    assert (await client.data(VIEWER, token=owners["secret"]))["viewer"]["scopes"] == [
        "STOCK_WRITE"
    ]
    revoked = await client.data(
        REVOKE_TOKEN, {"input": {"id": reading["apiToken"]["id"]}}, token=manager
    )
    assert revoked["revokeApiToken"]["apiToken"]["revokedAt"] is not None
    listed = await client.data("{ apiTokens { name } }", token=manager)
    assert {t["name"] for t in listed["apiTokens"]} == {"app", "WMS"}


async def test_a_manager_moves_stock(client: GraphQLClient, db: Database, seller: Seller) -> None:
    layout = await make_layout(db, seller)
    sku, bin_id = seller.skus[0].id, layout.bin_id()
    assert sku is not None
    received = await client.data(
        RECEIVE,
        {
            "input": {
                "warehouseId": to_global_id("Warehouse", layout.warehouses[0].id or 0),
                "items": [
                    {
                        "skuId": to_global_id("Sku", sku),
                        "binId": to_global_id("Bin", bin_id),
                        "quantity": 4,
                    }
                ],
            }
        },
        token=client.token_for(seller, Role.MANAGER),
    )
    assert received["receiveStock"] == {"stockLevels": [{"onHand": 4}], "errors": []}
    assert (await sku_totals(db, seller.org_id, sku)).on_hand == 4


async def test_logout_with_an_api_token_is_refused_and_the_token_keeps_working(
    client: GraphQLClient, seller: Seller
) -> None:
    secret = (await make_token(client, client.token_for(seller, Role.OWNER), ["ORDERS_READ"]))[
        "secret"
    ]
    response = await client.post("mutation { logout { ok errors { code message } } }", token=secret)
    payload = response.json()["data"]["logout"]
    assert payload["ok"] is False
    assert payload["errors"][0]["code"] == "INVALID_INPUT"
    assert "revokeApiToken" in payload["errors"][0]["message"]
    assert "set-cookie" not in response.headers
    assert (await client.data("{ orders { totalCount } }", token=secret))["orders"] == {
        "totalCount": 0
    }
