"""The Relay ``node(id:)`` query: any object by its global id, with typed errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from api.catalog.types import Product, Shop, Sku, Warehouse
from api.context import Context
from api.errors import ApiError
from api.ids import decode_id_or_raise, parse_global_id
from api.orders.types import Order
from api.permissions import IsAuthenticated
from domain.errors import DomainError, ErrorCode
from domain.orders import service as orders

Resolver = Callable[[Context, int], Awaitable[relay.Node | None]]


async def _order(ctx: Context, pk: int) -> relay.Node | None:
    async with ctx.uow() as uow:
        rows = await orders.orders_by_ids(uow, ctx.require_actor(), [pk])
    return Order.from_row(rows[0]) if rows else None


def _loaded(attr: str, convert: Callable[[Any], relay.Node]) -> Resolver:
    async def resolve(ctx: Context, pk: int) -> relay.Node | None:
        row = await getattr(ctx.loaders, attr).load(pk)
        return convert(row) if row is not None else None

    return resolve


RESOLVERS: dict[str, Resolver] = {
    "Order": _order,
    "Shop": _loaded("shop", Shop.from_row),
    "Warehouse": _loaded("warehouse", Warehouse.from_row),
    "Product": _loaded("product", Product.from_row),
    "Sku": _loaded("sku", Sku.from_row),
}


def register_node(type_name: str, resolver: Resolver) -> None:
    """Areas with node types of their own add them here (see api/inventory)."""
    RESOLVERS[type_name] = resolver


@strawberry.type
class NodeQueries:
    @strawberry.field(permission_classes=[IsAuthenticated], description="Any object by its id.")  # type: ignore[untyped-decorator]
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> relay.Node | None:
        try:
            type_name, _ = parse_global_id(id)
        except DomainError as exc:
            raise ApiError(exc.code, exc.message, field="id") from exc
        resolver = RESOLVERS.get(type_name)
        if resolver is None:
            raise ApiError(
                ErrorCode.INVALID_ID, f"No object type is called {type_name}", field="id"
            )
        node = await resolver(info.context, decode_id_or_raise(id, type_name))
        if node is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"{type_name} not found", field="id")
        return node


__all__ = ["NodeQueries", "register_node"]
