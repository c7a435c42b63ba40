"""Marking notifications read."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import run_mutation
from api.ids import decode_id
from api.notifications.types import MarkNotificationsReadPayload
from api.permissions import IsAuthenticated
from domain.notifications import service


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID]


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def mark_notifications_read(
        self, info: Info[Context, None], input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        ctx = info.context

        async def action() -> MarkNotificationsReadPayload:
            ids = [decode_id(gid, "Notification", field="ids") for gid in input.ids]
            async with ctx.uow() as uow:
                updated = await service.mark_read(uow, ctx.require_actor(), ids)
                await uow.commit()
            return MarkNotificationsReadPayload(updated=updated)

        return await run_mutation(info, action, MarkNotificationsReadPayload)
