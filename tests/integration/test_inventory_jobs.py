"""The reservation loop's jobs as the worker calls them, and their wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from sqlalchemy import text

from db.engine import Database
from db.repositories import locks
from db.settings import Settings
from db.uow import UnitOfWork
from domain.paging import Page
from tests.support.factories import make_org
from tests.support.inventory import make_layout, make_order_with, order_status, receive
from tests.support.locks import until
from tests.support.sql import org_connection
from workers.enqueue import JobQueue
from workers.jobs import inventory as jobs
from workers.relay import TOPIC_JOBS
from workers.settings import WorkerSettings


@pytest_asyncio.fixture
async def ctx(db: Database, settings: Settings) -> AsyncIterator[dict[str, Any]]:
    assert settings.redis_url
    queue = await JobQueue.connect(settings.redis_url, settings)
    try:
        yield {"db": db, "settings": settings, "queue": queue}
    finally:
        await queue.close()


def test_jobs_are_registered_and_routed() -> None:
    names = {getattr(f, "name", getattr(f, "__name__", "")) for f in WorkerSettings.functions}
    assert {"reservation_loop", "reservation_sweep"} <= names
    crons = {c.name for c in WorkerSettings.cron_jobs}
    assert {"cron:reconcile_stock", "cron:reservation_sweep"} <= crons
    assert TOPIC_JOBS["order.created"] == ["reservation_loop"]
    assert TOPIC_JOBS["stock.changed"] == ["reservation_loop"]


async def test_the_loop_backorders_then_fills_when_stock_arrives(
    ctx: dict[str, Any], db: Database
) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    order = await make_order_with(db, seller, [(sku, 2)])
    assert order.id is not None

    first = await jobs.reservation_loop(ctx, {"org_id": seller.org_id})
    assert (first["orders"], first["backordered"]) == (1, 1)
    assert await order_status(db, seller.org_id, order.id) == "BACKORDERED"
    # Nothing changed since: the waiting order is not tried again.
    assert (await jobs.reservation_loop(ctx, {"org_id": seller.org_id}))["orders"] == 0

    await receive(db, seller, layout, sku, 5, bin_id=layout.bin_id())
    second = await jobs.reservation_loop(ctx, {"org_id": seller.org_id})
    assert (second["orders"], second["reserved"], second["units"]) == (1, 1, 2)
    assert await order_status(db, seller.org_id, order.id) == "RESERVED"
    assert (await jobs.reservation_loop(ctx, {"org_id": seller.org_id}))["orders"] == 0


async def test_wake_ups_coalesce_into_one_waiting_loop(
    ctx: dict[str, Any], db: Database, settings: Settings
) -> None:
    seller = await make_org(db)
    first = await jobs.start_reservation_loop(ctx["queue"], seller.org_id)
    assert first == f"{settings.redis_prefix}:reservation-loop:{seller.org_id}:0"
    # One is waiting to start: it will see whatever woke us again.
    assert await jobs.start_reservation_loop(ctx["queue"], seller.org_id) is None


async def test_the_sweep_starts_loops_and_alerts_on_orders_waiting_too_long(
    ctx: dict[str, Any], db: Database
) -> None:
    seller = await make_org(db)
    order = await make_order_with(db, seller, [(seller.skus[0].id or 0, 1)])
    async with org_connection(db, seller.org_id, commit=True) as conn:
        await conn.execute(
            text("UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": order.id},
        )
    result = await jobs.reservation_sweep(ctx)
    assert result["loopsStarted"] >= 1 and result["overdue"] >= 1
    again = await jobs.reservation_sweep(ctx)
    assert again["overdue"] >= 1
    async with UnitOfWork(db, seller.org_id) as uow:
        alerts = (await uow.notifications.list(unread_only=True, page=Page(size=10))).rows
    assert [a.kind for a in alerts] == ["reservation.overdue"]  # once while unread
    assert alerts[0].severity == "CRITICAL" and alerts[0].payload["pending"] == 1

    await jobs.reservation_loop(ctx, {"org_id": seller.org_id})
    nightly = await jobs.reconcile_stock(ctx)
    assert nightly["organisations"] >= 0


async def test_one_loop_runs_per_seller_and_a_lost_loops_lease_ends_with_its_connection(
    ctx: dict[str, Any], db: Database, admin_db: Database
) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 5, bin_id=layout.bin_id())
    order = await make_order_with(db, seller, [(sku, 1)])
    assert order.id is not None

    async with locks.reservation_loop_lease(db, seller.org_id) as held:
        assert held
        # Another loop for the same seller leaves at once, touching nothing.
        assert await jobs.reservation_loop(ctx, {"org_id": seller.org_id}) == {"alreadyRunning": 1}
        assert await order_status(db, seller.org_id, order.id) == "NEW"
        # The holder's connection goes (its worker was killed): so does the lease.
        async with admin_db.engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND objid = :low AND classid = :high"
                ),
                {
                    "low": (locks.RESERVATION_LOOP_KEY + seller.org_id) & 0xFFFFFFFF,
                    "high": (locks.RESERVATION_LOOP_KEY + seller.org_id) >> 32,
                },
            )

        async def next_loop_runs() -> bool:
            result = await jobs.reservation_loop(ctx, {"org_id": seller.org_id})
            return result["alreadyRunning"] == 0

        await until(next_loop_runs, "the lease to end with its connection")
    assert await order_status(db, seller.org_id, order.id) == "RESERVED"


async def test_a_worker_that_just_started_does_not_alert_on_old_orders(
    ctx: dict[str, Any], db: Database
) -> None:
    """Orders left NEW from before the worker (a restart, a bulk import of old orders) are its
    work, not its failure: the alert counts from the worker's start at the earliest."""
    seller = await make_org(db)
    order = await make_order_with(db, seller, [(seller.skus[0].id or 0, 1)])
    async with org_connection(db, seller.org_id, commit=True) as conn:
        await conn.execute(
            text("UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": order.id},
        )
    fresh = {**ctx, "started_at": datetime.now(UTC)}
    result = await jobs.reservation_sweep(fresh)
    assert result["loopsStarted"] >= 1
    async with UnitOfWork(db, seller.org_id) as uow:
        assert await uow.notifications.count(unread_only=True) == 0
