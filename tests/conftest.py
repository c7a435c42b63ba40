"""Test session set-up: real PostgreSQL and Redis, never mocks.

``DATABASE_URL`` / ``REDIS_URL`` are used when set (CI: the machine's services); otherwise the
embedded ones start under ``.orderflow/``.  The session migrates a template database once, clones
it for itself (and for tests that want a database of their own), and drops what it created.

The superuser only creates, migrates and drops databases (``admin_db`` is there for tests that
must look under RLS, e.g. to prove a write did not happen in another organisation): the
application under test logs in as ``orderflow_server``, so every test exercises the forced
row-level security policies exactly as production does.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from db.embedded import login_url, resolve_service_urls, stop_embedded
from db.engine import Database
from db.migrate import upgrade
from db.settings import Settings
from tests.support.api import GraphQLClient, graphql_client
from tests.support.databases import DatabaseFactory
from tests.support.factories import Seller, make_org


@pytest.fixture(scope="session")
def service_urls() -> Iterator[Any]:
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    urls = resolve_service_urls(base)
    yield urls
    stop_embedded()


@pytest_asyncio.fixture(scope="session")
async def databases(service_urls: Any) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(service_urls.admin_database_url)
    await factory.create_template(upgrade)
    yield factory
    await factory.drop_all()


@pytest_asyncio.fixture(scope="session")
async def admin_database_url(databases: DatabaseFactory) -> str:
    return await databases.clone()


@pytest.fixture(scope="session")
def database_url(admin_database_url: str) -> str:
    return login_url(admin_database_url)


@pytest.fixture(scope="session")
def settings(database_url: str, admin_database_url: str, service_urls: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=database_url,
        DATABASE_ADMIN_URL=admin_database_url,
        REDIS_URL=service_urls.redis_url,
        secret_key="test-secret-key-not-for-production",
        redis_prefix=f"oftest-{uuid.uuid4().hex[:8]}",
        outbox_poll_seconds=0.05,
        login_attempts_per_15min=5,
    )


@pytest_asyncio.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    assert settings.database_url
    database = Database.connect(settings.database_url, settings, pool_size=20)
    yield database
    await database.dispose()


@pytest_asyncio.fixture(scope="session")
async def admin_db(settings: Settings) -> AsyncIterator[Database]:
    """The test database as its owner (superuser): for looking past RLS in assertions only."""
    assert settings.database_admin_url
    database = Database.connect(settings.database_admin_url, settings, pool_size=2)
    yield database
    await database.dispose()


@pytest_asyncio.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    assert settings.redis_url
    client: Redis = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests pass settings explicitly; a developer's ORDERFLOW_* variables must not leak in.
    for name in list(os.environ):
        if name.startswith("ORDERFLOW_"):
            monkeypatch.delenv(name)


@pytest_asyncio.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[GraphQLClient]:
    async with graphql_client(settings) as gql_client:
        yield gql_client


@pytest_asyncio.fixture
async def seller(db: Database) -> Seller:
    return await make_org(db)
