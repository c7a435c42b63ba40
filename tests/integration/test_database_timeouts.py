"""App connections carry idle_in_transaction_session_timeout: a client stuck inside a
transaction (a hung call, a bug) loses its session instead of holding locks for ever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.engine import Database
from db.settings import Settings
from db.uow import UnitOfWork


@pytest_asyncio.fixture
async def impatient_db(settings: Settings) -> AsyncIterator[Database]:
    assert settings.database_url
    quick = settings.model_copy(update={"db_idle_in_transaction_timeout_ms": 200})
    database = Database.connect(settings.database_url, quick, pool_size=1)
    yield database
    await database.dispose()


async def test_the_setting_reaches_every_app_connection(db: Database, settings: Settings) -> None:
    async with UnitOfWork(db, None) as uow:
        shown = await uow.session.scalar(
            text(
                "SELECT setting FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'"
            )
        )
    assert shown == str(settings.db_idle_in_transaction_timeout_ms)  # pg_settings shows ms


async def test_a_transaction_left_idle_is_ended_by_postgresql(impatient_db: Database) -> None:
    with pytest.raises(DBAPIError):
        async with UnitOfWork(impatient_db, None) as uow:
            await uow.session.execute(text("SELECT 1"))
            await asyncio.sleep(1.0)  # e.g. waiting on a network call that hangs
            await uow.session.execute(text("SELECT 1"))
    # The pool replaces the lost connection: the next unit of work just works.
    async with UnitOfWork(impatient_db, None) as uow:
        assert await uow.session.scalar(text("SELECT 1")) == 1
