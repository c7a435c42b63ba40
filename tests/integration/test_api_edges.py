"""Bad input at the edge: every refusal is immediate, typed, and nothing reaches the database.

Each test reproduces a failure seen against ``orderflow demo``: 500s for bodies that are not a
JSON object or not UTF-8, "Unexpected error." (after seconds) for a NUL byte or a huge id, a
50 MB body read whole, ``first`` with ``last`` and several operations accepted, and values
PostgreSQL refuses (a text longer than its column) answered as a bug.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from api.ids import to_global_id
from db.engine import Database
from db.settings import Settings
from db.tables import Order, OrderRemark
from db.uow import UnitOfWork
from domain.accounts.model import Role
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_order
from tests.support.logs import captured_logs

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


# -- text inputs -------------------------------------------------------------------------------
async def gql_ascii(
    client: GraphQLClient, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    """Like ``client.gql``, but JSON with \\u escapes: a lone surrogate cannot be UTF-8."""
    response = await client.http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}, ensure_ascii=True),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    return body


SEARCH = "query($s: String) { orders(filter: {search: $s}) { totalCount } }"
REMARK = """mutation($input: AddOrderRemarkInput!) { addOrderRemark(input: $input) {
  remark { text } errors { code } } }"""


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800"])
async def test_control_characters_in_variables_are_refused(
    client: GraphQLClient, db: Database, seller: Seller, char: str
) -> None:
    token = client.token_for(seller)
    order = await make_order(db, seller)
    assert order.id is not None
    remarks = await count(db, seller, OrderRemark)

    search = await gql_ascii(client, SEARCH, {"s": f"张{char}三"}, token)
    assert code_of(search) == "INVALID_INPUT"
    assert error_of(search)["extensions"]["field"] == "s"

    order_id = to_global_id("Order", order.id)
    nested = await gql_ascii(
        client, REMARK, {"input": {"id": order_id, "text": f"a{char}b"}}, token
    )
    assert code_of(nested) == "INVALID_INPUT"
    assert error_of(nested)["extensions"]["field"] == "input.text"
    assert await count(db, seller, OrderRemark) == remarks


async def test_control_characters_in_literals_and_lists_are_refused(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    token = client.token_for(seller)
    orders = await count(db, seller, Order)
    sku = seller.skus[0].id
    assert sku is not None
    literal = f"""mutation {{ createOrder(input: {{
        receiver: {{name: "李\\u0000四", phone: "13912345678", province: "广东省", city: "深圳市",
                    address: "科技园"}}
        lines: [{{skuId: "{to_global_id("Sku", sku)}", quantity: 1, unitPriceFen: 100}}] }})
        {{ order {{ id }} errors {{ code }} }} }}"""
    body = await client.gql(literal, token=token)
    assert code_of(body) == "INVALID_INPUT"
    assert error_of(body)["extensions"]["field"] == "input.receiver.name"

    in_list = await client.gql(
        "query($ids: [ID!]) { orders(filter: {shopIds: $ids}) { totalCount } }",
        {"ids": ["U2hvcDox", "U2hvcDoy\x00"]},
        token=token,
    )
    assert code_of(in_list) == "INVALID_INPUT"
    assert error_of(in_list)["extensions"]["field"] == "ids.1"

    default = await client.gql(
        'query($s: String = "a\\u0000") { orders(filter: {search: $s}) { totalCount } }',
        token=token,
    )
    assert error_of(default)["extensions"]["field"] == "s"

    login = await client.gql(
        'mutation { login(input: {organization: "x\\u0000", username: "u", password: "p"}) '
        "{ token } }"
    )
    assert code_of(login) == "INVALID_INPUT"
    assert await count(db, seller, Order) == orders


async def test_tabs_and_line_breaks_are_text(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    order = await make_order(db, seller)
    assert order.id is not None
    text = "第一行\n\t第二行\r\n"
    body = await client.data(
        REMARK,
        {"input": {"id": to_global_id("Order", order.id), "text": text}},
        token=client.token_for(seller),
    )
    assert body["addOrderRemark"]["remark"]["text"] == text.strip()


# -- ids, pages, operations --------------------------------------------------------------------
NODE = "query($id: ID!) { node(id: $id) { id } }"
ORDER = "query($id: ID!) { order(id: $id) { id } }"
CANCEL = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) {
  order { id } errors { code field } } }"""


async def test_ids_beyond_64_bits_are_not_found_at_once(
    client: GraphQLClient, seller: Seller
) -> None:
    token = client.token_for(seller)
    huge = to_global_id("Order", 1180591620717411303424)
    for query in (NODE, ORDER):
        body = await client.gql(query, {"id": huge}, token=token)
        assert code_of(body) == "NOT_FOUND", body
    cancelled = await client.data(CANCEL, {"input": {"id": huge, "reason": "x"}}, token=token)
    assert cancelled["cancelOrder"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    assert code_of(await client.gql(NODE, {"id": to_global_id("Order", 0)}, token=token)) == (
        "NOT_FOUND"
    )
    thousand_digits = to_global_id("Order", int("9" * 1000))
    assert code_of(await client.gql(NODE, {"id": thousand_digits}, token=token)) == "NOT_FOUND"


@pytest.mark.parametrize("key", ["1_000", "-5", " 7", "٣", "1.5", ""])
async def test_malformed_ids_are_invalid(client: GraphQLClient, seller: Seller, key: str) -> None:
    body = await client.gql(
        ORDER,
        {"id": to_global_id("Order", key)},
        token=client.token_for(seller),  # type: ignore[arg-type]
    )
    assert code_of(body) == "INVALID_ID"


async def test_first_with_last_is_refused(client: GraphQLClient, seller: Seller) -> None:
    body = await client.gql(
        "{ orders(first: 2, last: 2) { totalCount } }", token=client.token_for(seller)
    )
    assert code_of(body) == "INVALID_INPUT"
    assert error_of(body)["extensions"]["field"] == "last"


async def test_several_operations_need_an_operation_name(
    client: GraphQLClient, seller: Seller
) -> None:
    token = client.token_for(seller, Role.OWNER)
    document = "query A { viewer { role } } mutation B { logout { ok } }"
    response = await client.http.post(
        "/graphql", json={"query": document}, headers={"authorization": f"Bearer {token}"}
    )
    body = response.json()
    assert code_of(body) == "INVALID_INPUT"
    assert error_of(body)["extensions"]["field"] == "operationName"
    named = await client.http.post(
        "/graphql",
        json={"query": document, "operationName": "A"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert named.json() == {"data": {"viewer": {"role": "OWNER"}}}
    anonymous = await client.gql("{ viewer { role } } { viewer { role } }", token=token)
    assert anonymous["data"] is None and anonymous["errors"]


# -- values only the database refuses ---------------------------------------------------------
CREATE_ORDER = """mutation($input: CreateOrderInput!) { createOrder(input: $input) {
  order { id } errors { field message code } } }"""


def order_input(seller: Seller, **overrides: Any) -> dict[str, Any]:
    sku = seller.skus[0].id
    assert sku is not None
    receiver = {"name": "李四", "phone": "13912345678", "province": "广东省", "city": "深圳市"}
    value: dict[str, Any] = {
        "receiver": {**receiver, "address": "科技园 1 号"},
        "lines": [{"skuId": to_global_id("Sku", sku), "quantity": 1, "unitPriceFen": 100}],
    }
    value.update(overrides)
    return value


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"buyerNick": "n" * 500}, "longer than the 200 characters"),
        ({"paidAt": "0001-01-01T00:00:00+14:00"}, "outside what its field can hold"),
    ],
    ids=["text too long", "date before year 1"],
)
async def test_values_the_database_refuses_are_invalid_input(
    client: GraphQLClient,
    db: Database,
    seller: Seller,
    settings: Settings,
    overrides: dict[str, Any],
    message: str,
) -> None:
    """No domain rule bounds these (yet); PostgreSQL or asyncpg refused them and the caller got
    "Unexpected error."."""
    orders = await count(db, seller, Order)
    with captured_logs(settings) as logs:
        body = await client.data(
            CREATE_ORDER,
            {"input": order_input(seller, **overrides)},
            token=client.token_for(seller),
        )
    [error] = body["createOrder"]["errors"]
    assert error["code"] == "INVALID_INPUT" and message in error["message"]
    assert await count(db, seller, Order) == orders
    [event] = logs.events()
    assert event["event"] == "graphql.value_refused_by_database" and "exception" not in event


async def test_a_query_with_a_value_the_database_refuses(
    client: GraphQLClient, seller: Seller
) -> None:
    body = await client.gql(
        '{ orders(filter: {paidFrom: "0001-01-01T00:00:00+14:00"}) { totalCount } }',
        token=client.token_for(seller),
    )
    error = error_of(body)
    assert error["extensions"] == {"code": "INVALID_INPUT"}
    assert error["message"] == "A value is outside what its field can hold"


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
