"""Inventory use cases against real PostgreSQL: receive, reserve, release, ship, return,
backorders first-paid first-served, warehouse choice, partial and split reservations."""

from __future__ import annotations

from sqlalchemy import text

from db.engine import Database
from db.uow import UnitOfWork
from domain.inventory import reconcile, reservation, shop_policies, stock_moves
from domain.inventory.model import (
    AdjustLine,
    ReceiveLine,
    SafetyLine,
    ShopStockPolicy,
    TransferLine,
)
from domain.orders.model import OrderStatus
from tests.support.factories import make_org
from tests.support.inventory import (
    count_rows,
    make_layout,
    make_order_with,
    minutes_ago,
    order_status,
    receive,
    sku_totals,
)
from tests.support.sql import org_connection


async def test_reserve_release_commit_and_return_keep_the_ledger_in_step(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 10, bin_id=layout.bin_id(0, 0))

    order = await make_order_with(db, seller, [(sku, 3)])
    assert order.id is not None
    result = await reservation.reserve_order(db, seller.actor(), order.id)
    assert result.status is OrderStatus.RESERVED
    assert sum(a.quantity for a in result.reserved) == 3
    assert await order_status(db, seller.org_id, order.id) == "RESERVED"
    totals = await sku_totals(db, seller.org_id, sku)
    assert (totals.on_hand, totals.reserved, totals.active_reservations) == (10, 3, 3)
    assert (totals.ledger_on_hand, totals.ledger_reserved) == (10, 3)

    # Reserving again changes nothing.
    again = await reservation.reserve_order(db, seller.actor(), order.id)
    assert again.reserved == () and again.status is OrderStatus.RESERVED

    async with UnitOfWork(db, seller.org_id) as uow:
        shipped = await stock_moves.commit_order(uow, seller.actor(), order.id)
        await uow.commit()
    assert shipped.shipped_units == 3
    totals = await sku_totals(db, seller.org_id, sku)
    assert (totals.on_hand, totals.reserved, totals.active_reservations) == (7, 0, 0)
    assert (totals.ledger_on_hand, totals.ledger_reserved) == (7, 0)

    line_id = await _first_line(db, seller.org_id, order.id)
    async with UnitOfWork(db, seller.org_id) as uow:
        state = await stock_moves.restock_return(
            uow,
            seller.actor(),
            order_id=order.id,
            order_line_id=line_id,
            bin_id=layout.bin_id(0, 2),
            quantity=2,
            reason="7天无理由",
        )
        await uow.commit()
    assert state.on_hand == 2
    assert (await sku_totals(db, seller.org_id, sku)).on_hand == 9

    report = await reconcile.reconcile(db, seller.org_id)
    assert report.ok, report.summary()


async def test_release_gives_stock_back_and_cancels_backorders(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku_a, sku_b = seller.skus[0].id, seller.skus[1].id
    assert sku_a is not None and sku_b is not None
    await receive(db, seller, layout, sku_a, 5, bin_id=layout.bin_id())

    order = await make_order_with(db, seller, [(sku_a, 2), (sku_b, 1)])
    assert order.id is not None
    result = await reservation.reserve_order(db, seller.actor(), order.id)
    # All or nothing: B is missing, so A is not held either.
    assert result.status is OrderStatus.BACKORDERED
    assert result.reserved == ()
    assert list(result.missing.values()) == [1]
    assert (await sku_totals(db, seller.org_id, sku_a)).reserved == 0
    assert await count_rows(db, "backorders", seller.org_id, "status = 'WAITING'") == 1

    async with UnitOfWork(db, seller.org_id) as uow:
        released = await stock_moves.release_order(uow, seller.actor(), order.id, "buyer cancelled")
        await uow.commit()
    assert released.cancelled_backorders == 1
    assert await count_rows(db, "backorders", seller.org_id, "status = 'WAITING'") == 0


async def test_partial_reservation_when_the_shop_allows_it(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku_a, sku_b = seller.skus[0].id, seller.skus[1].id
    assert sku_a is not None and sku_b is not None
    await receive(db, seller, layout, sku_a, 5, bin_id=layout.bin_id())
    await receive(db, seller, layout, sku_b, 1, bin_id=layout.bin_id(0, 1))
    async with org_connection(db, seller.org_id, commit=True) as conn:
        await conn.execute(
            text("UPDATE shops SET allow_partial_reservation = true WHERE id = :id"),
            {"id": seller.shop.id},
        )

    order = await make_order_with(db, seller, [(sku_a, 2), (sku_b, 3)])
    assert order.id is not None
    result = await reservation.reserve_order(db, seller.actor(), order.id)
    assert result.status is OrderStatus.BACKORDERED
    assert sum(a.quantity for a in result.reserved) == 3  # 2 of A, 1 of B
    assert sorted(result.missing.values()) == [2]

    # Stock arrives: the reservation loop fills the rest and the order is reserved.
    await receive(db, seller, layout, sku_b, 5, bin_id=layout.bin_id(0, 1))
    report = await reservation.drain(db, seller.org_id)
    assert (report.orders, report.reserved) == (1, 1)
    assert await order_status(db, seller.org_id, order.id) == "RESERVED"
    assert (await sku_totals(db, seller.org_id, sku_b)).reserved == 3
    assert await count_rows(db, "backorders", seller.org_id, "status = 'FILLED'") == 1


async def test_backorders_are_served_first_paid_first(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    late = await make_order_with(db, seller, [(sku, 1)], paid_at=minutes_ago(1))
    early = await make_order_with(db, seller, [(sku, 1)], paid_at=minutes_ago(30))
    for order in (late, early):
        assert order.id is not None
        result = await reservation.reserve_order(db, seller.actor(), order.id)
        assert result.status is OrderStatus.BACKORDERED

    await receive(db, seller, layout, sku, 1, bin_id=layout.bin_id())
    await reservation.drain(db, seller.org_id)
    assert early.id is not None and late.id is not None
    assert await order_status(db, seller.org_id, early.id) == "RESERVED"
    assert await order_status(db, seller.org_id, late.id) == "BACKORDERED"


async def test_warehouse_serving_the_province_wins_then_split_when_allowed(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller, extra_warehouses=[("GZ", ["广东省"], 5), ("ANY", [], 9)])
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 4, bin_id=layout.bin_id(0, 0))  # WH1 浙江
    await receive(db, seller, layout, sku, 6, bin_id=layout.bin_id(1, 0))  # GZ 广东
    await receive(db, seller, layout, sku, 9, bin_id=layout.bin_id(2, 0))  # ANY

    guangdong = await make_order_with(db, seller, [(sku, 5)], province="广东")
    assert guangdong.id is not None
    result = await reservation.reserve_order(db, seller.actor(), guangdong.id)
    assert {a.warehouse_id for a in result.reserved} == {layout.warehouses[1].id}

    # 浙江 cannot be filled by WH1 (4 left); "anywhere" ANY can (9).
    zhejiang = await make_order_with(db, seller, [(sku, 6)])
    assert zhejiang.id is not None
    result = await reservation.reserve_order(db, seller.actor(), zhejiang.id)
    assert {a.warehouse_id for a in result.reserved} == {layout.warehouses[2].id}

    # 5 units: no warehouse has 5 any more (4, 1, 3); split only when the shop allows it.
    big = await make_order_with(db, seller, [(sku, 5)])
    assert big.id is not None
    result = await reservation.reserve_order(db, seller.actor(), big.id)
    assert result.status is OrderStatus.BACKORDERED and result.reserved == ()
    async with UnitOfWork(db, seller.org_id) as uow:
        assert seller.shop.id is not None
        await shop_policies.set_shop_stock_policy(
            uow, seller.actor(), seller.shop.id, ShopStockPolicy(allow_split=True)
        )
        await uow.commit()
    result = await reservation.reserve_order(db, seller.actor(), big.id)
    assert result.status is OrderStatus.RESERVED
    assert len({a.warehouse_id for a in result.reserved}) == 2
    assert (await reconcile.reconcile(db, seller.org_id)).ok


async def test_adjust_transfer_safety_and_channel_quantities(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    bin_a, bin_b = layout.bin_id(0, 0), layout.bin_id(0, 1)
    await receive(db, seller, layout, sku, 10, bin_id=bin_a)
    actor = seller.actor()
    async with UnitOfWork(db, seller.org_id) as uow:
        await stock_moves.adjust_stock(
            uow, actor, items=[AdjustLine(sku, bin_a, counted=8)], reason="盘点 2026-11"
        )
        await stock_moves.transfer_stock(uow, actor, items=[TransferLine(sku, bin_a, bin_b, 3)])
        await stock_moves.set_safety_stock(uow, actor, items=[SafetyLine(sku, bin_b, 1)])
        assert seller.shops["DOUYIN"].id is not None and seller.shop.id is not None
        await shop_policies.set_shop_stock_policy(
            uow, actor, seller.shops["DOUYIN"].id, ShopStockPolicy(ratio_percent=60)
        )
        await uow.commit()
    async with UnitOfWork(db, seller.org_id) as uow:
        douyin = await shop_policies.channel_quantities(
            uow, actor, seller.shops["DOUYIN"].id, [sku]
        )
        tmall = await shop_policies.channel_quantities(uow, actor, seller.shop.id, [sku])
    # on hand 8 (5 + 3), safety 1: available 7; Douyin 60 % rounds down to 4.
    assert tmall == {sku: 7}
    assert douyin == {sku: 4}
    totals = await sku_totals(db, seller.org_id, sku)
    assert (totals.on_hand, totals.ledger_on_hand) == (8, 8)
    assert (await reconcile.reconcile(db, seller.org_id)).ok


async def test_receive_then_reserve_everything(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    async with UnitOfWork(db, seller.org_id) as uow:
        assert layout.warehouses[0].id is not None
        await stock_moves.receive_stock(
            uow,
            seller.actor(),
            warehouse_id=layout.warehouses[0].id,
            items=[ReceiveLine(sku, layout.bin_id(0, i), 2) for i in range(3)],
        )
        await uow.commit()
    order = await make_order_with(db, seller, [(sku, 5)])
    assert order.id is not None
    result = await reservation.reserve_order(db, seller.actor(), order.id)
    assert result.status is OrderStatus.RESERVED
    assert len(result.reserved) == 3  # fewest bins that hold 5: all three
    assert (await sku_totals(db, seller.org_id, sku)).reserved == 5


async def _first_line(db: Database, org_id: int, order_id: int) -> int:
    async with org_connection(db, org_id) as conn:
        line = await conn.scalar(
            text("SELECT min(id) FROM order_lines WHERE org_id = :org AND order_id = :id"),
            {"org": org_id, "id": order_id},
        )
    return int(line)
