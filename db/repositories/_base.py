"""What every repository shares: a session, the organisation it serves, paging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class Repository:
    def __init__(self, session: AsyncSession, org_id: int) -> None:
        self.session = session
        self.org_id = org_id

    async def _count(self, stmt: Select[Any]) -> int:
        total = await self.session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        return int(total or 0)

    async def _page(self, stmt: Select[T], offset: int, limit: int) -> Sequence[T]:
        result = await self.session.scalars(stmt.offset(offset).limit(limit))
        return result.all()

    async def _by_ids(self, model: type[T], ids: Sequence[int]) -> dict[int, T]:
        if not ids:
            return {}
        column: Any = model.id  # type: ignore[attr-defined]
        org: Any = model.org_id  # type: ignore[attr-defined]
        rows = await self.session.scalars(
            select(model).where(column.in_(set(ids)), org == self.org_id)
        )
        return {row.id: row for row in rows}  # type: ignore[attr-defined]
