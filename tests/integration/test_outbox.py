"""The outbox relay against real PostgreSQL and Redis: what commits is delivered, once per pass,
in order; what rolls back is not; what a crash left behind goes out on the next start."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from sqlalchemy import select, update

from db.engine import Database
from db.settings import Settings
from db.tables import OutboxEvent
from db.uow import UnitOfWork
from tests.support.relay_probe import RelaySession, relay_lock_holders, relay_sessions
from workers.enqueue import JobQueue
from workers.events import EventMessage, channel, subscribe
from workers.jobs.outbox import cleanup_outbox_job
from workers.relay import OutboxRelay
from workers.runtime import run_worker

TIMEOUT = 5.0


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def new_org(db: Database) -> int:
    slug = f"ob-{uuid.uuid4().hex[:10]}"
    async with UnitOfWork(db, None) as uow:
        org = await uow.accounts.add_org(slug, slug)
        await uow.commit()
    assert org.id is not None
    return org.id


async def emit(
    db: Database,
    org_id: int,
    aggregate_id: int,
    *,
    topic: str = "order.updated",
    count: int = 1,
    **payload: Any,
) -> None:
    """Commit ``count`` events for one aggregate in one transaction (payload gains ``n``)."""
    async with UnitOfWork(db, org_id) as uow:
        for n in range(count):
            uow.emit(topic, "Order", aggregate_id, {**payload, "n": n})
        await uow.commit()


async def outbox_rows(db: Database, org_id: int) -> list[OutboxEvent]:
    async with UnitOfWork(db, None) as uow:
        stmt = select(OutboxEvent).where(OutboxEvent.org_id == org_id).order_by(OutboxEvent.id)  # type: ignore[arg-type]
        return list((await uow.session.scalars(stmt)).all())


class Listener:
    """One subscriber (like one server process) collecting an organisation's events."""

    def __init__(self, redis: Redis, prefix: str, org_id: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._channel = channel(prefix, org_id)
        self._org_id = org_id
        self.messages: list[EventMessage] = []
        self._task: asyncio.Task[None] | None = None

    async def subscribers(self) -> int:
        counts = await self._redis.pubsub_numsub(self._channel)
        return int(counts[0][1])

    async def __aenter__(self) -> Listener:
        before = await self.subscribers()
        self._task = asyncio.create_task(self._consume())

        async def subscribed() -> bool:
            return await self.subscribers() > before

        await until(subscribed, "the subscription")
        return self

    async def _consume(self) -> None:
        async for message in subscribe(self._redis, self._prefix, self._org_id):
            self.messages.append(message)

    async def wait_for(self, count: int) -> list[EventMessage]:
        async def enough() -> bool:
            return len(self.messages) >= count

        await until(enough, f"{count} events (got {len(self.messages)})")
        return self.messages

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def running(*relays: OutboxRelay) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def queue(settings: Settings) -> AsyncIterator[JobQueue]:
    assert settings.redis_url
    job_queue = await JobQueue.connect(settings.redis_url, settings)
    yield job_queue
    await job_queue.close()


@pytest_asyncio.fixture
async def relay(
    db: Database, redis: Redis, queue: JobQueue, settings: Settings
) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(db, redis, queue, settings)
    yield relay
    await relay.close()  # its own connection: the loop closes it, single passes do not


async def drain(relay: OutboxRelay) -> None:
    """Publish what earlier tests left, so counts below are this test's own."""
    while await relay.publish_pending():
        pass


async def test_committed_event_is_delivered_and_marked(
    db: Database, redis: Redis, settings: Settings, relay: OutboxRelay
) -> None:
    org_id = await new_org(db)
    async with Listener(redis, settings.redis_prefix, org_id) as listener, running(relay):
        await emit(db, org_id, 42, topic="order.created", status="NEW", receiver="张三")
        (message,) = await listener.wait_for(1)

    assert message.topic == "order.created"
    assert message.org_id == org_id
    assert (message.aggregate_type, message.aggregate_id) == ("Order", 42)
    assert message.payload == {"status": "NEW", "receiver": "张三", "n": 0}
    (row,) = await outbox_rows(db, org_id)
    assert message.id == row.id
    assert message.created_at == row.created_at
    assert row.published_at is not None


async def test_rolled_back_transaction_delivers_nothing(
    db: Database, redis: Redis, settings: Settings, relay: OutboxRelay
) -> None:
    org_id = await new_org(db)
    async with Listener(redis, settings.redis_prefix, org_id) as listener, running(relay):
        with pytest.raises(RuntimeError):
            async with UnitOfWork(db, org_id) as uow:
                uow.emit("order.created", "Order", 1, {"doomed": True})
                await uow.flush()  # the row exists inside the transaction...
                raise RuntimeError("the use case failed")
        async with UnitOfWork(db, org_id) as uow:
            uow.emit("order.created", "Order", 2, {"doomed": True})
            # ...and leaving without commit rolls back too.
        # Events leave in id order: once this one arrives, nothing earlier is still coming.
        await emit(db, org_id, 3, topic="order.created")
        messages = await listener.wait_for(1)

    assert [m.aggregate_id for m in messages] == [3]
    assert [row.aggregate_id for row in await outbox_rows(db, org_id)] == [3]


async def test_events_of_one_order_arrive_in_commit_order(
    db: Database, redis: Redis, settings: Settings, relay: OutboxRelay
) -> None:
    org_id = await new_org(db)
    async with Listener(redis, settings.redis_prefix, org_id) as listener, running(relay):
        for step in range(10):
            await emit(db, org_id, 7, count=3, step=step)
        messages = await listener.wait_for(30)

    assert [(m.payload["step"], m.payload["n"]) for m in messages] == [
        (step, n) for step in range(10) for n in range(3)
    ]
    assert [m.id for m in messages] == sorted(m.id for m in messages)


async def test_two_relays_never_publish_a_row_twice(
    db: Database, redis: Redis, queue: JobQueue, settings: Settings, relay: OutboxRelay
) -> None:
    other = OutboxRelay(db, redis, queue, settings)
    await drain(relay)
    org_id = await new_org(db)
    async with Listener(redis, settings.redis_prefix, org_id) as listener:
        for aggregate in range(5):
            await emit(db, org_id, aggregate, count=4)
        # One pass each, at the same time: the lock lets one of them take the whole batch.
        counts = await asyncio.gather(relay.publish_pending(), other.publish_pending())
        assert sorted(counts) == [0, 20]

        # Both loops running while orders keep committing: everything arrives exactly once.
        async with running(relay, other):
            await asyncio.gather(*(emit(db, org_id, 100 + a, count=2) for a in range(10)))
            messages = await listener.wait_for(40)
            await asyncio.sleep(3 * settings.outbox_poll_seconds)  # room for a duplicate

    ids = [m.id for m in listener.messages]
    assert len(ids) == len(set(ids)) == 40
    assert set(ids) == {row.id for row in await outbox_rows(db, org_id)}
    for aggregate in range(100, 110):
        mine = [m.payload["n"] for m in messages if m.aggregate_id == aggregate]
        assert mine == [0, 1]


class DiesBeforeMarking(OutboxRelay):
    """A relay killed after Redis took its events and before PostgreSQL marked them."""

    async def _enqueue_jobs(self, messages: Sequence[EventMessage]) -> None:
        raise ConnectionResetError("worker killed")


async def test_rows_left_by_a_crash_are_published_on_next_start(
    db: Database,
    admin_db: Database,
    redis: Redis,
    queue: JobQueue,
    settings: Settings,
    relay: OutboxRelay,
) -> None:
    org_id = await new_org(db)
    async with Listener(redis, settings.redis_prefix, org_id) as listener:
        # Committed while no relay ran (the worker was down).
        await emit(db, org_id, 1, count=2)
        # A relay that died after publishing but before marking: nothing is marked, and its
        # lock went with its connection.
        doomed = DiesBeforeMarking(db, redis, queue, settings)
        with pytest.raises(ConnectionResetError):
            await doomed.publish_pending()
        crashed = await listener.wait_for(2)
        assert [m.payload["n"] for m in crashed] == [0, 1]
        assert await relay_lock_holders(admin_db) == 0
        assert [row.published_at for row in await outbox_rows(db, org_id)] == [None, None]

        async with running(relay):  # the next start
            messages = await listener.wait_for(4)

    # At-least-once: the two events come again, with the same ids so listeners can drop them.
    assert [m.id for m in messages[2:]] == [m.id for m in messages[:2]]
    assert all(row.published_at is not None for row in await outbox_rows(db, org_id))


async def test_a_pass_holds_no_transaction_while_redis_works(
    db: Database, admin_db: Database, redis: Redis, queue: JobQueue, settings: Settings
) -> None:
    """During the Redis round trips the relay holds its lock and nothing else: no transaction
    (so no row locks, no old snapshot, no idle-in-transaction session)."""
    seen: list[list[RelaySession]] = []

    class Observed(OutboxRelay):
        async def _enqueue_jobs(self, messages: Sequence[EventMessage]) -> None:
            seen.append(await relay_sessions(admin_db))
            await super()._enqueue_jobs(messages)

    observed = Observed(db, redis, queue, settings)
    try:
        await emit(db, await new_org(db), 1)
        assert await observed.publish_pending() >= 1
        after = await relay_sessions(admin_db)
    finally:
        await observed.close()
    ((during,),) = seen
    assert during.holds_lock and not during.in_transaction and during.state == "idle"
    ((idle,),) = [after]
    assert not idle.holds_lock and not idle.in_transaction
    assert await relay_lock_holders(admin_db) == 0


async def test_every_subscriber_receives_every_event(
    db: Database, redis: Redis, settings: Settings, relay: OutboxRelay
) -> None:
    org_id = await new_org(db)
    other_org = await new_org(db)
    async with (
        Listener(redis, settings.redis_prefix, org_id) as first,
        Listener(redis, settings.redis_prefix, org_id) as second,
        Listener(redis, settings.redis_prefix, other_org) as foreign,
        running(relay),
    ):
        await emit(db, org_id, 5, count=2)
        await first.wait_for(2)
        await second.wait_for(2)

    assert [m.id for m in first.messages] == [m.id for m in second.messages]
    assert foreign.messages == []  # one channel per organisation


async def test_closing_a_subscription_releases_it(
    db: Database, redis: Redis, settings: Settings
) -> None:
    org_id = await new_org(db)
    listener = Listener(redis, settings.redis_prefix, org_id)
    async with listener:
        assert await listener.subscribers() == 1

    async def released() -> bool:
        return await listener.subscribers() == 0

    await until(released, "the subscription to be dropped")

    # And through aclosing(), as a GraphQL subscription resolver would use it.
    stream = subscribe(redis, settings.redis_prefix, org_id)
    async with contextlib.aclosing(stream):

        async def first() -> EventMessage:
            return await anext(stream)

        reader = asyncio.create_task(first())

        async def subscribed() -> bool:
            return await listener.subscribers() == 1

        await until(subscribed, "the subscription")
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    await until(released, "the subscription to be dropped after aclose")


async def test_relay_survives_a_redis_outage_and_keeps_the_rows(
    db: Database, redis: Redis, queue: JobQueue, settings: Settings, relay: OutboxRelay
) -> None:
    org_id = await new_org(db)
    dead_redis = Redis(unix_socket_path=f"/tmp/no-redis-{uuid.uuid4().hex[:8]}.sock")
    broken = OutboxRelay(db, dead_redis, queue, settings)
    await emit(db, org_id, 9)
    stop = asyncio.Event()
    task = asyncio.create_task(broken.run(stop))
    await asyncio.sleep(0.3)  # several failed passes, with backoff
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, 1.0)  # stops promptly even mid-backoff
    await dead_redis.aclose()
    assert [row.published_at for row in await outbox_rows(db, org_id)] == [None]

    async with Listener(redis, settings.redis_prefix, org_id) as listener, running(relay):
        (message,) = await listener.wait_for(1)
    assert message.aggregate_id == 9


received_jobs: list[dict[str, Any]] = []


async def echo_event_job(ctx: dict[str, Any], event: dict[str, Any]) -> int:
    """A test-only job that a test-only route points at."""
    received_jobs.append({"event": event, "job_id": ctx["job_id"], "db": ctx["db"]})
    return int(event["id"])


async def test_topic_route_enqueues_a_job_once_per_event(
    db: Database, redis: Redis, queue: JobQueue, settings: Settings
) -> None:
    assert settings.database_url and settings.redis_url
    routed = OutboxRelay(db, redis, queue, settings, routes={"test.routed": ["echo_event_job"]})
    await drain(routed)
    org_id = await new_org(db)
    await emit(db, org_id, 11, topic="test.routed", note="路由")
    await emit(db, org_id, 12, topic="test.not_routed")
    assert await routed.publish_pending() == 2
    (row, _) = await outbox_rows(db, org_id)
    # The same event routed again (a re-publish after a crash) does not enqueue a second job.
    assert await queue.enqueue("echo_event_job", {}, job_id=f"echo_event_job:{row.id}") is None

    received_jobs.clear()
    await run_worker(
        settings,
        settings.database_url,
        settings.redis_url,
        asyncio.Event(),
        burst=True,
        run_relay=False,
        extra_functions=(echo_event_job,),
    )
    (job,) = received_jobs
    assert EventMessage.from_dict(job["event"]).aggregate_id == 11
    assert job["event"]["payload"] == {"note": "路由", "n": 0}
    assert job["job_id"] == f"{settings.redis_prefix}:echo_event_job:{row.id}"
    assert isinstance(job["db"], Database)
    await routed.close()


async def test_cleanup_deletes_only_old_published_events(db: Database) -> None:
    org_id = await new_org(db)
    await emit(db, org_id, 1, count=3)
    old, recent, unpublished = await outbox_rows(db, org_id)
    now = datetime.now(UTC)
    async with UnitOfWork(db, None) as uow:
        await uow.events.mark_published([old.id or 0], now - timedelta(days=8))
        await uow.events.mark_published([recent.id or 0], now - timedelta(days=1))
        await uow.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == unpublished.id)  # type: ignore[arg-type]
            .values(created_at=now - timedelta(days=30))
        )
        await uow.commit()

    assert await cleanup_outbox_job({"db": db}) >= 1
    assert [row.id for row in await outbox_rows(db, org_id)] == [recent.id, unpublished.id]


async def test_notify_wakes_the_relay_between_polls(
    db: Database, redis: Redis, queue: JobQueue, settings: Settings
) -> None:
    slow_poll = settings.model_copy(update={"outbox_poll_seconds": 60.0})
    relay = OutboxRelay(db, redis, queue, slow_poll)
    org_id = await new_org(db)
    async with Listener(redis, settings.redis_prefix, org_id) as listener, running(relay):
        await asyncio.sleep(0.2)  # past the first pass: from now on only NOTIFY wakes it
        await emit(db, org_id, 1)
        await listener.wait_for(1)
