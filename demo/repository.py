"""Bulk inserts for the demo loader (``demo/seed.py``), and what it reads back.

Only what orderflow itself receives from outside goes in here: shops, the catalog, buyers, and
the orders as they arrive (NEW, their lines, the history row saying where they came from, staff
remarks).  Stock, reservations, backorders, the ledger and every later status change are written
by the services and the reservation loop.

Thousands of orders go in as a few statements, not one ORM object at a time: the demo's
start-up time is measured.  Rows whose ids the loader needs use SQLAlchemy's executemany with
``RETURNING`` (insertmanyvalues batches, ids in row order); order history goes in as one
``INSERT ... SELECT FROM unnest(arrays)``, about a third faster.  ``COPY`` would be faster
still but PostgreSQL refuses it on tables with row-level security.  Every row gets this
repository's ``org_id``, so RLS ``WITH CHECK`` passes by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlmodel import SQLModel

from db.repositories._base import Repository
from db.tables import (
    AuditEntry,
    Backorder,
    Bin,
    Customer,
    Order,
    OrderHistory,
    OrderLine,
    OrderRemark,
    Product,
    Reservation,
    Shop,
    ShopStockPolicyRow,
    Sku,
    Stock,
    StockLedgerEntry,
    Supplier,
    User,
    Warehouse,
    Zone,
)

Row = Mapping[str, Any]


@dataclass(frozen=True)
class DemoCounts:
    users: int
    suppliers: int
    shops: int
    warehouses: int
    products: int
    skus: int
    customers: int
    orders: int
    order_lines: int
    order_history: int
    order_remarks: int
    zones: int
    bins: int
    stock: int
    reservations: int
    backorders: int
    stock_ledger: int
    shop_stock_policies: int


_COUNTED: dict[str, type[SQLModel]] = {
    "users": User,
    "suppliers": Supplier,
    "shops": Shop,
    "warehouses": Warehouse,
    "products": Product,
    "skus": Sku,
    "customers": Customer,
    "orders": Order,
    "order_lines": OrderLine,
    "order_history": OrderHistory,
    "order_remarks": OrderRemark,
    "zones": Zone,
    "bins": Bin,
    "stock": Stock,
    "reservations": Reservation,
    "backorders": Backorder,
    "stock_ledger": StockLedgerEntry,
    "shop_stock_policies": ShopStockPolicyRow,
}


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


class DemoRepository(Repository):
    async def _insert(self, model: type[SQLModel], rows: Sequence[Row]) -> None:
        if rows:
            params = [{**row, "org_id": self.org_id} for row in rows]
            await self.session.execute(insert(_table(model)), params)

    async def _insert_arrays(self, model: type[SQLModel], rows: Sequence[Row]) -> None:
        """One ``INSERT ... SELECT FROM unnest(...)``: a column of values per array.  Every row
        must have the same keys (column names of ``model``, taken from its table, never input)."""
        if not rows:
            return
        table = _table(model)
        names = list(rows[0])
        arrays = ", ".join(
            f"CAST(:{name} AS {table.c[name].type.compile(dialect=_PG)}[])" for name in names
        )
        await self.session.execute(
            text(
                f"INSERT INTO {table.name} (org_id, {', '.join(names)}) "
                f"SELECT CAST(:org_id AS bigint), * FROM unnest({arrays})"
            ),
            {"org_id": self.org_id, **{name: [row[name] for row in rows] for name in names}},
        )

    async def _insert_returning_ids(self, model: type[SQLModel], rows: Sequence[Row]) -> list[int]:
        """Insert and return the new ids in the order of ``rows``."""
        if not rows:
            return []
        table = _table(model)
        params = [{**row, "org_id": self.org_id} for row in rows]
        result = await self.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), params
        )
        return [int(row_id) for row_id in result.scalars()]

    async def add_shops(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Shop, rows)

    async def add_products(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Product, rows)

    async def add_skus(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Sku, rows)

    async def add_customers(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Customer, rows)

    async def add_orders(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Order, rows)

    async def add_order_lines(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(OrderLine, rows)

    async def add_order_history(self, rows: Sequence[Row]) -> None:
        await self._insert_arrays(OrderHistory, rows)

    async def add_order_remarks(self, rows: Sequence[Row]) -> None:
        await self._insert(OrderRemark, rows)

    # -- reading back ----------------------------------------------------------------------
    async def order_statuses(self, order_ids: Sequence[int]) -> dict[int, str]:
        """Where the services and the loop have taken the orders so far."""
        orders = _table(Order)
        rows = await self.session.execute(
            select(orders.c.id, orders.c.status).where(
                orders.c.org_id == self.org_id, orders.c.id.in_(order_ids)
            )
        )
        return {int(order_id): str(status) for order_id, status in rows}

    async def has_audit(self, action: str) -> bool:
        audit = _table(AuditEntry)
        found = await self.session.scalar(
            select(audit.c.id)
            .where(audit.c.org_id == self.org_id, audit.c.action == action)
            .limit(1)
        )
        return found is not None

    async def usernames(self) -> set[str]:
        users = _table(User)
        rows = await self.session.scalars(
            select(users.c.username).where(users.c.org_id == self.org_id)
        )
        return {str(name) for name in rows}

    async def counts(self) -> DemoCounts:
        """How many rows of each kind the organisation has, in one round trip."""
        columns = [
            select(func.count())
            .select_from(_table(model))
            .where(_table(model).c.org_id == self.org_id)
            .scalar_subquery()
            .label(name)
            for name, model in _COUNTED.items()
        ]
        row = (await self.session.execute(select(*columns))).one()
        return DemoCounts(**{name: int(row._mapping[name]) for name in _COUNTED})
