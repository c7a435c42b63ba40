"""Which warehouse and which bins fill an order (策略分仓, 库位选择).

Pure Python.  A strategy receives the order's remaining needs and the *locked* stock rows of its
SKUs, and returns a plan; the service writes the plan in the same transaction, so a plan can
never promise more than the rows held when it was made.  Strategies are pluggable: anything with
a ``plan`` method of the ``AllocationStrategy`` shape can be passed to ``reserve_order``.

The default strategy:

1. Among warehouses that can fill the whole order alone, the one serving the receiver's
   province (named there first, "anywhere" second; then by priority, then by stock).
2. Else, among those that can fill it alone, the one with the most stock for the order.
3. Else, when the shop allows splitting (拆单), fill line by line across warehouses, serving
   warehouses first, then by stock.
4. Else, when the shop allows partial reservation, reserve what the best warehouse has.
5. Else nothing is reserved (all-or-nothing) and every short line is reported missing.

Within a warehouse, bins are chosen to visit as few as possible: one bin that holds the whole
line when there is one (the first on the pick walk), else the fullest bins first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from domain.inventory.model import serves_province


@dataclass(frozen=True)
class Slot:
    """One locked stock row, with what picking needs to know about its bin."""

    stock_id: int
    sku_id: int
    warehouse_id: int
    bin_id: int
    bin_code: str
    zone_order: int
    walk_seq: int
    available: int


@dataclass(frozen=True)
class WarehouseOption:
    warehouse_id: int
    provinces: tuple[str, ...]
    priority: int


@dataclass(frozen=True)
class Need:
    """What one order line still needs (its quantity minus what is already reserved)."""

    line_id: int
    sku_id: int
    quantity: int


@dataclass(frozen=True)
class ReservationRequest:
    province: str
    needs: tuple[Need, ...]
    allow_split: bool = False
    allow_partial: bool = False
    #: Warehouses already holding reservations of this order; without splitting, the rest of
    #: the order must come from there too.
    pinned_warehouses: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Allocation:
    line_id: int
    sku_id: int
    stock_id: int
    warehouse_id: int
    bin_id: int
    quantity: int


@dataclass(frozen=True)
class Plan:
    allocations: tuple[Allocation, ...] = ()
    #: Units lacking per order line (only short lines).  When all-or-nothing reserves nothing,
    #: the lines that could have been filled are not listed: only the shortfall that keeps the
    #: order waiting, which is what its backorders record.
    missing: Mapping[int, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing


class AllocationStrategy(Protocol):
    def plan(
        self,
        request: ReservationRequest,
        warehouses: Sequence[WarehouseOption],
        slots: Sequence[Slot],
    ) -> Plan: ...


class _Bin:
    """A slot with the units still free while a plan is being built."""

    __slots__ = ("left", "slot")

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.left = max(slot.available, 0)


def _walk_key(b: _Bin, visited: set[int]) -> tuple[bool, int, int, str, int]:
    s = b.slot
    return (s.bin_id not in visited, s.zone_order, s.walk_seq, s.bin_code, s.stock_id)


def choose_bins(bins: Sequence[_Bin], quantity: int, visited: set[int]) -> list[tuple[_Bin, int]]:
    """Take up to ``quantity`` from ``bins`` visiting as few bins as possible.

    Taking the fullest bins first is optimal for the count; once one bin can cover what is left,
    the first such bin on the pick walk (preferring bins this order already visits) is used.
    Returns fewer units than asked when the bins do not hold enough.
    """
    remaining = quantity
    pool = sorted((b for b in bins if b.left > 0), key=lambda b: (-b.left, _walk_key(b, visited)))
    taken: list[tuple[_Bin, int]] = []
    while remaining > 0 and pool:
        fitting = [b for b in pool if b.left >= remaining]
        if fitting:
            chosen = min(fitting, key=lambda b: _walk_key(b, visited))
            take = remaining
        else:
            chosen = pool[0]
            take = chosen.left
        pool.remove(chosen)
        taken.append((chosen, take))
        remaining -= take
    return taken


class DefaultStrategy:
    def plan(
        self,
        request: ReservationRequest,
        warehouses: Sequence[WarehouseOption],
        slots: Sequence[Slot],
    ) -> Plan:
        needs = [n for n in request.needs if n.quantity > 0]
        if not needs:
            return Plan()
        options = list(warehouses)
        if request.pinned_warehouses and not request.allow_split:
            options = [w for w in options if w.warehouse_id in request.pinned_warehouses]

        bins_by_wh: dict[int, dict[int, list[_Bin]]] = defaultdict(lambda: defaultdict(list))
        for slot in slots:
            bins_by_wh[slot.warehouse_id][slot.sku_id].append(_Bin(slot))
        wanted: dict[int, int] = defaultdict(int)
        for need in needs:
            wanted[need.sku_id] += need.quantity

        def stock_for_order(w: WarehouseOption) -> int:
            per_sku = bins_by_wh.get(w.warehouse_id, {})
            return sum(
                min(sum(b.left for b in per_sku.get(sku, [])), qty) for sku, qty in wanted.items()
            )

        def fills_all(w: WarehouseOption) -> bool:
            per_sku = bins_by_wh.get(w.warehouse_id, {})
            return all(
                sum(b.left for b in per_sku.get(sku, [])) >= qty for sku, qty in wanted.items()
            )

        def serving(w: WarehouseOption) -> int:
            return serves_province(w.provinces, request.province)

        full = [w for w in options if fills_all(w)]
        if full:
            serving_full = [w for w in full if serving(w) > 0]
            if serving_full:
                best = min(
                    serving_full,
                    key=lambda w: (-serving(w), w.priority, -stock_for_order(w), w.warehouse_id),
                )
            else:
                best = min(full, key=lambda w: (-stock_for_order(w), w.priority, w.warehouse_id))
            return _fill(needs, [best], bins_by_wh)

        ranked = sorted(
            options,
            key=lambda w: (-serving(w), -stock_for_order(w), w.priority, w.warehouse_id),
        )
        if request.allow_split:
            plan = _fill(needs, ranked, bins_by_wh)
        elif ranked:
            best = min(ranked, key=lambda w: (-stock_for_order(w), -serving(w), w.priority))
            plan = _fill(needs, [best], bins_by_wh)
        else:
            plan = Plan(missing={n.line_id: n.quantity for n in needs})
        if plan.complete or request.allow_partial:
            return plan
        # All or nothing: reserve nothing, but say what is missing so the backorder is precise.
        return Plan(missing=dict(plan.missing))


def _fill(
    needs: Sequence[Need],
    ranked: Sequence[WarehouseOption],
    bins_by_wh: Mapping[int, Mapping[int, list[_Bin]]],
) -> Plan:
    """Fill each line from the ranked warehouses in turn (a line fits in one if it can)."""
    allocations: list[Allocation] = []
    missing: dict[int, int] = {}
    visited: dict[int, set[int]] = defaultdict(set)
    for need in needs:
        remaining = need.quantity

        def free(w: WarehouseOption, sku: int = need.sku_id) -> int:
            return sum(b.left for b in bins_by_wh.get(w.warehouse_id, {}).get(sku, []))

        whole = [w for w in ranked if free(w) >= remaining]
        order = [whole[0]] if whole else list(ranked)
        for w in order:
            if remaining == 0:
                break
            bins = bins_by_wh.get(w.warehouse_id, {}).get(need.sku_id, [])
            for b, take in choose_bins(bins, remaining, visited[w.warehouse_id]):
                b.left -= take
                remaining -= take
                visited[w.warehouse_id].add(b.slot.bin_id)
                allocations.append(
                    Allocation(
                        line_id=need.line_id,
                        sku_id=need.sku_id,
                        stock_id=b.slot.stock_id,
                        warehouse_id=w.warehouse_id,
                        bin_id=b.slot.bin_id,
                        quantity=take,
                    )
                )
        if remaining:
            missing[need.line_id] = remaining
    return Plan(allocations=tuple(allocations), missing=missing)


DEFAULT_STRATEGY: AllocationStrategy = DefaultStrategy()
