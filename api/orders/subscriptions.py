"""Live order board: subscriptions fed by the outbox relay through Redis pub/sub.

Events are published only after the transaction that caused them commits, so a rolled-back
change is never seen; the relay delivers at least once, so repeated event ids are skipped here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from strawberry.types import Info

from api.context import Context
from api.ids import decode_id_or_raise
from api.orders.types import Order
from api.permissions import OrdersRead
from domain.orders import service
from workers.events import EventMessage, subscribe

_SEEN_WINDOW = 1000


async def _orders(
    info: Info[Context, None], topics: frozenset[str], order_id: int | None
) -> AsyncGenerator[Order, None]:
    ctx = info.context
    actor = ctx.require_actor()
    services = ctx.services
    seen: deque[int] = deque(maxlen=_SEEN_WINDOW)
    stream = subscribe(services.redis, services.settings.redis_prefix, actor.org_id)
    async with aclosing(stream):
        async for event in stream:
            if not _wanted(event, topics, order_id) or event.id in seen:
                continue
            seen.append(event.id)
            ctx.reset_loaders()  # each event must show fresh data, not a cached row
            async with ctx.uow() as uow:
                rows = await service.orders_by_ids(uow, actor, [event.aggregate_id])
            if rows:  # a supplier only hears about its own orders
                yield Order.from_row(rows[0])


def _wanted(event: EventMessage, topics: frozenset[str], order_id: int | None) -> bool:
    return (
        event.aggregate_type == "Order"
        and event.topic in topics
        and (order_id is None or event.aggregate_id == order_id)
    )


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
