"""The demo's stock plan: receipts that let the reservation loop serve every order not meant to
wait, short SKUs that make the ones meant to wait wait (and few others behind them), a plausible
warehouse layout, determinism.  What the loop and the services then write is checked against
real PostgreSQL in tests/integration/test_demo_seed.py."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from functools import cache

import pytest

from demo.orders import OrganizationPlan, plan_organization
from demo.profiles import DEMO, DEMO2, DemoProfile
from demo.stock import (
    MAX_WAITING_BEHIND,
    InventoryPlan,
    all_warehouses,
    plan_inventory,
    warehouse_for,
)
from domain.inventory.model import MAX_BULK_ITEMS, check_bin_code, check_zone_code
from domain.shops.model import Channel

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PROFILES = {"demo": DEMO, "demo2": DEMO2}


@cache
def _plans(slug: str, count: int, seed: int) -> tuple[OrganizationPlan, InventoryPlan]:
    profile = PROFILES[slug]
    plan = plan_organization(profile, count, seed=seed, now=NOW)
    return plan, plan_inventory(profile, plan.skus, plan.orders.orders, seed=seed, now=NOW)


def _received(inventory: InventoryPlan) -> dict[tuple[int, int], int]:
    """Units received per (SKU, warehouse index)."""
    units: dict[tuple[int, int], int] = defaultdict(int)
    for receipt in inventory.receipts:
        for line in receipt.lines:
            units[(line.sku_index, receipt.warehouse_index)] += line.quantity
    return units


def _route(profile: DemoProfile, drop_ship: bool, province: str) -> int:
    if drop_ship:
        return len(profile.warehouses)
    return profile.warehouses.index(warehouse_for(province, profile.warehouses))


CASES = [("demo", 2000, 2026), ("demo2", 600, 2026), ("demo", 300, 7), ("demo2", 90, 7)]


@pytest.mark.parametrize(("slug", "count", "seed"), CASES)
def test_receipts_cover_every_order_not_meant_to_wait(slug: str, count: int, seed: int) -> None:
    profile = PROFILES[slug]
    plan, inventory = _plans(slug, count, seed)
    demand: dict[tuple[int, int], int] = defaultdict(int)
    for order in plan.orders.orders:
        if order.reaches_loop:
            for line in order.lines:
                if line.sku_index not in inventory.short_skus:
                    key = (line.sku_index, _route(profile, order.drop_ship, order.province))
                    demand[key] += line.quantity
    received = _received(inventory)
    for key, units in demand.items():
        assert received[key] >= units, key
    # Every SKU is stocked somewhere, but a short one nobody bought before its first waiter.
    stocked = {sku for sku, _ in received}
    assert set(range(len(plan.skus))) - stocked <= inventory.short_skus


@pytest.mark.parametrize(("slug", "count", "seed"), CASES)
def test_short_skus_stop_exactly_at_the_first_order_waiting_for_them(
    slug: str, count: int, seed: int
) -> None:
    plan, inventory = _plans(slug, count, seed)
    orders = plan.orders.orders
    queue = sorted(
        (i for i, o in enumerate(orders) if o.reaches_loop), key=lambda i: (orders[i].paid_at, i)
    )
    received = _received(inventory)
    made_to_wait = 0
    for sku in inventory.short_skus:
        wanting = [i for i in queue if sku in {ln.sku_index for ln in orders[i].lines}]
        units = [sum(ln.quantity for ln in orders[i].lines if ln.sku_index == sku) for i in wanting]
        total = sum(u for (s, _), u in received.items() if s == sku)
        # Some order meant to wait is the first the SKU runs out for: all paid before it get
        # theirs, and (first paid, first served) everyone after it waits too; few do.
        cutoffs = [n for n, i in enumerate(wanting) if orders[i].waits and sum(units[:n]) == total]
        assert cutoffs, sku
        behind = [i for i in wanting[cutoffs[0] + 1 :] if not orders[i].waits]
        assert len(behind) <= MAX_WAITING_BEHIND
        made_to_wait += 1
    waiting = [o for o in orders if o.reaches_loop and o.waits]
    assert made_to_wait <= len(waiting)
    if count >= 300:
        assert inventory.short_skus


@pytest.mark.parametrize(("slug", "count", "seed"), CASES)
def test_receipts_restocks_and_safety_name_bins_of_their_warehouse(
    slug: str, count: int, seed: int
) -> None:
    profile = PROFILES[slug]
    plan, inventory = _plans(slug, count, seed)
    bins = inventory.bins
    for receipt in inventory.receipts:
        assert 0 < len(receipt.lines) <= MAX_BULK_ITEMS
        assert receipt.reason and receipt.reference[:2] in ("QC", "PO")
        for line in receipt.lines:
            assert line.quantity > 0
            assert bins[line.bin_index].warehouse_index == receipt.warehouse_index
            drop_ship = plan.skus[line.sku_index].drop_ship
            assert (receipt.warehouse_index == len(profile.warehouses)) is drop_ship
    received_in = {(line.sku_index, line.bin_index) for r in inventory.receipts for line in r.lines}
    for restock in inventory.restocks:
        assert (restock.sku_index, restock.from_bin_index) in received_in
        source, target = bins[restock.from_bin_index], bins[restock.to_bin_index]
        assert source.warehouse_index == target.warehouse_index
        assert source.walk_seq > target.walk_seq  # down from the overflow to the pick bin
    for safety in inventory.safety:
        assert safety.quantity >= 2 and (safety.sku_index, safety.bin_index) in received_in
        assert safety.sku_index not in inventory.short_skus
    per_sku = defaultdict(set)
    for sku, bin_index in received_in:
        per_sku[(sku, bins[bin_index].warehouse_index)].add(bin_index)
    assert all(1 <= len(found) <= 2 for found in per_sku.values())


@pytest.mark.parametrize("slug", ["demo", "demo2"])
def test_zones_and_bins_make_a_pick_walk(slug: str) -> None:
    profile = PROFILES[slug]
    _, inventory = _plans(slug, 600, 2026)
    received_in = {line.bin_index for r in inventory.receipts for line in r.lines}
    for warehouse in range(len(all_warehouses(profile))):
        zones = [z for z in inventory.zones if z.warehouse_index == warehouse]
        assert zones and len({z.code for z in zones}) == len(zones)
        for zone in zones:
            assert check_zone_code(zone.code) == zone.code and zone.name
        bins = [b for b in inventory.bins if b.warehouse_index == warehouse]
        codes = [b.code for b in bins]
        assert len(set(codes)) == len(codes)
        assert all(check_bin_code(code) == code for code in codes)
        walk = [(inventory.zones[b.zone_index].walk_order, b.walk_seq) for b in bins]
        assert walk == sorted(walk) and len({seq for _, seq in walk}) == len(walk)
        if warehouse < len(profile.warehouses):
            assert {z.code for z in zones} == {"A", "B", "C"}
            assert any(b.code == "A-01-1-1" for b in bins)
            # Every zone has free bins to receive into; nothing arrives in the returns zone.
            for zone_index, zone in enumerate(inventory.zones):
                if zone.warehouse_index == warehouse:
                    mine = [i for i, b in enumerate(inventory.bins) if b.zone_index == zone_index]
                    assert any(i not in received_in for i in mine), zone
                    assert zone.code != "C" or not received_in & set(mine)


def test_the_stock_pages_will_have_something_to_show() -> None:
    plan, inventory = _plans("demo", 2000, 2026)
    assert inventory.short_skus and inventory.restocks and inventory.safety
    references = {r.reference[:2] for r in inventory.receipts}
    assert references == {"QC", "PO"}  # opening stock, and bestsellers bought again
    waiting = [o for o in plan.orders.orders if o.waits]
    assert 10 < len(waiting) < len(plan.orders.orders) * 0.05


def test_shop_policies_are_valid_and_follow_the_channel() -> None:
    for profile in (DEMO, DEMO2):
        _, inventory = _plans(profile.slug, 90, 7)
        by_channel = {profile.shops[p.shop_index].channel: p.policy for p in inventory.policies}
        for policy in by_channel.values():
            assert policy.validated() == policy
        assert Channel.MANUAL not in by_channel  # no row: lists 100 %
        assert by_channel[Channel.PDD].ratio_percent == 80
        douyin = by_channel[Channel.DOUYIN]
        assert douyin.ratio_percent == 60 and douyin.cap is not None
    _, inventory = _plans("demo", 90, 7)
    tmall = next(
        p.policy for p in inventory.policies if DEMO.shops[p.shop_index].channel == "TMALL"
    )
    assert tmall.ratio_percent == 100 and tmall.cap is None


def test_same_seed_same_inventory_and_the_orders_do_not_change() -> None:
    plan, inventory = _plans("demo", 300, 7)
    again = plan_inventory(DEMO, plan.skus, plan.orders.orders, seed=7, now=NOW)
    assert again == inventory
    other = plan_inventory(DEMO, plan.skus, plan.orders.orders, seed=8, now=NOW)
    assert other.receipts != inventory.receipts
    assert plan_organization(DEMO, 300, seed=7, now=NOW) == plan


def test_no_orders_still_stocks_every_sku() -> None:
    profile: DemoProfile = DEMO2
    plan = plan_organization(profile, 0, seed=1, now=NOW)
    inventory = plan_inventory(profile, plan.skus, [], seed=1, now=NOW)
    assert {sku for sku, _ in _received(inventory)} == set(range(len(plan.skus)))
    assert not inventory.short_skus and not inventory.safety
