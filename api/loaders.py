"""Per-request DataLoaders: one batched query per kind of related object, never one per row.

Each batch runs in a short unit of work of its own (scoped to the actor's organisation), because
sibling resolvers run concurrently and one SQLAlchemy session cannot be shared between them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TypeVar

from strawberry.dataloader import DataLoader

from db.engine import Database
from db.tables import (
    Customer,
    Order,
    OrderHistory,
    OrderLine,
    OrderRemark,
    Product,
    Shop,
    Sku,
    User,
    Warehouse,
)
from db.uow import UnitOfWork

K = TypeVar("K")
V = TypeVar("V")


class Loaders:
    def __init__(self, db: Database, org_id: int) -> None:
        self._db = db
        self._org_id = org_id

    def _loader(
        self,
        fetch: Callable[[UnitOfWork, Sequence[int]], Awaitable[dict[int, V]]],
        default: Callable[[], V | None] = lambda: None,
    ) -> DataLoader[int, V | None]:
        async def batch(keys: list[int]) -> list[V | None]:
            async with UnitOfWork(self._db, self._org_id) as uow:
                found = await fetch(uow, keys)
            return [found.get(key, default()) for key in keys]

        return DataLoader(load_fn=batch)

    def _list_loader(
        self, fetch: Callable[[UnitOfWork, Sequence[int]], Awaitable[dict[int, list[V]]]]
    ) -> DataLoader[int, list[V]]:
        async def batch(keys: list[int]) -> list[list[V]]:
            async with UnitOfWork(self._db, self._org_id) as uow:
                found = await fetch(uow, keys)
            return [found.get(key, []) for key in keys]

        return DataLoader(load_fn=batch)

    @cached_property
    def order(self) -> DataLoader[int, Order | None]:
        return self._loader(lambda uow, ids: uow.orders.by_ids(ids))

    @cached_property
    def order_lines(self) -> DataLoader[int, list[OrderLine]]:
        return self._list_loader(lambda uow, ids: uow.orders.lines_for(ids))

    @cached_property
    def order_history(self) -> DataLoader[int, list[OrderHistory]]:
        return self._list_loader(lambda uow, ids: uow.orders.history_for(ids))

    @cached_property
    def order_remarks(self) -> DataLoader[int, list[OrderRemark]]:
        return self._list_loader(lambda uow, ids: uow.orders.remarks_for(ids))

    @cached_property
    def customer(self) -> DataLoader[int, Customer | None]:
        return self._loader(lambda uow, ids: uow.orders.customers_by_ids(ids))

    @cached_property
    def shop(self) -> DataLoader[int, Shop | None]:
        return self._loader(lambda uow, ids: uow.shops.shops_by_ids(ids))

    @cached_property
    def warehouse(self) -> DataLoader[int, Warehouse | None]:
        return self._loader(lambda uow, ids: uow.shops.warehouses_by_ids(ids))

    @cached_property
    def sku(self) -> DataLoader[int, Sku | None]:
        return self._loader(lambda uow, ids: uow.catalog.skus_by_ids(ids))

    @cached_property
    def product(self) -> DataLoader[int, Product | None]:
        return self._loader(lambda uow, ids: uow.catalog.products_by_ids(ids))

    @cached_property
    def product_skus(self) -> DataLoader[int, list[Sku]]:
        return self._list_loader(lambda uow, ids: uow.catalog.skus_for_products(ids))

    @cached_property
    def user(self) -> DataLoader[int, User | None]:
        return self._loader(lambda uow, ids: uow.accounts.users_by_ids(ids))


__all__ = ["Loaders"]
