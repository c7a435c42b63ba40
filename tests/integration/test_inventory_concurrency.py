"""Concurrency proofs: no oversell under a 200-buyer race (each buyer reserving, or the
reservation loop draining from several tasks while orders arrive), and no deadlock when orders,
stock counts and transfers name the same rows in opposite orders."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from db.engine import Database
from db.settings import Settings
from db.uow import UnitOfWork
from domain.inventory import reconcile, reservation, stock_moves
from domain.inventory.errors import ConcurrentUpdate
from domain.inventory.model import ReceiveLine, TransferLine
from domain.inventory.reservation import drain
from domain.inventory.retry import Attempts, run_with_retries
from domain.orders.model import OrderStatus
from tests.support.factories import make_org
from tests.support.inventory import count_rows, make_layout, make_order_with, receive, sku_totals
from tests.support.sql import org_connection

BUYERS = 200
UNITS = 100
#: Connections left for everything else on the server (other test sessions, psql, the relay).
HEADROOM = 25


async def _connection_budget(db: Database) -> int:
    async with db.engine.connect() as conn:
        max_connections = int(await conn.scalar(text("SHOW max_connections")) or 100)
        reserved = int(await conn.scalar(text("SHOW superuser_reserved_connections")) or 3)
        in_use = int(await conn.scalar(text("SELECT count(*) FROM pg_stat_activity")) or 0)
    return max_connections - reserved - in_use - HEADROOM


@pytest_asyncio.fixture
async def crowd_db(db: Database, settings: Settings) -> AsyncIterator[Database]:
    """A Database whose pool gives every concurrent task a connection of its own, as far as
    the server allows.

    PostgreSQL here accepts ``max_connections`` = 100 by default, so 200 simultaneous
    connections are impossible: the pool gets as many as the server can spare (minus headroom
    for other sessions), and tasks beyond that queue for a free connection.  Every task still
    runs its transactions on a connection no other task is using at the time.
    """
    budget = await _connection_budget(db)
    if budget < 10:
        pytest.skip(f"only {budget} free PostgreSQL connections")
    size = min(BUYERS, budget)
    assert settings.database_url is not None
    engine = create_async_engine(
        settings.database_url, pool_size=size, max_overflow=0, pool_timeout=120
    )
    crowd = Database(
        engine=engine,
        sessions=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
        lock_timeout_ms=settings.lock_timeout_ms,
    )
    # Open the connections before the race so it measures locking, not connecting.
    connections = [await engine.connect() for _ in range(size)]
    for conn in connections:
        await conn.close()
    yield crowd
    await crowd.dispose()


async def test_two_hundred_buyers_race_for_one_hundred_units(crowd_db: Database) -> None:
    seller = await make_org(crowd_db)
    layout = await make_layout(crowd_db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(crowd_db, seller, layout, sku, UNITS, bin_id=layout.bin_id())
    actor = seller.actor()
    start = asyncio.Event()

    async def buyer() -> reservation.ReservationResult:
        await start.wait()
        order = await make_order_with(crowd_db, seller, [(sku, 1)])
        assert order.id is not None
        return await reservation.reserve_order(crowd_db, actor, order.id)

    tasks = [asyncio.create_task(buyer()) for _ in range(BUYERS)]
    await asyncio.sleep(0)
    start.set()
    # No exception may reach a buyer: gather re-raises the first one.
    results = await asyncio.gather(*tasks)

    statuses = [r.status for r in results]
    assert statuses.count(OrderStatus.RESERVED) == UNITS
    assert statuses.count(OrderStatus.BACKORDERED) == BUYERS - UNITS
    totals = await sku_totals(crowd_db, seller.org_id, sku)
    assert totals.on_hand == UNITS
    assert totals.reserved == UNITS  # exactly: never 101
    assert totals.active_reservations == UNITS
    assert (totals.ledger_on_hand, totals.ledger_reserved) == (UNITS, UNITS)
    assert await count_rows(crowd_db, "backorders", seller.org_id, "status = 'WAITING'") == (
        BUYERS - UNITS
    )
    assert await count_rows(crowd_db, "orders", seller.org_id, "status = 'RESERVED'") == UNITS
    assert (await reconcile.reconcile(crowd_db, seller.org_id)).ok


async def test_two_hundred_buyers_race_the_reservation_loop_for_one_hundred_units(
    crowd_db: Database,
) -> None:
    """The same race through the loop: orders are created concurrently while several loops
    drain at once (their batches queue on the seller's lock), then a last run sweeps up."""
    seller = await make_org(crowd_db)
    layout = await make_layout(crowd_db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(crowd_db, seller, layout, sku, UNITS, bin_id=layout.bin_id())
    start = asyncio.Event()
    buying = asyncio.Event()

    async def buyer() -> None:
        await start.wait()
        await make_order_with(crowd_db, seller, [(sku, 1)])

    async def loop() -> int:
        await start.wait()
        reserved = 0
        while not buying.is_set():
            report = await drain(crowd_db, seller.org_id, batch_size=16)
            reserved += report.reserved
            if not report.orders:
                await asyncio.sleep(0.005)  # nothing pending yet: let the buyers in
        return reserved

    loops = [asyncio.create_task(loop()) for _ in range(4)]
    buyers = [asyncio.create_task(buyer()) for _ in range(BUYERS)]
    await asyncio.sleep(0)
    start.set()
    # No exception may reach a buyer or a loop: gather re-raises the first one.
    await asyncio.gather(*buyers)
    buying.set()
    by_loops = sum(await asyncio.gather(*loops))
    last = await drain(crowd_db, seller.org_id)
    assert by_loops + last.reserved == UNITS

    totals = await sku_totals(crowd_db, seller.org_id, sku)
    assert (totals.on_hand, totals.reserved) == (UNITS, UNITS)  # exactly: never 101
    assert totals.active_reservations == UNITS
    assert (totals.ledger_on_hand, totals.ledger_reserved) == (UNITS, UNITS)
    assert await count_rows(crowd_db, "orders", seller.org_id, "status = 'RESERVED'") == UNITS
    assert await count_rows(crowd_db, "orders", seller.org_id, "status = 'BACKORDERED'") == (
        BUYERS - UNITS
    )
    assert await count_rows(crowd_db, "orders", seller.org_id, "status = 'NEW'") == 0
    assert await count_rows(crowd_db, "backorders", seller.org_id, "status = 'WAITING'") == (
        BUYERS - UNITS
    )
    assert (await reconcile.reconcile(crowd_db, seller.org_id)).ok


async def test_opposite_lock_orders_never_deadlock(crowd_db: Database) -> None:
    """Orders list SKUs in opposite orders, counts and transfers name bins in opposite orders,
    all at once: everything completes and no attempt ever needed a deadlock retry."""
    seller = await make_org(crowd_db, skus=4)
    layout = await make_layout(crowd_db, seller, bins_per_warehouse=3)
    skus = [s.id for s in seller.skus if s.id is not None]
    bins = [layout.bin_id(0, i) for i in range(3)]
    warehouse_id = layout.warehouses[0].id
    assert warehouse_id is not None
    actor = seller.actor()
    async with UnitOfWork(crowd_db, seller.org_id) as uow:
        await stock_moves.receive_stock(
            uow,
            actor,
            warehouse_id=warehouse_id,
            items=[ReceiveLine(sku, b, 200) for sku in skus for b in bins],
        )
        await uow.commit()

    rng = random.Random(7)
    orders = []
    for i in range(60):
        chosen = skus if i % 2 == 0 else list(reversed(skus))
        # Five units of a SKU span bins, so one order locks several rows per SKU.
        orders.append(
            await make_order_with(crowd_db, seller, [(s, rng.randint(1, 5)) for s in chosen])
        )
    start = asyncio.Event()
    retried: list[str] = []

    async def reserve_then_maybe_cancel(order_id: int, cancel: bool) -> None:
        await start.wait()
        result = await reservation.reserve_order(crowd_db, actor, order_id)
        retried.extend(result.retried_on)
        assert result.status in (OrderStatus.RESERVED, OrderStatus.BACKORDERED)
        if cancel:
            attempts = Attempts()
            await run_with_retries(
                crowd_db,
                seller.org_id,
                lambda uow: stock_moves.release_order(uow, actor, order_id, "cancelled"),
                what="release",
                attempts=attempts,
            )
            retried.extend(attempts.retried_on)

    async def recount(reverse: bool) -> None:
        await start.wait()
        lines = [ReceiveLine(sku, b, 1) for sku in skus for b in bins]
        attempts = Attempts()
        await run_with_retries(
            crowd_db,
            seller.org_id,
            lambda uow: stock_moves.receive_stock(
                uow,
                actor,
                warehouse_id=warehouse_id,
                items=list(reversed(lines)) if reverse else lines,
            ),
            what="receive",
            attempts=attempts,
        )
        retried.extend(attempts.retried_on)

    async def shuffle(forward: bool) -> None:
        await start.wait()
        pairs = [(bins[0], bins[1]), (bins[1], bins[2])]
        lines = [
            TransferLine(sku, a, b, 1) if forward else TransferLine(sku, b, a, 1)
            for sku in skus
            for a, b in pairs
        ]
        attempts = Attempts()
        await run_with_retries(
            crowd_db,
            seller.org_id,
            lambda uow: stock_moves.transfer_stock(uow, actor, items=lines),
            what="transfer",
            attempts=attempts,
        )
        retried.extend(attempts.retried_on)

    tasks = [
        asyncio.create_task(reserve_then_maybe_cancel(o.id or 0, i % 3 == 0))
        for i, o in enumerate(orders)
    ]
    tasks += [asyncio.create_task(recount(i % 2 == 0)) for i in range(10)]
    tasks += [asyncio.create_task(shuffle(i % 2 == 0)) for i in range(10)]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*tasks)

    assert "40P01" not in retried, retried
    assert (await reconcile.reconcile(crowd_db, seller.org_id)).ok
    for sku in skus:
        totals = await sku_totals(crowd_db, seller.org_id, sku)
        assert 0 <= totals.reserved <= totals.on_hand
        assert totals.reserved == totals.active_reservations


async def test_a_row_locked_too_long_fails_typed_and_writes_nothing(
    db: Database, settings: Settings
) -> None:
    """Lock timeouts are retried a bounded number of times, then CONCURRENT_UPDATE; the
    order is left exactly as it was."""
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 5, bin_id=layout.bin_id())
    order = await make_order_with(db, seller, [(sku, 1)])
    assert order.id is not None
    impatient = Database(engine=db.engine, sessions=db.sessions, lock_timeout_ms=30)

    async with org_connection(db, seller.org_id) as blocker:
        await blocker.execute(
            text("SELECT id FROM stock WHERE org_id = :org AND sku_id = :sku FOR UPDATE"),
            {"org": seller.org_id, "sku": sku},
        )
        with pytest.raises(ConcurrentUpdate):
            await reservation.reserve_order(impatient, seller.actor(), order.id)
        await blocker.rollback()

    assert await count_rows(db, "reservations", seller.org_id) == 0
    assert await count_rows(db, "backorders", seller.org_id) == 0
    assert await count_rows(db, "orders", seller.org_id, "status = 'NEW'") == 1
    assert await count_rows(db, "order_history", seller.org_id) == 0
    assert (await sku_totals(db, seller.org_id, sku)).reserved == 0
    # Once the row is free the same call succeeds.
    result = await reservation.reserve_order(db, seller.actor(), order.id)
    assert result.status is OrderStatus.RESERVED
