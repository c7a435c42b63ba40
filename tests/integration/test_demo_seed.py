"""``load_demo`` against real PostgreSQL: two isolated sellers, sane orders, and inventory made by
the services and the reservation loop: it reconciles with zero drift, every order holds what its
status says, the loop has nothing left to do, and the same seed gives the same data.

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
from sqlalchemy import func, select
from sqlmodel import col

from db.engine import Database
from db.settings import Settings
from db.tables import (
    Backorder,
    Bin,
    Customer,
    Order,
    OrderHistory,
    OrderLine,
    Reservation,
    Shop,
    ShopStockPolicyRow,
    Sku,
    Stock,
    StockLedgerEntry,
    Supplier,
    User,
    Warehouse,
)
from db.uow import UnitOfWork
from demo import geo
from demo.profiles import DEMO, DEMO2
from demo.seed import DEMO_ACTOR_LABEL, DemoSummary, load_demo
from domain.accounts.model import Actor, Role
from domain.accounts.passwords import check_policy, verify_password
from domain.accounts.service import create_organization
from domain.inventory import reservation, stock_moves
from domain.inventory.model import BackorderStatus, LedgerKind, ReservationStatus, StockFilter
from domain.inventory.reconcile import reconcile
from domain.orders.model import LineDraft, OrderStatus, check_transition, compute_totals
from tests.support.databases import DatabaseFactory

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
S = OrderStatus
#: Orders in these statuses hold reservations; shipped ones have committed theirs.
HOLDING = frozenset({S.RESERVED, S.IN_WAVE, S.PICKED, S.PACKED})
SHIPPED = frozenset({S.SHIPPED, S.DELIVERED, S.AFTER_SALE})
SEED = 7
ORDERS = 100  # enough for a few orders holding stock and one waiting for it
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
    # Two of the seller's own, and the drop-ship supplier's (代发仓).
    assert main.counts.warehouses == second.counts.warehouses == 3
    for counts in (main.counts, second.counts):
        assert counts.zones and counts.bins > counts.zones
        assert counts.skus <= counts.stock <= counts.bins * 3
        assert counts.stock_ledger > counts.reservations > 0
        assert counts.shop_stock_policies == counts.shops - 1  # 手工单 lists 100 %, no row
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
            assert order.paid_at <= order.updated_at <= datetime.now(UTC)


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
                assert previous.created_at <= row.created_at <= datetime.now(UTC)
                # Only the reservation loop reserves or makes an order wait.
                loop_step = row.to_status in (S.RESERVED.value, S.BACKORDERED.value)
                assert loop_step is (row.actor_label == "reservation"), row
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


async def test_stock_reconciles_with_its_ledger_and_reservations(
    demo: tuple[Database, DemoSummary],
) -> None:
    database, summary = demo
    for org in summary.organizations:
        report = await reconcile(database, org.org_id)
        assert report.ok, report.summary()
        assert report.checked_rows == org.counts.stock
        async with UnitOfWork(database, org.org_id) as uow:
            stock = list(await uow.session.scalars(select(Stock)))
            receipts = list(
                await uow.session.scalars(
                    select(StockLedgerEntry).where(
                        col(StockLedgerEntry.kind) == LedgerKind.RECEIVE.value
                    )
                )
            )
        assert all(0 <= s.reserved <= s.on_hand and s.safety >= 0 for s in stock)
        assert {r.actor_label for r in receipts} == {DEMO_ACTOR_LABEL}
        assert {"QC"} <= {r.reference[:2] for r in receipts} <= {"QC", "PO"}
        received = {r.stock_id for r in receipts}
        assert all(s.id in received for s in stock)


async def test_orders_hold_the_stock_their_status_says(
    demo: tuple[Database, DemoSummary],
) -> None:
    database, summary = demo
    seen: set[OrderStatus] = set()
    for org in summary.organizations:
        async with UnitOfWork(database, org.org_id) as uow:
            orders = list(await uow.session.scalars(select(Order)))
            lines = list(await uow.session.scalars(select(OrderLine)))
            reservations = list(await uow.session.scalars(select(Reservation)))
            backorders = list(await uow.session.scalars(select(Backorder)))
        held: dict[tuple[int, str], int] = defaultdict(int)
        for r in reservations:
            held[(r.order_line_id, r.status)] += r.quantity
        waiting = {b.order_id for b in backorders if b.status == BackorderStatus.WAITING.value}
        status_of = {o.id: OrderStatus(o.status) for o in orders}
        for line in lines:
            assert line.id is not None
            status = status_of[line.order_id]
            if status in HOLDING:
                assert held[(line.id, ReservationStatus.ACTIVE.value)] == line.quantity
            elif status in SHIPPED:
                assert held[(line.id, ReservationStatus.COMMITTED.value)] == line.quantity
            assert held[(line.id, ReservationStatus.ACTIVE.value)] in (0, line.quantity)
        backordered = {o.id for o in orders if o.status == OrderStatus.BACKORDERED.value}
        assert waiting == backordered
        seen.update(status_of.values())
        # The loop has nothing left to do: no order waits for its first try, and no waiting
        # order's SKU gained stock since it was last tried (else the worker would start at it).
        assert (await reservation.pending_reservations(database, org.org_id)).count == 0
        assert not await reservation.has_retryable_backorders(database, org.org_id)
    assert seen & HOLDING and OrderStatus.BACKORDERED in seen and seen & SHIPPED
    assert OrderStatus.NEW not in seen


async def test_stock_pages_show_shortages(demo: tuple[Database, DemoSummary]) -> None:
    database, summary = demo
    for org in summary.organizations:
        async with UnitOfWork(database, org.org_id) as uow:
            below = await uow.stock_queries.count_stock(StockFilter(below_safety=True))
            zero = await uow.stock_queries.count_stock(StockFilter(zero_available=True))
            everything = await uow.stock_queries.count_stock(StockFilter())
            policies = {p.shop_id: p for p in await uow.session.scalars(select(ShopStockPolicyRow))}
            channels = {s.id: s.channel for s in await uow.session.scalars(select(Shop))}
            warehouses = list(await uow.session.scalars(select(Warehouse)))
        assert 0 < below <= zero < everything
        assert {channels[shop] for shop in policies} >= {"TAOBAO", "PDD", "DOUYIN"}
        assert all(w.is_active for w in warehouses)


async def test_the_services_accept_the_demo_stock(demo: tuple[Database, DemoSummary]) -> None:
    """Shipping a packed order and restocking an after-sale return work on the loaded rows
    (in a transaction that is rolled back: the other tests see the data as loaded)."""
    database, summary = demo
    org = summary.organizations[0]
    actor = Actor.system(org.org_id, label="test")
    async with UnitOfWork(database, org.org_id) as uow:
        held = await uow.session.scalar(
            select(col(Order.id))
            .where(col(Order.status).in_([s.value for s in HOLDING]))
            .order_by(col(Order.id))
            .limit(1)
        )
        assert held is not None
        lines = (await uow.orders.lines_for([held]))[held]
        shipped = await stock_moves.commit_order(uow, actor, held)
        assert shipped.shipped_units == sum(line.quantity for line in lines)
        returned = await uow.session.scalar(
            select(func.min(col(Reservation.order_line_id))).where(
                col(Reservation.status) == ReservationStatus.COMMITTED.value,
                col(Reservation.order_id).in_(
                    select(col(Order.id)).where(col(Order.status) == OrderStatus.AFTER_SALE.value)
                ),
            )
        )
        assert returned is not None
        line = await uow.session.get(OrderLine, (uow.org_id, returned))
        assert line is not None and line.id is not None
        returns_bin = await uow.session.scalar(
            select(col(Stock.bin_id)).where(col(Stock.sku_id) == line.sku_id).limit(1)
        )
        assert returns_bin is not None
        restocked = await stock_moves.restock_return(
            uow,
            actor,
            order_id=line.order_id,
            order_line_id=line.id,
            bin_id=returns_bin,
            quantity=1,
        )
        assert restocked.on_hand >= 1
        await uow.rollback()
    assert (await reconcile(database, org.org_id)).ok


async def _stock_fingerprint(database: Database, summary: DemoSummary) -> list[tuple[object, ...]]:
    """Stock by SKU and bin code, and the ledger's kinds and quantities in order (not ids, nor
    the times the services stamped)."""
    rows: list[tuple[object, ...]] = []
    for org in summary.organizations:
        async with UnitOfWork(database, org.org_id) as uow:
            stock = await uow.session.execute(
                select(
                    col(Sku.code),
                    col(Bin.code),
                    col(Stock.on_hand),
                    col(Stock.reserved),
                    col(Stock.safety),
                )
                .join(Sku, col(Sku.id) == col(Stock.sku_id))
                .join(Bin, col(Bin.id) == col(Stock.bin_id))
                .order_by(col(Sku.code), col(Bin.code))
            )
            ledger = await uow.session.execute(
                select(
                    col(StockLedgerEntry.kind),
                    col(StockLedgerEntry.on_hand_after),
                    col(StockLedgerEntry.reserved_after),
                    col(StockLedgerEntry.reason),
                    col(StockLedgerEntry.reference),
                ).order_by(col(StockLedgerEntry.id))
            )
            rows += [(org.slug, *row) for row in stock] + [(org.slug, *row) for row in ledger]
    return rows


async def test_same_seed_same_orders_and_stock(
    demo: tuple[Database, DemoSummary], databases: DatabaseFactory, settings: Settings
) -> None:
    database, summary = demo
    other = await _fresh_database(databases, settings)
    try:
        again = await load_demo(other, orders_per_org=ORDERS, seed=SEED, now=NOW)
        assert await _fingerprint(other, again) == await _fingerprint(database, summary)
        assert await _stock_fingerprint(other, again) == await _stock_fingerprint(database, summary)
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


async def test_a_load_that_stopped_half_way_is_left_alone(
    databases: DatabaseFactory, settings: Settings
) -> None:
    """Shops but no ``demo.load`` mark: an earlier load committed its first stage and stopped.
    Loading again on top could double it; the seller is shown as it is (and a warning says
    how to start afresh)."""
    database = await _fresh_database(databases, settings)
    try:
        org, _ = await create_organization(
            database,
            slug="demo",
            name=DEMO.name,
            owner_username="owner",
            owner_password=DEMO.password("owner"),
        )
        assert org.id is not None
        async with UnitOfWork(database, org.id) as uow:
            await uow.shops.add_shop("TMALL", "half-loaded")
            await uow.commit()
        summary = await load_demo(database, orders_per_org=10, seed=SEED, now=NOW)
        main, second = summary.organizations
        assert not main.created and main.counts.orders == 0 and main.counts.shops == 1
        assert second.created
    finally:
        await database.dispose()
