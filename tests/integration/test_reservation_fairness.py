"""First paid, first served (先付先得), through the reservation loop.

Orders are created in a shuffled order with distinct paid times, so neither ids nor insertion
order can stand in for the queue.  After every run of the loop the reserved orders must be
exactly the oldest-paid orders, as many as the stock fills in paid order, with the first order
left out needing more than what is still available: no later order ever takes stock an earlier
one waits for, and none waits while the stock for it is there.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from db.engine import Database
from db.uow import UnitOfWork
from domain.inventory import reconcile
from domain.inventory.reservation import drain
from domain.orders import service as orders
from tests.support.factories import Seller, make_org
from tests.support.inventory import Layout, make_layout, make_order_with, receive
from tests.support.sql import org_connection

EPOCH = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # 双十一


@dataclass(frozen=True)
class Placed:
    order_id: int
    paid_at: datetime
    #: Units per SKU id.
    wants: dict[int, int]


async def place(
    db: Database, seller: Seller, orders: list[tuple[datetime, dict[int, int]]], rng: random.Random
) -> list[Placed]:
    """Create ``orders`` (paid time, units per SKU) in a shuffled order."""
    shuffled = list(orders)
    rng.shuffle(shuffled)
    placed = []
    for paid_at, wants in shuffled:
        order = await make_order_with(db, seller, list(wants.items()), paid_at=paid_at)
        assert order.id is not None
        placed.append(Placed(order.id, paid_at, wants))
    return placed


async def statuses(db: Database, org_id: int) -> dict[int, str]:
    async with org_connection(db, org_id) as conn:
        rows = await conn.execute(text("SELECT id, status FROM orders"))
        return {int(i): str(s) for i, s in rows}


async def available(db: Database, org_id: int, sku_id: int) -> int:
    async with org_connection(db, org_id) as conn:
        total = await conn.scalar(
            text(
                "SELECT coalesce(sum(on_hand - reserved - safety), 0) FROM stock WHERE sku_id = :s"
            ),
            {"s": sku_id},
        )
        return int(total or 0)


async def assert_oldest_paid_prefix_reserved(
    db: Database, seller: Seller, sku: int, placed: list[Placed], received: int
) -> int:
    """The reserved orders are the longest paid-time prefix the received stock fills; returns
    its length."""
    queue = sorted(placed, key=lambda p: p.paid_at)
    status = await statuses(db, seller.org_id)
    assert {status[p.order_id] for p in queue} <= {"RESERVED", "BACKORDERED"}, "an order left NEW"
    reserved = [p for p in queue if status[p.order_id] == "RESERVED"]
    prefix = queue[: len(reserved)]
    assert [p.order_id for p in reserved] == [p.order_id for p in prefix], (
        "a later-paid order was reserved while an earlier one waits"
    )
    units = sum(p.wants[sku] for p in prefix)
    left = await available(db, seller.org_id, sku)
    assert left == received - units
    if len(prefix) < len(queue):
        head = queue[len(prefix)]
        assert head.wants[sku] > left, "the first waiting order could have been reserved"
    return len(prefix)


async def test_stock_arriving_in_steps_fills_orders_strictly_in_paid_order(db: Database) -> None:
    rng = random.Random(20261111)
    seller = await make_org(db)
    layout: Layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    bins = [layout.bin_id(0, i) for i in range(3)]

    first = [(EPOCH + timedelta(minutes=i), {sku: rng.randint(1, 3)}) for i in range(50)]
    placed = await place(db, seller, first, rng)
    report = await drain(db, seller.org_id)
    assert (report.orders, report.reserved, report.backordered) == (50, 0, 50)

    steps = [7, 3, 11, 5, 2, 19, 13, 8, 31]
    arrivals = iter(range(50))
    received = reserved_before = 0
    #: Steps where a newcomer could have used the leftovers (the case that matters).
    withheld = 0
    for step, quantity in enumerate(steps):
        await receive(db, seller, layout, sku, quantity, bin_id=bins[step % len(bins)])
        received += quantity
        # Small batches on every other step: fairness must hold across batches too.
        await drain(db, seller.org_id, batch_size=7 if step % 2 else 200)
        reserved_now = await assert_oldest_paid_prefix_reserved(db, seller, sku, placed, received)
        assert reserved_now >= reserved_before
        reserved_before = reserved_now

        # New orders keep arriving between steps, paid after everything before them.
        late = [
            (EPOCH + timedelta(days=1, minutes=n), {sku: rng.randint(1, 3)})
            for n in [next(arrivals, None) for _ in range(6)]
            if n is not None
        ]
        older = len(placed)
        placed += await place(db, seller, late, rng)
        await drain(db, seller.org_id)
        after = await assert_oldest_paid_prefix_reserved(db, seller, sku, placed, received)
        if reserved_now < older:
            # An older order still waits: no newcomer took the leftovers meant for it.
            assert after == reserved_now
            left = await available(db, seller.org_id, sku)
            withheld += any(0 < units <= left for _, wants in late for units in wants.values())

    assert withheld >= 2, "the steps never left stock a newcomer could take"
    assert len(placed) == 100
    # The last delivery is exactly what is still missing: everything fills, nothing is left.
    missing = sum(p.wants[sku] for p in placed) - received
    assert missing > 0
    await receive(db, seller, layout, sku, missing, bin_id=bins[0])
    await drain(db, seller.org_id, batch_size=7)
    assert (
        await assert_oldest_paid_prefix_reserved(db, seller, sku, placed, received + missing) == 100
    )
    assert await available(db, seller.org_id, sku) == 0
    assert (await reconcile.reconcile(db, seller.org_id)).ok


async def test_an_order_waiting_for_one_sku_does_not_hold_up_another(db: Database) -> None:
    rng = random.Random(7)
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku_a, sku_b = (s.id for s in seller.skus[:2])
    assert sku_a is not None and sku_b is not None
    await receive(db, seller, layout, sku_a, 2, bin_id=layout.bin_id(0, 0))
    await receive(db, seller, layout, sku_b, 3, bin_id=layout.bin_id(0, 1))

    # By paid time (rank):
    wants = [
        {sku_a: 5},  # 0: waits for A (only 2 there)
        {sku_b: 2},  # 1: B is free for it although 0 waits
        {sku_a: 1},  # 2: A has 2, but 0 waits for A
        {sku_a: 1, sku_b: 1},  # 3: all or nothing; held back on A, so it takes no B
        {sku_b: 1},  # 4: takes the last B; 3 waiting on A does not block B
    ]
    placed = await place(
        db, seller, [(EPOCH + timedelta(minutes=i), w) for i, w in enumerate(wants)], rng
    )
    by_rank = {i: p.order_id for i, p in enumerate(sorted(placed, key=lambda p: p.paid_at))}

    async def expect(*reserved: int) -> None:
        status = await statuses(db, seller.org_id)
        assert {i for i, oid in by_rank.items() if status[oid] == "RESERVED"} == set(reserved)
        assert {status[oid] for oid in by_rank.values()} <= {"RESERVED", "BACKORDERED"}

    await drain(db, seller.org_id)
    await expect(1, 4)
    assert await available(db, seller.org_id, sku_a) == 2  # kept for rank 0
    assert await available(db, seller.org_id, sku_b) == 0

    await receive(db, seller, layout, sku_a, 3, bin_id=layout.bin_id(0, 0))
    await drain(db, seller.org_id)
    await expect(0, 1, 4)  # rank 0 filled; nothing of A left for ranks 2 and 3

    await receive(db, seller, layout, sku_a, 2, bin_id=layout.bin_id(0, 2))
    await receive(db, seller, layout, sku_b, 1, bin_id=layout.bin_id(0, 1))
    await drain(db, seller.org_id)
    await expect(0, 1, 2, 3, 4)
    assert (await reconcile.reconcile(db, seller.org_id)).ok


async def test_when_the_order_at_the_head_is_cancelled_the_next_one_gets_the_stock(
    db: Database,
) -> None:
    """Three units are there; the first-paid order wants five and waits, the next wants one and
    waits behind it (先付先得).  The first is cancelled: nothing about the stock changed, but the
    stock is no longer promised, and the next run of the loop gives the second its unit."""
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 3, bin_id=layout.bin_id(0, 0))
    head = await make_order_with(db, seller, [(sku, 5)], paid_at=EPOCH)
    behind = await make_order_with(db, seller, [(sku, 1)], paid_at=EPOCH + timedelta(minutes=1))
    assert head.id is not None and behind.id is not None
    await drain(db, seller.org_id)
    assert await statuses(db, seller.org_id) == {head.id: "BACKORDERED", behind.id: "BACKORDERED"}

    async with UnitOfWork(db, seller.org_id) as uow:
        await orders.cancel_order(uow, seller.actor(), head.id, "买家不等了")
        await uow.commit()
    report = await drain(db, seller.org_id)

    assert report.reserved == 1
    assert await statuses(db, seller.org_id) == {head.id: "CANCELLED", behind.id: "RESERVED"}
    assert await available(db, seller.org_id, sku) == 2
    assert (await reconcile.reconcile(db, seller.org_id)).ok
