"""Reserving stock for orders (占用): the per-seller reservation loop and its batch of one.

What needs reserving is a fact in the database, not a job that can be lost: orders in NEW, and
BACKORDERED orders with available stock of a SKU they wait for, changed by a transaction their
last attempt did not see (by visibility, not by time: a change still in flight during the
attempt counts once it commits; see ``db.repositories.reservations``).  The loop
(``drain``, run by the ``reservation_loop`` job per organisation) takes them first paid first,
up to a batch size, and reserves a whole batch in one transaction:

1. take the organisation's reservation queue lock (one batch at a time per seller), lock the
   batch's orders (``FOR UPDATE SKIP LOCKED``), then every stock row of their SKUs that has
   something available, in primary-key order (``db.repositories.locks``);
2. plan the batch in paid order against the locked quantities (``batch.plan_batch``, pure);
3. write stock rows, reservations and ledger rows, status changes with history and outbox
   events, and backorders, one statement per kind of row; commit.

A failure of any kind rolls the batch back and the loop tries again with backoff; since the work
list is the orders table, nothing is lost.  ``reserve_order`` is the same code for one order
(the API's "reserve now", tests, tools): it locks that order alone and skips the queue lock, but
still never takes a SKU an earlier-paid order is waiting for.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from db.engine import Database
from db.repositories import locks
from db.repositories.order_status import OrderStatusChange, write_status_changes
from db.repositories.reservations import AllocationRow, ReservationQueue, Shortfall
from db.uow import DriverUnitOfWork
from domain.accounts.model import Actor
from domain.errors import NotFound
from domain.inventory.batch import BatchPlan, OrderPlan, PendingOrder, plan_batch
from domain.inventory.errors import OrderNotReservable
from domain.inventory.model import LedgerNote, OrderDemand, StockState
from domain.inventory.retry import Attempts, run_on_driver_with_retries
from domain.inventory.strategy import DEFAULT_STRATEGY, Allocation, AllocationStrategy
from domain.orders.model import OrderStatus

log = structlog.get_logger(__name__)

#: Orders one batch takes at most (a batch holds its stock rows until it commits).
DEFAULT_BATCH_SIZE = 200
#: Statuses a reservation attempt may start from (a HELD order waits for its review first).
RESERVABLE = frozenset({OrderStatus.NEW, OrderStatus.BACKORDERED})
_LOOP_BACKOFF_FIRST = 0.05
_LOOP_BACKOFF_MAX = 5.0


@dataclass(frozen=True)
class ReservationResult:
    order_id: int
    status: OrderStatus
    #: What this call reserved (empty when nothing could be, or all was already reserved).
    reserved: tuple[Allocation, ...] = ()
    #: The shortfall per short order line (what its backorders wait for).
    missing: dict[int, int] = field(default_factory=dict)
    attempts: int = 1
    #: SQLSTATEs of the attempts that were retried (deadlock, lock timeout...), if any.
    retried_on: tuple[str, ...] = ()

    @property
    def backordered(self) -> bool:
        return bool(self.missing)


@dataclass(frozen=True)
class BatchReport:
    plans: tuple[OrderPlan, ...] = ()
    attempts: int = 1
    retried_on: tuple[str, ...] = ()

    @property
    def orders(self) -> int:
        return len(self.plans)

    @property
    def reserved(self) -> int:
        return sum(1 for p in self.plans if p.target is OrderStatus.RESERVED)

    @property
    def backordered(self) -> int:
        return sum(1 for p in self.plans if p.target is OrderStatus.BACKORDERED)

    @property
    def units(self) -> int:
        return sum(a.quantity for p in self.plans for a in p.allocations)

    def plan_for(self, order_id: int) -> OrderPlan | None:
        return next((p for p in self.plans if p.order_id == order_id), None)


@dataclass
class DrainReport:
    batches: int = 0
    orders: int = 0
    reserved: int = 0
    backordered: int = 0
    units: int = 0
    failures: int = 0

    def add(self, report: BatchReport) -> None:
        self.batches += 1
        self.orders += report.orders
        self.reserved += report.reserved
        self.backordered += report.backordered
        self.units += report.units


def _note(actor: Actor) -> LedgerNote:
    return LedgerNote(
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        actor_token_id=actor.token_id,
        reason="order reservation",
    )


# -- the loop ----------------------------------------------------------------------------------
async def reserve_pending(
    db: Database,
    org_id: int,
    *,
    limit: int = DEFAULT_BATCH_SIZE,
    strategy: AllocationStrategy = DEFAULT_STRATEGY,
) -> BatchReport:
    """One batch of the loop in its own transaction (retried on lock failures)."""
    actor = Actor.system(org_id, "reservation")
    attempts = Attempts()
    plans = await run_on_driver_with_retries(
        db,
        org_id,
        lambda uow: _pending_batch(uow, actor, limit, strategy),
        what="reservation batch",
        attempts=attempts,
    )
    return BatchReport(tuple(plans), attempts.count, tuple(attempts.retried_on))


async def drain(
    db: Database,
    org_id: int,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_failures: int = 8,
    strategy: AllocationStrategy = DEFAULT_STRATEGY,
) -> DrainReport:
    """Reserve batches until nothing is pending.  A failed batch (lock timeout past its retries,
    a lost connection, anything) is rolled back and tried again after a growing pause; after
    ``max_failures`` in a row the error is raised and the job's own retry takes over."""
    report = DrainReport()
    delay = _LOOP_BACKOFF_FIRST
    while True:
        try:
            batch = await reserve_pending(db, org_id, limit=batch_size, strategy=strategy)
        except Exception as exc:
            report.failures += 1
            log.warning(
                "reservation.batch_failed",
                org_id=org_id,
                error=type(exc).__name__,
                failures=report.failures,
                retry_in=delay,
            )
            if report.failures >= max_failures:
                raise
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(_LOOP_BACKOFF_MAX, delay * 2)
            continue
        delay = _LOOP_BACKOFF_FIRST
        if batch.orders:
            report.add(batch)
            log.info(
                "reservation.batch",
                org_id=org_id,
                orders=batch.orders,
                reserved=batch.reserved,
                backordered=batch.backordered,
                units=batch.units,
                attempts=batch.attempts,
            )
        if batch.orders < batch_size:
            return report


async def run_loop(
    db: Database,
    org_id: int,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_failures: int = 8,
    strategy: AllocationStrategy = DEFAULT_STRATEGY,
) -> DrainReport | None:
    """``drain`` as the seller's one running loop, or None at once when another loop (of this
    worker or another) holds the lease: that one drains until nothing is pending.  Two loops
    would be correct (batches take the queue lock) but wasteful; the lease keeps one, and ends
    with its worker's connection, so a killed worker's loop never keeps a seller waiting."""
    async with locks.reservation_loop_lease(db, org_id) as held:
        if not held:
            log.info("reservation.loop_already_running", org_id=org_id)
            return None
        return await drain(
            db, org_id, batch_size=batch_size, max_failures=max_failures, strategy=strategy
        )


async def _pending_batch(
    uow: DriverUnitOfWork, actor: Actor, limit: int, strategy: AllocationStrategy
) -> list[OrderPlan]:
    queue = ReservationQueue(uow.conn, uow.org_id)
    order_ids = await queue.lock_pending(limit)
    return await _reserve_locked(queue, uow, actor, order_ids, strategy)


# -- a batch of one ----------------------------------------------------------------------------
async def reserve_order(
    db: Database,
    actor: Actor,
    order_id: int,
    *,
    strategy: AllocationStrategy = DEFAULT_STRATEGY,
) -> ReservationResult:
    """Reserve what one order still lacks, now, in its own transaction: the same set-based code
    as the loop with a batch of one.  The order ends RESERVED, or BACKORDERED with its short
    lines waiting; one that is neither NEW nor BACKORDERED (nor RESERVED: a no-op) is refused.
    Lock failures are retried; ``ConcurrentUpdate`` after the last attempt, nothing written."""
    attempts = Attempts()
    plans = await run_on_driver_with_retries(
        db,
        actor.org_id,
        lambda uow: _one_order(uow, actor, order_id, strategy),
        what="reserve_order",
        attempts=attempts,
    )
    plan = plans[0] if plans else None
    if plan is None:
        return ReservationResult(order_id=order_id, status=OrderStatus.RESERVED)
    result = ReservationResult(
        order_id=order_id,
        status=plan.target,
        reserved=plan.allocations,
        missing={line: qty for line, (_, qty) in plan.missing.items()},
        attempts=attempts.count,
        retried_on=tuple(attempts.retried_on),
    )
    if result.backordered:
        log.info(
            "stock.backordered",
            org_id=actor.org_id,
            order_id=order_id,
            units=sum(a.quantity for a in result.reserved),
            missing=sum(result.missing.values()),
            attempts=result.attempts,
        )
    return result


async def _one_order(
    uow: DriverUnitOfWork, actor: Actor, order_id: int, strategy: AllocationStrategy
) -> list[OrderPlan]:
    statuses = await locks.lock_orders(uow.conn, uow.org_id, [order_id])
    if order_id not in statuses:
        raise NotFound("Order not found", field="orderId")
    current = OrderStatus(statuses[order_id])
    if current not in RESERVABLE and current is not OrderStatus.RESERVED:
        raise OrderNotReservable(current.value)
    queue = ReservationQueue(uow.conn, uow.org_id)
    plans = await _reserve_locked(queue, uow, actor, [order_id], strategy)
    return [p for p in plans if p.changed or p.allocations or p.missing]


# -- the batch ---------------------------------------------------------------------------------
async def _reserve_locked(
    queue: ReservationQueue,
    uow: DriverUnitOfWork,
    actor: Actor,
    order_ids: Sequence[int],
    strategy: AllocationStrategy,
) -> list[OrderPlan]:
    """Plan and write the reservations of ``order_ids`` (locked by the caller)."""
    if not order_ids:
        return []
    queued = await queue.demands(order_ids)
    sku_ids = sorted({line.sku_id for q in queued for line in q.demand.lines if line.missing > 0})
    blockers = await queue.blockers(sku_ids, order_ids)
    slots = await queue.lock_stock(sku_ids)
    batch = plan_batch(
        [PendingOrder(q.demand, (q.queued_at, q.demand.order_id)) for q in queued],
        slots,
        blockers,
        strategy,
    )
    note = _note(actor)
    await queue.write_stock(
        sorted(batch.stock_after.values(), key=lambda s: s.stock_id),
        _allocation_rows(batch, {s.state.stock_id: s.state for s in slots}),
        note,
    )
    demands = {q.demand.order_id: q.demand for q in queued}
    changes = [_status_change(p, demands[p.order_id]) for p in batch.orders if p.changed]
    changed = await write_status_changes(uow.conn, uow.org_id, changes, note)
    if changed != len(changes):
        raise RuntimeError("a locked order changed status under its lock")
    shortfalls = [
        Shortfall(p.order_id, line, sku, qty, demands[p.order_id].paid_at)
        for p in batch.orders
        for line, (sku, qty) in sorted(p.missing.items())
    ]
    # Only a short line or an order that was waiting has backorders to write or fill.
    if shortfalls or any(p.current is OrderStatus.BACKORDERED for p in batch.orders):
        await queue.write_backorders([p.order_id for p in batch.orders], shortfalls)
    return batch.orders


def _allocation_rows(batch: BatchPlan, locked: dict[int, StockState]) -> list[AllocationRow]:
    """One row per (order line, stock row), with the stock row's quantities after each, in
    the order the plan took them (so the ledger replays)."""
    merged: dict[tuple[int, int, int], int] = {}
    for order_id, a in batch.allocations:
        key = (order_id, a.line_id, a.stock_id)
        merged[key] = merged.get(key, 0) + a.quantity
    running = {stock_id: state.reserved for stock_id, state in locked.items()}
    rows = []
    for (order_id, line_id, stock_id), quantity in merged.items():
        running[stock_id] += quantity
        state = locked[stock_id]
        rows.append(
            AllocationRow(
                order_id=order_id,
                line_id=line_id,
                stock=state,
                quantity=quantity,
                on_hand_after=state.on_hand,
                reserved_after=running[stock_id],
            )
        )
    return rows


def _status_change(plan: OrderPlan, demand: OrderDemand) -> OrderStatusChange:
    reason = "stock reserved" if plan.target is OrderStatus.RESERVED else _shortage_text(plan)
    return OrderStatusChange(
        order_id=plan.order_id,
        from_status=plan.current.value,
        to_status=plan.target.value,
        reason=reason,
        payload={
            "orderId": plan.order_id,
            "shopId": demand.shop_id,
            "externalId": demand.external_id,
            "status": plan.target.value,
            "totalFen": demand.total_fen,
            "fromStatus": plan.current.value,
            "reason": reason,
        },
    )


def _shortage_text(plan: OrderPlan) -> str:
    parts = [f"sku {sku} ×{qty}" for _, (sku, qty) in sorted(plan.missing.items())]
    text = "waiting for stock (缺货): " + ", ".join(parts)
    if plan.yielded_skus:
        text += "; behind earlier-paid orders for sku " + ", ".join(
            str(s) for s in sorted(plan.yielded_skus)
        )
    return text


# -- how far behind the loop is ----------------------------------------------------------------
@dataclass(frozen=True)
class PendingReservations:
    """Orders waiting for their first reservation attempt (the stock and health views)."""

    count: int
    oldest: datetime | None

    def overdue(
        self,
        threshold: timedelta,
        now: datetime | None = None,
        *,
        since: datetime | None = None,
    ) -> bool:
        """Whether an order has waited longer than ``threshold``; counted from ``since`` when
        that is later (a worker that just started has not had its chance yet: orders left from
        before it, or a bulk import of old orders, are not its failure)."""
        if self.oldest is None:
            return False
        start = max(self.oldest, since) if since is not None else self.oldest
        return (now or datetime.now(UTC)) - start > threshold


async def has_retryable_backorders(db: Database, org_id: int) -> bool:
    async with DriverUnitOfWork(db, org_id) as uow:
        return await ReservationQueue(uow.conn, org_id).has_retryable_backorders()


async def pending_reservations(db: Database, org_id: int) -> PendingReservations:
    async with DriverUnitOfWork(db, org_id) as uow:
        count, oldest = await ReservationQueue(uow.conn, org_id).pending_count()
    return PendingReservations(count, oldest)
