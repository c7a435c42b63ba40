"""The inventory jobs as the worker calls them (``ctx`` with the Database), and their wiring."""

from __future__ import annotations

from sqlalchemy import text

from db.engine import Database
from tests.support.factories import make_org
from tests.support.inventory import make_layout, make_order_with, order_status, receive
from tests.support.sql import org_connection
from workers.jobs import inventory as jobs
from workers.relay import TOPIC_JOBS
from workers.settings import WorkerSettings


def test_jobs_are_registered_and_routed() -> None:
    names = {f.__name__ for f in WorkerSettings.functions}
    assert {"reserve_order_job", "retry_backorders_job"} <= names
    crons = {c.name for c in WorkerSettings.cron_jobs}
    assert {"cron:reconcile_stock", "cron:retry_backorders_sweep"} <= crons
    assert "retry_backorders_job" in TOPIC_JOBS["stock.changed"]


async def test_reserve_then_retry_from_the_stock_changed_event(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    order = await make_order_with(db, seller, [(sku, 2)])
    assert order.id is not None
    ctx = {"db": db}

    result = await jobs.reserve_order_job(ctx, seller.org_id, order.id)
    assert result["status"] == "BACKORDERED"
    assert await jobs.reserve_order_job(ctx, seller.org_id, order.id) == result  # idempotent

    await receive(db, seller, layout, sku, 5, bin_id=layout.bin_id())
    async with org_connection(db, seller.org_id) as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT id, org_id, payload FROM outbox"
                    " WHERE org_id = :org AND topic = 'stock.changed' ORDER BY id DESC LIMIT 1"
                ),
                {"org": seller.org_id},
            )
        ).one()
    assert event.payload["skuIds"] == [sku]
    report = await jobs.retry_backorders_job(
        ctx, {"id": event.id, "org_id": event.org_id, "payload": event.payload}
    )
    assert report == {"tried": 1, "reserved": 1, "still_waiting": 0, "skipped": 0}
    assert await order_status(db, seller.org_id, order.id) == "RESERVED"
    # Delivered twice: nothing left to do.
    again = await jobs.retry_backorders_job(
        ctx, {"id": event.id, "org_id": event.org_id, "payload": event.payload}
    )
    assert again["tried"] == 0


async def test_sweep_catches_stock_that_arrived_without_an_event(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    order = await make_order_with(db, seller, [(sku, 1)])
    assert order.id is not None
    await jobs.reserve_order_job({"db": db}, seller.org_id, order.id)
    await receive(db, seller, layout, sku, 1, bin_id=layout.bin_id())
    result = await jobs.retry_backorders_sweep({"db": db})
    assert result["reserved"] >= 1
    assert await order_status(db, seller.org_id, order.id) == "RESERVED"
    nightly = await jobs.reconcile_stock({"db": db})
    assert nightly["organisations"] >= 1


async def test_new_orders_are_routed_to_reservation(db: Database) -> None:
    """order.created reaches the reservation job through the relay's routing table."""
    assert TOPIC_JOBS["order.created"] == ["reserve_created_order_job"]
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(
        db, seller, layout, sku, 5, bin_id=layout.bins[layout.warehouses[0].id or 0][0].id or 0
    )
    order = await make_order_with(db, seller, [(sku, 2)])
    assert order.id is not None
    result = await jobs.reserve_created_order_job(
        {"db": db}, {"org_id": seller.org_id, "aggregate_id": order.id, "topic": "order.created"}
    )
    assert result["status"] == "RESERVED"
