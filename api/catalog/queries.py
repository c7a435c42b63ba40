"""Queries for shops, warehouses and products."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from api.catalog.types import Product, Shop, Warehouse
from api.context import Context
from api.pagination import Connection, PageRequest, list_connection
from api.permissions import CatalogRead, ShopsRead, StockRead
from domain.catalog import service
from domain.shops.model import Channel


@strawberry.type
class CatalogQueries:
    @strawberry.field(permission_classes=[CatalogRead], description="Products with their SKUs.")  # type: ignore[untyped-decorator]
    async def products(
        self,
        info: Info[Context, None],
        category: str | None = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Name, product code, SKU code or barcode."),
        ] = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Product]:
        term = (search or "").strip() or None
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: service.count_products(uow, actor, category=category, search=term),
            lambda uow, actor, page: service.find_products(
                uow, actor, category=category, search=term, page=page
            ),
            Product.from_row,
            filter={"category": category, "search": term},
        )

    @strawberry.field(permission_classes=[ShopsRead])  # type: ignore[untyped-decorator]
    async def shops(
        self,
        info: Info[Context, None],
        channel: Channel | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Shop]:
        value = channel.value if channel else None
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: service.count_shops(uow, actor, channel=value),
            lambda uow, actor, page: service.find_shops(uow, actor, channel=value, page=page),
            Shop.from_row,
            filter={"channel": value},
        )

    @strawberry.field(permission_classes=[StockRead])  # type: ignore[untyped-decorator]
    async def warehouses(
        self,
        info: Info[Context, None],
        active: bool | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Warehouse]:
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: service.count_warehouses(uow, actor, active=active),
            lambda uow, actor, page: service.find_warehouses(uow, actor, active=active, page=page),
            Warehouse.from_row,
            filter={"active": active},
        )
