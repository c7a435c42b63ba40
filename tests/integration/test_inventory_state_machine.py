"""A hypothesis state machine over receive / reserve / release / commit / transfer / adjust /
safety stock and runs of the reservation loop, against real PostgreSQL: after every step every
invariant holds.

- no stock row is oversold (0 <= reserved <= on_hand) or has negative safety;
- a reservation never takes a row's available below zero;
- reserved equals the sum of active reservations, row by row;
- the ledger replays to every row's on_hand and reserved;
- totals per SKU match a model kept by the test;
- an order is backordered only when no single warehouse could fill it;
- the loop never gives a SKU to an order paid after one still waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from db.engine import Database
from db.settings import Settings
from db.uow import UnitOfWork
from domain.errors import DomainError, ErrorCode
from domain.inventory import reservation, stock_moves
from domain.inventory.model import AdjustLine, ReceiveLine, SafetyLine, TransferLine
from domain.inventory.reservation import (
    has_retryable_backorders,
    pending_reservations,
    reserve_pending,
)
from domain.orders.model import OrderStatus
from tests.support.factories import Seller, make_org
from tests.support.inventory import Layout, make_layout, make_order_with
from tests.support.sql import org_connection


@dataclass
class Row:
    stock_id: int
    sku_id: int
    warehouse_id: int
    bin_id: int
    on_hand: int
    reserved: int
    safety: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    # Hypothesis drives the machine synchronously: its coroutines run on a loop of their own.
    with asyncio.Runner() as loop_runner:
        yield loop_runner


def test_stock_invariants_hold_under_any_sequence(
    settings: Settings, runner: asyncio.Runner
) -> None:
    assert settings.database_url is not None
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    db = Database(
        engine=engine,
        sessions=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
        lock_timeout_ms=settings.lock_timeout_ms,
    )

    def run(coro: Any) -> Any:
        return runner.run(coro)

    class StockMachine(RuleBasedStateMachine):
        orders = Bundle("orders")

        @initialize()
        def setup(self) -> None:
            self.seller: Seller = run(make_org(db, skus=2))
            self.layout: Layout = run(
                make_layout(
                    db, self.seller, extra_warehouses=[("WH2", [], 5)], bins_per_warehouse=2
                )
            )
            self.actor = self.seller.actor()
            self.skus = [s.id for s in self.seller.skus if s.id is not None]
            self.bins = [
                (w.id, b.id) for w in self.layout.warehouses for b in self.layout.bins[w.id or 0]
            ]
            # The model: expected totals per SKU.
            self.on_hand = dict.fromkeys(self.skus, 0)
            self.reserved = dict.fromkeys(self.skus, 0)

        # -- helpers ------------------------------------------------------------------------
        def rows(self) -> list[Row]:
            async def read() -> list[Row]:
                async with org_connection(db, self.seller.org_id) as conn:
                    result = await conn.execute(
                        text(
                            "SELECT id, sku_id, warehouse_id, bin_id, on_hand, reserved, safety "
                            "FROM stock WHERE org_id = :org ORDER BY id"
                        ),
                        {"org": self.seller.org_id},
                    )
                    return [Row(*r) for r in result]

            return list(run(read()))

        def uow_call(self, fn: Any) -> Any:
            async def go() -> Any:
                async with UnitOfWork(db, self.seller.org_id) as uow:
                    result = await fn(uow)
                    await uow.commit()
                return result

            return run(go())

        def waiting_skus(self) -> set[int]:
            async def read() -> set[int]:
                async with org_connection(db, self.seller.org_id) as conn:
                    result = await conn.execute(
                        text("SELECT DISTINCT sku_id FROM backorders WHERE status = 'WAITING'")
                    )
                    return {int(r[0]) for r in result}

            return run(read())

        def active_reservations(self, order_id: int) -> dict[int, int]:
            """Units reserved per SKU for an order (the loop may have filled a backorder)."""

            async def read() -> dict[int, int]:
                async with org_connection(db, self.seller.org_id) as conn:
                    result = await conn.execute(
                        text(
                            "SELECT sku_id, sum(quantity) FROM reservations"
                            " WHERE order_id = :id AND status = 'ACTIVE' GROUP BY sku_id"
                        ),
                        {"id": order_id},
                    )
                    return {int(sku): int(qty) for sku, qty in result}

            return dict(run(read()))

        def lacking(self, order_ids: list[int]) -> dict[int, dict[int, int]]:
            """Units each order still lacks per SKU (ordered minus actively reserved)."""

            async def read() -> dict[int, dict[int, int]]:
                async with org_connection(db, self.seller.org_id) as conn:
                    result = await conn.execute(
                        text(
                            """
                            SELECT l.order_id, l.sku_id, sum(l.quantity) - coalesce(
                              (SELECT sum(r.quantity) FROM reservations r
                                WHERE r.order_id = l.order_id AND r.sku_id = l.sku_id
                                  AND r.status = 'ACTIVE'), 0)
                            FROM order_lines l WHERE l.order_id = ANY(:ids)
                            GROUP BY l.order_id, l.sku_id
                            """
                        ),
                        {"ids": order_ids},
                    )
                    found: dict[int, dict[int, int]] = {o: {} for o in order_ids}
                    for order_id, sku_id, units in result:
                        if units > 0:
                            found[int(order_id)][int(sku_id)] = int(units)
                    return found

            return dict(run(read()))

        def waiting_lines(self) -> list[tuple[int, int]]:
            async def read() -> list[tuple[int, int]]:
                async with org_connection(db, self.seller.org_id) as conn:
                    result = await conn.execute(
                        text("SELECT order_id, sku_id FROM backorders WHERE status = 'WAITING'")
                    )
                    return [(int(o), int(s)) for o, s in result]

            return list(run(read()))

        def order_lines(self, order_id: int) -> list[tuple[int, int]]:
            async def read() -> list[tuple[int, int]]:
                async with org_connection(db, self.seller.org_id) as conn:
                    result = await conn.execute(
                        text("SELECT sku_id, quantity FROM order_lines WHERE order_id = :id"),
                        {"id": order_id},
                    )
                    return [(int(a), int(b)) for a, b in result]

            return list(run(read()))

        # -- rules --------------------------------------------------------------------------
        @rule(sku=st.integers(0, 1), where=st.integers(0, 3), qty=st.integers(1, 6))
        def receive(self, sku: int, where: int, qty: int) -> None:
            warehouse_id, bin_id = self.bins[where]
            sku_id = self.skus[sku]
            self.uow_call(
                lambda uow: stock_moves.receive_stock(
                    uow,
                    self.actor,
                    warehouse_id=warehouse_id,
                    items=[ReceiveLine(sku_id, bin_id, qty)],
                )
            )
            self.on_hand[sku_id] += qty

        @rule(sku=st.integers(0, 1), where=st.integers(0, 3), delta=st.integers(-6, 6))
        def adjust(self, sku: int, where: int, delta: int) -> None:
            if delta == 0:
                return
            _, bin_id = self.bins[where]
            sku_id = self.skus[sku]
            before = {(r.sku_id, r.bin_id): r for r in self.rows()}
            row = before.get((sku_id, bin_id))
            allowed = row is not None and row.on_hand + delta >= row.reserved
            allowed = allowed or (row is None and delta > 0)
            try:
                self.uow_call(
                    lambda uow: stock_moves.adjust_stock(
                        uow,
                        self.actor,
                        items=[AdjustLine(sku_id, bin_id, delta=delta)],
                        reason="盘点",
                    )
                )
            except DomainError as exc:
                assert not allowed and exc.code is ErrorCode.INSUFFICIENT_STOCK
                assert {(r.sku_id, r.bin_id): r for r in self.rows()} == before
                return
            assert allowed
            self.on_hand[sku_id] += delta

        @rule(
            sku=st.integers(0, 1),
            src=st.integers(0, 3),
            dst=st.integers(0, 3),
            qty=st.integers(1, 4),
        )
        def transfer(self, sku: int, src: int, dst: int, qty: int) -> None:
            if src == dst:
                return
            sku_id = self.skus[sku]
            from_bin, to_bin = self.bins[src][1], self.bins[dst][1]
            before = {(r.sku_id, r.bin_id): r for r in self.rows()}
            row = before.get((sku_id, from_bin))
            allowed = row is not None and row.on_hand - row.reserved >= qty
            try:
                self.uow_call(
                    lambda uow: stock_moves.transfer_stock(
                        uow, self.actor, items=[TransferLine(sku_id, from_bin, to_bin, qty)]
                    )
                )
            except DomainError as exc:
                assert not allowed and exc.code is ErrorCode.INSUFFICIENT_STOCK
                assert {(r.sku_id, r.bin_id): r for r in self.rows()} == before
                return
            assert allowed

        @rule(sku=st.integers(0, 1), where=st.integers(0, 3), qty=st.integers(0, 3))
        def set_safety(self, sku: int, where: int, qty: int) -> None:
            _, bin_id = self.bins[where]
            sku_id = self.skus[sku]
            self.uow_call(
                lambda uow: stock_moves.set_safety_stock(
                    uow, self.actor, items=[SafetyLine(sku_id, bin_id, qty)]
                )
            )

        @rule(
            target=orders,
            lines=st.lists(st.tuples(st.integers(0, 1), st.integers(1, 5)), min_size=1, max_size=3),
        )
        def reserve(self, lines: list[tuple[int, int]]) -> int:
            wanted = [(self.skus[s], q) for s, q in lines]
            before = self.rows()
            waiting = self.waiting_skus()
            order = run(make_order_with(db, self.seller, wanted))
            result = run(reservation.reserve_order(db, self.actor, order.id))
            after = {r.stock_id: r for r in self.rows()}
            need: dict[int, int] = {}
            for sku_id, qty in wanted:
                need[sku_id] = need.get(sku_id, 0) + qty
            if result.status is OrderStatus.RESERVED:
                for sku_id, qty in need.items():
                    self.reserved[sku_id] += qty
                for row in before:
                    if after[row.stock_id].reserved != row.reserved:
                        assert after[row.stock_id].available >= 0, "reserved into safety stock"
            else:
                assert result.status is OrderStatus.BACKORDERED
                assert {r.stock_id: r for r in before} == after, "all-or-nothing wrote stock"
                # Backordered only if no warehouse alone could fill the whole order, or an
                # order paid before it waits for one of its SKUs (first paid, first served).
                if set(need) & waiting:
                    return -int(order.id)
                per_wh: dict[tuple[int, int], int] = {}
                for row in before:
                    key = (row.warehouse_id, row.sku_id)
                    per_wh[key] = per_wh.get(key, 0) + max(row.available, 0)
                for warehouse in self.layout.warehouses:
                    assert not all(
                        per_wh.get((warehouse.id or 0, sku_id), 0) >= qty
                        for sku_id, qty in need.items()
                    ), "backordered although a warehouse had everything"
            return int(order.id) if result.status is OrderStatus.RESERVED else -int(order.id)

        @rule(order=consumes(orders))
        def release(self, order: int) -> None:
            order_id = abs(order)
            held = self.active_reservations(order_id)
            if order > 0:
                assert held == self.needs(order_id), "a reserved order lost units"
            self.uow_call(
                lambda uow: stock_moves.release_order(uow, self.actor, order_id, "cancel")
            )
            for sku_id, qty in held.items():
                self.reserved[sku_id] -= qty

        def needs(self, order_id: int) -> dict[int, int]:
            total: dict[int, int] = {}
            for sku_id, qty in self.order_lines(order_id):
                total[sku_id] = total.get(sku_id, 0) + qty
            return total

        @rule(order=consumes(orders))
        def ship(self, order: int) -> None:
            order_id = abs(order)
            # A backordered order may have been filled by the loop since; it ships only whole.
            if self.active_reservations(order_id) != self.needs(order_id):
                assert order < 0, "a reserved order lost units"
                try:
                    self.uow_call(lambda uow: stock_moves.commit_order(uow, self.actor, order_id))
                except DomainError as exc:
                    assert exc.code is ErrorCode.INSUFFICIENT_STOCK
                    return
                raise AssertionError("a backordered order shipped")
            self.uow_call(lambda uow: stock_moves.commit_order(uow, self.actor, order_id))
            for sku_id, qty in self.order_lines(order_id):
                self.reserved[sku_id] -= qty
                self.on_hand[sku_id] -= qty

        @rule()
        def loop(self) -> None:
            """The seller's reservation loop: waiting orders whose stock changed are tried
            again, first paid first served."""
            org_id = self.seller.org_id
            plans = []
            # What drain does, in batches of three, keeping every plan; then again until
            # nothing is worth another try (a batch's own reservations can make lines it did
            # not take worth one more look).
            for _ in range(10):
                while True:
                    batch = run(reserve_pending(db, org_id, limit=3))
                    plans += batch.plans
                    if batch.orders < 3:
                        break
                if not run(has_retryable_backorders(db, org_id)):
                    break
            else:
                raise AssertionError("the loop does not settle")
            assert run(pending_reservations(db, org_id)).count == 0
            for plan in plans:
                for allocation in plan.allocations:
                    self.reserved[allocation.sku_id] += allocation.quantity
            # Orders are paid in the order they are created (ids rise with paid time).
            waiting = self.waiting_lines()
            for plan in plans:
                for allocation in plan.allocations:
                    earlier = [
                        w for w, sku in waiting if sku == allocation.sku_id and w < plan.order_id
                    ]
                    assert not earlier, f"order {plan.order_id} took a SKU {earlier} wait for"
            self.nothing_left_behind(waiting)

        def nothing_left_behind(self, waiting: list[tuple[int, int]]) -> None:
            """Walking the queue in paid order, every waiting order either yields to an earlier
            waiting one (a SKU in common) or could not be filled by any one warehouse: the loop
            never leaves an order waiting for stock that is there and promised to no one."""
            free: dict[tuple[int, int], int] = {}
            for row in self.rows():
                key = (row.warehouse_id, row.sku_id)
                free[key] = free.get(key, 0) + max(row.available, 0)
            waits: dict[int, set[int]] = {}
            for order_id, sku_id in waiting:
                waits.setdefault(order_id, set()).add(sku_id)
            lacking = self.lacking(sorted(waits))
            promised: set[int] = set()
            for order_id in sorted(waits):
                need = lacking[order_id]
                if not set(need) & promised:
                    for warehouse in self.layout.warehouses:
                        assert not all(
                            free.get((warehouse.id or 0, sku), 0) >= qty
                            for sku, qty in need.items()
                        ), f"order {order_id} waits although {warehouse.code} has everything"
                promised |= waits[order_id]

        # -- invariants ---------------------------------------------------------------------
        @invariant()
        def stock_is_never_oversold(self) -> None:
            for row in self.rows():
                assert 0 <= row.reserved <= row.on_hand, row
                assert row.safety >= 0, row

        @invariant()
        def totals_match_the_model(self) -> None:
            rows = self.rows()
            for sku_id in self.skus:
                assert sum(r.on_hand for r in rows if r.sku_id == sku_id) == self.on_hand[sku_id]
                assert sum(r.reserved for r in rows if r.sku_id == sku_id) == self.reserved[sku_id]

        @invariant()
        def reservations_and_ledger_agree_with_every_row(self) -> None:
            async def check() -> list[Any]:
                async with org_connection(db, self.seller.org_id) as conn:
                    result = await conn.execute(
                        text(
                            """
                            SELECT s.id, s.on_hand, s.reserved,
                              (SELECT coalesce(sum(quantity), 0) FROM reservations r
                                WHERE r.stock_id = s.id AND r.status = 'ACTIVE'),
                              (SELECT coalesce(sum(on_hand_delta), 0) FROM stock_ledger l
                                WHERE l.stock_id = s.id),
                              (SELECT coalesce(sum(reserved_delta), 0) FROM stock_ledger l
                                WHERE l.stock_id = s.id),
                              (SELECT on_hand_after FROM stock_ledger l WHERE l.stock_id = s.id
                                ORDER BY id DESC LIMIT 1),
                              (SELECT reserved_after FROM stock_ledger l WHERE l.stock_id = s.id
                                ORDER BY id DESC LIMIT 1)
                            FROM stock s WHERE s.org_id = :org
                            """
                        ),
                        {"org": self.seller.org_id},
                    )
                    return list(result)

            for stock_id, on_hand, reserved, active, l_on_hand, l_res, last_oh, last_res in run(
                check()
            ):
                assert reserved == active, (stock_id, reserved, active)
                assert (on_hand, reserved) == (l_on_hand, l_res), stock_id
                if last_oh is not None:
                    assert (on_hand, reserved) == (last_oh, last_res), stock_id

    StockMachine.TestCase.settings = hypothesis_settings(
        max_examples=12,
        stateful_step_count=18,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    try:
        StockMachine.TestCase().runTest()
    finally:
        runner.run(db.dispose())
