"""The pure inventory rules: applying changes, input validation, channel quantities."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError, ErrorCode
from domain.inventory.model import (
    AdjustLine,
    LedgerKind,
    ReceiveLine,
    ShopStockPolicy,
    StockBalance,
    StockChange,
    StockState,
    TransferLine,
    adjust_changes,
    apply_changes,
    channel_available,
    check_bin_code,
    normalise_province,
    receive_changes,
    serves_province,
    transfer_changes,
)


def state(on_hand: int, reserved: int = 0, safety: int = 0, *, sku: int = 1, bin_id: int = 10):
    return StockState(
        stock_id=bin_id * 100 + sku,
        sku_id=sku,
        warehouse_id=1,
        bin_id=bin_id,
        on_hand=on_hand,
        reserved=reserved,
        safety=safety,
    )


def test_apply_changes_accumulates_and_records_resulting_quantities() -> None:
    rows = {(1, 10): state(5)}
    after, ledger = apply_changes(
        rows,
        [
            StockChange(1, 10, LedgerKind.RECEIVE, on_hand_delta=3),
            StockChange(1, 10, LedgerKind.RESERVE, reserved_delta=6),
            StockChange(1, 10, LedgerKind.COMMIT, on_hand_delta=-2, reserved_delta=-2),
        ],
    )
    assert (after[(1, 10)].on_hand, after[(1, 10)].reserved) == (6, 4)
    assert [(e.on_hand_after, e.reserved_after) for e in ledger] == [(8, 0), (8, 6), (6, 4)]
    assert rows[(1, 10)].on_hand == 5  # the input is not modified


@pytest.mark.parametrize(
    "change",
    [
        StockChange(1, 10, LedgerKind.RESERVE, reserved_delta=6, field="x"),
        StockChange(1, 10, LedgerKind.ADJUST, on_hand_delta=-4, field="x"),  # below reserved
        StockChange(1, 10, LedgerKind.RELEASE, reserved_delta=-3, field="x"),
        StockChange(1, 10, LedgerKind.TRANSFER_OUT, on_hand_delta=-6, field="x"),
    ],
)
def test_apply_changes_refuses_to_oversell_or_go_negative(change: StockChange) -> None:
    with pytest.raises(DomainError) as caught:
        apply_changes({(1, 10): state(5, reserved=2)}, [change])
    assert caught.value.code is ErrorCode.INSUFFICIENT_STOCK
    assert caught.value.field == "x"


def test_a_count_sets_on_hand_and_an_equal_count_writes_nothing() -> None:
    rows = {(1, 10): state(5, reserved=1)}
    after, ledger = apply_changes(rows, [StockChange(1, 10, LedgerKind.ADJUST, on_hand_to=3)])
    assert after[(1, 10)].on_hand == 3 and ledger[0].on_hand_delta == -2
    _, ledger = apply_changes(rows, [StockChange(1, 10, LedgerKind.ADJUST, on_hand_to=5)])
    assert ledger == []


@given(
    start=st.integers(0, 50),
    deltas=st.lists(st.tuples(st.integers(-20, 20), st.integers(-20, 20)), max_size=20),
)
def test_whatever_is_applied_reserved_stays_within_on_hand(
    start: int, deltas: list[tuple[int, int]]
) -> None:
    rows = {(1, 10): state(start)}
    for on_hand_delta, reserved_delta in deltas:
        change = StockChange(
            1, 10, LedgerKind.ADJUST, on_hand_delta=on_hand_delta, reserved_delta=reserved_delta
        )
        try:
            rows, ledger = apply_changes(rows, [change])
        except DomainError:
            continue
        row = rows[(1, 10)]
        assert 0 <= row.reserved <= row.on_hand
        if ledger:
            assert (ledger[-1].on_hand_after, ledger[-1].reserved_after) == (
                row.on_hand,
                row.reserved,
            )


def test_input_validation_points_at_the_line() -> None:
    with pytest.raises(DomainError) as caught:
        receive_changes([ReceiveLine(1, 1, 2), ReceiveLine(1, 1, 0)])
    assert (caught.value.code, caught.value.field) == (
        ErrorCode.NEGATIVE_QUANTITY,
        "items.1.quantity",
    )
    with pytest.raises(DomainError) as caught:
        transfer_changes([TransferLine(1, 5, 5, 1)])
    assert (caught.value.code, caught.value.field) == (ErrorCode.SAME_BIN, "items.0.toBinId")
    with pytest.raises(DomainError) as caught:
        adjust_changes([AdjustLine(1, 1, delta=1, counted=3)])
    assert caught.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(DomainError) as caught:
        receive_changes([ReceiveLine(1, 1, 10**9)])
    assert caught.value.code is ErrorCode.INVALID_INPUT


def test_bin_codes() -> None:
    assert check_bin_code(" a-03-2-1 ") == "A-03-2-1"
    for bad in ("", "A--1", "-A", "A 1", "库位1"):
        with pytest.raises(DomainError):
            check_bin_code(bad)


# -- channel quantities (库存同步) --------------------------------------------------------------
def test_channel_available_ratio_cap_and_rounding_down() -> None:
    policies = {
        1: ShopStockPolicy(ratio_percent=100),
        2: ShopStockPolicy(ratio_percent=60),
        3: ShopStockPolicy(ratio_percent=100, cap=5),
    }
    assert channel_available(11, 1, policies) == 11
    assert channel_available(11, 2, policies) == 6  # 6.6 rounds down
    assert channel_available(11, 3, policies) == 5
    assert channel_available(11, 99, policies) == 11  # no policy: everything
    assert channel_available(-4, 1, policies) == 0  # below safety: nothing, never negative


def test_a_shared_pool_never_lists_more_than_available() -> None:
    policies = {
        1: ShopStockPolicy(ratio_percent=100, pool="main"),
        2: ShopStockPolicy(ratio_percent=60, pool="main"),
        3: ShopStockPolicy(ratio_percent=100),
    }
    tmall, douyin = channel_available(10, 1, policies), channel_available(10, 2, policies)
    assert tmall + douyin <= 10
    assert (tmall, douyin) == (6, 3)  # 10*10/16 and 6*10/16, rounded down
    assert channel_available(10, 3, policies) == 10  # outside the pool: independent


@given(
    available=st.integers(-5, 10_000),
    shops=st.lists(
        st.tuples(
            st.integers(0, 100),
            st.one_of(st.none(), st.integers(0, 500)),
            st.sampled_from([None, "a", "b"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_channel_available_bounds(
    available: int, shops: list[tuple[int, int | None, str | None]]
) -> None:
    policies = {
        i: ShopStockPolicy(ratio_percent=r, cap=c, pool=p) for i, (r, c, p) in enumerate(shops)
    }
    quantities = {i: channel_available(available, i, policies) for i in policies}
    for i, qty in quantities.items():
        assert 0 <= qty <= max(available, 0)
        cap = policies[i].cap
        assert cap is None or qty <= cap
    for pool in ("a", "b"):
        members = [i for i, p in policies.items() if p.pool == pool]
        assert sum(quantities[i] for i in members) <= max(available, 0)


def test_policy_validation() -> None:
    with pytest.raises(DomainError):
        ShopStockPolicy(ratio_percent=101).validated()
    with pytest.raises(DomainError):
        ShopStockPolicy(cap=-1).validated()
    assert ShopStockPolicy(pool="  ").validated().pool is None


# -- provinces and reconciliation --------------------------------------------------------------
def test_provinces() -> None:
    assert normalise_province("浙江省") == normalise_province("浙江") == "浙江"
    assert normalise_province("上海市") == "上海"
    assert normalise_province("广西壮族自治区") == "广西"
    assert serves_province(["浙江省"], "浙江") == 2
    assert serves_province([], "浙江") == 1
    assert serves_province(["广东省"], "浙江省") == 0


def test_balance_drift() -> None:
    ok = StockBalance(1, 1, "S", 1, 1, "A-1", 5, 2, 5, 2, 2)
    assert not ok.drifted
    assert StockBalance(1, 1, "S", 1, 1, "A-1", 6, 2, 5, 2, 2).drifted
    assert StockBalance(1, 1, "S", 1, 1, "A-1", 5, 2, 5, 2, 1).drifted
    assert ok.describe()["binCode"] == "A-1"
