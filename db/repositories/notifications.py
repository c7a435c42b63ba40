"""SQL for notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from db.repositories._base import Keyset, Repository
from db.tables import Notification
from domain.paging import Page, PageResult

#: Newest first; served by (org_id, created_at, id).
NEWEST_FIRST = Keyset(col(Notification.created_at), col(Notification.id), descending=True)


class NotificationRepository(Repository):
    async def add_unless_open(
        self, *, kind: str, severity: str, message: str, payload: dict[str, Any], dedupe_key: str
    ) -> int | None:
        """Insert a notification unless an unread one with the same key exists; its id or None."""
        stmt = (
            insert(Notification)
            .values(
                org_id=self.org_id,
                kind=kind,
                severity=severity,
                message=message,
                payload=payload,
                dedupe_key=dedupe_key,
            )
            .on_conflict_do_nothing(
                index_elements=["org_id", "dedupe_key"],
                index_where=col(Notification.read_at).is_(None),
            )
            .returning(col(Notification.id))
        )
        return await self.session.scalar(stmt)

    def _query(self, unread_only: bool) -> Select[Notification]:
        stmt = select(Notification).where(col(Notification.org_id) == self.org_id)
        if unread_only:
            stmt = stmt.where(col(Notification.read_at).is_(None))
        return stmt

    async def list(self, unread_only: bool, page: Page) -> PageResult[Notification]:
        return await self._page(self._query(unread_only), NEWEST_FIRST, page)

    async def count(self, unread_only: bool) -> int:
        return await self._count(self._query(unread_only))

    async def by_ids(self, ids: Sequence[int]) -> dict[int, Notification]:
        return await self._by_ids(Notification, ids)

    async def mark_read(self, ids: Sequence[int], user_id: int | None, at: datetime) -> int:
        result = await self.session.execute(
            update(Notification)
            .where(
                col(Notification.org_id) == self.org_id,
                col(Notification.id).in_(list(ids)),
                col(Notification.read_at).is_(None),
            )
            .values(read_at=at, read_by_user_id=user_id)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
