"""Inventory jobs: reserve an order, retry backorders when stock arrives, reconcile nightly.

- ``reserve_order_job(ctx, org_id, order_id)``: the pipeline's reservation step;
  ``reserve_created_order_job(ctx, event)`` runs it for each ``order.created`` outbox event.
- ``retry_backorders_job(ctx, event)``: routed from the ``stock.changed`` outbox topic (receive,
  count, transfer, release, return); retries the waiting orders of those SKUs, first paid first.
- ``retry_backorders_sweep(ctx)``: cron, every few minutes; the safety net for an event that
  raced a backorder being written (stock that arrived in a new bin while an order was being
  backordered) — any SKU with waiting orders and available stock gets a retry.
- ``reconcile_stock(ctx)``: cron, nightly; checks every organisation's stock against its ledger
  and reservations and raises a ``stock.drift`` alert; never fixes anything.

Every job can run twice for the same event (at-least-once delivery): reserving a reserved order
and retrying a filled backorder change nothing.
"""

from __future__ import annotations

from typing import Any

import structlog

from db.engine import Database
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.inventory import reconcile, service

log = structlog.get_logger(__name__)


async def reserve_order_job(ctx: dict[str, Any], org_id: int, order_id: int) -> dict[str, Any]:
    structlog.contextvars.bind_contextvars(org_id=org_id, order_id=order_id)
    db: Database = ctx["db"]
    result = await service.reserve_order(db, Actor.system(org_id, "reservation"), order_id)
    return {
        "orderId": order_id,
        "status": result.status.value,
        "reservedUnits": sum(a.quantity for a in result.reserved),
        "missing": {str(line): qty for line, qty in result.missing.items()},
        "attempts": result.attempts,
    }


async def reserve_created_order_job(ctx: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Routed from ``order.created``: a new order enters the pipeline and reserves its stock."""
    return await reserve_order_job(ctx, int(event["org_id"]), int(event["aggregate_id"]))


async def retry_backorders_job(ctx: dict[str, Any], event: dict[str, Any]) -> dict[str, int]:
    """Routed from ``stock.changed``: ``event`` is the outbox event (see workers.events)."""
    org_id = int(event["org_id"])
    sku_ids = [int(s) for s in event.get("payload", {}).get("skuIds", [])]
    structlog.contextvars.bind_contextvars(org_id=org_id, event_id=event.get("id"))
    report = await service.retry_backorders(ctx["db"], org_id, sku_ids)
    return dict(report.__dict__)


async def retry_backorders_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    db: Database = ctx["db"]
    async with UnitOfWork(db, None) as uow:
        org_ids = await uow.accounts.org_ids()
    tried = reserved = visited = 0
    for org_id in org_ids:
        async with UnitOfWork(db, org_id) as uow:
            sku_ids = await uow.inventory.skus_with_waiting_and_stock()
        if not sku_ids:
            continue
        visited += 1
        report = await service.retry_backorders(db, org_id, sku_ids)
        tried += report.tried
        reserved += report.reserved
    return {"organisations": visited, "tried": tried, "reserved": reserved}


async def reconcile_stock(ctx: dict[str, Any]) -> dict[str, int]:
    reports = await reconcile.reconcile_all(ctx["db"])
    drifted = [r for r in reports if not r.ok]
    log.info("stock.reconcile_finished", organisations=len(reports), drifted=len(drifted))
    return {
        "organisations": len(reports),
        "driftedOrganisations": len(drifted),
        "driftedRows": sum(len(r.drifts) for r in drifted),
    }


#: For workers/settings.py.
INVENTORY_JOBS = (
    reserve_order_job,
    reserve_created_order_job,
    retry_backorders_job,
    retry_backorders_sweep,
    reconcile_stock,
)
