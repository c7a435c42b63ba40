"""Notifications (提醒): raising alerts for a seller's staff, listing them, marking them read.

An alert is one row per situation (``dedupe_key``) while unread, so a sweep that finds the same
problem every few seconds does not flood the list; once read, the next occurrence is new.  Each
new alert is also one WARNING/ERROR log line and a ``notification.created`` outbox event (live
boards).  Who reads them is ``domain/notifications/scope.py``'s to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from db.engine import Database
from db.tables import Notification
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.errors import InvalidInput
from domain.notifications import scope
from domain.notifications.model import NotificationKind, Severity
from domain.paging import Page, PageResult
from domain.scope import require_found

if TYPE_CHECKING:
    from domain.inventory.reservation import PendingReservations

log = structlog.get_logger(__name__)

MAX_MARK = 500


def _require_read(actor: Actor) -> None:
    scope.notifications(actor).require()


async def raise_alert(
    uow: UnitOfWork,
    kind: NotificationKind,
    severity: Severity,
    message: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str,
) -> int | None:
    """Add a notification in the caller's transaction unless the same one is still unread."""
    created = await uow.notifications.add_unless_open(
        kind=kind.value,
        severity=severity.value,
        message=message,
        payload=payload,
        dedupe_key=dedupe_key,
    )
    if created is not None:
        uow.emit(
            "notification.created",
            "Notification",
            created,
            {"kind": kind.value, "severity": severity.value, "message": message},
        )
        level = log.error if severity is Severity.CRITICAL else log.warning
        level("notification.raised", org_id=uow.org_id, kind=kind.value, message=message)
    return created


async def raise_reservation_overdue(
    db: Database, org_id: int, pending: PendingReservations, threshold: timedelta
) -> int | None:
    oldest = pending.oldest.isoformat() if pending.oldest else None
    minutes = int(threshold.total_seconds() // 60) or 1
    message = (
        f"{pending.count} order(s) have waited more than {minutes} min for stock reservation "
        f"(oldest since {oldest}); the reservation worker may be down or failing"
    )
    async with UnitOfWork(db, org_id) as uow:
        created = await raise_alert(
            uow,
            NotificationKind.RESERVATION_OVERDUE,
            Severity.CRITICAL,
            message,
            {"pending": pending.count, "oldestSince": oldest},
            dedupe_key=NotificationKind.RESERVATION_OVERDUE.value,
        )
        await uow.commit()
    return created


async def find_notifications(
    uow: UnitOfWork, actor: Actor, *, unread_only: bool, page: Page
) -> PageResult[Notification]:
    _require_read(actor)
    return await uow.notifications.list(unread_only, page)


async def count_notifications(uow: UnitOfWork, actor: Actor, *, unread_only: bool) -> int:
    _require_read(actor)
    return await uow.notifications.count(unread_only)


async def notifications_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> list[Notification]:
    """For ``node``: nothing (NOT_FOUND) for a caller who may not read notifications."""
    if not scope.notifications(actor).allowed:
        return []
    found = await uow.notifications.by_ids(ids)
    return [found[i] for i in ids if i in found]


async def mark_read(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> int:
    """Mark notifications read; returns how many were unread.  An unknown id (or another
    seller's) is NOT_FOUND and nothing is marked."""
    _require_read(actor)
    if not ids:
        raise InvalidInput("Name at least one notification", field="ids")
    if len(ids) > MAX_MARK:
        raise InvalidInput(f"At most {MAX_MARK} notifications at once", field="ids")
    require_found(ids, await uow.notifications.by_ids(ids), "Notification", "ids")
    return await uow.notifications.mark_read(ids, actor.user_id, datetime.now(UTC))
