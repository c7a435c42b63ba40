"""Catalog and shop reads (the write side comes with the catalog issue).

Every read asks the area's scope (domain/catalog/scope.py, domain/inventory/scope.py for
warehouses): lists and totals are FORBIDDEN outside it, look-ups by id find nothing outside it,
and a supplier's lists hold only what its orders reach.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TypeVar

from db.tables import Product, Shop, Sku, Warehouse
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.catalog import scope
from domain.inventory import scope as inventory_scope
from domain.paging import Page, PageResult
from domain.scope import require_found

T = TypeVar("T")


async def find_products(
    uow: UnitOfWork,
    actor: Actor,
    *,
    category: str | None,
    search: str | None,
    page: Page,
) -> PageResult[Product]:
    within = scope.catalog(actor).require()
    return await uow.catalog.list_products(category, search, page, supplier_id=within.supplier_id)


async def count_products(
    uow: UnitOfWork, actor: Actor, *, category: str | None, search: str | None
) -> int:
    within = scope.catalog(actor).require()
    return await uow.catalog.count_products(category, search, supplier_id=within.supplier_id)


async def find_shops(
    uow: UnitOfWork, actor: Actor, *, channel: str | None, page: Page
) -> PageResult[Shop]:
    within = scope.shops(actor).require()
    return await uow.shops.list_shops(channel, page, supplier_id=within.supplier_id)


async def count_shops(uow: UnitOfWork, actor: Actor, *, channel: str | None) -> int:
    within = scope.shops(actor).require()
    return await uow.shops.count_shops(channel, supplier_id=within.supplier_id)


async def find_warehouses(
    uow: UnitOfWork, actor: Actor, *, active: bool | None, page: Page
) -> PageResult[Warehouse]:
    inventory_scope.stock(actor).require()
    return await uow.shops.list_warehouses(active, page)


async def count_warehouses(uow: UnitOfWork, actor: Actor, *, active: bool | None) -> int:
    inventory_scope.stock(actor).require()
    return await uow.shops.count_warehouses(active)


# -- by id (node, DataLoaders, id arguments): only what the actor may read ---------------------
async def _within_reach(
    found: dict[int, T],
    supplier_id: int | None,
    reach: Callable[[int, list[int]], Awaitable[Collection[int]]],
) -> dict[int, T]:
    """``found`` as a supplier may see it (only what its orders reach); everyone else's as is."""
    if supplier_id is None:
        return found
    reachable = await reach(supplier_id, list(found))
    return {pk: row for pk, row in found.items() if pk in reachable}


async def skus_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Sku]:
    within = scope.catalog(actor)
    if not within.allowed or not ids:
        return {}
    found = await uow.catalog.skus_by_ids(ids)
    return await _within_reach(found, within.supplier_id, uow.suppliers.skus)


async def products_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Product]:
    within = scope.catalog(actor)
    if not within.allowed or not ids:
        return {}
    found = await uow.catalog.products_by_ids(ids)
    return await _within_reach(found, within.supplier_id, uow.suppliers.products)


async def skus_of_products(
    uow: UnitOfWork, actor: Actor, product_ids: Sequence[int]
) -> dict[int, list[Sku]]:
    within = scope.catalog(actor)
    if not within.allowed:
        return {}
    return await uow.catalog.skus_for_products(product_ids, supplier_id=within.supplier_id)


async def shops_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Shop]:
    within = scope.shops(actor)
    if not within.allowed or not ids:
        return {}
    found = await uow.shops.shops_by_ids(ids)
    return await _within_reach(found, within.supplier_id, uow.suppliers.shops)


async def warehouses_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, Warehouse]:
    if not inventory_scope.stock(actor).allowed or not ids:
        return {}
    return await uow.shops.warehouses_by_ids(ids)


# -- id arguments: FORBIDDEN when the type is unreadable, NOT_FOUND when out of reach ----------
async def require_skus(uow: UnitOfWork, actor: Actor, ids: Sequence[int], field: str) -> None:
    if ids:
        scope.catalog(actor).require(field)
        require_found(ids, await skus_by_ids(uow, actor, ids), "SKU", field)


async def require_shops(uow: UnitOfWork, actor: Actor, ids: Sequence[int], field: str) -> None:
    if ids:
        scope.shops(actor).require(field)
        require_found(ids, await shops_by_ids(uow, actor, ids), "Shop", field)
