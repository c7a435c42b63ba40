"""The arq worker: settings from URLs, the relay inside it, routed jobs, graceful shutdown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from db.engine import Database
from db.settings import Settings
from db.uow import UnitOfWork
from workers import relay as relay_module
from workers.enqueue import JobQueue, arq_redis, queue_name
from workers.runtime import run_worker
from workers.settings import WorkerSettings

TIMEOUT = 5.0


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_arq_client_accepts_tcp_and_unix_socket_urls_with_timeouts(settings: Settings) -> None:
    tcp = arq_redis("redis://:secret@cache.internal:6380/2", settings).connection_pool
    kwargs = tcp.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "cache.internal",
        6380,
        2,
        "secret",
    )
    assert kwargs["socket_timeout"] == settings.redis_socket_timeout_seconds
    assert kwargs["socket_connect_timeout"] == settings.redis_connect_timeout_seconds
    sock = arq_redis("unix:///tmp/of/redis.socket?db=1", settings).connection_pool
    assert (sock.connection_kwargs["path"], sock.connection_kwargs["db"]) == (
        "/tmp/of/redis.socket",
        1,
    )
    assert sock.connection_kwargs["socket_timeout"] == settings.redis_socket_timeout_seconds


def test_worker_kwargs_carry_the_deployment_prefix(settings: Settings) -> None:
    kwargs = WorkerSettings.for_app(settings, "postgresql+asyncpg://x/y", "redis://h:1/0")
    assert kwargs["queue_name"] == f"{settings.redis_prefix}:queue"
    assert kwargs["handle_signals"] is False
    names = [job.name for job in kwargs["cron_jobs"]]
    assert len(names) == len(WorkerSettings.cron_jobs)
    assert f"{settings.redis_prefix}:cron:cleanup_outbox_job" in names
    assert all(name.startswith(f"{settings.redis_prefix}:cron:") for name in names)
    # Copies: another deployment's settings never leak into the class-level list.
    assert all(
        a is not b for a, b in zip(kwargs["cron_jobs"], WorkerSettings.cron_jobs, strict=True)
    )


@pytest_asyncio.fixture(loop_scope="session")
async def queue(settings: Settings) -> AsyncIterator[JobQueue]:
    assert settings.redis_url
    job_queue = await JobQueue.connect(settings.redis_url, settings)
    yield job_queue
    await job_queue.close()


calls: list[dict[str, Any]] = []


async def record_job(ctx: dict[str, Any], event: dict[str, Any]) -> None:
    calls.append({"event": event, "queue": ctx["queue"], "settings": ctx["settings"]})


async def slow_job(ctx: dict[str, Any], seconds: float, marker: str) -> str:
    calls.append({"started": marker})
    await asyncio.sleep(seconds)
    calls.append({"finished": marker})
    return marker


def start(settings: Settings, stop: asyncio.Event, **kwargs: Any) -> asyncio.Task[None]:
    assert settings.database_url and settings.redis_url
    return asyncio.create_task(
        run_worker(
            settings,
            settings.database_url,
            settings.redis_url,
            stop,
            extra_functions=(record_job, slow_job),
            **kwargs,
        )
    )


async def test_worker_relays_events_into_routed_jobs_and_stops_cleanly(
    db: Database, redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(relay_module.TOPIC_JOBS, "test.worker_routed", ["record_job"])
    async with UnitOfWork(db, None) as uow:
        org = await uow.accounts.add_org(f"wk-{uuid.uuid4().hex[:8]}", "worker test")
        await uow.commit()
    assert org.id is not None
    calls.clear()
    stop = asyncio.Event()
    worker = start(settings, stop)

    async with UnitOfWork(db, org.id) as uow:
        uow.emit("test.worker_routed", "Order", 77, {"status": "PAID"})
        await uow.commit()

    async def job_ran() -> bool:
        return any(c.get("event", {}).get("aggregate_id") == 77 for c in calls)

    await until(job_ran, "the routed job")
    (call,) = [c for c in calls if "event" in c]
    assert isinstance(call["queue"], JobQueue) and call["settings"] is settings

    stop.set()
    await asyncio.wait_for(worker, TIMEOUT)
    assert not await redis.exists(f"{queue_name(settings.redis_prefix)}:health-check")


async def test_stop_lets_a_running_job_finish(settings: Settings, queue: JobQueue) -> None:
    calls.clear()
    await queue.enqueue("slow_job", 0.3, "patient", job_id=f"slow:{uuid.uuid4().hex}")
    stop = asyncio.Event()
    worker = start(settings, stop, run_relay=False)

    async def started() -> bool:
        return {"started": "patient"} in calls

    await until(started, "the slow job to start")
    stop.set()
    await asyncio.wait_for(worker, TIMEOUT)
    assert calls == [{"started": "patient"}, {"finished": "patient"}]


async def test_a_job_beyond_the_grace_period_is_requeued(
    redis: Redis, settings: Settings, queue: JobQueue
) -> None:
    calls.clear()
    job_id = await queue.enqueue("slow_job", 30, "stubborn", job_id=f"slow:{uuid.uuid4().hex}")
    assert job_id is not None
    stop = asyncio.Event()
    worker = start(settings, stop, run_relay=False, shutdown_grace_seconds=0.1)

    async def started() -> bool:
        return {"started": "stubborn"} in calls

    await until(started, "the slow job to start")
    stop.set()
    await asyncio.wait_for(worker, TIMEOUT)
    assert {"finished": "stubborn"} not in calls
    # Still queued: the next worker runs it again.
    assert await redis.zscore(queue.name, job_id) is not None
    await redis.zrem(queue.name, job_id)
