"""Plan the demo's warehouses and what arrives in them (库存): zones and bins, the receipts, and
what the staff do once the orders have been served (move stock down, count, set safety stock).

Pure Python, like ``orders.py``: indexes, not database ids.  It computes no stock level,
reservation, backorder or ledger row: ``seed.py`` receives the planned goods through the stock
services and the reservation loop reserves the orders, first paid first served, so those follow
the rules by construction.  What the plan decides is how much arrives where:

- every SKU is received (入库) into its home warehouse (the best-priority one; drop-ship goods
  into the supplier's, 代发仓), and into every other warehouse whose provinces order it
  (策略分仓 routes an order to the warehouse serving the receiver's province): enough for the
  orders that reach the reservation loop, plus what is left over;
- bestsellers have a pick bin and an overflow bin (补货位); part of their stock came later by a
  purchase order (采购入库) into the overflow bin, and once orders have shipped, staff move
  stock down to the pick bin (移库) and set safety stock (安全库存), some of them below it;
- for each order meant to wait for stock (缺货) one of its SKUs gets only what the orders paid
  before it take, so the loop leaves it waiting (and no order paid after it may take that SKU).
  A count (盘点) after the cancellations finds whatever they gave back of such a SKU missing:
  nothing available keeps an order waiting.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from demo.catalog import SkuDraft
from demo.orders import BEIJING, DAYS, PlannedOrder
from demo.profiles import DemoProfile, WarehouseSpec
from domain.inventory.model import MAX_BULK_ITEMS, ShopStockPolicy
from domain.shops.model import Channel

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
class PlannedReceiptLine:
    sku_index: int
    bin_index: int
    quantity: int


@dataclass(frozen=True, slots=True)
class PlannedReceipt:
    """One receipt (入库单) into one warehouse, with its reason and number."""

    warehouse_index: int
    lines: tuple[PlannedReceiptLine, ...]
    reason: str
    reference: str


@dataclass(frozen=True, slots=True)
class PlannedRestock:
    """补货: staff move stock of a bestseller down from its overflow bin to its pick bin (half
    of what is unreserved up there when they do: the loader reads it)."""

    sku_index: int
    from_bin_index: int
    to_bin_index: int


@dataclass(frozen=True, slots=True)
class PlannedSafety:
    sku_index: int
    bin_index: int
    quantity: int


@dataclass(frozen=True, slots=True)
class PlannedPolicy:
    shop_index: int
    policy: ShopStockPolicy


@dataclass(frozen=True)
class InventoryPlan:
    """Warehouse index ``len(profile.warehouses)`` is the supplier's (``all_warehouses``)."""

    zones: list[PlannedZone]
    bins: list[PlannedBin]
    #: Opening stock (期初入库) and purchases (采购入库), received before the loop runs.
    receipts: list[PlannedReceipt]
    restocks: list[PlannedRestock]
    safety: list[PlannedSafety]
    #: SKUs left short for the orders meant to wait (counted down to what is reserved).
    short_skus: frozenset[int]
    policies: list[PlannedPolicy]


def all_warehouses(profile: DemoProfile) -> tuple[WarehouseSpec, ...]:
    """The seller's warehouses, then the supplier's: the order of ``warehouse_index``."""
    return (*profile.warehouses, profile.supplier_warehouse)


def warehouse_for(province: str, warehouses: Sequence[WarehouseSpec]) -> WarehouseSpec:
    """策略分仓 as the default strategy sees it when every warehouse can fill the order: the
    best-priority warehouse listing the province, else the best overall."""
    ranked = sorted(warehouses, key=lambda w: w.priority)
    return next((w for w in ranked if province in w.provinces), ranked[0])


def _route(profile: DemoProfile, order: PlannedOrder) -> int:
    if order.drop_ship:
        return len(profile.warehouses)
    chosen = warehouse_for(order.province, profile.warehouses)
    return profile.warehouses.index(chosen)


# -- who waits for what --------------------------------------------------------------------------
#: An order's place in the reservation queue: paid time, then insertion order (its id's order).
_QueueKey = tuple[datetime, int]


#: A waiting order blocks its short SKU for every order paid after it (first paid, first
#: served): at most this many such orders may wait behind it, else it is not made to wait.
MAX_WAITING_BEHIND = 2


def _short_skus(orders: Sequence[PlannedOrder], reaching: Sequence[int]) -> dict[int, _QueueKey]:
    """For orders meant to wait, one SKU each to leave short, with the queue place of the first
    order that waits for it: everything paid before that gets the SKU, nothing after.

    While an order waits for a SKU, no order paid after it may take that SKU, so the SKU is the
    one fewest later orders want (at most ``MAX_WAITING_BEHIND``; an order without such a SKU is
    not made to wait); then one that sold before (it was in stock once), then the slowest
    seller, so bestsellers stay in stock.
    """
    key = {i: (orders[i].paid_at, i) for i in reaching}
    queue = sorted(reaching, key=key.__getitem__)
    sold: dict[int, int] = defaultdict(int)
    wanted_at: dict[int, list[int]] = defaultdict(list)  # queue positions, ascending
    for position, i in enumerate(queue):
        for line in orders[i].lines:
            sold[line.sku_index] += line.quantity
            if not orders[i].waits:
                wanted_at[line.sku_index].append(position)
    short: dict[int, _QueueKey] = {}
    for position, i in enumerate(queue):
        order = orders[i]
        skus = [line.sku_index for line in order.lines]
        if not order.waits or short.keys() & set(skus):
            continue

        def behind(sku: int, position: int = position) -> int:
            return len(wanted_at[sku]) - bisect_right(wanted_at[sku], position)

        def sold_before(sku: int, position: int = position) -> bool:
            return bisect_right(wanted_at[sku], position) > 0

        chosen = min(skus, key=lambda s: (behind(s), not sold_before(s), sold[s], s))
        if behind(chosen) <= MAX_WAITING_BEHIND:
            short[chosen] = key[i]
    return short


# -- per (SKU, warehouse): how much arrives ------------------------------------------------------
@dataclass
class _Group:
    """The stock of one SKU in one warehouse: one or two bins (pick bin first on the walk)."""

    sku: int
    warehouse: int
    #: Units the orders reaching the loop take from here (for a short SKU: those paid before
    #: the first waiting order).
    used: int = 0
    slots: int = 1
    safety: int = 0
    running_low: bool = False
    #: How it arrives: opening stock per slot, and a purchase (slot, units) if any.
    opening: list[tuple[int, int]] = field(default_factory=list)
    purchase: tuple[int, int] | None = None
    #: Bin index of each slot, once laid out.
    bins: dict[int, int] = field(default_factory=dict)


def _groups(
    profile: DemoProfile,
    skus: Sequence[SkuDraft],
    orders: Sequence[PlannedOrder],
    reaching: Sequence[int],
    short: dict[int, _QueueKey],
) -> dict[tuple[int, int], _Group]:
    supplier = len(profile.warehouses)
    home = min(range(supplier), key=lambda i: profile.warehouses[i].priority)
    groups: dict[tuple[int, int], _Group] = {}
    for sku_index, sku in enumerate(skus):
        warehouse = supplier if sku.drop_ship else home
        groups[(sku_index, warehouse)] = _Group(sku_index, warehouse)
    for i in reaching:
        order = orders[i]
        warehouse = _route(profile, order)
        for line in order.lines:
            group = groups.setdefault(
                (line.sku_index, warehouse), _Group(line.sku_index, warehouse)
            )
            cutoff = short.get(line.sku_index)
            if cutoff is None or (order.paid_at, i) < cutoff:
                group.used += line.quantity
    return groups


def _size(
    groups: dict[tuple[int, int], _Group],
    skus: Sequence[SkuDraft],
    short: dict[int, _QueueKey],
    supplier: int,
    rng: random.Random,
) -> None:
    """Per group: safety stock, one or two bins, what is left over, and how the total arrives
    (opening stock, and for some a purchase later)."""
    sold_by_sku: dict[int, int] = defaultdict(int)
    for group in groups.values():
        sold_by_sku[group.sku] += group.used
    ranked = sorted(
        (
            sku
            for sku, units in sold_by_sku.items()
            if units > 0 and not skus[sku].drop_ship and sku not in short
        ),
        key=lambda sku: (-sold_by_sku[sku], sku),
    )
    bestsellers = {sku: rank for rank, sku in enumerate(ranked[: max(3, len(ranked) // 15)])}
    for key in sorted(groups):
        group = groups[key]
        used = group.used
        heavy = skus[group.sku].weight_g >= HEAVY_G
        rank = bestsellers.get(group.sku)
        if rank is not None and used > 0:
            group.safety = max(2, math.ceil(used * SAFETY_DAYS / DAYS))
        if group.sku in short:
            left = 0
        elif group.safety and rank is not None and rank % 4 == 0:
            group.running_low = True  # selling out: less left over than its safety stock
            left = rng.randint(0, group.safety - 1)
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
        total = used + left
        if rank is not None and used >= 8 and group.warehouse != supplier:
            group.slots = 2  # a bestseller also has an overflow bin (补货位)
        bought = group.sku not in short and used >= 12 and rng.random() < 0.7
        first = max(group.slots, round(total * rng.uniform(0.4, 0.7))) if bought else total
        if group.slots == 2:
            pick = max(1, round(first * 0.6))
            group.opening = [(0, pick), (1, first - pick)]
        else:
            group.opening = [(0, first)]
        if first < total:  # a purchase goes to the overflow bin when there is one
            group.purchase = (group.slots - 1, total - first)


# -- layout: zones and bins with their place on the pick walk -----------------------------------
def _layout(
    profile: DemoProfile, skus: Sequence[SkuDraft], groups: dict[tuple[int, int], _Group]
) -> tuple[list[PlannedZone], list[PlannedBin]]:
    """Zones and bins of each warehouse, and each group's bins (``_Group.bins``).

    Shelving bins hold up to three SKUs of one product (sizes side by side), pallet places two;
    overflow bins come after the pick bins on the walk, and each zone is rounded up to whole
    aisles with at least one bin to spare, so there are free bins to receive into.  The
    supplier's warehouse has one bin per product.  Bin codes are zone-aisle-shelf-level
    (``A-03-2-1``); the walk snakes through the aisles (odd ones up, even ones down).
    """
    zones: list[PlannedZone] = []
    bins: list[PlannedBin] = []
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
                group.bins[0] = product_bin[product]
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
            aisles = math.ceil((len(places) + 1) / per_aisle)  # at least one bin free
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
                for group, slot in places[n] if n < len(places) else ():
                    group.bins[slot] = len(bins) - 1
    return zones, bins


def _receipts(
    groups: dict[tuple[int, int], _Group], supplier: int, rng: random.Random, now: datetime
) -> list[PlannedReceipt]:
    """期初入库 per warehouse the day before the month, then one purchase order (采购入库) per
    warehouse that bought more during the month."""
    opening: dict[int, list[PlannedReceiptLine]] = defaultdict(list)
    purchases: dict[int, list[PlannedReceiptLine]] = defaultdict(list)
    for key in sorted(groups):
        group = groups[key]
        for slot, units in group.opening:
            if units > 0:
                opening[group.warehouse].append(
                    PlannedReceiptLine(group.sku, group.bins[slot], units)
                )
        if group.purchase is not None:
            slot, units = group.purchase
            purchases[group.warehouse].append(
                PlannedReceiptLine(group.sku, group.bins[slot], units)
            )
    opened = (now - timedelta(days=DAYS + 1)).astimezone(BEIJING).date()
    receipts: list[PlannedReceipt] = []
    for warehouse in sorted(opening):
        reason = "供应商期初库存" if warehouse == supplier else "期初入库"
        reference = f"QC{opened:%Y%m%d}-{warehouse + 1:02d}"
        receipts += _in_parts(warehouse, opening[warehouse], reason, reference)
    for number, warehouse in enumerate(sorted(purchases), start=1):
        day = opened + timedelta(days=rng.randint(8, 24))
        reason = "供应商补货" if warehouse == supplier else "采购入库"
        reference = f"PO{day:%Y%m%d}{number:04d}"
        receipts += _in_parts(warehouse, purchases[warehouse], reason, reference)
    return receipts


def _in_parts(
    warehouse: int, lines: Sequence[PlannedReceiptLine], reason: str, reference: str
) -> list[PlannedReceipt]:
    """A receipt in parts of at most ``MAX_BULK_ITEMS`` lines (the most one receipt takes),
    all under the same number."""
    return [
        PlannedReceipt(warehouse, tuple(lines[i : i + MAX_BULK_ITEMS]), reason, reference)
        for i in range(0, len(lines), MAX_BULK_ITEMS)
    ]


def plan_inventory(
    profile: DemoProfile,
    skus: Sequence[SkuDraft],
    orders: Sequence[PlannedOrder],
    *,
    seed: int,
    now: datetime,
) -> InventoryPlan:
    """The warehouses and goods behind ``orders`` (planned for ``profile`` up to ``now``): the
    same for the same seed, from a random stream of its own so that the orders stay as they
    were."""
    rng = random.Random(f"orderflow-demo-stock:{seed}:{profile.slug}")
    supplier = len(profile.warehouses)
    reaching = [i for i, order in enumerate(orders) if order.reaches_loop]
    short = _short_skus(orders, reaching)
    groups = _groups(profile, skus, orders, reaching, short)
    _size(groups, skus, short, supplier, rng)
    zones, bins = _layout(profile, skus, groups)
    receipts = _receipts(groups, supplier, rng, now)
    ordered = [groups[key] for key in sorted(groups)]
    restocks = [
        PlannedRestock(g.sku, g.bins[1], g.bins[0])
        for g in ordered
        if g.slots == 2 and not g.running_low
    ]
    # On the pick bin: the one staff watch, and where a bestseller selling out runs dry first.
    safety = [PlannedSafety(g.sku, g.bins[0], g.safety) for g in ordered if g.safety]
    policies = [
        PlannedPolicy(i, POLICIES[shop.channel])
        for i, shop in enumerate(profile.shops)
        if shop.channel in POLICIES
    ]
    return InventoryPlan(zones, bins, receipts, restocks, safety, frozenset(short), policies)
