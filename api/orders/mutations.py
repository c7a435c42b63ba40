"""Order mutations: manual orders (手工单), cancellation, remarks."""

from __future__ import annotations

import contextlib

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import run_mutation
from api.ids import decode_id
from api.orders.inputs import AddOrderRemarkInput, CancelOrderInput, CreateOrderInput
from api.orders.types import Order, OrderPayload, OrderRemark, OrderRemarkPayload
from api.permissions import IsAuthenticated
from domain.inventory import reservation
from domain.inventory.errors import ConcurrentUpdate
from domain.orders import service


@strawberry.type
class OrderMutations:
    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def create_order(
        self, info: Info[Context, None], input: CreateOrderInput
    ) -> OrderPayload:
        ctx = info.context

        async def action() -> OrderPayload:
            draft = input.to_domain()
            actor = ctx.require_actor()
            order = await service.place_manual_order(ctx.services.db, actor, draft)
            if input.reserve_now and order.id is not None:
                # Its own transaction: the order exists either way, like one from a platform.
                # Stock too busy to reserve now is no failure of the order: it stays NEW and
                # the reservation loop takes it within moments.
                with contextlib.suppress(ConcurrentUpdate):
                    await reservation.reserve_order(ctx.services.db, actor, order.id)
                async with ctx.uow() as uow:
                    order = await service.get_order(uow, actor, order.id)
            return OrderPayload(order=Order.from_row(order))

        return await run_mutation(info, action, OrderPayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def cancel_order(
        self, info: Info[Context, None], input: CancelOrderInput
    ) -> OrderPayload:
        ctx = info.context

        async def action() -> OrderPayload:
            order_id = decode_id(input.id, "Order")
            async with ctx.uow() as uow:
                order = await service.cancel_order(uow, ctx.require_actor(), order_id, input.reason)
                await uow.commit()
            return OrderPayload(order=Order.from_row(order))

        return await run_mutation(info, action, OrderPayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def add_order_remark(
        self, info: Info[Context, None], input: AddOrderRemarkInput
    ) -> OrderRemarkPayload:
        ctx = info.context

        async def action() -> OrderRemarkPayload:
            order_id = decode_id(input.id, "Order")
            async with ctx.uow() as uow:
                actor = ctx.require_actor()
                remark = await service.add_remark(uow, actor, order_id, input.text)
                order = await service.get_order(uow, actor, order_id)
                await uow.commit()
            return OrderRemarkPayload(
                order=Order.from_row(order),
                remark=OrderRemark(
                    text=remark.text, author=remark.author_label, at=remark.created_at
                ),
            )

        return await run_mutation(info, action, OrderRemarkPayload)
