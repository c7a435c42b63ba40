"""The order state machine and money rules, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError, ErrorCode
from domain.orders.model import (
    ALLOWED_TRANSITIONS,
    MAX_LINE_QUANTITY,
    MAX_LINES_PER_ORDER,
    MAX_ORDER_TOTAL_FEN,
    MAX_SHIPPING_FEN,
    MAX_UNIT_PRICE_FEN,
    IllegalTransition,
    LineDraft,
    OrderStatus,
    Receiver,
    check_transition,
    compute_totals,
    manual_order_number,
    mask_phone,
    phone_tail,
    seller_day,
)

S = OrderStatus


def test_happy_path_is_allowed() -> None:
    path = [S.NEW, S.RESERVED, S.IN_WAVE, S.PICKED, S.PACKED, S.SHIPPED, S.DELIVERED, S.AFTER_SALE]
    for current, target in pairwise(path):
        check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.CANCELLED, S.NEW), (S.SHIPPED, S.CANCELLED), (S.NEW, S.SHIPPED), (S.DELIVERED, S.NEW)],
)
def test_illegal_transitions_are_typed_errors(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target)
    assert info.value.code is ErrorCode.ILLEGAL_TRANSITION


def test_every_status_is_reachable_from_new() -> None:
    seen, frontier = {S.NEW}, [S.NEW]
    while frontier:
        for nxt in ALLOWED_TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(OrderStatus)
    assert ALLOWED_TRANSITIONS[S.CANCELLED] == frozenset()


@given(
    st.lists(
        st.tuples(st.integers(1, 50), st.integers(0, 1_000_000), st.integers(0, 100)),
        min_size=1,
        max_size=5,
    ),
    st.integers(0, 5000),
)
def test_totals_add_up(lines: list[tuple[int, int, int]], shipping: int) -> None:
    drafts = [
        LineDraft(sku_id=i, quantity=q, unit_price_fen=p, discount_fen=min(d, q * p))
        for i, (q, p, d) in enumerate(lines)
    ]
    totals = compute_totals(drafts, shipping)
    assert totals.total_fen == sum(d.amount_fen for d in drafts) + shipping
    assert totals.total_fen >= 0
    assert isinstance(totals.total_fen, int)


@pytest.mark.parametrize(
    ("line", "code", "field"),
    [
        (LineDraft(1, 0, 100), ErrorCode.NEGATIVE_QUANTITY, "lines.0.quantity"),
        (LineDraft(1, -2, 100), ErrorCode.NEGATIVE_QUANTITY, "lines.0.quantity"),
        (LineDraft(1, 1, -1), ErrorCode.NEGATIVE_AMOUNT, "lines.0.unitPriceFen"),
        (LineDraft(1, 1, 100, -1), ErrorCode.NEGATIVE_AMOUNT, "lines.0.discountFen"),
        (LineDraft(1, 1, 100, 101), ErrorCode.INVALID_INPUT, "lines.0.discountFen"),
    ],
)
def test_bad_lines(line: LineDraft, code: ErrorCode, field: str) -> None:
    with pytest.raises(DomainError) as info:
        compute_totals([line])
    assert (info.value.code, info.value.field) == (code, field)


@pytest.mark.parametrize(
    ("lines", "shipping", "field"),
    [
        ([LineDraft(1, MAX_LINE_QUANTITY + 1, 1)], 0, "lines.0.quantity"),
        ([LineDraft(1, 1, 1), LineDraft(2, 1, MAX_UNIT_PRICE_FEN + 1)], 0, "lines.1.unitPriceFen"),
        ([LineDraft(1, 1, 1)] * (MAX_LINES_PER_ORDER + 1), 0, "lines"),
        ([LineDraft(1, 1, 1)], MAX_SHIPPING_FEN + 1, "shippingFen"),
        ([LineDraft(1, MAX_LINE_QUANTITY, MAX_UNIT_PRICE_FEN)], 0, "lines"),
        ([LineDraft(1, 1000, MAX_UNIT_PRICE_FEN)], 1, "shippingFen"),
        # The reported order: refused at its first field, long before any arithmetic.
        ([LineDraft(1, 2147483647, 2147483647)], 0, "lines.0.quantity"),
    ],
)
def test_limits(lines: list[LineDraft], shipping: int, field: str) -> None:
    with pytest.raises(DomainError) as info:
        compute_totals(lines, shipping)
    assert (info.value.code, info.value.field) == (ErrorCode.INVALID_INPUT, field)


def test_an_order_exactly_at_the_limits_is_allowed() -> None:
    totals = compute_totals([LineDraft(1, 1000, MAX_UNIT_PRICE_FEN)], 0)
    assert totals.total_fen == MAX_ORDER_TOTAL_FEN
    lines = [LineDraft(i, MAX_LINE_QUANTITY, 1) for i in range(MAX_LINES_PER_ORDER)]
    assert compute_totals(lines, MAX_SHIPPING_FEN).shipping_fen == MAX_SHIPPING_FEN


def test_the_limits_keep_sums_exact_and_64_bit() -> None:
    # The largest total is an exact number in JavaScript, and 10^8 of them fit in a BIGINT.
    assert MAX_ORDER_TOTAL_FEN < 2**53
    assert 10**8 * MAX_ORDER_TOTAL_FEN < 2**63
    # A line at both limits is more than an order may hold: the order limit is the real bound.
    assert MAX_LINE_QUANTITY * MAX_UNIT_PRICE_FEN > MAX_ORDER_TOTAL_FEN


def test_manual_order_numbers_count_the_sellers_day_in_china_time() -> None:
    # 16:30 UTC on 1 December is 00:30 on 2 December in Hangzhou.
    assert seller_day(datetime(2026, 12, 1, 16, 30, tzinfo=UTC)) == date(2026, 12, 2)
    assert seller_day(datetime(2026, 12, 1, 15, 59, tzinfo=UTC)) == date(2026, 12, 1)
    assert manual_order_number(date(2026, 12, 1), 123) == "M20261201-000123"
    assert manual_order_number(date(2026, 12, 1), 1_234_567) == "M20261201-1234567"


def test_receiver_and_phones() -> None:
    receiver = Receiver(" 张三 ", "138 0013 8000", "浙江省", "杭州市", "", "文三路 1 号")
    assert receiver.validated().name == "张三"
    with pytest.raises(DomainError) as info:
        Receiver("张三", "abc", "浙江省", "杭州市", "", "x").validated()
    assert info.value.field == "receiver.phone"
    assert phone_tail("+86 138-0013-8000") == "8000"
    assert mask_phone("13800138000") == "138****8000"
