"""Bad input at the edge: every refusal is immediate, typed, and nothing reaches the database.

Each test reproduces a failure seen against ``orderflow demo``: 500s for bodies that are not a
JSON object or not UTF-8, a 50 MB body read whole, 200 with ``"data": null`` for requests that
never executed whatever the client accepts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from db.engine import Database
from db.uow import UnitOfWork
from domain.accounts.model import Role
from tests.support.api import GraphQLClient
from tests.support.factories import Seller

GRAPHQL_RESPONSE = "application/graphql-response+json"


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


def code_of(body: dict[str, Any]) -> str:
    return str(error_of(body)["extensions"]["code"])


async def count(db: Database, seller: Seller, model: Any) -> int:
    async with UnitOfWork(db, seller.org_id) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


# -- the body ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'"hello"', "must be a JSON object"),
        (b"[1, 2]", "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"query": "{ viewer { role } }", "x": "\xff"}', "not valid UTF-8"),
        (b"", "empty"),
        (b"{not json", "Unable to parse"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"query": "{ __typename }", "operationName": {"a": 1}}', "operationName"),
        (b'{"query": "{ __typename }", "variables": "x"}', "variables"),
    ],
)
async def test_bodies_that_are_not_a_graphql_request_are_400(
    client: GraphQLClient, body: bytes, reason: str
) -> None:
    response = await client.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    payload = response.json()
    assert list(payload) == ["errors"]
    assert code_of(payload) == "BAD_REQUEST"
    assert reason in error_of(payload)["message"]


async def test_a_body_over_the_limit_is_413_and_not_read_to_the_end(client: GraphQLClient) -> None:
    limit = client.services.settings.max_body_bytes
    declared = await client.http.post(
        "/graphql",
        content=b'{"query": "' + b"x" * limit + b'"}',
        headers={"content-type": "application/json"},
    )
    assert declared.status_code == 413
    assert code_of(declared.json()) == "PAYLOAD_TOO_LARGE"

    # Streamed without a Content-Length: reading stops at the first chunk past the limit.
    chunk = b"x" * 64 * 1024
    sent = 0

    async def fifty_megabytes() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "'
        for _ in range(50 * 1024 * 1024 // len(chunk)):
            sent += len(chunk)
            yield chunk

    streamed = await client.http.post(
        "/graphql", content=fifty_megabytes(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert sent <= limit + 2 * len(chunk)


async def test_variables_that_do_not_coerce_say_why(client: GraphQLClient, seller: Seller) -> None:
    body = await client.gql(
        "query($n: Int) { orders(first: $n) { totalCount } }",
        {"n": "thirty"},
        token=client.token_for(seller),
    )
    assert body["data"] is None
    assert code_of(body) == "BAD_USER_INPUT"
    assert "Int cannot represent non-integer value" in error_of(body)["message"]


# -- media types -------------------------------------------------------------------------------
async def post(client: GraphQLClient, accept: str | None, payload: Any) -> Any:
    headers = {"content-type": "application/json"}
    if accept is not None:
        headers["accept"] = accept
    return await client.http.post("/graphql", content=json.dumps(payload), headers=headers)


@pytest.mark.parametrize(
    "payload",
    [
        {"query": "{"},
        {"query": "{ noSuchField }"},
        {"query": "query($id: ID!) { __typename }", "variables": {"id": None}},
    ],
    ids=["parse", "validation", "coercion"],
)
async def test_request_errors_by_media_type(client: GraphQLClient, payload: Any) -> None:
    modern = await post(client, f"{GRAPHQL_RESPONSE}, application/json;q=0.9", payload)
    assert modern.status_code == 400
    assert modern.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in modern.json() and modern.json()["errors"]

    for accept in ("application/json", "*/*", None):
        legacy = await post(client, accept, payload)
        assert legacy.status_code == 200
        assert legacy.headers["content-type"].startswith("application/json")
        assert legacy.json()["data"] is None


async def test_field_errors_keep_data_and_200(client: GraphQLClient, seller: Seller) -> None:
    response = await client.http.post(
        "/graphql",
        json={"query": "{ viewer { role } orders { totalCount } }"},
        headers={
            "accept": GRAPHQL_RESPONSE,
            "authorization": f"Bearer {client.token_for(seller, Role.SUPPLIER)}",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert body["data"]["viewer"] == {"role": "SUPPLIER"}


async def test_a_mutation_over_get_is_refused(client: GraphQLClient) -> None:
    response = await client.http.get(
        "/graphql", params={"query": "mutation { logout { ok } }"}, headers={"accept": "*/*"}
    )
    assert 400 <= response.status_code < 500
