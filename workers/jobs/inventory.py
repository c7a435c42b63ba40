"""Inventory jobs: the per-seller reservation loop, its wake-ups and sweep, nightly reconcile.

- ``reservation_loop(ctx, event)``: drains one organisation's (``event["org_id"]``) pending
  orders in batches (domain.inventory.reservation.run_loop).  Routed by the relay from
  ``order.created`` (a new order) and ``stock.changed`` (receive, count, transfer, release on
  cancel, return: backorders may be fillable), and started by the sweep.  At most one is
  queued per seller (the job series ``reservation-loop:{org}``, see
  ``JobQueue.enqueue_unless_waiting``) and one runs: a loop that finds the seller's lease taken
  ends at once, since the holder drains until nothing is pending.  A killed worker's loop
  blocks neither: its lease ends with its connection, and the series has moved on from its job
  id.  Not retried by arq on failure: the work list is the orders table, and the sweep starts
  a new loop.
- ``reservation_sweep(ctx)``: cron, every few seconds: the safety net for a wake-up that came
  while a loop was finishing, or one lost with a worker; starts the loop of every seller with
  pending work, and raises an alert for orders pending longer than the threshold.
- ``reconcile_stock(ctx)``: cron, nightly; checks every organisation's stock against its ledger
  and reservations and raises a ``stock.drift`` alert; never fixes anything.

Every job can run twice for the same event (at-least-once delivery): draining an empty queue
changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from arq.worker import func

from db.engine import Database
from db.settings import Settings
from db.uow import UnitOfWork
from domain.inventory import reconcile, reservation
from domain.notifications import service as notifications
from workers.enqueue import JobQueue
from workers.relay import COALESCED_JOBS

log = structlog.get_logger(__name__)

LOOP_JOB = "reservation_loop"


async def start_reservation_loop(queue: JobQueue, org_id: int) -> str | None:
    """Queue the seller's loop unless one is already waiting to start (then that one does the
    work); a loop that is running, or was lost with its worker, does not stop a new one."""
    event = {"org_id": org_id, "topic": "reservation.sweep"}
    return await queue.enqueue_unless_waiting(
        LOOP_JOB, event, series=COALESCED_JOBS[LOOP_JOB](org_id)
    )


async def reservation_loop(ctx: dict[str, Any], event: dict[str, Any]) -> dict[str, int]:
    org_id = int(event["org_id"])
    structlog.contextvars.bind_contextvars(org_id=org_id, event_id=event.get("id"))
    settings: Settings = ctx["settings"]
    report = await reservation.run_loop(
        ctx["db"], org_id, batch_size=settings.reservation_batch_size
    )
    if report is None:
        return {"alreadyRunning": 1}
    return {**report.__dict__, "alreadyRunning": 0}


async def reservation_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    threshold = timedelta(seconds=settings.reservation_alert_after_seconds)
    async with UnitOfWork(db, None) as uow:
        org_ids = await uow.accounts.org_ids()
    started = overdue = 0
    for org_id in org_ids:
        pending = await reservation.pending_reservations(db, org_id)
        has_work = pending.count or await reservation.has_retryable_backorders(db, org_id)
        if has_work and await start_reservation_loop(ctx["queue"], org_id) is not None:
            started += 1
        if pending.overdue(threshold, since=ctx.get("started_at")):
            overdue += 1
            await notifications.raise_reservation_overdue(db, org_id, pending, threshold)
    return {"organisations": len(org_ids), "loopsStarted": started, "overdue": overdue}


async def reconcile_stock(ctx: dict[str, Any]) -> dict[str, int]:
    reports = await reconcile.reconcile_all(ctx["db"])
    drifted = [r for r in reports if not r.ok]
    log.info("stock.reconcile_finished", organisations=len(reports), drifted=len(drifted))
    return {
        "organisations": len(reports),
        "driftedOrganisations": len(drifted),
        "driftedRows": sum(len(r.drifts) for r in drifted),
    }


#: For workers/settings.py.  The loop keeps no result (its job id is free again as soon as it
#: ends) and is not retried by arq (the sweep restarts it; the orders table is the work list).
INVENTORY_JOBS = (
    func(reservation_loop, name=LOOP_JOB, keep_result=0, max_tries=1),
    reservation_sweep,
    reconcile_stock,
)
