"""The Relay ``node(id:)`` query: any object by its global id, with typed errors.

Every type that implements ``Node`` has a resolver here (``check_node_resolvers`` fails the
schema build otherwise), and every resolver reads through a DataLoader or service that asks the
area's readable scope: what the caller may not read is NOT_FOUND, exactly like an unknown id or
another seller's, so ``node`` reveals nothing a list would refuse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from graphql import GraphQLObjectType
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from api.accounts.types import ApiToken, Organization, User
from api.catalog.types import Product, Shop, Sku, Warehouse
from api.context import Context
from api.errors import ApiError
from api.ids import decode_id_or_raise, parse_global_id
from api.orders.types import Buyer, Order, OrderLine
from api.permissions import IsAuthenticated
from domain.accounts import service as accounts
from domain.errors import DomainError, ErrorCode

Resolver = Callable[[Context, int], Awaitable[relay.Node | None]]
R = TypeVar("R")


def loaded(
    loader: Callable[[Context], DataLoader[int, R | None]], convert: Callable[[R], relay.Node]
) -> Resolver:
    """A resolver reading through a request's DataLoader (which applies the actor's scope)."""

    async def resolve(ctx: Context, pk: int) -> relay.Node | None:
        row = await loader(ctx).load(pk)
        return convert(row) if row is not None else None

    return resolve


async def _organization(ctx: Context, pk: int) -> relay.Node | None:
    async with ctx.uow() as uow:
        row = await accounts.organization(uow, ctx.require_actor(), pk)
    return Organization.from_row(row) if row is not None else None


RESOLVERS: dict[str, Resolver] = {
    "Organization": _organization,
    "User": loaded(lambda ctx: ctx.loaders.user, User.from_row),
    "ApiToken": loaded(lambda ctx: ctx.loaders.api_token, ApiToken.from_row),
    "Order": loaded(lambda ctx: ctx.loaders.order, Order.from_row),
    "OrderLine": loaded(lambda ctx: ctx.loaders.order_line, OrderLine.from_row),
    "Buyer": loaded(lambda ctx: ctx.loaders.customer, Buyer.from_row),
    "Shop": loaded(lambda ctx: ctx.loaders.shop, Shop.from_row),
    "Warehouse": loaded(lambda ctx: ctx.loaders.warehouse, Warehouse.from_row),
    "Product": loaded(lambda ctx: ctx.loaders.product, Product.from_row),
    "Sku": loaded(lambda ctx: ctx.loaders.sku, Sku.from_row),
}


def register_node(type_name: str, resolver: Resolver) -> None:
    """Areas with node types of their own add them here (see api/inventory)."""
    RESOLVERS[type_name] = resolver


def check_node_resolvers(schema: strawberry.Schema) -> None:
    """Fail the schema build when a type implements ``Node`` but ``node`` cannot fetch it."""
    node = schema._schema.get_type("Node")
    implementers = {
        t.name
        for t in schema._schema.type_map.values()
        if isinstance(t, GraphQLObjectType) and node in t.interfaces
    }
    missing = sorted(implementers - RESOLVERS.keys())
    if missing:
        raise RuntimeError(
            f"node(id:) cannot resolve {', '.join(missing)}: register a resolver in api/node.py "
            "(through a scoped DataLoader), or stop implementing Node"
        )


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


__all__ = ["NodeQueries", "check_node_resolvers", "loaded", "register_node"]
