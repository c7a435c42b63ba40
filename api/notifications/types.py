"""Notification (提醒) types and the reservation queue's state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from api.errors import UserError
from db import tables
from domain.notifications.model import Severity


@strawberry.type(description="An alert for the seller's staff; unread until someone marks it.")
class Notification(relay.Node):
    id: relay.NodeID[int]
    kind: str = strawberry.field(description="What happened, e.g. 'reservation.overdue'.")
    severity: Severity
    message: str
    payload: JSON
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.Notification) -> Notification:
        assert row.id is not None
        payload: Any = row.payload
        return cls(
            id=row.id,
            kind=row.kind,
            severity=Severity(row.severity),
            message=row.message,
            payload=payload,
            created_at=row.created_at,
            read_at=row.read_at,
        )


@strawberry.type
class MarkNotificationsReadPayload:
    #: How many were unread and are now read.
    updated: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Orders waiting for their first stock reservation (占用队列).")
class ReservationQueue:
    pending: int = strawberry.field(description="Orders still NEW: not tried yet.")
    oldest_waiting_since: datetime | None = strawberry.field(
        description="When the longest-waiting of them was created."
    )
    overdue: bool = strawberry.field(
        description="Whether one has waited longer than the alert threshold."
    )
