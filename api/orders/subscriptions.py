"""Live order board: subscriptions fed by the outbox relay through Redis pub/sub.

Events are published only after the transaction that caused them commits, so a rolled-back
change is never seen.  The live hub (``api.live``) loads each event's order once for every
subscriber of the seller in this process and re-checks their credentials in the same unit of
work; here each subscriber shows it through its own context, where field permissions still apply.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError
from api.ids import decode_id_or_raise
from api.orders.types import Order
from api.permissions import OrdersRead
from domain.errors import ErrorCode
from domain.orders.service import LiveOrder


def _show(ctx: Context, live: LiveOrder) -> Order:
    # Fresh loaders per event (no row cached from an earlier one), primed with what the hub
    # loaded so that lines, shop and SKUs cost this subscriber no query of its own.
    ctx.reset_loaders()
    loaders = ctx.loaders
    order = live.order
    assert order.id is not None
    loaders.order.prime(order.id, order)
    loaders.order_lines.prime(order.id, list(live.lines))
    if live.shop is not None and live.shop.id is not None:
        loaders.shop.prime(live.shop.id, live.shop)
    loaders.sku.prime_many(dict(live.skus))
    return Order.from_row(order)


async def _orders(
    info: Info[Context, None], topics: frozenset[str], order_id: int | None
) -> AsyncGenerator[Order, None]:
    ctx = info.context
    ctx.require_actor()
    if ctx.live is None:
        raise ApiError(
            ErrorCode.INVALID_INPUT, "Subscriptions run over a graphql-transport-ws websocket"
        )
    async with ctx.services.live.order_events(ctx.live, topics, order_id) as events:
        async for live in events:
            yield _show(ctx, live)


@strawberry.type
class OrderSubscriptions:
    @strawberry.subscription(  # type: ignore[untyped-decorator]
        permission_classes=[OrdersRead], description="Each new order, once it is committed."
    )
    async def order_created(self, info: Info[Context, None]) -> AsyncGenerator[Order, None]:
        async for order in _orders(info, frozenset({"order.created"}), None):
            yield order

    @strawberry.subscription(  # type: ignore[untyped-decorator]
        permission_classes=[OrdersRead],
        description="Changes (status, remarks) of one order, or of every order when id is omitted.",
    )
    async def order_updated(
        self, info: Info[Context, None], id: strawberry.ID | None = None
    ) -> AsyncGenerator[Order, None]:
        order_id = decode_id_or_raise(id, "Order") if id is not None else None
        async for order in _orders(info, frozenset({"order.updated"}), order_id):
            yield order
