"""Errors cost almost nothing: an expected error is one log line, never a traceback.

Before, a drop-ship supplier asking the order board for ``total`` (30 FORBIDDEN field errors)
made the server render 30 rich tracebacks with local variables, ~570 lines each, on the event
loop: 14.7 s for that request, and every other caller stalled behind it.
"""

from __future__ import annotations

import gc

import pytest
from graphql import GraphQLError
from sqlalchemy import text
from starlette.testclient import TestClient

from api.app import create_app
from api.errors import ApiError, log_errors
from db.engine import Database
from db.settings import Settings
from domain.accounts.model import Role
from domain.errors import ErrorCode
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_order, make_org
from tests.support.logs import captured_logs
from tests.support.sql import org_connection

BOARD = "{ orders(first: 30) { nodes { externalId total { amount } } } }"


async def supplier_orders(db: Database, count: int) -> Seller:
    """An organisation whose ``count`` orders all go to its drop-ship supplier."""
    seller = await make_org(db, skus=1)
    for i in range(count):
        await make_order(db, seller, lines=1, phone=f"1390000{i:04d}")
    async with org_connection(db, seller.org_id, commit=True) as conn:
        await conn.execute(
            text("UPDATE orders SET supplier_id = :supplier WHERE org_id = :org"),
            {"supplier": seller.users[Role.SUPPLIER].supplier_id, "org": seller.org_id},
        )
    return seller


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_thirty_forbidden_fields_are_thirty_lines_without_traceback(
    client: GraphQLClient, db: Database, settings: Settings, log_format: str
) -> None:
    seller = await supplier_orders(db, 30)
    with captured_logs(settings, log_format) as logs:  # type: ignore[arg-type]
        body = await client.gql(BOARD, token=client.token_for(seller, Role.SUPPLIER))

    nodes = body["data"]["orders"]["nodes"]
    assert len(nodes) == 30 and all(n["externalId"] and n["total"] is None for n in nodes)
    assert len(body["errors"]) == 30
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}

    assert "Traceback" not in logs.text
    lines = [line for line in logs.text.splitlines() if line.strip()]
    assert len(lines) == 30, logs.text
    if log_format == "json":
        events = logs.events()
        assert {e["event"] for e in events} == {"graphql.error"}
        assert {e["level"] for e in events} == {"warning"}
        assert {e["path"] for e in events} == {f"orders.nodes.{i}.total" for i in range(30)}
        assert all(e["code"] == "FORBIDDEN" and e["actor"] == "supplier" for e in events)
        assert len({e["request_id"] for e in events}) == 1
        assert not any("exception" in e or "exc_info" in e for e in events)
    else:
        assert all("graphql.error" in line and "FORBIDDEN" in line for line in lines)


async def test_request_errors_are_one_line_each_naming_the_actor(
    client: GraphQLClient, seller: Seller, settings: Settings
) -> None:
    token = client.token_for(seller)
    with captured_logs(settings) as logs:
        await client.gql("{ orders { nodes { nope } } }", token=token)  # validation
        await client.gql("{ orders(", token=token)  # parse
        await client.gql(
            "query($n: Int) { orders(first: $n) { totalCount } }", {"n": "x"}, token=token
        )
        await client.gql("{ orders { totalCount } }")  # not signed in
    events = logs.named("graphql.error")
    assert events[-1]["code"] == "UNAUTHENTICATED" and events[-1]["actor"] == "anonymous"
    assert events[-1]["level"] == "warning"
    events = events[:-1]
    assert {e["actor"] for e in events} == {"manager"}
    assert [e["code"] for e in events] == [
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_PARSE_FAILED",
        "BAD_USER_INPUT",
    ]
    assert {e["level"] for e in events} == {"info"}
    # Their messages quote the client's document and values (a password sent as a number, say):
    # the client gets them, the log does not.
    assert not any("message" in e for e in events)
    assert "Traceback" not in logs.text


async def test_unexpected_error_is_logged_once_with_a_plain_traceback(
    client: GraphQLClient, seller: Seller, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.orders import service

    async def broken(*args: object, **kwargs: object) -> int:
        receiver_phone = "13912345678"  # a local variable: tracebacks must not show it
        raise RuntimeError(f"lookup failed for {receiver_phone}")

    monkeypatch.setattr(service, "count_orders", broken)
    with captured_logs(settings) as logs:
        body = await client.gql("{ orders { totalCount } }", token=client.token_for(seller))

    error = body["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    [event] = logs.events()
    assert event["event"] == "graphql.unexpected_error" and event["level"] == "error"
    assert event["request_id"] == error["extensions"]["requestId"]
    [exception] = event["exception"]
    assert exception["exc_type"] == "RuntimeError"
    assert exception["exc_value"] == "lookup failed for 139****5678"
    assert exception["frames"] and not any("locals" in f for f in exception["frames"])
    assert "13912345678" not in logs.text


def test_logged_errors_let_go_of_their_frames() -> None:
    """An exception, its traceback and its frames form cycles only the cyclic garbage collector
    frees; thirty errors a request made it run twice as often, over the whole heap."""
    try:
        raise ApiError(ErrorCode.FORBIDDEN, "no")
    except ApiError as exc:
        original = exc
    error = GraphQLError("no", original_error=original)
    assert original.__traceback__ is not None
    log_errors([error])
    assert original.__traceback__ is None and error.__traceback__ is None
    assert error.extensions == {"code": "FORBIDDEN"}


def test_start_up_objects_stay_out_of_full_collections(settings: Settings) -> None:
    with TestClient(create_app(settings)):
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
