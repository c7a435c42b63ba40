"""Planning a batch of reservations (批量占用), first paid first served.

Pure Python.  The reservation loop locks a batch of pending orders and every stock row of their
SKUs, then asks ``plan_batch`` what to write: it walks the orders in paid-time order and plans
each against what the locked rows still have after the orders before it, with the same
allocation strategy a single order uses.  Two rules keep it fair:

- An order short of a SKU waits (缺货) for it, and no order paid later may take that SKU while
  it waits: neither one later in the same batch, nor one of a later batch (``blockers``: the
  waiting backorders of orders outside the batch, by the time they were paid).
- Quantities come only from the locked rows, so a plan can never promise more than is there.

The result per order is what the writer needs: allocations, shortfall per line, new status.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.inventory.model import OrderDemand, StockSlot, StockState
from domain.inventory.strategy import (
    Allocation,
    AllocationStrategy,
    Need,
    ReservationRequest,
    Slot,
    WarehouseOption,
)
from domain.orders.model import OrderStatus

#: An order's place in the queue: paid time (unpaid orders by creation time), then id.
QueueKey = tuple[datetime, int]


@dataclass(frozen=True)
class PendingOrder:
    demand: OrderDemand
    queue_key: QueueKey


@dataclass(frozen=True)
class OrderPlan:
    """What the batch does to one order."""

    order_id: int
    current: OrderStatus
    target: OrderStatus
    allocations: tuple[Allocation, ...] = ()
    #: Units still lacking per order line (its waiting backorders), with the line's SKU.
    missing: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    #: SKUs this order could have taken but left to an order paid before it.
    yielded_skus: frozenset[int] = frozenset()

    @property
    def changed(self) -> bool:
        return self.target is not self.current


@dataclass
class BatchPlan:
    orders: list[OrderPlan]
    #: Every locked stock row's state after the batch (only rows it changes).
    stock_after: dict[int, StockState]

    @property
    def allocations(self) -> list[tuple[int, Allocation]]:
        return [(o.order_id, a) for o in self.orders for a in o.allocations]


def plan_batch(
    orders: Sequence[PendingOrder],
    slots: Sequence[StockSlot],
    blockers: Mapping[int, QueueKey],
    strategy: AllocationStrategy,
) -> BatchPlan:
    """Plan ``orders`` (any order; they are served by ``queue_key``) against ``slots``, the
    locked stock rows of their SKUs.  ``blockers`` maps a SKU to the queue key of the earliest
    order outside the batch that waits for it."""
    available = {s.state.stock_id: s.state.available for s in slots}
    reserved = {s.state.stock_id: s.state.reserved for s in slots}
    slots_by_sku: dict[int, list[StockSlot]] = defaultdict(list)
    for slot in slots:
        slots_by_sku[slot.state.sku_id].append(slot)
    blocked_from: dict[int, QueueKey] = dict(blockers)

    plans: list[OrderPlan] = []
    for pending in sorted(orders, key=lambda o: o.queue_key):
        demand = pending.demand
        current = OrderStatus(demand.status)
        needs = [
            Need(line.line_id, line.sku_id, line.missing)
            for line in demand.lines
            if line.missing > 0
        ]
        sku_of_line = {n.line_id: n.sku_id for n in needs}
        # SKUs an earlier-paid order waits for are not this order's to take.
        held_back = [
            n
            for n in needs
            if n.sku_id in blocked_from and blocked_from[n.sku_id] < pending.queue_key
        ]
        free_needs = [n for n in needs if n not in held_back]
        if held_back and not demand.allow_partial:
            free_needs = []
        plan = strategy.plan(
            ReservationRequest(
                province=demand.province,
                needs=tuple(free_needs),
                allow_split=demand.allow_split,
                allow_partial=demand.allow_partial,
                pinned_warehouses=demand.reserved_warehouses,
            ),
            _warehouses(slots_by_sku, free_needs),
            _slots(slots_by_sku, free_needs, available),
        )
        _check(plan.allocations, free_needs, available, slots_by_sku)
        for a in plan.allocations:
            available[a.stock_id] -= a.quantity
            reserved[a.stock_id] += a.quantity
        missing = {line: (sku_of_line[line], qty) for line, qty in plan.missing.items() if qty > 0}
        for n in held_back:
            missing[n.line_id] = (n.sku_id, n.quantity)
        for sku_id, _ in missing.values():
            if sku_id not in blocked_from or pending.queue_key < blocked_from[sku_id]:
                blocked_from[sku_id] = pending.queue_key
        target: OrderStatus
        if current is OrderStatus.RESERVED and not needs:
            target = current
        else:
            target = OrderStatus.BACKORDERED if missing else OrderStatus.RESERVED
        plans.append(
            OrderPlan(
                order_id=demand.order_id,
                current=current,
                target=target,
                allocations=plan.allocations,
                missing=missing,
                yielded_skus=frozenset(n.sku_id for n in held_back),
            )
        )

    states = {s.state.stock_id: s.state for s in slots}
    stock_after = {
        stock_id: StockState(
            stock_id=state.stock_id,
            sku_id=state.sku_id,
            warehouse_id=state.warehouse_id,
            bin_id=state.bin_id,
            on_hand=state.on_hand,
            reserved=reserved[stock_id],
            safety=state.safety,
        )
        for stock_id, state in states.items()
        if reserved[stock_id] != state.reserved
    }
    return BatchPlan(orders=plans, stock_after=stock_after)


def _warehouses(
    slots_by_sku: Mapping[int, Sequence[StockSlot]], needs: Sequence[Need]
) -> list[WarehouseOption]:
    options = {
        s.state.warehouse_id: WarehouseOption(
            s.state.warehouse_id, s.warehouse_provinces, s.warehouse_priority
        )
        for n in needs
        for s in slots_by_sku.get(n.sku_id, ())
    }
    return sorted(options.values(), key=lambda w: w.warehouse_id)


def _slots(
    slots_by_sku: Mapping[int, Sequence[StockSlot]],
    needs: Sequence[Need],
    available: Mapping[int, int],
) -> list[Slot]:
    skus = {n.sku_id for n in needs}
    return [
        Slot(
            stock_id=s.state.stock_id,
            sku_id=s.state.sku_id,
            warehouse_id=s.state.warehouse_id,
            bin_id=s.state.bin_id,
            bin_code=s.bin_code,
            zone_order=s.zone_order,
            walk_seq=s.walk_seq,
            available=available[s.state.stock_id],
        )
        for sku in sorted(skus)
        for s in slots_by_sku.get(sku, ())
    ]


def _check(
    allocations: Sequence[Allocation],
    needs: Sequence[Need],
    available: Mapping[int, int],
    slots_by_sku: Mapping[int, Sequence[StockSlot]],
) -> None:
    """A strategy is pluggable, so its plan is not trusted: it may use only the rows of the
    line's SKU, never take a row below what is still available (safety included), never give a
    line more than it needs.  Breaking one is a bug, not a user error."""
    wanted = {n.line_id: n for n in needs}
    per_line: dict[int, int] = defaultdict(int)
    per_stock: dict[int, int] = defaultdict(int)
    for a in allocations:
        need = wanted.get(a.line_id)
        rows = {s.state.stock_id for s in slots_by_sku.get(a.sku_id, ())}
        if need is None or need.sku_id != a.sku_id or a.stock_id not in rows or a.quantity <= 0:
            raise RuntimeError(f"allocation strategy used an unknown or wrong row: {a}")
        per_line[a.line_id] += a.quantity
        per_stock[a.stock_id] += a.quantity
    for line, quantity in per_line.items():
        if quantity > wanted[line].quantity:
            raise RuntimeError(f"allocation strategy over-filled line {line}")
    for stock_id, quantity in per_stock.items():
        if quantity > max(available[stock_id], 0):
            raise RuntimeError(f"allocation strategy over-reserved stock row {stock_id}")
