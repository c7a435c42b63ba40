"""Money: exact yuan strings, and the ``Fen`` scalar's 64-bit range, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from graphql import GraphQLError
from hypothesis import given
from hypothesis import strategies as st

from api.money import Money, parse_fen, serialize_fen
from domain.money import FEN_MAX, FEN_MIN, Currency, format_yuan, yuan


@pytest.mark.parametrize(
    ("fen", "amount", "shown"),
    [
        (0, "0.00", "¥0.00"),
        (5, "0.05", "¥0.05"),
        (29900, "299.00", "¥299.00"),
        (123456789, "1234567.89", "¥1,234,567.89"),
        (-5, "-0.05", "-¥0.05"),
        (-500, "-5.00", "-¥5.00"),
        (FEN_MAX, "92233720368547758.07", "¥92,233,720,368,547,758.07"),
    ],
)
def test_yuan_is_exact_with_two_decimals(fen: int, amount: str, shown: str) -> None:
    assert str(yuan(fen)) == amount
    assert format_yuan(fen) == shown
    assert Money.of(fen).amount == Decimal(amount)
    assert Money.of(fen).currency is Currency.CNY


@given(st.integers(FEN_MIN, FEN_MAX))
def test_yuan_and_fen_round_trip(fen: int) -> None:
    assert int(yuan(fen) * 100) == fen
    assert parse_fen(serialize_fen(fen)) == fen


def test_fen_travels_as_a_string_and_arrives_as_either() -> None:
    assert serialize_fen(2**53 + 1) == "9007199254740993"
    assert parse_fen("9007199254740993") == 2**53 + 1
    assert parse_fen(1990) == 1990
    assert parse_fen("-500") == -500


@pytest.mark.parametrize("value", [19.9, 1990.0, "19.90", "1e3", "", " 1", True, None, [1]])
def test_fen_refuses_what_is_not_a_whole_number(value: object) -> None:
    with pytest.raises(GraphQLError) as info:
        parse_fen(value)
    assert info.value.extensions == {"code": "INVALID_INPUT"}


@pytest.mark.parametrize("value", [FEN_MAX + 1, FEN_MIN - 1, str(FEN_MAX + 1), "9" * 20])
def test_fen_refuses_what_a_bigint_cannot_hold(value: object) -> None:
    with pytest.raises(GraphQLError) as info:
        parse_fen(value)
    assert info.value.extensions == {"code": "INVALID_INPUT"}
    with pytest.raises(ValueError):
        serialize_fen(FEN_MAX + 1)
