"""Holding rows locked from another connection, and seeing who waits for them.

A test that proves what happens when a transaction meets a locked row needs two things: a
connection that holds the row (acting as the application does for one organisation, so row-level
security applies), and a way to know, without guessing a delay, that the transaction under test
has reached the lock.  PostgreSQL answers the second: ``pg_blocking_pids(pid)`` names the
backends a waiting backend waits for.  Reading other logins' backends takes the superuser
(``admin_db``).  Every wait here has a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from db.engine import Database
from tests.support.sql import org_connection

#: How long a test waits for something that should happen at once (a busy machine, not a bug).
DEADLINE_SECONDS = 30.0


async def until(
    check: Callable[[], Awaitable[bool]], what: str, within: float = DEADLINE_SECONDS
) -> None:
    """Poll ``check`` until it holds; fail the test after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass(frozen=True)
class Waiter:
    """A backend waiting for a lock: its pid and when its transaction began (a new attempt of
    the same work is a new transaction, perhaps on another pooled connection)."""

    pid: int
    xact_start: datetime


@dataclass
class HeldLock:
    pid: int

    async def waiters(self, admin_db: Database) -> set[Waiter]:
        return await waiters_of(admin_db, self.pid)


@asynccontextmanager
async def hold_rows(
    db: Database, org_id: int, sql: str, params: Mapping[str, Any] | None = None
) -> AsyncIterator[HeldLock]:
    """Run ``sql`` (a ``SELECT ... FOR UPDATE``) as the organisation and keep its locks until
    the block ends; then roll back (the holder writes nothing)."""
    async with org_connection(db, org_id) as conn:
        pid = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        await conn.execute(text(sql), dict(params or {}))
        try:
            yield HeldLock(pid)
        finally:
            await conn.rollback()


async def waiters_of(admin_db: Database, blocker_pid: int) -> set[Waiter]:
    """The backends that wait, right now, for a lock ``blocker_pid`` holds."""
    async with admin_db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pid, xact_start FROM pg_stat_activity"
                " WHERE :blocker = ANY(pg_blocking_pids(pid))"
            ),
            {"blocker": blocker_pid},
        )
        return {Waiter(int(pid), start) for pid, start in rows}


async def backend_pid(conn_or_session: Any) -> int:
    """The server process of a connection or ORM session (to watch who waits for it)."""
    return int(await conn_or_session.scalar(text("SELECT pg_backend_pid()")) or 0)
