"""Create and drop the databases a test session uses (and only those)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class DatabaseFactory:
    def __init__(self, server_url: str) -> None:
        self._server_url = make_url(server_url)
        self._admin = create_async_engine(
            self._server_url.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        self.template = f"of_tpl_{uuid.uuid4().hex[:10]}"
        self._created: list[str] = []

    def url_for(self, name: str) -> str:
        return self._server_url.set(database=name).render_as_string(hide_password=False)

    async def create_template(self, migrate: Callable[[AsyncEngine], Awaitable[None]]) -> None:
        async with self._admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        self._created.append(self.template)
        engine = create_async_engine(self.url_for(self.template))
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    async def clone(self) -> str:
        """A new database with the migrated schema; dropped at the end of the session."""
        name = f"of_test_{uuid.uuid4().hex[:10]}"
        async with self._admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self._created.append(name)
        return self.url_for(name)

    async def drop_all(self) -> None:
        async with self._admin.connect() as conn:
            for name in reversed(self._created):
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._created.clear()
        await self._admin.dispose()
