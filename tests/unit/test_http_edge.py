"""Media-type negotiation and request-error statuses (GraphQL over HTTP)."""

from __future__ import annotations

import pytest
from cross_web import HTTPException
from graphql import GraphQLError

from api.http_edge import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    is_request_error,
    negotiate,
    parse_json_object,
    request_error_status,
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, */*", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=bad, text/html", JSON),
        ("text/html", JSON),
    ],
)
def test_negotiate(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


def test_request_errors_have_no_path_and_no_data() -> None:
    assert is_request_error(None, [GraphQLError("Syntax Error")])
    assert not is_request_error(None, [GraphQLError("denied", path=["orders"])])
    assert not is_request_error({"a": 1}, [GraphQLError("x")])
    assert not is_request_error(None, [])


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("GRAPHQL_PARSE_FAILED", 400),
        ("BAD_USER_INPUT", 400),
        ("FORBIDDEN", 403),
        ("UNAUTHENTICATED", 401),
        ("INTERNAL_SERVER_ERROR", 500),
    ],
)
def test_request_error_status(code: str, status: int) -> None:
    assert request_error_status([{"message": "m", "extensions": {"code": code}}]) == status


def test_json_bodies_must_be_objects() -> None:
    assert parse_json_object(b'{"query": "{ a }"}') == {"query": "{ a }"}
    for bad in (b'"x"', b"[]", b"\xff", b"", b"1" * 5000, b"[" * 50_000):
        with pytest.raises(HTTPException) as info:
            parse_json_object(bad)
        assert info.value.status_code == 400
