"""``load_demo`` against real PostgreSQL: two isolated sellers, sane orders, same seed same data.

The demo gets databases of its own (clones of the migrated template): it creates fixed slugs
(``demo``, ``demo2``) that would collide with another test loading it into the shared one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest_asyncio
from sqlalchemy import select
from sqlmodel import col

from db.engine import Database
from db.settings import Settings
from db.tables import Customer, Order, OrderHistory, OrderLine, Shop, Sku, Supplier, User
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.accounts.passwords import check_policy, verify_password
from domain.accounts.service import create_organization
from domain.demo import geo
from domain.demo.profiles import DEMO, DEMO2
from domain.demo.seed import DemoSummary, load_demo
from domain.orders.model import LineDraft, OrderStatus, check_transition, compute_totals
from tests.support.databases import DatabaseFactory

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SEED = 7
ORDERS = 50
EXTERNAL_ID = {
    "TAOBAO": r"[1-4]\d{18}",
    "TMALL": r"[1-4]\d{18}",
    "JD": r"[23]\d{11}",
    "PDD": r"\d{6}-\d{15}",
    "DOUYIN": r"69\d{17}",
    "MANUAL": r"SD\d{12}",
}


async def _fresh_database(databases: DatabaseFactory, settings: Settings) -> Database:
    return Database.connect(await databases.clone(), settings, pool_size=5)


@pytest_asyncio.fixture(scope="module")
async def demo(
    databases: DatabaseFactory, settings: Settings
) -> AsyncIterator[tuple[Database, DemoSummary]]:
    database = await _fresh_database(databases, settings)
    summary = await load_demo(database, orders_per_org=ORDERS, seed=SEED, now=NOW)
    yield database, summary
    await database.dispose()


async def _orders(database: Database, org_id: int) -> list[Order]:
    async with UnitOfWork(database, org_id) as uow:
        return list((await uow.session.scalars(select(Order).order_by(col(Order.id)))).all())


async def _fingerprint(database: Database, summary: DemoSummary) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for org in summary.organizations:
        for order in await _orders(database, org.org_id):
            rows.append(
                (
                    org.slug,
                    order.external_id,
                    order.status,
                    order.total_fen,
                    order.receiver_name,
                    order.created_at,
                )
            )
    return rows


async def test_two_sellers_with_a_working_login_for_every_role(
    demo: tuple[Database, DemoSummary],
) -> None:
    database, summary = demo
    assert summary.created
    assert [org.slug for org in summary.organizations] == ["demo", "demo2"]
    assert [org.name for org in summary.organizations] == [DEMO.name, DEMO2.name]
    for org in summary.organizations:
        assert org.created
        assert {login.role for login in org.logins} == set(Role)
        async with UnitOfWork(database, org.org_id) as uow:
            users = {u.username: u for u in await uow.session.scalars(select(User))}
            suppliers = list(await uow.session.scalars(select(Supplier)))
        assert len(users) == len(Role)
        assert len(suppliers) == 1
        for login in org.logins:
            check_policy(login.password)
            user = users[login.username]
            assert user.role == login.role.value
            assert user.is_active
            assert verify_password(user.password_hash, login.password), login
            assert not verify_password(user.password_hash, login.password + "x")
            assert (user.supplier_id == suppliers[0].id) is (login.role is Role.SUPPLIER)


async def test_counts_and_isolation(demo: tuple[Database, DemoSummary]) -> None:
    database, summary = demo
    main, second = summary.organizations
    assert main.counts.orders == ORDERS
    assert second.counts.orders == round(ORDERS * DEMO2.order_share)
    assert main.counts.shops == 6 and second.counts.shops == 4
    assert main.counts.warehouses == second.counts.warehouses == 2
    assert main.counts.skus > second.counts.skus > 0
    for org, other in ((main, second), (second, main)):
        async with UnitOfWork(database, org.org_id) as uow:
            # No org filter on purpose: row-level security must hide the other seller.
            order_orgs = set(await uow.session.scalars(select(col(Order.org_id))))
            shops = list(await uow.session.scalars(select(Shop)))
            skus = list(await uow.session.scalars(select(Sku)))
        assert order_orgs == {org.org_id}
        assert {s.org_id for s in shops} == {org.org_id}
        assert {s.org_id for s in skus} == {org.org_id}
        assert len(skus) == org.counts.skus
        assert other.org_id not in {s.org_id for s in shops}
    async with UnitOfWork(database, main.org_id) as uow:
        channels = set(await uow.session.scalars(select(col(Shop.channel))))
    assert channels == {"TAOBAO", "TMALL", "JD", "PDD", "DOUYIN", "MANUAL"}


async def test_order_amounts_are_consistent(demo: tuple[Database, DemoSummary]) -> None:
    database, summary = demo
    for org in summary.organizations:
        async with UnitOfWork(database, org.org_id) as uow:
            orders = list(await uow.session.scalars(select(Order)))
            lines = list(await uow.session.scalars(select(OrderLine).order_by(col(OrderLine.id))))
            sku_ids = set(await uow.session.scalars(select(col(Sku.id))))
        by_order: dict[int, list[OrderLine]] = defaultdict(list)
        for line in lines:
            by_order[line.order_id].append(line)
            assert line.sku_id in sku_ids
        for order in orders:
            assert order.id is not None
            order_lines = by_order[order.id]
            assert 1 <= len(order_lines) <= 4
            totals = compute_totals(
                [
                    LineDraft(ln.sku_id, ln.quantity, ln.unit_price_fen, ln.discount_fen)
                    for ln in order_lines
                ],
                order.shipping_fen,
            )
            assert (order.goods_fen, order.discount_fen, order.total_fen) == (
                totals.goods_fen,
                totals.discount_fen,
                totals.total_fen,
            )
            assert min(order.goods_fen, order.discount_fen, order.shipping_fen) >= 0
            assert order.total_fen > 0
            assert order.paid_at is not None
            assert NOW - timedelta(days=30) <= order.created_at < order.paid_at <= NOW
            assert order.paid_at <= order.updated_at <= NOW


async def test_every_history_is_a_legal_path_to_the_status(
    demo: tuple[Database, DemoSummary],
) -> None:
    database, summary = demo
    for org in summary.organizations:
        async with UnitOfWork(database, org.org_id) as uow:
            orders = {o.id: o for o in await uow.session.scalars(select(Order))}
            history = list(
                await uow.session.scalars(
                    select(OrderHistory).order_by(col(OrderHistory.order_id), col(OrderHistory.id))
                )
            )
            user_ids = set(await uow.session.scalars(select(col(User.id))))
        chains: dict[int, list[OrderHistory]] = defaultdict(list)
        for row in history:
            chains[row.order_id].append(row)
        assert set(chains) == set(orders)
        for order_id, chain in chains.items():
            order = orders[order_id]
            assert chain[0].from_status is None
            assert chain[0].to_status == OrderStatus.NEW.value
            assert chain[-1].to_status == order.status
            assert chain[-1].created_at == order.updated_at
            assert order.paid_at is not None and chain[0].created_at >= order.paid_at
            for previous, row in pairwise(chain):
                assert row.from_status == previous.to_status
                assert row.from_status is not None
                check_transition(OrderStatus(row.from_status), OrderStatus(row.to_status))
                assert previous.created_at <= row.created_at <= NOW
            for row in chain:
                assert row.actor_label
                assert row.actor_user_id is None or row.actor_user_id in user_ids


async def test_receivers_live_at_real_places(demo: tuple[Database, DemoSummary]) -> None:
    database, summary = demo
    for org in summary.organizations:
        async with UnitOfWork(database, org.org_id) as uow:
            orders = list(await uow.session.scalars(select(Order)))
            shops = {s.id: s.channel for s in await uow.session.scalars(select(Shop))}
            customers = {c.id: c for c in await uow.session.scalars(select(Customer))}
        for order in orders:
            assert geo.is_known(
                order.receiver_province, order.receiver_city, order.receiver_district
            ), (order.receiver_province, order.receiver_city, order.receiver_district)
            assert re.fullmatch(r"1[3-9]\d{9}", order.receiver_phone)
            assert order.receiver_phone_tail == order.receiver_phone[-4:]
            assert order.receiver_address and order.receiver_name
            channel = shops[order.shop_id]
            assert re.fullmatch(EXTERNAL_ID[channel], order.external_id), order.external_id
            assert order.customer_id is not None
            assert customers[order.customer_id].channel == channel


async def test_same_seed_same_orders(
    demo: tuple[Database, DemoSummary], databases: DatabaseFactory, settings: Settings
) -> None:
    database, summary = demo
    other = await _fresh_database(databases, settings)
    try:
        again = await load_demo(other, orders_per_org=ORDERS, seed=SEED, now=NOW)
        assert await _fingerprint(other, again) == await _fingerprint(database, summary)
    finally:
        await other.dispose()


async def test_second_call_adds_nothing(demo: tuple[Database, DemoSummary]) -> None:
    database, summary = demo
    before = await _fingerprint(database, summary)
    again = await load_demo(database, orders_per_org=ORDERS * 3, seed=SEED + 1)
    assert not again.created
    for first, second in zip(summary.organizations, again.organizations, strict=True):
        assert (second.org_id, second.slug, second.counts) == (
            first.org_id,
            first.slug,
            first.counts,
        )
        assert second.logins == first.logins
    assert await _fingerprint(database, summary) == before


async def test_an_organisation_left_empty_by_a_failed_run_is_filled(
    databases: DatabaseFactory, settings: Settings
) -> None:
    database = await _fresh_database(databases, settings)
    try:
        org, _ = await create_organization(
            database,
            slug="demo",
            name=DEMO.name,
            owner_username="owner",
            owner_password=DEMO.password("owner"),
        )
        summary = await load_demo(database, orders_per_org=10, seed=SEED, now=NOW)
        main = summary.organizations[0]
        assert main.org_id == org.id
        assert main.created
        assert main.counts.orders == 10
        assert {login.role for login in main.logins} == set(Role)
    finally:
        await database.dispose()
