"""Order queries: the order board's list and single orders."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import from_domain
from api.ids import decode_id_or_raise
from api.orders.inputs import OrderFilterInput
from api.orders.types import Order
from api.pagination import Connection, PageRequest, list_connection
from api.permissions import OrdersRead
from domain.errors import DomainError
from domain.orders import service
from domain.orders.model import OrderFilter, OrderSort


@strawberry.type
class OrderQueries:
    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[OrdersRead],
        description="Orders, newest first by default.  Sorting by total needs money:read.",
    )
    async def orders(
        self,
        info: Info[Context, None],
        filter: OrderFilterInput | None = None,
        sort: OrderSort = OrderSort.CREATED_DESC,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Order]:
        try:
            flt = filter.to_domain() if filter else OrderFilter()
        except DomainError as exc:
            raise from_domain(exc) from exc
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: service.count_orders(uow, actor, flt, sort),
            lambda uow, actor, page: service.find_orders(uow, actor, flt, sort, page),
            Order.from_row,
            sort=sort.value,
            filter=flt,
        )

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[OrdersRead],
        description="One order; NOT_FOUND when unknown or out of the caller's reach.",
    )
    async def order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        ctx = info.context
        pk = decode_id_or_raise(id, "Order")
        try:
            async with ctx.uow() as uow:
                row = await service.readable_order(uow, ctx.require_actor(), pk)
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Order.from_row(row)
