"""Inventory factories: a warehouse layout, stock, orders with chosen quantities, and readers
that bypass the services (to check what the services wrote)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from db.engine import Database
from db.tables import Bin, Order, OrderLine, Warehouse, Zone
from db.uow import UnitOfWork
from domain.inventory import stock_moves
from domain.inventory.layout import BinDraft, create_bins, create_warehouse, create_zone
from domain.inventory.model import ReceiveLine
from tests.support.factories import Seller
from tests.support.sql import org_connection

_counter = itertools.count(1)


@dataclass
class Layout:
    """Warehouses of a seller, each with zone A and bins A-01-1-1, A-01-1-2, ..."""

    warehouses: list[Warehouse] = field(default_factory=list)
    zones: dict[int, Zone] = field(default_factory=dict)
    bins: dict[int, list[Bin]] = field(default_factory=dict)

    def bin(self, warehouse_index: int = 0, bin_index: int = 0) -> Bin:
        warehouse = self.warehouses[warehouse_index]
        assert warehouse.id is not None
        return self.bins[warehouse.id][bin_index]

    def bin_id(self, warehouse_index: int = 0, bin_index: int = 0) -> int:
        found = self.bin(warehouse_index, bin_index).id
        assert found is not None
        return found


async def make_layout(
    db: Database,
    seller: Seller,
    *,
    extra_warehouses: Sequence[tuple[str, Sequence[str], int]] = (),
    bins_per_warehouse: int = 3,
) -> Layout:
    """The seller's WH1 (serves 浙江省, priority 1) plus ``extra_warehouses`` (code, provinces,
    priority), each with zone A and ``bins_per_warehouse`` bins in walk order."""
    actor = seller.actor()
    layout = Layout()
    async with UnitOfWork(db, seller.org_id) as uow:
        assert seller.warehouse is not None
        warehouses = [seller.warehouse]
        for code, provinces, priority in extra_warehouses:
            warehouses.append(
                await create_warehouse(
                    uow, actor, code=code, name=code, provinces=provinces, priority=priority
                )
            )
        for warehouse in warehouses:
            assert warehouse.id is not None
            zone = await create_zone(
                uow, actor, warehouse_id=warehouse.id, code="A", name="Shelving"
            )
            assert zone.id is not None
            bins = await create_bins(
                uow,
                actor,
                zone_id=zone.id,
                bins=[BinDraft(f"A-01-1-{i + 1}", walk_seq=i) for i in range(bins_per_warehouse)],
            )
            layout.warehouses.append(warehouse)
            layout.zones[warehouse.id] = zone
            layout.bins[warehouse.id] = bins
        await uow.commit()
    return layout


async def receive(
    db: Database, seller: Seller, layout: Layout, sku_id: int, quantity: int, *, bin_id: int
) -> None:
    found = [w for w in layout.warehouses for b in layout.bins[w.id or 0] if b.id == bin_id]
    warehouse_id = found[0].id
    assert warehouse_id is not None
    async with UnitOfWork(db, seller.org_id) as uow:
        await stock_moves.receive_stock(
            uow,
            seller.actor(),
            warehouse_id=warehouse_id,
            items=[ReceiveLine(sku_id, bin_id, quantity)],
            reference="test",
        )
        await uow.commit()


def new_order(
    seller: Seller,
    lines: Sequence[tuple[int, int]],
    *,
    province: str = "浙江省",
    paid_at: datetime | None = None,
    shop_channel: str = "TMALL",
) -> tuple[Order, list[OrderLine]]:
    """An order in status NEW with lines of (sku id, quantity), not yet added anywhere (for a
    test that writes it in a transaction of its own choosing)."""
    shop = seller.shops[shop_channel]
    assert shop.id is not None
    order = Order(
        org_id=seller.org_id,
        shop_id=shop.id,
        external_id=f"I{next(_counter)}{uuid.uuid4().hex[:8]}",
        status="NEW",
        receiver_name="李四",
        receiver_phone="13900139000",
        receiver_phone_tail="9000",
        receiver_province=province,
        receiver_city="杭州市",
        receiver_address="文一路 1 号",
        paid_at=paid_at or datetime.now(UTC),
    )
    rows = [
        OrderLine(org_id=seller.org_id, order_id=0, sku_id=sku, quantity=qty, unit_price_fen=100)
        for sku, qty in lines
    ]
    return order, rows


async def make_order_with(
    db: Database,
    seller: Seller,
    lines: Sequence[tuple[int, int]],
    *,
    province: str = "浙江省",
    paid_at: datetime | None = None,
    shop_channel: str = "TMALL",
) -> Order:
    """An order in status NEW with lines of (sku id, quantity)."""
    order, rows = new_order(
        seller, lines, province=province, paid_at=paid_at, shop_channel=shop_channel
    )
    async with UnitOfWork(db, seller.org_id) as uow:
        await uow.orders.add(order, rows)
        await uow.commit()
    return order


def minutes_ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


# -- readers (plain SQL as the superuser: what is really in the tables) ---------------------------
@dataclass(frozen=True)
class SkuTotals:
    on_hand: int
    reserved: int
    active_reservations: int
    ledger_on_hand: int
    ledger_reserved: int


async def sku_totals(db: Database, org_id: int, sku_id: int) -> SkuTotals:
    async with org_connection(db, org_id) as conn:
        row = (
            await conn.execute(
                text(
                    """
                    SELECT
                      (SELECT coalesce(sum(on_hand), 0) FROM stock
                        WHERE org_id = :org AND sku_id = :sku) AS on_hand,
                      (SELECT coalesce(sum(reserved), 0) FROM stock
                        WHERE org_id = :org AND sku_id = :sku) AS reserved,
                      (SELECT coalesce(sum(quantity), 0) FROM reservations
                        WHERE org_id = :org AND sku_id = :sku AND status = 'ACTIVE') AS active,
                      (SELECT coalesce(sum(on_hand_delta), 0) FROM stock_ledger
                        WHERE org_id = :org AND sku_id = :sku) AS ledger_on_hand,
                      (SELECT coalesce(sum(reserved_delta), 0) FROM stock_ledger
                        WHERE org_id = :org AND sku_id = :sku) AS ledger_reserved
                    """
                ),
                {"org": org_id, "sku": sku_id},
            )
        ).one()
    return SkuTotals(*(int(v) for v in row))


async def order_status(db: Database, org_id: int, order_id: int) -> str:
    async with org_connection(db, org_id) as conn:
        status = await conn.scalar(
            text("SELECT status FROM orders WHERE org_id = :org AND id = :id"),
            {"org": org_id, "id": order_id},
        )
    return str(status)


async def count_rows(db: Database, table: str, org_id: int, where: str = "TRUE") -> int:
    async with org_connection(db, org_id) as conn:
        total = await conn.scalar(
            text(f"SELECT count(*) FROM {table} WHERE org_id = :org AND {where}"),
            {"org": org_id},
        )
    return int(total or 0)
