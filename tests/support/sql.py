"""Counting the SQL statements an operation issues (N+1 detection); raw SQL under RLS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import APP_ROLE, Database


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    counter = StatementCounter()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@asynccontextmanager
async def org_connection(
    db: Database, org_id: int, *, commit: bool = False
) -> AsyncIterator[AsyncConnection]:
    """A raw connection that acts as the application does for one organisation (the
    ``orderflow_app`` role and ``app.org_id``, for its first transaction), so SQL that tests
    run behind the services' back is held to row-level security like everything else."""
    async with db.engine.connect() as conn:
        await conn.execute(
            text("SELECT set_config('role', :role, true), set_config('app.org_id', :org, true)"),
            {"role": APP_ROLE, "org": str(org_id)},
        )
        yield conn
        if commit:
            await conn.commit()


#: Tables a write by the application can touch, for ``tenant_rows``.
WRITTEN_TABLES = (
    "users",
    "orders",
    "order_history",
    "order_remarks",
    "stock",
    "stock_ledger",
    "reservations",
    "backorders",
    "outbox",
    "audit_log",
)


async def tenant_rows(admin_db: Database, org_id: int) -> dict[str, list[Any]]:
    """Every row of ``WRITTEN_TABLES`` for one organisation, as JSON, read past RLS (for
    asserting that a refused operation wrote nothing at all: compare before and after)."""
    found: dict[str, list[Any]] = {}
    async with admin_db.engine.connect() as conn:
        for table in WRITTEN_TABLES:
            rows = await conn.execute(
                text(f"SELECT to_jsonb(t) FROM {table} t WHERE org_id = :org ORDER BY id"),
                {"org": org_id},
            )
            found[table] = [r[0] for r in rows]
    return found
