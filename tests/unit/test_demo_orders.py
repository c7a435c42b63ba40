"""The demo order planner: legal paths the services can take, consistent money, platform-style
ids, plausible people, determinism."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import pairwise

import pytest

from demo import geo, people
from demo.orders import (
    PHONE_RE,
    OrganizationPlan,
    PlannedOrder,
    pick_status,
    plan_organization,
    status_path,
)
from demo.profiles import DEMO, DEMO2, DemoProfile
from demo.stock import warehouse_for
from domain.accounts.model import Role, Scope, permissions_of
from domain.orders.model import (
    ALLOWED_TRANSITIONS,
    LineDraft,
    OrderStatus,
    check_transition,
    compute_totals,
)
from domain.shops.model import Channel

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
EXTERNAL_ID = {
    Channel.TAOBAO: re.compile(r"^[1-4]\d{18}$"),
    Channel.TMALL: re.compile(r"^[1-4]\d{18}$"),
    Channel.JD: re.compile(r"^[23]\d{11}$"),
    Channel.PDD: re.compile(r"^\d{6}-\d{15}$"),
    Channel.DOUYIN: re.compile(r"^69\d{17}$"),
    Channel.MANUAL: re.compile(r"^SD\d{8}\d{4}$"),
}


@cache
def _plan(slug: str, count: int, seed: int) -> OrganizationPlan:
    profile = DEMO if slug == "demo" else DEMO2
    return plan_organization(profile, count, seed=seed, now=NOW)


def _channel(profile: DemoProfile, order: PlannedOrder) -> Channel:
    return profile.shops[order.shop_index].channel


@pytest.mark.parametrize("target", list(OrderStatus))
@pytest.mark.parametrize("age_hours", [0.5, 10, 40, 100, 600])
@pytest.mark.parametrize("drop_ship", [False, True])
def test_status_paths_are_legal(target: OrderStatus, age_hours: float, drop_ship: bool) -> None:
    if drop_ship and target in (OrderStatus.IN_WAVE, OrderStatus.PICKED, OrderStatus.PACKED):
        with pytest.raises(ValueError):
            status_path(target, random.Random(0), age_hours=age_hours, drop_ship=True)
        return
    for seed in range(200):
        path = status_path(target, random.Random(seed), age_hours=age_hours, drop_ship=drop_ship)
        assert path[0] is OrderStatus.NEW and path[-1] is target
        for current, following in pairwise(path):
            assert following in ALLOWED_TRANSITIONS[current]
        if drop_ship:
            assert OrderStatus.IN_WAVE not in path
        # Only the reservation loop reserves, and only NEW orders: a held order goes back to NEW.
        for current, following in pairwise(path):
            if following in (OrderStatus.RESERVED, OrderStatus.BACKORDERED):
                assert current is OrderStatus.NEW


def test_drop_ship_orders_never_wait_in_a_wave() -> None:
    rng = random.Random(3)
    statuses = {pick_status(rng, age, drop_ship=True) for age in (0.5, 5, 20) for _ in range(500)}
    assert statuses.isdisjoint({OrderStatus.IN_WAVE, OrderStatus.PICKED, OrderStatus.PACKED})


def test_warehouse_routing_follows_provinces_then_priority() -> None:
    assert warehouse_for("广东省", DEMO.warehouses).name == "广州仓"
    assert warehouse_for("江苏省", DEMO.warehouses).name == "杭州仓"
    assert warehouse_for("西藏自治区", DEMO.warehouses).name == "杭州仓"  # best priority


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    a = _plan("demo", 120, 11)
    b = plan_organization(DEMO, 120, seed=11, now=NOW)
    assert a == b
    c = plan_organization(DEMO, 120, seed=12, now=NOW)
    assert [o.external_id for o in a.orders.orders] != [o.external_id for o in c.orders.orders]


@pytest.mark.parametrize("slug", ["demo", "demo2"])
def test_planned_orders_are_consistent(slug: str) -> None:
    profile = DEMO if slug == "demo" else DEMO2
    plan = _plan(slug, 600, 2026)
    orders = plan.orders.orders
    assert len(orders) == 600
    seen_ids: set[tuple[int, str]] = set()
    for order in orders:
        channel = _channel(profile, order)
        assert EXTERNAL_ID[channel].match(order.external_id), (channel, order.external_id)
        assert (order.shop_index, order.external_id) not in seen_ids
        seen_ids.add((order.shop_index, order.external_id))

        drafts = [
            LineDraft(ln.sku_index, ln.quantity, ln.unit_price_fen, ln.discount_fen)
            for ln in order.lines
        ]
        assert 1 <= len(drafts) <= 4
        assert len({ln.sku_index for ln in order.lines}) == len(order.lines)
        assert compute_totals(drafts, order.totals.shipping_fen) == order.totals
        assert order.totals.total_fen > 0
        assert all(plan.skus[ln.sku_index].drop_ship is order.drop_ship for ln in order.lines)

        assert NOW - timedelta(days=30) <= order.created_at < order.paid_at <= NOW
        assert geo.is_known(order.province, order.city, order.district)
        assert PHONE_RE.match(order.receiver_phone)

        path = order.path()
        assert path[0] is OrderStatus.NEW and path[-1] is order.status
        for current, following in pairwise(path):
            check_transition(current, following)
        assert order.paid_at <= order.arrived_at <= NOW
        assert order.arrived.to_status is OrderStatus.NEW
        loop = {OrderStatus.RESERVED, OrderStatus.BACKORDERED} & set(path)
        assert order.reaches_loop is bool(loop)
        assert order.waits is (OrderStatus.BACKORDERED in path)
        assert not order.after or order.reaches_loop
        for step in (order.arrived, *order.before, *order.after):
            assert step.actor_role is not None or step.actor_label
            assert step.to_status not in (OrderStatus.RESERVED, OrderStatus.BACKORDERED)
            if step.to_status is OrderStatus.CANCELLED and step.actor_role is not None:
                assert Scope.ORDERS_WRITE in permissions_of(step.actor_role)  # cancel_orders' check
        if channel is Channel.MANUAL:
            assert order.created_by is not None
        for remark in order.remarks:
            assert order.paid_at <= remark.at <= NOW


def test_customers_are_unique_per_channel_and_some_come_back() -> None:
    plan = _plan("demo", 600, 2026)
    keys = [(c.channel, c.nick) for c in plan.orders.customers]
    assert len(keys) == len(set(keys))
    per_customer = Counter(o.customer_index for o in plan.orders.orders)
    assert any(n > 1 for n in per_customer.values())
    for order in plan.orders.orders:
        assert plan.orders.customers[order.customer_index].channel is _channel(DEMO, order)


def test_default_size_spreads_over_every_status_and_channel() -> None:
    plan = _plan("demo", 2000, 2026)
    statuses = Counter(o.status for o in plan.orders.orders)
    # No NEW: the reservation loop takes every new order within moments.
    assert set(statuses) == set(OrderStatus) - {OrderStatus.NEW}
    # Most of a month is done, but the board has live work on it.
    done = statuses[OrderStatus.DELIVERED] + statuses[OrderStatus.SHIPPED]
    assert 0.6 < done / 2000 < 0.9
    assert statuses[OrderStatus.CANCELLED] > 50
    channels = Counter(_channel(DEMO, o) for o in plan.orders.orders)
    assert set(channels) == set(Channel)
    assert any(o.drop_ship for o in plan.orders.orders)
    assert any(o.buyer_remark for o in plan.orders.orders)
    assert any(o.lines[0].discount_fen for o in plan.orders.orders)


def test_drop_ship_histories_speak_of_the_supplier_not_our_warehouse() -> None:
    plan = _plan("demo", 2000, 2026)
    dropped = [o for o in plan.orders.orders if o.drop_ship]
    assert dropped
    for order in dropped:
        for step in (*order.before, *order.after):
            assert "仓" not in step.reason, step.reason
        shipped = [s for s in order.after if s.to_status is OrderStatus.SHIPPED]
        assert all(s.actor_role is Role.SUPPLIER for s in shipped)


def test_people_look_like_people() -> None:
    rng = random.Random(5)
    names = [people.person_name(rng) for _ in range(500)]
    assert all(2 <= len(name) <= 4 for name in names)
    assert len(set(names)) > 400
    assert Counter(name[0] for name in names).most_common(1)[0][0] in "王李张刘陈"
    assert all(PHONE_RE.match(people.mobile_number(rng)) for _ in range(500))
    assert all(re.fullmatch(r"[a-z]+[_a-z0-9]*", people.latin_nick(rng)) for _ in range(100))
    assert all(re.fullmatch(r"\w+(路|街|大道)\d{1,3}号", people.street(rng)) for _ in range(100))
