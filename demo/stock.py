"""Plan the demo's inventory (库存): zones, bins, stock and the month of stock ledger behind it.

Pure Python, like ``orders.py``: it reads the planned catalog and orders and returns plain data
(indexes, not database ids); ``seed.py`` turns it into rows.  The plan is what the services of
``domain.inventory`` would have written had they run through the month:

- every unit arrived by a receipt (入库, ``RECEIVE``) into a bin, before the orders that took it:
  期初入库 the day before the month, 采购入库 into the overflow bin (补货位) when a bestseller was
  about to run out;
- an order was reserved (``RESERVE``) when its history says so, from the warehouse its history
  names (``orders.warehouse_for``; drop-ship goods from the supplier's warehouse, 代发仓), one bin
  holding the whole line when there is one, first on the pick walk, else the fullest bins first,
  the way ``domain.inventory.strategy.choose_bins`` takes them; when a bestseller's pick bin ran
  short, staff first moved stock down from its overflow bin (移库, ``TRANSFER_OUT``/``_IN``);
- shipped orders committed their reservations (``COMMIT``: on hand and reserved both drop);
  orders cancelled after reservation released them (``RELEASE``);
- an order waiting for stock (BACKORDERED) has a waiting backorder per short line, and a SKU
  somebody waits for has nothing available in any warehouse, or the backorder sweep would
  reserve it at once (all-or-nothing: the order's other lines need not be short);
- safety stock (安全库存) has no ledger row in the model; it is set on the bestsellers' fullest bin
  at the end of the month, so some of them now sit below it.

So every stock row's ledger replays to its on_hand and reserved, its reserved equals its active
reservations, ``reserved <= on_hand`` at every step, and ``domain.inventory.reconcile`` finds no
drift.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import accumulate
from typing import Any

from demo.catalog import SkuDraft
from demo.orders import BEIJING, DAYS, PlannedOrder, PlannedStep, warehouse_for
from demo.profiles import DemoProfile, WarehouseSpec
from domain.accounts.model import Role
from domain.inventory.model import LedgerKind, ReservationStatus, ShopStockPolicy
from domain.orders.model import OrderStatus
from domain.shops.model import Channel

S = OrderStatus
#: The loader's name on the ledger rows no demo user made (receipts).  Reservations, shipments,
#: cancellations, moves and counts carry the actor of the order step or the warehouse user.
LOADER_ACTOR = "demo-loader"
#: Orders in these statuses hold reservations; shipped ones have committed theirs.
HOLDING = frozenset({S.RESERVED, S.IN_WAVE, S.PICKED, S.PACKED})
SHIPPED = frozenset({S.SHIPPED, S.DELIVERED, S.AFTER_SALE})
#: What the model's services write as the ledger reason / reservation close reason.
RESERVE_REASON = "order reservation"
COMMIT_REASON = "shipped"
RELEASE_PREFIX = "cancelled: "  # + the cancellation reason (domain.orders.service.cancel_order)
#: SKUs at least this heavy (grams, packed) live in the heavy-goods zone.
HEAVY_G = 900
#: Safety stock of a bestseller: this many days of its month's sales in that warehouse.
SAFETY_DAYS = 3

#: Each warehouse's zones: (code, name, walk order); shelving, heavy goods, returns.
ZONES = (("A", "货架区", 1), ("B", "重货区", 2), ("C", "退货区", 3))
SUPPLIER_ZONE = ("V", "供应商库存", 1)
#: Bin grid: shelving aisles hold 4 shelves x 3 levels, heavy-goods aisles 4 pallet places x 2.
_SHELVES = {"A": (4, 3), "B": (4, 2)}
_ROWS_PER_BIN = {"A": 3, "B": 2}
_RETURN_BINS = 4

#: Shop stock-sync policies by channel (库存同步): a share of available stock, an optional cap
#: per SKU, and whether reservations may split an order across warehouses.  No row: 100 %.
POLICIES: dict[Channel, ShopStockPolicy] = {
    Channel.TMALL: ShopStockPolicy(ratio_percent=100, allow_split=True),
    Channel.TAOBAO: ShopStockPolicy(ratio_percent=100),
    Channel.JD: ShopStockPolicy(ratio_percent=100, allow_split=True),
    Channel.PDD: ShopStockPolicy(ratio_percent=80),
    Channel.DOUYIN: ShopStockPolicy(ratio_percent=60, cap=50),
}


@dataclass(frozen=True, slots=True)
class PlannedZone:
    warehouse_index: int
    code: str
    name: str
    walk_order: int


@dataclass(frozen=True, slots=True)
class PlannedBin:
    warehouse_index: int
    zone_index: int
    code: str
    walk_seq: int


@dataclass(frozen=True, slots=True)
class PlannedStock:
    sku_index: int
    warehouse_index: int
    bin_index: int
    on_hand: int
    reserved: int
    safety: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PlannedReservation:
    order_index: int
    line_index: int
    stock_index: int
    quantity: int
    status: ReservationStatus
    created_at: datetime
    closed_at: datetime | None
    close_reason: str


@dataclass(frozen=True, slots=True)
class PlannedMovement:
    """One stock ledger row (库存流水); ``actor_role`` set means a demo user made the change."""

    stock_index: int
    kind: LedgerKind
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    at: datetime
    reason: str
    reference: str = ""
    order_index: int | None = None
    line_index: int | None = None
    reservation_index: int | None = None
    actor_role: Role | None = None
    actor_label: str = LOADER_ACTOR


@dataclass(frozen=True, slots=True)
class PlannedBackorder:
    order_index: int
    line_index: int
    sku_index: int
    quantity: int
    paid_at: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class PlannedPolicy:
    shop_index: int
    policy: ShopStockPolicy


@dataclass(frozen=True)
class InventoryPlan:
    """Warehouse index ``len(profile.warehouses)`` is the supplier's (``supplier_warehouse``)."""

    zones: list[PlannedZone]
    bins: list[PlannedBin]
    stock: list[PlannedStock]
    reservations: list[PlannedReservation]
    ledger: list[PlannedMovement]
    backorders: list[PlannedBackorder]
    policies: list[PlannedPolicy]
    #: When the warehouses were set up and first stocked: the day before the month of orders.
    opened: datetime


def all_warehouses(profile: DemoProfile) -> tuple[WarehouseSpec, ...]:
    """The seller's warehouses, then the supplier's: the order of ``warehouse_index``."""
    return (*profile.warehouses, profile.supplier_warehouse)


# -- what the orders did with stock ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Use:
    """One order's use of stock: reserved at ``reserve``, then shipped or cancelled at ``end``."""

    order_index: int
    warehouse: int
    reserve: PlannedStep
    end: PlannedStep | None
    shipped: bool


def _step(order: PlannedOrder, status: OrderStatus) -> PlannedStep | None:
    return next((s for s in order.history if s.to_status is status), None)


def _uses(profile: DemoProfile, orders: Sequence[PlannedOrder]) -> list[_Use]:
    supplier = len(profile.warehouses)
    index_of = {w.code: i for i, w in enumerate(profile.warehouses)}
    uses = []
    for i, order in enumerate(orders):
        reserve = _step(order, S.RESERVED)
        if reserve is None:
            if order.status in HOLDING or order.status in SHIPPED:
                raise ValueError(f"order {order.external_id} ({order.status}) was never reserved")
            continue
        if order.status in HOLDING:
            end, shipped = None, False
        elif order.status in SHIPPED:
            end, shipped = _step(order, S.SHIPPED), True
        elif order.status is S.CANCELLED:
            end, shipped = order.history[-1], False
        else:  # reserved once, then held or short again: not planned by orders.py
            raise ValueError(f"order {order.external_id} lost its reservation ({order.status})")
        warehouse = (
            supplier
            if order.drop_ship
            else index_of[warehouse_for(order.province, profile.warehouses).code]
        )
        uses.append(_Use(i, warehouse, reserve, end, shipped))
    return uses


# -- per (SKU, warehouse): how much stock and when it came ---------------------------------------
@dataclass
class _Group:
    """The stock of one SKU in one warehouse: one or two bins (pick bin first on the walk)."""

    sku: int
    warehouse: int
    #: (time, +units reserved / -units released), in time order.
    moves: list[tuple[datetime, int]] = field(default_factory=list)
    sold_out: bool = False
    slots: int = 1
    safety: int = 0
    #: Receipts: (time, slot, units, reason, reference).
    receipts: list[tuple[datetime, int, int, str, str]] = field(default_factory=list)
    #: A stock count (盘点) correcting the pick bin at the end: (time, units).
    adjust: tuple[datetime, int] | None = None
    #: Stock row index of each slot, once laid out.
    rows: dict[int, int] = field(default_factory=dict)

    @property
    def used(self) -> int:
        """Units reserved and not released over the month (shipped or still held)."""
        return sum(units for _, units in self.moves)

    @property
    def peak(self) -> int:
        """The most units ever taken at once: what receipts must have covered."""
        return max(accumulate((units for _, units in self.moves), initial=0))


def _backorders(
    orders: Sequence[PlannedOrder], uses: Sequence[_Use]
) -> tuple[list[PlannedBackorder], set[int]]:
    """Waiting backorders of the BACKORDERED orders, and the SKUs they wait for (sold out).

    Each waiting order needs one SKU with nothing available; the SKU chosen is one that nobody
    reserved after the order started waiting (else that stock would have gone to it, first paid
    first served), and among those the one selling least, so bestsellers stay in stock.
    """
    last_move: dict[int, datetime] = {}
    sold: dict[int, int] = defaultdict(int)
    for use in uses:
        order = orders[use.order_index]
        at = use.end.at if use.end is not None and not use.shipped else use.reserve.at
        for line in order.lines:
            last_move[line.sku_index] = max(last_move.get(line.sku_index, at), at)
            sold[line.sku_index] += line.quantity
    waiting = [
        (i, order, [s for s in order.history if s.to_status is S.BACKORDERED][-1])
        for i, order in enumerate(orders)
        if order.status is S.BACKORDERED
    ]
    sold_out: set[int] = set()
    for _, order, since in waiting:
        skus = [line.sku_index for line in order.lines]
        if sold_out.intersection(skus):
            continue
        quiet = [s for s in skus if s not in last_move or last_move[s] < since.at]
        sold_out.add(min(quiet or skus, key=lambda s: (sold[s], last_move.get(s, since.at), s)))
    backorders = [
        PlannedBackorder(i, n, line.sku_index, line.quantity, order.paid_at, since.at)
        for i, order, since in sorted(waiting, key=lambda w: (w[1].paid_at, w[0]))
        for n, line in enumerate(order.lines)
        if line.sku_index in sold_out
    ]
    return backorders, sold_out


def _groups(
    profile: DemoProfile,
    skus: Sequence[SkuDraft],
    orders: Sequence[PlannedOrder],
    uses: Sequence[_Use],
    sold_out: set[int],
) -> dict[tuple[int, int], _Group]:
    """Every SKU in its home warehouse (the best-priority one; drop-ship: the supplier's), and in
    every other warehouse that shipped or reserved it this month."""
    supplier = len(profile.warehouses)
    home = min(range(supplier), key=lambda i: profile.warehouses[i].priority)
    groups: dict[tuple[int, int], _Group] = {}
    for sku_index, sku in enumerate(skus):
        warehouse = supplier if sku.drop_ship else home
        groups[(sku_index, warehouse)] = _Group(sku_index, warehouse)
    for use in uses:
        order = orders[use.order_index]
        for line in order.lines:
            group = groups.setdefault(
                (line.sku_index, use.warehouse), _Group(line.sku_index, use.warehouse)
            )
            group.moves.append((use.reserve.at, line.quantity))
            if use.end is not None and not use.shipped:
                group.moves.append((use.end.at, -line.quantity))
    for group in groups.values():
        group.moves.sort()
        group.sold_out = group.sku in sold_out
    return groups


def _plan_receipts(
    groups: dict[tuple[int, int], _Group],
    skus: Sequence[SkuDraft],
    supplier: int,
    rng: random.Random,
    opened: datetime,
    now: datetime,
) -> None:
    """Choose bins per group, safety stock, what is left at the end, and the receipts for it."""
    sold_by_sku: dict[int, int] = defaultdict(int)
    for group in groups.values():
        sold_by_sku[group.sku] += group.used
    ranked = sorted(
        (sku for sku, units in sold_by_sku.items() if units > 0 and not skus[sku].drop_ship),
        key=lambda sku: (-sold_by_sku[sku], sku),
    )
    bestsellers = {sku: rank for rank, sku in enumerate(ranked[: max(3, len(ranked) // 15)])}
    purchase_orders = 0
    for key in sorted(groups):
        group = groups[key]
        used, peak = group.used, group.peak
        heavy = skus[group.sku].weight_g >= HEAVY_G
        rank = bestsellers.get(group.sku)
        if rank is not None and used > 0:
            group.safety = max(2, math.ceil(used * SAFETY_DAYS / DAYS))
        if group.sold_out:
            left = 0
        elif group.safety and rank is not None and rank % 4 == 0:
            left = rng.randint(0, group.safety - 1)  # a bestseller running low: below safety
        elif group.safety:
            left = group.safety + round(used * rng.uniform(0.3, 1.0)) + rng.randint(0, 5)
        elif group.warehouse == supplier:
            left = rng.randint(30, 200)  # the supplier's shelves, not ours
        elif used == 0:
            left = rng.randint(2, 12) if heavy else rng.randint(6, 40)
        elif rng.random() < 0.05:
            left = rng.randint(0, 3)  # nearly sold out, nobody waiting yet
        else:
            left = round(used * rng.uniform(0.5, 1.5)) + rng.randint(3, 12)
        total = peak + left
        if rank is not None and used >= 8 and not group.sold_out and group.warehouse != supplier:
            group.slots = 2  # a bestseller also has an overflow bin (补货位)
        if total == 0:
            continue
        restock = not group.sold_out and peak >= 12 and rng.random() < 0.7
        first = max(group.slots, round(total * rng.uniform(0.4, 0.7))) if restock else total
        reference = f"QC{opened.astimezone(BEIJING):%Y%m%d}-{group.warehouse + 1:02d}"
        reason = "供应商期初库存" if group.warehouse == supplier else "期初入库"
        at = opened + timedelta(seconds=7 * (group.sku + 1))  # one receiving session
        if group.slots == 2:
            pick = max(1, round(first * 0.6))
            group.receipts.append((at, 0, pick, reason, reference))
            group.receipts.append((at + timedelta(seconds=1), 1, first - pick, reason, reference))
        else:
            group.receipts.append((at, 0, first, reason, reference))
        if first < total:
            purchase_orders += 1
            arrives = _restock_time(group, first, rng, opened, now)
            group.receipts.append(
                (
                    arrives,
                    group.slots - 1,  # a purchase goes to the overflow bin when there is one
                    total - first,
                    "供应商补货" if group.warehouse == supplier else "采购入库",
                    f"PO{arrives.astimezone(BEIJING):%Y%m%d}{purchase_orders:04d}",
                )
            )
        if group.sold_out and peak > used:
            # Units released after the peak: the count that followed found them missing, so
            # nothing is available for the orders waiting.
            last = group.moves[-1][0]
            group.adjust = (last + (now - last) * rng.uniform(0.2, 0.6), used - peak)


def _restock_time(
    group: _Group, first: int, rng: random.Random, opened: datetime, now: datetime
) -> datetime:
    """When the purchase arrived: before the first reservation that ``first`` units could not
    cover (after the move before it), else some day in the month."""
    taken = 0
    previous = opened
    for at, units in group.moves:
        taken += units
        if taken > first:
            return previous + (at - previous) * rng.uniform(0.2, 0.9)
        previous = at
    return min(now - timedelta(hours=1), opened + timedelta(days=rng.uniform(8, 24)))


# -- layout: zones and bins with their place on the pick walk -----------------------------------
def _layout(
    profile: DemoProfile, skus: Sequence[SkuDraft], groups: dict[tuple[int, int], _Group]
) -> tuple[list[PlannedZone], list[PlannedBin], list[tuple[_Group, int, int]]]:
    """Zones and bins of each warehouse, and the stock rows ``(group, slot, bin)`` in walk order.

    Shelving bins hold up to three SKUs of one product (sizes side by side), pallet places two;
    overflow bins come after the pick bins on the walk, and each zone is rounded up to whole
    aisles, so there are free bins to receive into.  The supplier's warehouse has one bin per
    product.  Bin codes are zone-aisle-shelf-level (``A-03-2-1``); the walk snakes through the
    aisles (odd ones up, even ones down).
    """
    zones: list[PlannedZone] = []
    bins: list[PlannedBin] = []
    rows: list[tuple[_Group, int, int]] = []
    supplier = len(profile.warehouses)
    for warehouse in range(supplier + 1):
        mine = sorted((g for g in groups.values() if g.warehouse == warehouse), key=lambda g: g.sku)
        walk = 0
        if warehouse == supplier:
            code, name, order = SUPPLIER_ZONE
            zones.append(PlannedZone(warehouse, code, name, order))
            product_bin: dict[int, int] = {}
            for group in mine:
                product = skus[group.sku].product_index
                if product not in product_bin:
                    walk += 10
                    product_bin[product] = len(bins)
                    bins.append(
                        PlannedBin(warehouse, len(zones) - 1, f"V-{len(product_bin):02d}", walk)
                    )
                rows.append((group, 0, product_bin[product]))
            continue
        for code, name, order in ZONES:
            zones.append(PlannedZone(warehouse, code, name, order))
            zone = len(zones) - 1
            if code == "C":
                for n in range(_RETURN_BINS):
                    walk += 10
                    bins.append(PlannedBin(warehouse, zone, f"C-01-{n // 2 + 1}-{n % 2 + 1}", walk))
                continue
            heavy = code == "B"
            here = [g for g in mine if (skus[g.sku].weight_g >= HEAVY_G) is heavy]
            # Pick bins: consecutive SKUs of one product share a bin; then one overflow bin each.
            places: list[list[tuple[_Group, int]]] = []
            for group in here:
                last = places[-1] if places else None
                if (
                    last is None
                    or len(last) == _ROWS_PER_BIN[code]
                    or skus[last[0][0].sku].product_index != skus[group.sku].product_index
                ):
                    places.append([])
                places[-1].append((group, 0))
            places += [[(g, 1)] for g in here if g.slots == 2]
            shelves, levels = _SHELVES[code]
            per_aisle = shelves * levels
            aisles = max(1, math.ceil(len(places) / per_aisle))
            for n in range(aisles * per_aisle):
                aisle, spot = divmod(n, per_aisle)
                shelf, level = divmod(spot, levels)
                if aisle % 2:  # the walk comes back down every second aisle
                    shelf = shelves - 1 - shelf
                walk += 10
                bins.append(
                    PlannedBin(
                        warehouse, zone, f"{code}-{aisle + 1:02d}-{shelf + 1}-{level + 1}", walk
                    )
                )
                if n < len(places):
                    rows += [(group, slot, len(bins) - 1) for group, slot in places[n]]
    return zones, bins, rows


# -- the month, replayed ------------------------------------------------------------------------
@dataclass
class _Row:
    sku: int
    warehouse: int
    bin: int
    on_hand: int = 0
    reserved: int = 0
    changed: datetime | None = None


class _Replay:
    """Apply the month's events in time order, writing ledger rows and reservations."""

    def __init__(self, rows: list[_Row]) -> None:
        self.rows = rows
        self.ledger: list[PlannedMovement] = []
        self.reservations: list[PlannedReservation] = []
        self.of_order: dict[int, list[int]] = defaultdict(list)

    def _move(
        self, row_index: int, kind: LedgerKind, on_hand: int, reserved: int, at: datetime, **kw: Any
    ) -> None:
        row = self.rows[row_index]
        row.on_hand += on_hand
        row.reserved += reserved
        row.changed = at
        if row.on_hand < 0 or row.reserved < 0 or row.reserved > row.on_hand:
            raise RuntimeError(f"demo stock plan broke a stock row: {row} after {kind}")
        self.ledger.append(
            PlannedMovement(row_index, kind, on_hand, reserved, row.on_hand, row.reserved, at, **kw)
        )

    def receive(
        self, row_index: int, units: int, at: datetime, reason: str, reference: str
    ) -> None:
        self._move(row_index, LedgerKind.RECEIVE, units, 0, at, reason=reason, reference=reference)

    def adjust(self, row_index: int, units: int, at: datetime) -> None:
        self._move(
            row_index,
            LedgerKind.ADJUST,
            units,
            0,
            at,
            reason="盘点: 实物短缺, 按实盘数调整",
            actor_role=Role.WAREHOUSE,
            actor_label="",
        )

    def reserve(
        self, use: _Use, order: PlannedOrder, groups: dict[tuple[int, int], _Group]
    ) -> None:
        step = use.reserve
        for line_index, line in enumerate(order.lines):
            slots = groups[(line.sku_index, use.warehouse)].rows
            group_rows = [slots[n] for n in sorted(slots)]  # pick bin, then overflow
            if len(group_rows) == 2:
                self._replenish(group_rows[0], group_rows[1], line.quantity, step.at)
            for row_index, units in self._choose(group_rows, line.quantity):
                self.of_order[use.order_index].append(len(self.reservations))
                self.reservations.append(
                    PlannedReservation(
                        use.order_index,
                        line_index,
                        row_index,
                        units,
                        ReservationStatus.ACTIVE,
                        step.at,
                        None,
                        "",
                    )
                )
                self._move(
                    row_index,
                    LedgerKind.RESERVE,
                    0,
                    units,
                    step.at,
                    reason=RESERVE_REASON,
                    order_index=use.order_index,
                    line_index=line_index,
                    reservation_index=len(self.reservations) - 1,
                    actor_role=step.actor_role,
                    actor_label=step.actor_label,
                )

    def free(self, row_index: int) -> int:
        return self.rows[row_index].on_hand - self.rows[row_index].reserved

    def _replenish(self, pick: int, overflow: int, units: int, at: datetime) -> None:
        """补货: when the pick bin cannot hold a line, staff move stock down from the overflow
        bin first (移库), at least what is missing and at least half of what is up there."""
        missing = units - self.free(pick)
        spare = self.free(overflow)
        if missing <= 0 or spare <= 0:
            return
        moved = min(spare, max(missing, math.ceil(spare / 2)))
        for row_index, kind, units_moved in (
            (overflow, LedgerKind.TRANSFER_OUT, -moved),
            (pick, LedgerKind.TRANSFER_IN, moved),
        ):
            self._move(
                row_index,
                kind,
                units_moved,
                0,
                at,
                reason="补货: 备货位移至拣货位",
                actor_role=Role.WAREHOUSE,
                actor_label="",
            )

    def _choose(self, row_indexes: Sequence[int], units: int) -> list[tuple[int, int]]:
        """One bin holding the whole line, first on the walk; else the fullest bins first."""
        free = {i: self.free(i) for i in row_indexes}
        whole = [i for i in row_indexes if free[i] >= units]
        if whole:
            return [(whole[0], units)]
        taken: list[tuple[int, int]] = []
        for i in sorted(row_indexes, key=lambda i: -free[i]):
            take = min(free[i], units)
            if take > 0:
                taken.append((i, take))
                units -= take
        if units:
            raise RuntimeError("demo stock plan does not cover a reservation")
        return taken

    def close(self, use: _Use) -> None:
        step = use.end
        assert step is not None
        kind = LedgerKind.COMMIT if use.shipped else LedgerKind.RELEASE
        status = ReservationStatus.COMMITTED if use.shipped else ReservationStatus.RELEASED
        reason = COMMIT_REASON if use.shipped else f"{RELEASE_PREFIX}{step.reason}"
        for index in self.of_order[use.order_index]:
            held = self.reservations[index]
            self.reservations[index] = PlannedReservation(
                held.order_index,
                held.line_index,
                held.stock_index,
                held.quantity,
                status,
                held.created_at,
                step.at,
                reason,
            )
            self._move(
                held.stock_index,
                kind,
                -held.quantity if use.shipped else 0,
                -held.quantity,
                step.at,
                reason=reason,
                order_index=held.order_index,
                line_index=held.line_index,
                reservation_index=index,
                actor_role=step.actor_role,
                actor_label=step.actor_label,
            )


@dataclass(frozen=True, slots=True)
class _Receipt:
    row: int
    units: int
    reason: str
    reference: str


@dataclass(frozen=True, slots=True)
class _Count:
    row: int
    units: int


@dataclass(frozen=True, slots=True)
class _Reserve:
    use: _Use


@dataclass(frozen=True, slots=True)
class _Close:
    use: _Use


_Event = _Receipt | _Count | _Reserve | _Close
#: At the same instant: goods arrive, then orders reserve, then ship or cancel, then counts.
_SAME_TIME_ORDER = {_Receipt: 0, _Reserve: 1, _Close: 2, _Count: 3}


def plan_inventory(
    profile: DemoProfile,
    skus: Sequence[SkuDraft],
    orders: Sequence[PlannedOrder],
    *,
    seed: int,
    now: datetime,
) -> InventoryPlan:
    """The inventory behind ``orders`` (planned for ``profile`` up to ``now``): the same for the
    same seed, from a random stream of its own so that the orders stay as they were."""
    rng = random.Random(f"orderflow-demo-stock:{seed}:{profile.slug}")
    supplier = len(profile.warehouses)
    day_before = (now - timedelta(days=DAYS + 1)).astimezone(BEIJING).date()
    opened = datetime.combine(day_before, time(9), tzinfo=BEIJING)

    uses = _uses(profile, orders)
    backorders, sold_out = _backorders(orders, uses)
    groups = _groups(profile, skus, orders, uses, sold_out)
    _plan_receipts(groups, skus, supplier, rng, opened, now)
    zones, bins, placed = _layout(profile, skus, groups)

    rows: list[_Row] = []
    for group, slot, bin_index in placed:
        group.rows[slot] = len(rows)
        rows.append(_Row(group.sku, group.warehouse, bin_index))

    events: list[tuple[datetime, _Event]] = []
    for key in sorted(groups):
        group = groups[key]
        for at, slot, units, reason, reference in group.receipts:
            events.append((at, _Receipt(group.rows[slot], units, reason, reference)))
        if group.adjust is not None:
            events.append((group.adjust[0], _Count(group.rows[0], group.adjust[1])))
    for use in uses:
        events.append((use.reserve.at, _Reserve(use)))
        if use.end is not None:
            events.append((use.end.at, _Close(use)))
    events.sort(key=lambda e: (e[0], _SAME_TIME_ORDER[type(e[1])]))  # stable otherwise

    replay = _Replay(rows)
    for at, event in events:
        if isinstance(event, _Receipt):
            replay.receive(event.row, event.units, at, event.reason, event.reference)
        elif isinstance(event, _Count):
            replay.adjust(event.row, event.units, at)
        elif isinstance(event, _Reserve):
            replay.reserve(event.use, orders[event.use.order_index], groups)
        else:
            replay.close(event.use)

    # Set now, on the bin that holds most of the SKU there (the one staff would watch).
    safety = {
        max(group.rows.values(), key=lambda i: (replay.free(i), -i)): group.safety
        for group in groups.values()
        if group.safety
    }
    stock = [
        PlannedStock(
            row.sku,
            row.warehouse,
            row.bin,
            row.on_hand,
            row.reserved,
            safety.get(i, 0),
            row.changed or opened,
        )
        for i, row in enumerate(rows)
    ]
    policies = [
        PlannedPolicy(i, POLICIES[shop.channel])
        for i, shop in enumerate(profile.shops)
        if shop.channel in POLICIES
    ]
    return InventoryPlan(
        zones, bins, stock, replay.reservations, replay.ledger, backorders, policies, opened
    )
