"""SQL for the outbox relay and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import AuditEntry, OutboxEvent

RELAY_LOCK_KEY = 0x0F_0F_0001  # arbitrary, fixed: 'orderflow outbox relay'


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_lock_relay(self) -> bool:
        """Only one relay publishes at a time (per database), which keeps per-order order.

        A transaction-scoped advisory lock: released by commit or by a crashed connection.
        """
        locked = await self.session.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY)))
        return bool(locked)

    async def claim_unpublished(self, limit: int) -> Sequence[OutboxEvent]:
        """Lock the oldest unpublished events; a second relay skips them rather than waiting.

        Skipping means two relays never publish the same batch, and ``id`` order within a batch
        keeps one order's events in commit order.
        """
        stmt = (
            select(OutboxEvent)
            .where(col(OutboxEvent.published_at).is_(None))
            .order_by(col(OutboxEvent.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(stmt)).all()

    async def mark_published(self, ids: Sequence[int], at: datetime) -> None:
        if ids:
            await self.session.execute(
                update(OutboxEvent).where(col(OutboxEvent.id).in_(ids)).values(published_at=at)
            )

    async def delete_published_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` events published before ``cutoff``; returns how many went.

        In batches, oldest first, so a large backlog never holds one long delete.
        """
        batch = (
            select(col(OutboxEvent.id))
            .where(col(OutboxEvent.published_at) < cutoff)
            .order_by(col(OutboxEvent.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(
            delete(OutboxEvent).where(col(OutboxEvent.id).in_(batch))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def audit_entries(self, org_id: int, limit: int) -> Sequence[AuditEntry]:
        stmt = (
            select(AuditEntry)
            .where(col(AuditEntry.org_id) == org_id)
            .order_by(col(AuditEntry.id).desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()
