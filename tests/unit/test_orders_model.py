"""The order state machine and money rules, without a database."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError, ErrorCode
from domain.orders.model import (
    ALLOWED_TRANSITIONS,
    IllegalTransition,
    LineDraft,
    OrderStatus,
    Receiver,
    check_transition,
    compute_totals,
    mask_phone,
    phone_tail,
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


def test_receiver_and_phones() -> None:
    receiver = Receiver(" 张三 ", "138 0013 8000", "浙江省", "杭州市", "", "文三路 1 号")
    assert receiver.validated().name == "张三"
    with pytest.raises(DomainError) as info:
        Receiver("张三", "abc", "浙江省", "杭州市", "", "x").validated()
    assert info.value.field == "receiver.phone"
    assert phone_tail("+86 138-0013-8000") == "8000"
    assert mask_phone("13800138000") == "138****8000"
