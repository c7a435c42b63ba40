"""Warehouse and bin choice (策略分仓, 库位选择), without a database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.inventory.strategy import (
    DefaultStrategy,
    Need,
    ReservationRequest,
    Slot,
    WarehouseOption,
)

ZJ = WarehouseOption(1, ("浙江省",), priority=1)
GD = WarehouseOption(2, ("广东省",), priority=2)
ANY = WarehouseOption(3, (), priority=9)

_ids = iter(range(1, 10_000))


def slot(warehouse: int, sku: int, available: int, *, walk: int = 0, code: str = "") -> Slot:
    sid = next(_ids)
    return Slot(
        stock_id=sid,
        sku_id=sku,
        warehouse_id=warehouse,
        bin_id=sid,
        bin_code=code or f"A-{sid:02d}",
        zone_order=0,
        walk_seq=walk,
        available=available,
    )


def plan(request: ReservationRequest, warehouses: list[WarehouseOption], slots: list[Slot]):
    return DefaultStrategy().plan(request, warehouses, slots)


def test_the_warehouse_serving_the_province_wins_when_it_can_fill_all() -> None:
    slots = [slot(1, 1, 5), slot(2, 1, 50), slot(3, 1, 50)]
    result = plan(ReservationRequest("浙江", (Need(10, 1, 5),)), [ZJ, GD, ANY], slots)
    assert result.complete
    assert {a.warehouse_id for a in result.allocations} == {1}


def test_else_the_one_with_most_stock_that_fills_all() -> None:
    slots = [slot(1, 1, 2), slot(2, 1, 9), slot(2, 2, 9), slot(3, 1, 3), slot(3, 2, 1)]
    needs = (Need(10, 1, 3), Need(11, 2, 1))
    # Only GD (0: not serving 浙江) and ANY (serves anywhere) can fill all: ANY serves.
    result = plan(ReservationRequest("浙江", needs), [ZJ, GD, ANY], slots)
    assert {a.warehouse_id for a in result.allocations} == {3}
    # Without ANY, GD has the most.
    result = plan(ReservationRequest("浙江", needs), [ZJ, GD], slots)
    assert {a.warehouse_id for a in result.allocations} == {2}


def test_no_split_means_nothing_reserved_and_the_shortfall_reported() -> None:
    slots = [slot(1, 1, 3), slot(2, 1, 3)]
    request = ReservationRequest("浙江", (Need(10, 1, 5),))
    result = plan(request, [ZJ, GD], slots)
    assert result.allocations == () and result.missing == {10: 2}

    split = plan(ReservationRequest("浙江", (Need(10, 1, 5),), allow_split=True), [ZJ, GD], slots)
    assert split.complete
    assert sorted(a.warehouse_id for a in split.allocations) == [1, 2]
    assert sum(a.quantity for a in split.allocations) == 5


def test_partial_takes_what_the_best_warehouse_has() -> None:
    slots = [slot(1, 1, 1), slot(2, 1, 3)]
    request = ReservationRequest("浙江", (Need(10, 1, 5),), allow_partial=True)
    result = plan(request, [ZJ, GD], slots)
    assert [(a.warehouse_id, a.quantity) for a in result.allocations] == [(2, 3)]
    assert result.missing == {10: 2}


def test_pinned_warehouse_is_kept_without_split() -> None:
    slots = [slot(1, 1, 1), slot(2, 1, 10)]
    request = ReservationRequest(
        "浙江", (Need(10, 1, 2),), allow_partial=True, pinned_warehouses=frozenset({1})
    )
    result = plan(request, [ZJ, GD], slots)
    assert {a.warehouse_id for a in result.allocations} == {1}
    assert result.missing == {10: 1}


def test_fewest_bins_then_walk_order() -> None:
    small_first = slot(1, 1, 4, walk=1)
    big = slot(1, 1, 9, walk=5)
    fits_exactly_later = slot(1, 1, 6, walk=3)
    # One bin can hold 6: the first on the walk that can (walk 3 before walk 5).
    result = plan(
        ReservationRequest("浙江", (Need(10, 1, 6),)), [ZJ], [small_first, big, fits_exactly_later]
    )
    assert [a.stock_id for a in result.allocations] == [fits_exactly_later.stock_id]
    # 14 needs two bins: the fullest first (9), then one that covers the other 5 (6).
    result = plan(
        ReservationRequest("浙江", (Need(10, 1, 14),)), [ZJ], [small_first, big, fits_exactly_later]
    )
    assert len(result.allocations) == 2
    assert [a.quantity for a in result.allocations] == [9, 5]


def test_safety_and_empty_rows_are_never_used() -> None:
    result = plan(
        ReservationRequest("浙江", (Need(10, 1, 1),)), [ZJ], [slot(1, 1, 0), slot(1, 1, -3)]
    )
    assert result.allocations == () and result.missing == {10: 1}


@given(
    stock=st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(-2, 8)), max_size=10
    ),
    needs=st.lists(st.tuples(st.integers(1, 2), st.integers(1, 9)), min_size=1, max_size=4),
    split=st.booleans(),
    partial=st.booleans(),
)
def test_plans_never_exceed_what_is_there_or_what_is_needed(
    stock: list[tuple[int, int, int]],
    needs: list[tuple[int, int]],
    split: bool,
    partial: bool,
) -> None:
    slots = [slot(w, sku, avail) for w, sku, avail in stock]
    request = ReservationRequest(
        "浙江",
        tuple(Need(100 + i, sku, qty) for i, (sku, qty) in enumerate(needs)),
        allow_split=split,
        allow_partial=partial,
    )
    result = plan(request, [ZJ, GD, ANY], slots)
    taken: dict[int, int] = {}
    for a in result.allocations:
        taken[a.stock_id] = taken.get(a.stock_id, 0) + a.quantity
        assert a.quantity > 0
    by_id = {s.stock_id: s for s in slots}
    for stock_id, qty in taken.items():
        assert qty <= max(by_id[stock_id].available, 0)
    for need in request.needs:
        got = sum(a.quantity for a in result.allocations if a.line_id == need.line_id)
        short = result.missing.get(need.line_id, 0)
        assert 0 <= short <= need.quantity
        if result.allocations:
            assert got + short == need.quantity
    if not partial and not result.complete:
        assert result.allocations == ()  # all or nothing: only the shortfall is reported
    if not split:
        assert len({a.warehouse_id for a in result.allocations}) <= 1
