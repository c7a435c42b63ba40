"""Catalog and shop reads (the write side comes with the catalog issue)."""

from __future__ import annotations

from collections.abc import Sequence

from db.tables import Product, Shop, Warehouse
from db.uow import UnitOfWork
from domain.accounts.model import Actor, Scope
from domain.errors import Forbidden


def _need(actor: Actor, scope: Scope) -> None:
    if not actor.has_scope(scope):
        raise Forbidden(f"This needs the '{scope.value}' permission")


async def find_products(
    uow: UnitOfWork,
    actor: Actor,
    *,
    category: str | None,
    search: str | None,
    offset: int,
    limit: int,
) -> Sequence[Product]:
    _need(actor, Scope.CATALOG_READ)
    return await uow.catalog.list_products(category, search, offset, limit)


async def count_products(
    uow: UnitOfWork, actor: Actor, *, category: str | None, search: str | None
) -> int:
    _need(actor, Scope.CATALOG_READ)
    return await uow.catalog.count_products(category, search)


async def find_shops(
    uow: UnitOfWork, actor: Actor, *, channel: str | None, offset: int, limit: int
) -> Sequence[Shop]:
    _need(actor, Scope.ORDERS_READ)
    return await uow.shops.list_shops(channel, offset, limit)


async def count_shops(uow: UnitOfWork, actor: Actor, *, channel: str | None) -> int:
    _need(actor, Scope.ORDERS_READ)
    return await uow.shops.count_shops(channel)


async def find_warehouses(
    uow: UnitOfWork, actor: Actor, *, active: bool | None, offset: int, limit: int
) -> Sequence[Warehouse]:
    _need(actor, Scope.STOCK_READ)
    return await uow.shops.list_warehouses(active, offset, limit)


async def count_warehouses(uow: UnitOfWork, actor: Actor, *, active: bool | None) -> int:
    _need(actor, Scope.STOCK_READ)
    return await uow.shops.count_warehouses(active)
