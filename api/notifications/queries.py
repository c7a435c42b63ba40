"""Notifications and the reservation queue."""

from __future__ import annotations

from datetime import timedelta

import strawberry
from strawberry.types import Info

from api.context import Context
from api.node import register_node
from api.notifications.types import Notification, ReservationQueue
from api.pagination import Connection, PageRequest, list_connection
from api.permissions import IsAuthenticated, StockRead
from domain.inventory import reservation
from domain.notifications import service


@strawberry.type
class NotificationQueries:
    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[IsAuthenticated],
        description="Alerts for the seller's staff (提醒), newest first.",
    )
    async def notifications(
        self,
        info: Info[Context, None],
        unread_only: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification]:
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: service.count_notifications(uow, actor, unread_only=unread_only),
            lambda uow, actor, page: service.find_notifications(
                uow, actor, unread_only=unread_only, page=page
            ),
            Notification.from_row,
            filter={"unreadOnly": unread_only},
        )

    @strawberry.field(  # type: ignore[untyped-decorator]
        permission_classes=[StockRead],
        description="Orders waiting for their first reservation attempt, and whether any waits "
        "too long (the reservation worker may be down).",
    )
    async def reservation_queue(self, info: Info[Context, None]) -> ReservationQueue:
        ctx = info.context
        actor = ctx.require_actor()
        pending = await reservation.pending_reservations(ctx.services.db, actor.org_id)
        threshold = timedelta(seconds=ctx.services.settings.reservation_alert_after_seconds)
        return ReservationQueue(
            pending=pending.count,
            oldest_waiting_since=pending.oldest,
            overdue=pending.overdue(threshold),
        )


async def _notification(ctx: Context, pk: int) -> Notification | None:
    async with ctx.uow() as uow:
        rows = await service.notifications_by_ids(uow, ctx.require_actor(), [pk])
    return Notification.from_row(rows[0]) if rows else None


register_node("Notification", _notification)
