"""Bulk inserts for the demo loader (``domain/demo/seed.py``) and the counts it reports.

Thousands of orders and their history go in as a few multi-row ``INSERT``s (SQLAlchemy's
insertmanyvalues batches), not one ORM object at a time: the demo's start-up time is measured.
``COPY`` would be faster still but PostgreSQL refuses it on tables with row-level security.
Every row gets this repository's ``org_id``, so RLS ``WITH CHECK`` passes by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlmodel import SQLModel

from db.repositories._base import Repository
from db.tables import (
    Customer,
    Order,
    OrderHistory,
    OrderLine,
    OrderRemark,
    Product,
    Shop,
    Sku,
    Supplier,
    User,
    Warehouse,
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
}


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


class DemoRepository(Repository):
    async def _insert(self, model: type[SQLModel], rows: Sequence[Row]) -> None:
        if rows:
            params = [{**row, "org_id": self.org_id} for row in rows]
            await self.session.execute(insert(_table(model)), params)

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

    async def add_warehouses(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Warehouse, rows)

    async def add_products(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Product, rows)

    async def add_skus(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Sku, rows)

    async def add_customers(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Customer, rows)

    async def add_orders(self, rows: Sequence[Row]) -> list[int]:
        return await self._insert_returning_ids(Order, rows)

    async def add_order_lines(self, rows: Sequence[Row]) -> None:
        await self._insert(OrderLine, rows)

    async def add_order_history(self, rows: Sequence[Row]) -> None:
        await self._insert(OrderHistory, rows)

    async def add_order_remarks(self, rows: Sequence[Row]) -> None:
        await self._insert(OrderRemark, rows)

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
