"""A reservation meets a stock row another transaction is changing.

The other transaction (the blocker) is a real use case in an open unit of work: a release, a
cancellation, a receipt, a count or a transfer, written but not committed, so it holds the row.
Meanwhile an order is reserved, by the batch of one (``reserve_order``) or by the loop's batch
(``reserve_pending``); then the blocker commits or rolls back.

Whatever the interleaving: no error (in particular no CHECK violation: new quantities come from
the row as locked, not from an older read), the order ends RESERVED when the committed stock
allows it and BACKORDERED with nothing written for it when not.  "Ends" means once the blocker
is over and the seller's loop has run, as the blocker's ``stock.changed`` event makes it run in
production: a reservation that could not see stock still in flight must be retried by the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from db.engine import Database
from db.uow import UnitOfWork
from domain.inventory import reconcile, stock_moves
from domain.inventory.model import AdjustLine, ReceiveLine, TransferLine
from domain.inventory.reservation import drain, reserve_order, reserve_pending
from domain.orders import service as orders
from domain.orders.model import OrderStatus
from tests.support.factories import Seller, make_org
from tests.support.inventory import Layout, make_layout, make_order_with, order_status, receive
from tests.support.locks import backend_pid, until, waiters_of
from tests.support.sql import org_connection


@dataclass
class Shelf:
    """One SKU in WH1's bins; ``holders`` are reserved orders by name."""

    db: Database
    seller: Seller
    layout: Layout
    sku: int
    holders: dict[str, int] = field(default_factory=dict)

    def bin(self, index: int) -> int:
        return self.layout.bin_id(0, index)

    @property
    def warehouse(self) -> int:
        found = self.layout.warehouses[0].id
        assert found is not None
        return found

    async def hold(self, name: str, quantity: int) -> None:
        order = await make_order_with(self.db, self.seller, [(self.sku, quantity)])
        assert order.id is not None
        result = await reserve_order(self.db, self.seller.actor(), order.id)
        assert result.status is OrderStatus.RESERVED
        self.holders[name] = order.id

    async def rows(self) -> dict[int, tuple[int, int]]:
        """(on_hand, reserved) per bin."""
        async with org_connection(self.db, self.seller.org_id) as conn:
            result = await conn.execute(
                text("SELECT bin_id, on_hand, reserved FROM stock WHERE sku_id = :sku"),
                {"sku": self.sku},
            )
            return {b: (on_hand, reserved) for b, on_hand, reserved in result}

    async def reserved_for(self, order_id: int) -> int:
        async with org_connection(self.db, self.seller.org_id) as conn:
            total = await conn.scalar(
                text(
                    "SELECT coalesce(sum(quantity), 0) FROM reservations"
                    " WHERE order_id = :id AND status = 'ACTIVE'"
                ),
                {"id": order_id},
            )
            ledger = await conn.scalar(
                text(
                    "SELECT coalesce(sum(reserved_delta), 0) FROM stock_ledger WHERE order_id = :id"
                ),
                {"id": order_id},
            )
        assert total == ledger, "reservations and ledger disagree"
        return int(total or 0)


async def make_shelf(db: Database, stock: dict[int, int]) -> Shelf:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    shelf = Shelf(db, seller, layout, sku)
    for index, quantity in stock.items():
        await receive(db, seller, layout, sku, quantity, bin_id=shelf.bin(index))
    return shelf


Blocker = Callable[[UnitOfWork, Shelf], Awaitable[object]]


def release(uow: UnitOfWork, shelf: Shelf) -> Awaitable[object]:
    return stock_moves.release_order(uow, shelf.seller.actor(), shelf.holders["x"], "line removed")


def cancel(uow: UnitOfWork, shelf: Shelf) -> Awaitable[object]:
    return orders.cancel_order(uow, shelf.seller.actor(), shelf.holders["x"], "买家取消")


def receipt(bin_index: int, quantity: int) -> Blocker:
    def run(uow: UnitOfWork, shelf: Shelf) -> Awaitable[object]:
        return stock_moves.receive_stock(
            uow,
            shelf.seller.actor(),
            warehouse_id=shelf.warehouse,
            items=[ReceiveLine(shelf.sku, shelf.bin(bin_index), quantity)],
        )

    return run


def count(delta: int) -> Blocker:
    def run(uow: UnitOfWork, shelf: Shelf) -> Awaitable[object]:
        return stock_moves.adjust_stock(
            uow,
            shelf.seller.actor(),
            items=[AdjustLine(shelf.sku, shelf.bin(0), delta=delta)],
            reason="盘点",
        )

    return run


def transfer(from_index: int, to_index: int, quantity: int) -> Blocker:
    def run(uow: UnitOfWork, shelf: Shelf) -> Awaitable[object]:
        return stock_moves.transfer_stock(
            uow,
            shelf.seller.actor(),
            items=[TransferLine(shelf.sku, shelf.bin(from_index), shelf.bin(to_index), quantity)],
        )

    return run


@dataclass(frozen=True)
class Interleaving:
    #: Units received per bin index before anything else.
    stock: dict[int, int]
    #: Orders reserved before the blocker starts: (name, units); "x" is the one released.
    holders: tuple[tuple[str, int], ...]
    blocker: Blocker
    #: Units the waiting order wants.
    wants: int
    #: Whether the order ends reserved when the blocker commits / rolls back.
    reserved_if_committed: bool
    reserved_if_rolled_back: bool
    #: The waiting order's snapshot shows the held row with enough available: to be right it
    #: must wait for the blocker and use the row as the blocker leaves it.
    must_wait: bool = False


INTERLEAVINGS = {
    # on_hand 10 / reserved 10; release 2 while 2 are reserved (the old CHECK-violation case).
    "release": Interleaving({0: 10}, (("x", 2), ("z", 8)), release, 2, True, False),
    "cancellation": Interleaving({0: 10}, (("x", 2), ("z", 8)), cancel, 2, True, False),
    "receipt into the full row": Interleaving({0: 10}, (("z", 10),), receipt(0, 2), 2, True, False),
    "receipt into a new bin": Interleaving({0: 10}, (("z", 10),), receipt(1, 2), 2, True, False),
    "receipt into a row with some left": Interleaving(
        {0: 10}, (("z", 8),), receipt(0, 2), 3, True, False, must_wait=True
    ),
    "count down": Interleaving({0: 10}, (("z", 8),), count(-2), 2, False, True, must_wait=True),
    "count up": Interleaving({0: 10}, (("z", 10),), count(+2), 2, True, False),
    "transfer out of the row": Interleaving(
        {0: 10}, (("z", 8),), transfer(0, 1, 2), 2, True, True, must_wait=True
    ),
    "transfer into the row": Interleaving(
        {0: 10, 1: 2}, (("z", 10),), transfer(1, 0, 2), 2, True, True, must_wait=True
    ),
}


async def _reserve_one(shelf: Shelf, order_id: int) -> OrderStatus:
    return (await reserve_order(shelf.db, shelf.seller.actor(), order_id)).status


async def _reserve_batch(shelf: Shelf, order_id: int) -> OrderStatus:
    report = await reserve_pending(shelf.db, shelf.seller.org_id)
    plan = report.plan_for(order_id)
    assert plan is not None and report.orders == 1
    return plan.target


WAITERS = {"reserve_order": _reserve_one, "reserve_pending": _reserve_batch}


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
@pytest.mark.parametrize("waiter", sorted(WAITERS))
@pytest.mark.parametrize("name", list(INTERLEAVINGS))
async def test_a_reservation_waiting_on_a_changing_row(
    name: str, waiter: str, outcome: str, db: Database, admin_db: Database
) -> None:
    case = INTERLEAVINGS[name]
    shelf = await make_shelf(db, case.stock)
    for holder, units in case.holders:
        await shelf.hold(holder, units)
    order = await make_order_with(db, shelf.seller, [(shelf.sku, case.wants)])
    assert order.id is not None
    org = shelf.seller.org_id

    async with UnitOfWork(db, org) as uow:
        await case.blocker(uow, shelf)
        blocker_pid = await backend_pid(uow.session)
        reserving = asyncio.create_task(WAITERS[waiter](shelf, order.id))
        waited = False

        async def waiting_or_done() -> bool:
            nonlocal waited
            waited = waited or bool(await waiters_of(admin_db, blocker_pid))
            return waited or reserving.done()

        await until(waiting_or_done, "the reservation to wait for the blocker or finish")
        if case.must_wait:
            assert waited, "reserved without waiting for the row being changed"
        if outcome == "commit":
            await uow.commit()
    # Raises whatever the reservation raised: no error of any kind is acceptable.
    first = await asyncio.wait_for(reserving, 30)
    assert first in (OrderStatus.RESERVED, OrderStatus.BACKORDERED)

    await drain(db, org)  # what the blocker's stock.changed event starts
    expected = case.reserved_if_committed if outcome == "commit" else case.reserved_if_rolled_back
    status = await order_status(db, org, order.id)
    assert status == ("RESERVED" if expected else "BACKORDERED"), (first, status)
    if not expected:
        assert first is OrderStatus.BACKORDERED
    assert await shelf.reserved_for(order.id) == (case.wants if expected else 0)
    for on_hand, reserved in (await shelf.rows()).values():
        assert 0 <= reserved <= on_hand
    assert (await reconcile.reconcile(db, org)).ok


async def test_release_two_of_ten_reserved_then_reserve_two(
    db: Database, admin_db: Database
) -> None:
    """The case the old engine failed with a CHECK violation (23514): on_hand 10, reserved 10;
    an order's 2 units are being released when another order asks for 2.  The new value must
    come from the row as the release left it (10 / 8), giving 10 / 10, never 10 / 12."""
    shelf = await make_shelf(db, {0: 10})
    await shelf.hold("x", 2)
    await shelf.hold("z", 8)
    order = await make_order_with(db, shelf.seller, [(shelf.sku, 2)])
    assert order.id is not None
    org = shelf.seller.org_id

    async with UnitOfWork(db, org) as uow:
        released = await release(uow, shelf)
        assert isinstance(released, stock_moves.ReleaseResult) and released.released_units == 2
        blocker_pid = await backend_pid(uow.session)
        reserving = asyncio.create_task(reserve_order(db, shelf.seller.actor(), order.id))

        async def waiting_or_done() -> bool:
            return reserving.done() or bool(await waiters_of(admin_db, blocker_pid))

        await until(waiting_or_done, "the reservation to wait for the release or finish")
        await uow.commit()
    await asyncio.wait_for(reserving, 30)
    await drain(db, org)

    assert await order_status(db, org, order.id) == "RESERVED"
    assert await shelf.rows() == {shelf.bin(0): (10, 10)}
    assert await shelf.reserved_for(order.id) == 2
    assert await shelf.reserved_for(shelf.holders["z"]) == 8
    assert await shelf.reserved_for(shelf.holders["x"]) == 0
    assert (await reconcile.reconcile(db, org)).ok
