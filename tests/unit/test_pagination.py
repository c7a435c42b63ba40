"""Relay arguments as keyset pages, and cursors: signed, bound to one list, checked strictly."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from sqlmodel import col

from api.errors import ApiError
from api.pagination import CursorCodec, Listing, PageRequest, page_of
from db.repositories._base import Keyset
from db.tables import Order, Shop
from domain.orders.model import OrderFilter, OrderStatus
from domain.paging import InvalidCursor, Page

SECRET = "unit-test-secret"
ORDERS = Listing.of("Query.orders", "CREATED_DESC", OrderFilter(), org_id=1)
KEY = (datetime(2026, 12, 1, 8, 30, 0, 123456, tzinfo=UTC), 42)


def code_of(info: pytest.ExceptionInfo[ApiError]) -> tuple[str, str]:
    return info.value.extensions["code"], info.value.extensions["field"]


def test_relay_arguments_become_a_keyset_page() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(ORDERS, KEY)
    assert page_of(PageRequest(10, None, None, None), ORDERS, codec, 100) == Page(size=10)
    assert page_of(PageRequest(10, cursor, None, None), ORDERS, codec, 100) == Page(
        size=10, after=KEY
    )
    assert page_of(PageRequest(None, None, 5, cursor), ORDERS, codec, 100) == Page(
        size=5, before=KEY, from_end=True
    )
    assert page_of(PageRequest(None, None, 5, None), ORDERS, codec, 100) == Page(
        size=5, from_end=True
    )
    # Neither first nor last: the first 20 (or the largest page, if smaller).
    assert page_of(PageRequest(None, None, None, None), ORDERS, codec, 100) == Page(size=20)
    assert page_of(PageRequest(None, None, None, None), ORDERS, codec, 8) == Page(size=8)
    # An empty cursor string is no cursor.
    assert page_of(PageRequest(3, "", None, ""), ORDERS, codec, 100) == Page(size=3)


def test_sizes_are_bounded() -> None:
    codec = CursorCodec(SECRET)
    with pytest.raises(ApiError) as info:
        page_of(PageRequest(101, None, None, None), ORDERS, codec, 100)
    assert code_of(info) == ("PAGE_SIZE_EXCEEDED", "first")
    with pytest.raises(ApiError) as info:
        page_of(PageRequest(None, None, -1, None), ORDERS, codec, 100)
    assert code_of(info) == ("INVALID_INPUT", "last")


def test_first_and_last_together_are_refused() -> None:
    with pytest.raises(ApiError) as info:
        page_of(PageRequest(5, None, 5, None), ORDERS, CursorCodec(SECRET), 100)
    assert code_of(info) == ("INVALID_INPUT", "last")


def test_a_cursor_round_trips_its_key() -> None:
    codec = CursorCodec(SECRET)
    for key in [KEY, (None, 7), ("SKU-1", 3), (5, 6, 7, 8)]:
        assert codec.decode(ORDERS, codec.encode(ORDERS, key), "after") == key
    cursor = codec.encode(ORDERS, KEY)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor  # safe in a URL


@pytest.mark.parametrize(
    "other",
    [
        Listing.of("Query.orders", "PAID_ASC", OrderFilter(), org_id=1),
        Listing.of(
            "Query.orders",
            "CREATED_DESC",
            OrderFilter(statuses=frozenset({OrderStatus.NEW})),
            org_id=1,
        ),
        Listing.of("Query.products", "CREATED_DESC", OrderFilter(), org_id=1),
        Listing.of("Query.orders", "CREATED_DESC", OrderFilter(), org_id=2),
    ],
    ids=["another sort", "another filter", "another connection", "another seller"],
)
def test_a_cursor_of_another_list_is_refused(other: Listing) -> None:
    codec = CursorCodec(SECRET)
    with pytest.raises(ApiError) as info:
        codec.decode(other, codec.encode(ORDERS, KEY), "before")
    assert code_of(info) == ("INVALID_CURSOR", "before")
    assert "another list" in info.value.message


def test_equal_filters_make_equal_listings() -> None:
    one = OrderFilter(statuses=frozenset({OrderStatus.NEW, OrderStatus.HELD}), search="8000")
    two = OrderFilter(statuses=frozenset({OrderStatus.HELD, OrderStatus.NEW}), search="8000")
    assert Listing.of("Query.orders", None, one, 1) == Listing.of("Query.orders", None, two, 1)


def forged(document: object, tag: bytes = b"\0" * 16) -> str:
    payload = json.dumps(document).encode()
    return base64.urlsafe_b64encode(tag + payload).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        "Y3Vyc29yOjU=",  # the offset cursors of before: base64("cursor:5")
        "非ASCII",
        forged({"v": 1, "c": "Query.orders", "s": "CREATED_DESC", "k": [1, 2]}),
    ],
    ids=["garbage", "empty", "offset cursor", "non-ascii", "unsigned"],
)
def test_what_this_server_did_not_sign_is_refused(cursor: str) -> None:
    codec = CursorCodec(SECRET)
    with pytest.raises(ApiError) as info:
        codec.decode(ORDERS, cursor, "after")
    assert code_of(info) == ("INVALID_CURSOR", "after")


def test_a_tampered_cursor_is_refused() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(ORDERS, KEY)
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 1  # one bit of the key: another row
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    for bad in [tampered, cursor[:-2], CursorCodec("another-secret").encode(ORDERS, KEY)]:
        with pytest.raises(ApiError) as info:
            codec.decode(ORDERS, bad, "after")
        assert code_of(info) == ("INVALID_CURSOR", "after")


def test_a_cursor_of_another_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = CursorCodec(SECRET)
    monkeypatch.setattr("api.pagination.CURSOR_VERSION", 0)
    old = codec.encode(ORDERS, KEY)
    monkeypatch.setattr("api.pagination.CURSOR_VERSION", 1)
    with pytest.raises(ApiError) as info:
        codec.decode(ORDERS, old, "after")
    assert code_of(info) == ("INVALID_CURSOR", "after")


def test_a_keyset_checks_the_keys_it_is_given() -> None:
    paid = Keyset(col(Order.paid_at), col(Order.id))
    paid.check(KEY, "after")
    paid.check((None, 42), "after")  # unpaid: NULL is a place in this list
    created = Keyset(col(Order.created_at), col(Order.id))
    for key in [
        (None, 42),  # created_at is never NULL
        (KEY[0], "42"),
        (KEY[0], True),
        (KEY[0].replace(tzinfo=None), 42),
        (KEY[0],),
        (*KEY, 1),
    ]:
        with pytest.raises(InvalidCursor) as info:
            created.check(key, "before")
        assert info.value.field == "before"


def test_a_keyset_is_total_and_nulls_lead() -> None:
    with pytest.raises(ValueError, match="ends with the row's id"):
        Keyset(col(Shop.channel), col(Shop.name))
    with pytest.raises(ValueError, match="first column"):
        Keyset(col(Order.created_at), col(Order.paid_at), col(Order.id))
