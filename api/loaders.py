"""Per-request DataLoaders: one batched query per kind of related object, never one per row.

Each loader reads through the area's service with the request's actor, so it returns nothing
outside the actor's readable scope (``domain/*/scope.py``): a nested field or ``node`` cannot
reach what the matching list would refuse.

Each batch runs in a short unit of work of its own (scoped to the actor's organisation), because
sibling resolvers run concurrently and one SQLAlchemy session cannot be shared between them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import TypeVar

from strawberry.dataloader import DataLoader

from db.engine import Database
from db.tables import (
    ApiToken,
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
from domain.accounts import service as accounts
from domain.accounts.model import Actor
from domain.catalog import service as catalog
from domain.orders import service as orders

V = TypeVar("V")

#: A service read: the rows among the keys that the actor may read.
Fetch = Callable[[UnitOfWork, Actor, Sequence[int]], Awaitable[Mapping[int, V]]]


class Loaders:
    def __init__(self, db: Database, actor: Actor) -> None:
        self._db = db
        self._actor = actor

    def _loader(self, fetch: Fetch[V]) -> DataLoader[int, V | None]:
        async def batch(keys: list[int]) -> list[V | None]:
            async with UnitOfWork(self._db, self._actor.org_id) as uow:
                found = await fetch(uow, self._actor, keys)
            return [found.get(key) for key in keys]

        return DataLoader(load_fn=batch)

    def _list_loader(self, fetch: Fetch[list[V]]) -> DataLoader[int, list[V]]:
        async def batch(keys: list[int]) -> list[list[V]]:
            async with UnitOfWork(self._db, self._actor.org_id) as uow:
                found = await fetch(uow, self._actor, keys)
            return [found.get(key, []) for key in keys]

        return DataLoader(load_fn=batch)

    @cached_property
    def order(self) -> DataLoader[int, Order | None]:
        return self._loader(orders.readable_orders)

    @cached_property
    def order_line(self) -> DataLoader[int, OrderLine | None]:
        return self._loader(orders.lines_by_ids)

    @cached_property
    def order_lines(self) -> DataLoader[int, list[OrderLine]]:
        return self._list_loader(orders.lines_of_orders)

    @cached_property
    def order_history(self) -> DataLoader[int, list[OrderHistory]]:
        return self._list_loader(orders.history_of_orders)

    @cached_property
    def order_remarks(self) -> DataLoader[int, list[OrderRemark]]:
        return self._list_loader(orders.remarks_of_orders)

    @cached_property
    def customer(self) -> DataLoader[int, Customer | None]:
        return self._loader(orders.buyers_by_ids)

    @cached_property
    def shop(self) -> DataLoader[int, Shop | None]:
        return self._loader(catalog.shops_by_ids)

    @cached_property
    def warehouse(self) -> DataLoader[int, Warehouse | None]:
        return self._loader(catalog.warehouses_by_ids)

    @cached_property
    def sku(self) -> DataLoader[int, Sku | None]:
        return self._loader(catalog.skus_by_ids)

    @cached_property
    def product(self) -> DataLoader[int, Product | None]:
        return self._loader(catalog.products_by_ids)

    @cached_property
    def product_skus(self) -> DataLoader[int, list[Sku]]:
        return self._list_loader(catalog.skus_of_products)

    @cached_property
    def user(self) -> DataLoader[int, User | None]:
        return self._loader(accounts.users_by_ids)

    @cached_property
    def api_token(self) -> DataLoader[int, ApiToken | None]:
        return self._loader(accounts.tokens_by_ids)


__all__ = ["Loaders"]
