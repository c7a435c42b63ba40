"""The bulk forms of the order and stock use cases (what loaders and tools call): status changes,
cancellations, shipments and receipts for many at once, all or none, through the same writers
and locks as their single forms."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.engine import Database
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.inventory import reconcile, reservation, stock_moves
from domain.inventory.errors import InsufficientStock, UnknownBin
from domain.inventory.model import ReceiveLine
from domain.orders import service as orders
from domain.orders.model import IllegalTransition, OrderStatus
from tests.support.factories import make_org
from tests.support.inventory import (
    count_rows,
    make_layout,
    make_order_with,
    order_status,
    receive,
    sku_totals,
)
from tests.support.sql import org_connection


async def _rows(db: Database, org_id: int, sql: str) -> list[tuple[object, ...]]:
    async with org_connection(db, org_id) as conn:
        return [tuple(row) for row in await conn.execute(text(sql), {"org": org_id})]


async def test_cancel_orders_releases_each_and_writes_its_history_and_event(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 5, bin_id=layout.bin_id())
    held = await make_order_with(db, seller, [(sku, 2)])
    short = await make_order_with(db, seller, [(sku, 9)])
    assert held.id is not None and short.id is not None
    await reservation.drain(db, seller.org_id)
    assert await order_status(db, seller.org_id, short.id) == "BACKORDERED"

    async with UnitOfWork(db, seller.org_id) as uow:
        await orders.cancel_orders(
            uow,
            seller.actor(Role.MANAGER),
            [
                orders.Cancellation(held.id, "买家申请退款"),
                orders.Cancellation(short.id, "缺货, 与买家协商取消"),
            ],
        )
        await uow.commit()

    for order_id in (held.id, short.id):
        assert await order_status(db, seller.org_id, order_id) == "CANCELLED"
    assert (await sku_totals(db, seller.org_id, sku)).reserved == 0
    assert await count_rows(db, "backorders", seller.org_id, "status = 'WAITING'") == 0
    history = await _rows(
        db,
        seller.org_id,
        "SELECT order_id, from_status, reason, actor_label FROM order_history"
        " WHERE org_id = :org AND to_status = 'CANCELLED' ORDER BY order_id",
    )
    assert history == [
        (held.id, "RESERVED", "买家申请退款", "manager"),
        (short.id, "BACKORDERED", "缺货, 与买家协商取消", "manager"),
    ]
    events = await _rows(
        db,
        seller.org_id,
        "SELECT aggregate_id, payload->>'status', payload->>'fromStatus' FROM outbox"
        " WHERE org_id = :org AND topic = 'order.updated' AND payload->>'status' = 'CANCELLED'"
        " ORDER BY aggregate_id",
    )
    assert events == [(held.id, "CANCELLED", "RESERVED"), (short.id, "CANCELLED", "BACKORDERED")]
    released = await _rows(
        db,
        seller.org_id,
        "SELECT reason FROM stock_ledger WHERE org_id = :org AND kind = 'RELEASE'",
    )
    assert released == [("cancelled: 买家申请退款",)]
    assert (await reconcile.reconcile(db, seller.org_id)).ok


async def test_a_bulk_status_change_is_all_or_nothing(db: Database) -> None:
    seller = await make_org(db)
    first = await make_order_with(db, seller, [(seller.skus[0].id or 0, 1)])
    second = await make_order_with(db, seller, [(seller.skus[0].id or 0, 1)])
    assert first.id is not None and second.id is not None
    async with UnitOfWork(db, seller.org_id) as uow:
        with pytest.raises(IllegalTransition):
            await orders.change_statuses(
                uow,
                seller.actor(),
                [
                    orders.StatusChange(first.id, OrderStatus.HELD, "risk"),
                    orders.StatusChange(second.id, OrderStatus.SHIPPED, "never reserved"),
                ],
            )
    assert await order_status(db, seller.org_id, first.id) == "NEW"
    assert await count_rows(db, "order_history", seller.org_id, "to_status = 'HELD'") == 0


async def test_change_status_shows_the_new_status_on_the_loaded_order(db: Database) -> None:
    seller = await make_org(db)
    made = await make_order_with(db, seller, [(seller.skus[0].id or 0, 1)])
    assert made.id is not None
    async with UnitOfWork(db, seller.org_id) as uow:
        order = await orders.get_order(uow, seller.actor(), made.id)
        before = order.updated_at
        await orders.change_status(uow, seller.actor(), order, OrderStatus.HELD, "risk review")
        # Written once, by the one writer: the object shows it but has nothing to flush.
        assert order.status == "HELD" and order.updated_at > before
        assert not uow.session.dirty
        await uow.commit()
    assert await order_status(db, seller.org_id, made.id) == "HELD"
    assert await count_rows(db, "order_history", seller.org_id, "to_status = 'HELD'") == 1


async def test_commit_orders_ships_every_order_or_none(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 4, bin_id=layout.bin_id())
    ready = [await make_order_with(db, seller, [(sku, 2)]) for _ in range(2)]
    waiting = await make_order_with(db, seller, [(sku, 1)])
    await reservation.drain(db, seller.org_id)
    ids = [o.id for o in ready if o.id is not None]
    assert waiting.id is not None and len(ids) == 2

    async with UnitOfWork(db, seller.org_id) as uow:
        with pytest.raises(InsufficientStock):
            await stock_moves.commit_orders(uow, seller.actor(), [*ids, waiting.id])
    assert (await sku_totals(db, seller.org_id, sku)).on_hand == 4

    async with UnitOfWork(db, seller.org_id) as uow:
        shipped = await stock_moves.commit_orders(uow, seller.actor(), ids)
        await uow.commit()
    assert [s.shipped_units for s in shipped] == [2, 2]
    totals = await sku_totals(db, seller.org_id, sku)
    assert (totals.on_hand, totals.reserved, totals.active_reservations) == (0, 0, 0)
    assert (await reconcile.reconcile(db, seller.org_id)).ok


async def test_receipts_carry_their_own_numbers_and_errors_name_the_receipt(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller, extra_warehouses=[("GZ", ["广东省"], 5)])
    sku = seller.skus[0].id
    assert sku is not None
    warehouses = [w.id or 0 for w in layout.warehouses]
    receipts = [
        stock_moves.Receipt(warehouses[0], [ReceiveLine(sku, layout.bin_id(0, 0), 3)], "", "QC-1"),
        stock_moves.Receipt(
            warehouses[1], [ReceiveLine(sku, layout.bin_id(1, 0), 4)], "采购入库", "PO-7"
        ),
    ]
    async with UnitOfWork(db, seller.org_id) as uow:
        await stock_moves.receive_receipts(uow, seller.actor(Role.WAREHOUSE), receipts)
        await uow.commit()
    ledger = await _rows(
        db,
        seller.org_id,
        "SELECT on_hand_delta, reason, reference FROM stock_ledger WHERE org_id = :org"
        " ORDER BY on_hand_delta",
    )
    assert ledger == [(3, "received", "QC-1"), (4, "采购入库", "PO-7")]

    wrong_bin = stock_moves.Receipt(warehouses[1], [ReceiveLine(sku, 10**9, 1)])
    async with UnitOfWork(db, seller.org_id) as uow:
        with pytest.raises(UnknownBin) as refused:
            await stock_moves.receive_receipts(uow, seller.actor(), [receipts[0], wrong_bin])
    assert refused.value.field == "receipts.1.items.0.binId"
    assert (await sku_totals(db, seller.org_id, sku)).on_hand == 7
