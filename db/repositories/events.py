"""SQL for the outbox relay and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import AuditEntry, OutboxEvent

RELAY_LOCK_KEY = 0x0F_0F_0001  # arbitrary, fixed: 'orderflow outbox relay'


class RelayLock:
    """Only one relay publishes at a time (per database), which keeps per-order order.

    A session-level advisory lock on a connection the relay keeps to itself: unlike a
    transaction's lock it is held while no transaction is open, so the relay reads in one short
    transaction, publishes to Redis with nothing open, and marks in another.  It ends with
    ``release`` or with the connection, so a crashed relay's lock goes with its connection.
    Never take it on a pooled connection: the pool would hand it to the next borrower.
    ``driver`` is the asyncpg connection (asyncpg ships no type information); its statements
    run outside any transaction.
    """

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    async def try_acquire(self) -> bool:
        return bool(await self._driver.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY))

    async def release(self) -> bool:
        """True if the lock was held (and is now released)."""
        return bool(await self._driver.fetchval("SELECT pg_advisory_unlock($1)", RELAY_LOCK_KEY))


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def oldest_unpublished(self, limit: int) -> Sequence[OutboxEvent]:
        """The oldest unpublished events, in ``id`` order (one order's events in commit order).

        No row locks: the relay lock already keeps every other relay out, and the rows are
        marked in a later transaction, after Redis has them.
        """
        stmt = (
            select(OutboxEvent)
            .where(col(OutboxEvent.published_at).is_(None))
            .order_by(col(OutboxEvent.id))
            .limit(limit)
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
