"""Nothing is stranded: whatever stops the reservation loop midway, every paid order still ends
RESERVED or BACKORDERED, and stock reconciles.

- a worker is killed (SIGKILL, the whole process) while a batch holds its locks;
- the database refuses connections for a while, for the loop in-process and for a real worker;
- a stock row (or the seller's queue) stays locked past every retry.

The work list is the orders table, so recovery is: the next loop run (a new worker, the loop's
own backoff, or the sweep starting it again) finds the orders still NEW and reserves them.  The
worker and outage tests run on a database of their own, so that nothing they do (or stop) can
touch other tests.  Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from structlog.testing import capture_logs

from db.embedded import login_url
from db.engine import Database
from db.repositories.locks import RESERVATION_QUEUE_KEY
from db.settings import Settings
from db.uow import UnitOfWork
from domain.inventory import reconcile
from domain.inventory.errors import ConcurrentUpdate
from domain.inventory.reservation import (
    drain,
    has_retryable_backorders,
    pending_reservations,
    reserve_pending,
)
from tests.support.databases import DatabaseFactory
from tests.support.factories import Seller, make_org
from tests.support.inventory import Layout, make_layout, make_order_with, new_order, receive
from tests.support.locks import backend_pid, hold_rows, until, waiters_of
from tests.support.sql import org_connection, tenant_rows
from tests.support.worker import WorkerProcess

EPOCH = datetime(2026, 6, 18, tzinfo=UTC)  # 618
#: A worker starts (imports, migrations check, Redis) and a loop settles within this.
WORKER_DEADLINE = 90.0


@dataclass
class Dedicated:
    """A database of this module's own, with its server's admin connection."""

    name: str
    app_url: str
    db: Database
    server: AsyncEngine

    async def refuse_connections(self, keep: Sequence[int] = ()) -> None:
        """New connections are refused and open ones end (but ``keep``'s backends)."""
        async with self.server.connect() as conn:
            await conn.execute(text(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false'))
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> ALL(CAST(:keep AS int[]))"
                ),
                {"name": self.name, "keep": list(keep)},
            )

    async def allow_connections(self) -> None:
        async with self.server.connect() as conn:
            await conn.execute(text(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true'))


@pytest_asyncio.fixture(scope="module")
async def dedicated(databases: DatabaseFactory, settings: Settings) -> AsyncIterator[Dedicated]:
    admin_url = await databases.clone()
    name = make_url(admin_url).database
    assert name is not None
    server = create_async_engine(
        make_url(admin_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    app_url = login_url(admin_url)
    found = Dedicated(name, app_url, Database.connect(app_url, settings, pool_size=4), server)
    try:
        yield found
    finally:
        await found.allow_connections()
        await found.db.dispose()
        await server.dispose()


@pytest_asyncio.fixture
async def redis_prefix(redis: Redis) -> AsyncIterator[str]:
    """A Redis prefix for this test's workers; their keys go with the test (a killed worker's
    in-progress marks would otherwise stay for half an hour)."""
    prefix = f"ofstrand-{uuid.uuid4().hex[:8]}"
    yield prefix
    async for key in redis.scan_iter(match=f"*{prefix}*"):
        await redis.delete(key)


def worker_env(
    dedicated: Dedicated, settings: Settings, tmp_path: Path, redis_prefix: str
) -> dict[str, str]:
    assert settings.redis_url
    return {
        "DATABASE_URL": dedicated.app_url,
        "REDIS_URL": settings.redis_url,
        "ORDERFLOW_REDIS_PREFIX": redis_prefix,
        "ORDERFLOW_RESERVATION_SWEEP_SECONDS": "1",
        "ORDERFLOW_DATA_DIR": str(tmp_path / "data"),
    }


@dataclass
class Shop:
    seller: Seller
    layout: Layout
    scarce: int
    plenty: int
    #: Order ids by paid time: the first ``SCARCE_STOCK`` scarce ones can be reserved.
    scarce_orders: list[int]
    plenty_orders: list[int]


SCARCE_STOCK = 5


async def open_shop(db: Database) -> Shop:
    """Five units of one SKU for eight one-unit orders, ten of another for four two-unit
    orders: once everything settles, the five first-paid scarce orders and every plenty order
    are RESERVED, three scarce orders BACKORDERED."""
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    scarce, plenty = (s.id for s in seller.skus[:2])
    assert scarce is not None and plenty is not None
    await receive(db, seller, layout, scarce, SCARCE_STOCK, bin_id=layout.bin_id(0, 0))
    await receive(db, seller, layout, plenty, 10, bin_id=layout.bin_id(0, 1))
    return Shop(seller, layout, scarce, plenty, [], [])


def planned(shop: Shop) -> list[tuple[str, int, datetime]]:
    """(kind, units, paid at) of the shop's twelve orders, shuffled."""
    wanted = [("scarce", 1, EPOCH + timedelta(minutes=i)) for i in range(8)]
    wanted += [("plenty", 2, EPOCH + timedelta(minutes=8 + i)) for i in range(4)]
    random.Random(618).shuffle(wanted)
    return wanted


def record(shop: Shop, placed: list[tuple[str, int, datetime]]) -> None:
    for kind, order_id, _ in sorted(placed, key=lambda p: p[2]):
        (shop.scarce_orders if kind == "scarce" else shop.plenty_orders).append(order_id)


async def place_orders(db: Database, shop: Shop) -> None:
    placed = []
    for kind, units, paid_at in planned(shop):
        sku = shop.scarce if kind == "scarce" else shop.plenty
        order = await make_order_with(db, shop.seller, [(sku, units)], paid_at=paid_at)
        assert order.id is not None
        placed.append((kind, order.id, paid_at))
    record(shop, placed)


async def until_settled(db: Database, org_id: int, worker: WorkerProcess, what: str) -> None:
    async def done() -> bool:
        return await settled(db, org_id)

    try:
        await until(done, what, WORKER_DEADLINE)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the worker said:\n{worker.output()}") from None


async def settled(db: Database, org_id: int) -> bool:
    pending = await pending_reservations(db, org_id)
    return pending.count == 0 and not await has_retryable_backorders(db, org_id)


async def assert_all_settled(db: Database, shop: Shop) -> None:
    async with org_connection(db, shop.seller.org_id) as conn:
        rows = await conn.execute(text("SELECT id, status FROM orders"))
        status = {int(i): str(s) for i, s in rows}
    assert "NEW" not in status.values()
    scarce = [status[o] for o in shop.scarce_orders]
    assert scarce == ["RESERVED"] * SCARCE_STOCK + ["BACKORDERED"] * (8 - SCARCE_STOCK)
    assert [status[o] for o in shop.plenty_orders] == ["RESERVED"] * 4
    assert (await reconcile.reconcile(db, shop.seller.org_id)).ok


# -- a worker killed in the middle of a batch -----------------------------------------------------
async def test_a_worker_killed_mid_batch_leaves_nothing_behind(
    dedicated: Dedicated,
    settings: Settings,
    admin_db: Database,
    tmp_path: Path,
    redis_prefix: str,
) -> None:
    db = dedicated.db
    shop = await open_shop(db)
    await place_orders(db, shop)
    org = shop.seller.org_id
    held_row = (
        "SELECT id FROM stock WHERE org_id = :org AND sku_id = :sku AND bin_id = :bin FOR UPDATE"
    )
    env = worker_env(dedicated, settings, tmp_path, redis_prefix)

    # The stock row is held, so the first worker's batch stops at it: by then it has taken the
    # seller's queue and locked the orders.  A long lock timeout keeps it there until killed.
    async with hold_rows(
        db, org, held_row, {"org": org, "sku": shop.scarce, "bin": shop.layout.bin_id(0, 0)}
    ) as held:
        first = WorkerProcess({**env, "ORDERFLOW_LOCK_TIMEOUT_MS": "600000"}, tmp_path)
        try:

            async def batch_waits() -> bool:
                return bool(await waiters_of(admin_db, held.pid))

            await until(
                batch_waits, "the first worker's batch to wait for the row", WORKER_DEADLINE
            )
            (waiter,) = await waiters_of(admin_db, held.pid)
            async with admin_db.engine.connect() as conn:
                holds_queue = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE pid = :pid AND locktype = 'advisory'"
                        " AND granted"
                        " AND (CAST(CAST(classid AS text) AS bigint) << 32)"
                        " + CAST(CAST(objid AS text) AS bigint) = :key"
                    ),
                    {"pid": waiter.pid, "key": RESERVATION_QUEUE_KEY + org},
                )
            assert holds_queue == 1, "the waiting backend is not the seller's batch"
            first.kill()
        finally:
            first.stop()
    assert (await pending_reservations(db, org)).count == 12  # the batch wrote nothing

    second = WorkerProcess({**env, "ORDERFLOW_LOCK_TIMEOUT_MS": "500"}, tmp_path)
    try:
        await until_settled(db, org, second, "the second worker to reserve what the first left")
    finally:
        second.stop()
    await assert_all_settled(db, shop)


# -- the database refuses connections for a while -------------------------------------------------
async def test_drain_rides_out_a_database_that_refuses_connections(
    dedicated: Dedicated, settings: Settings
) -> None:
    shop = await open_shop(dedicated.db)
    await place_orders(dedicated.db, shop)
    org = shop.seller.org_id
    db = Database.connect(dedicated.app_url, settings, pool_size=2)
    try:
        await dedicated.refuse_connections()
        with capture_logs() as logs:
            draining = asyncio.create_task(drain(db, org, max_failures=1000))

            async def failed_twice() -> bool:
                failures = [
                    e
                    for e in logs
                    if e.get("event") == "reservation.batch_failed" and e.get("org_id") == org
                ]
                return len(failures) >= 2 or draining.done()

            await until(failed_twice, "two failed batches")
            assert not draining.done()
            await dedicated.allow_connections()
            report = await asyncio.wait_for(draining, 60)
    finally:
        await dedicated.allow_connections()
        await db.dispose()
    assert report.failures >= 2
    assert (report.reserved, report.backordered) == (SCARCE_STOCK + 4, 8 - SCARCE_STOCK)
    await assert_all_settled(dedicated.db, shop)


async def test_a_worker_recovers_after_the_database_refused_connections(
    dedicated: Dedicated, settings: Settings, tmp_path: Path, redis_prefix: str
) -> None:
    """Orders are committed just as the database starts refusing connections (on a connection
    opened before): the worker cannot reach them, then can, and its sweep restarts the loop."""
    db = dedicated.db
    shop = await open_shop(db)
    org = shop.seller.org_id
    worker = WorkerProcess(
        {
            **worker_env(dedicated, settings, tmp_path, redis_prefix),
            "ORDERFLOW_LOCK_TIMEOUT_MS": "500",
        },
        tmp_path,
    )
    try:
        worker.wait_for(lambda e: e.get("event") == "worker.started", "start", within=60)
        placed = []
        async with UnitOfWork(db, org) as uow:
            for kind, units, paid_at in planned(shop):
                sku = shop.scarce if kind == "scarce" else shop.plenty
                order, lines = new_order(shop.seller, [(sku, units)], paid_at=paid_at)
                await uow.orders.add(order, lines)
                assert order.id is not None
                placed.append((kind, order.id, paid_at))
            mark = worker.mark()
            await dedicated.refuse_connections(keep=[await backend_pid(uow.session)])
            await uow.commit()
        record(shop, placed)

        failed = {"outbox.relay_failed", "outbox.listen_failed", "reservation.batch_failed"}
        worker.wait_for(
            lambda e: e.get("event") in failed,
            "the worker to meet the outage",
            since=mark,
            within=60,
        )
        await dedicated.allow_connections()
        await until_settled(db, org, worker, "the worker to reserve the orders")
    finally:
        await dedicated.allow_connections()
        worker.stop()
    await assert_all_settled(db, shop)


# -- locks held past every retry ------------------------------------------------------------------
HELD = {
    "stock row": (
        "SELECT id FROM stock WHERE org_id = :org AND sku_id = :sku FOR UPDATE",
        lambda shop: {"org": shop.seller.org_id, "sku": shop.scarce},
    ),
    "reservation queue": (
        "SELECT pg_advisory_xact_lock(:key)",
        lambda shop: {"key": RESERVATION_QUEUE_KEY + shop.seller.org_id},
    ),
}


@pytest.mark.parametrize("what", sorted(HELD))
async def test_a_lock_held_past_every_retry_writes_nothing_and_the_next_run_reserves(
    what: str, db: Database, admin_db: Database
) -> None:
    shop = await open_shop(db)
    await place_orders(db, shop)
    org = shop.seller.org_id
    impatient = Database(engine=db.engine, sessions=db.sessions, lock_timeout_ms=30)
    before = await tenant_rows(admin_db, org)
    sql, params = HELD[what]

    async with hold_rows(db, org, sql, params(shop)):
        with pytest.raises(ConcurrentUpdate):
            await reserve_pending(impatient, org)
        with pytest.raises(ConcurrentUpdate):
            await drain(impatient, org, max_failures=2)
    assert await tenant_rows(admin_db, org) == before

    report = await drain(db, org)
    assert (report.reserved, report.backordered, report.failures) == (SCARCE_STOCK + 4, 3, 0)
    await assert_all_settled(db, shop)
