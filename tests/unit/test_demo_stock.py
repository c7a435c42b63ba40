"""The demo inventory planner: a ledger that replays to the stock, reservations that match the
orders' statuses, real backorders, a plausible warehouse layout, determinism."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import cache

import pytest

from demo.orders import OrganizationPlan, plan_organization, warehouse_for
from demo.profiles import DEMO, DEMO2, DemoProfile
from demo.stock import (
    HOLDING,
    LOADER_ACTOR,
    SHIPPED,
    InventoryPlan,
    PlannedStock,
    all_warehouses,
    plan_inventory,
)
from domain.inventory.model import (
    LedgerKind,
    ReservationStatus,
    check_bin_code,
    check_zone_code,
)
from domain.orders.model import OrderStatus
from domain.shops.model import Channel

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PROFILES = {"demo": DEMO, "demo2": DEMO2}


@cache
def _plans(slug: str, count: int, seed: int) -> tuple[OrganizationPlan, InventoryPlan]:
    profile = PROFILES[slug]
    plan = plan_organization(profile, count, seed=seed, now=NOW)
    return plan, plan_inventory(profile, plan.skus, plan.orders.orders, seed=seed, now=NOW)


def _available(row: PlannedStock) -> int:
    return row.on_hand - row.reserved - row.safety


CASES = [("demo", 2000, 2026), ("demo2", 600, 2026), ("demo", 300, 7), ("demo2", 90, 7)]


@pytest.mark.parametrize(("slug", "count", "seed"), CASES)
def test_the_ledger_replays_to_every_stock_row(slug: str, count: int, seed: int) -> None:
    _, inventory = _plans(slug, count, seed)
    on_hand: dict[int, int] = defaultdict(int)
    reserved: dict[int, int] = defaultdict(int)
    last: dict[int, datetime] = {}
    for move in inventory.ledger:
        i = move.stock_index
        assert move.on_hand_delta or move.reserved_delta
        on_hand[i] += move.on_hand_delta
        reserved[i] += move.reserved_delta
        assert (move.on_hand_after, move.reserved_after) == (on_hand[i], reserved[i])
        assert 0 <= reserved[i] <= on_hand[i], move  # never oversold, at any step
        assert move.at >= last.get(i, inventory.opened) and move.at <= NOW
        last[i] = move.at
        if move.kind is LedgerKind.RECEIVE:
            assert move.on_hand_delta > 0 and move.reserved_delta == 0
            assert (move.actor_role, move.actor_label) == (None, LOADER_ACTOR)
            assert move.reference
        assert move.actor_role is not None or move.actor_label
    for i, row in enumerate(inventory.stock):
        assert (row.on_hand, row.reserved) == (on_hand[i], reserved[i])
        assert 0 <= row.reserved <= row.on_hand and row.safety >= 0
    # Ledger rows are written in time order, as the services would have.
    times = [m.at for m in inventory.ledger]
    assert times == sorted(times)


@pytest.mark.parametrize(("slug", "count", "seed"), CASES)
def test_reservations_follow_the_order_statuses(slug: str, count: int, seed: int) -> None:
    profile = PROFILES[slug]
    plan, inventory = _plans(slug, count, seed)
    orders = plan.orders.orders
    active: dict[int, int] = defaultdict(int)
    per_line: dict[tuple[int, int], Counter[ReservationStatus]] = defaultdict(Counter)
    moved: dict[int, Counter[LedgerKind]] = defaultdict(Counter)
    for move in inventory.ledger:
        if move.reservation_index is not None:
            moved[move.reservation_index][move.kind] += 1
    warehouses = all_warehouses(profile)
    for n, r in enumerate(inventory.reservations):
        order = orders[r.order_index]
        line = order.lines[r.line_index]
        row = inventory.stock[r.stock_index]
        assert row.sku_index == line.sku_index and r.quantity > 0
        per_line[(r.order_index, r.line_index)][r.status] += r.quantity
        expected = (
            profile.supplier_warehouse
            if order.drop_ship
            else warehouse_for(order.province, profile.warehouses)
        )
        assert warehouses[row.warehouse_index] == expected
        closing = {
            ReservationStatus.ACTIVE: None,
            ReservationStatus.COMMITTED: LedgerKind.COMMIT,
            ReservationStatus.RELEASED: LedgerKind.RELEASE,
        }[r.status]
        assert moved[n] == Counter({LedgerKind.RESERVE: 1, **({closing: 1} if closing else {})})
        assert (r.closed_at is None) is (r.status is ReservationStatus.ACTIVE)
        # What commit_order and cancel_order (via release_order) write.
        assert (
            r.close_reason
            == {
                ReservationStatus.ACTIVE: "",
                ReservationStatus.COMMITTED: "shipped",
                ReservationStatus.RELEASED: f"cancelled: {order.history[-1].reason}",
            }[r.status]
        )
        if r.status is ReservationStatus.ACTIVE:
            active[r.stock_index] += r.quantity
    for i, row in enumerate(inventory.stock):
        assert row.reserved == active[i]

    for i, order in enumerate(orders):
        for n, line in enumerate(order.lines):
            held = per_line[(i, n)]
            if order.status in HOLDING:
                assert held == Counter({ReservationStatus.ACTIVE: line.quantity})
            elif order.status in SHIPPED:
                assert held == Counter({ReservationStatus.COMMITTED: line.quantity})
            elif order.status is OrderStatus.CANCELLED and any(
                s.to_status is OrderStatus.RESERVED for s in order.history
            ):
                assert held == Counter({ReservationStatus.RELEASED: line.quantity})
            else:
                assert not held, (order.status, held)


@pytest.mark.parametrize(("slug", "count", "seed"), CASES)
def test_backordered_orders_wait_for_stock_that_is_really_gone(
    slug: str, count: int, seed: int
) -> None:
    plan, inventory = _plans(slug, count, seed)
    orders = plan.orders.orders
    waiting = {b.order_index for b in inventory.backorders}
    assert waiting == {i for i, o in enumerate(orders) if o.status is OrderStatus.BACKORDERED}
    lines = [(b.order_index, b.line_index) for b in inventory.backorders]
    assert len(lines) == len(set(lines))  # one waiting backorder per line
    paid = [b.paid_at for b in inventory.backorders]
    assert paid == sorted(paid)  # the queue, first paid first
    short = set()
    for b in inventory.backorders:
        order = orders[b.order_index]
        line = order.lines[b.line_index]
        assert (b.sku_index, b.quantity, b.paid_at) == (
            line.sku_index,
            line.quantity,
            order.paid_at,
        )
        assert b.at == [s.at for s in order.history if s.to_status is OrderStatus.BACKORDERED][-1]
        short.add(b.sku_index)
    # Else the backorder sweep would reserve them as soon as the worker starts.
    for row in inventory.stock:
        if row.sku_index in short:
            assert _available(row) <= 0


@pytest.mark.parametrize(("slug", "count", "seed"), CASES)
def test_every_sku_sits_in_one_or_two_bins_of_a_warehouse_that_ships_it(
    slug: str, count: int, seed: int
) -> None:
    profile = PROFILES[slug]
    plan, inventory = _plans(slug, count, seed)
    supplier = len(profile.warehouses)
    bins_of: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row in inventory.stock:
        bin_ = inventory.bins[row.bin_index]
        assert bin_.warehouse_index == row.warehouse_index
        assert inventory.zones[bin_.zone_index].warehouse_index == row.warehouse_index
        bins_of[(row.sku_index, row.warehouse_index)].append(row.bin_index)
    assert {sku for sku, _ in bins_of} == set(range(len(plan.skus)))
    for (sku, warehouse), bins in bins_of.items():
        assert 1 <= len(bins) <= 2 and len(set(bins)) == len(bins)
        assert (warehouse == supplier) is plan.skus[sku].drop_ship
    # Heavy goods on pallets, the rest on shelves; nothing stocked in the returns zone yet.
    zones = {inventory.zones[b.zone_index].code for b in inventory.bins}
    assert zones == {"A", "B", "C", "V"}
    stocked_zones = {
        inventory.zones[inventory.bins[row.bin_index].zone_index].code for row in inventory.stock
    }
    assert "C" not in stocked_zones


@pytest.mark.parametrize("slug", ["demo", "demo2"])
def test_zones_and_bins_make_a_pick_walk(slug: str) -> None:
    profile = PROFILES[slug]
    _, inventory = _plans(slug, 600, 2026)
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
            # Every zone has free bins to receive into.
            used = {row.bin_index for row in inventory.stock}
            for zone_index, zone in enumerate(inventory.zones):
                if zone.warehouse_index == warehouse:
                    mine = [i for i, b in enumerate(inventory.bins) if b.zone_index == zone_index]
                    assert any(i not in used for i in mine), zone


def test_the_stock_pages_have_something_to_show() -> None:
    _, inventory = _plans("demo", 2000, 2026)
    rows = inventory.stock
    below = [r for r in rows if r.safety and r.on_hand - r.reserved < r.safety]
    zero = [r for r in rows if _available(r) <= 0]
    healthy = [r for r in rows if _available(r) > 0]
    assert below and zero
    assert len(zero) < len(rows) * 0.2 < len(healthy)
    assert any(r.reserved for r in rows)
    assert any(r.safety and _available(r) > 0 for r in rows)
    kinds = Counter(m.kind for m in inventory.ledger)
    assert set(kinds) == set(LedgerKind) - {LedgerKind.RETURN}
    # Bestsellers were bought again during the month, not all stocked on day one.
    assert kinds[LedgerKind.RECEIVE] > len(rows) - sum(1 for r in rows if r.on_hand == 0)
    assert any(m.reference.startswith("PO") for m in inventory.ledger)


@pytest.mark.parametrize(("slug", "count", "seed"), [("demo", 50, 7), ("demo2", 15, 7)])
def test_even_a_small_load_shows_safety_problems(slug: str, count: int, seed: int) -> None:
    _, inventory = _plans(slug, count, seed)
    rows = inventory.stock
    assert any(r.safety and r.on_hand - r.reserved < r.safety for r in rows)
    assert any(_available(r) <= 0 for r in rows)


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
    assert [r.on_hand for r in other.stock] != [r.on_hand for r in inventory.stock]
    assert plan_organization(DEMO, 300, seed=7, now=NOW) == plan


def test_no_orders_still_stocks_every_sku() -> None:
    profile: DemoProfile = DEMO2
    plan = plan_organization(profile, 0, seed=1, now=NOW)
    inventory = plan_inventory(profile, plan.skus, [], seed=1, now=NOW)
    assert {r.sku_index for r in inventory.stock} == set(range(len(plan.skus)))
    assert all(r.on_hand > 0 and r.reserved == 0 for r in inventory.stock)
    assert not inventory.reservations and not inventory.backorders
