"""The outbox relay: committed outbox rows -> Redis pub/sub and follow-up jobs.

One pass (``publish_pending``) runs on a PostgreSQL connection the relay keeps to itself:

1. take the relay's session-level advisory lock (one relay at a time per database, so one order's
   events leave in ``id`` order) and read the oldest unpublished rows in a short transaction;
2. publish them to Redis (one pipelined round trip) and enqueue the jobs routed from their topics,
   with **no transaction open**: a slow or hung Redis (every call has a socket timeout) holds no
   row, snapshot or pool connection, only the lock, and only until the call times out;
3. mark them published in a second short transaction, then release the lock.

A crash anywhere leaves the rows unmarked and closes the connection, which releases the lock; the
next pass (of any relay) publishes them again: at-least-once, listeners and jobs drop duplicates
by event id.  Any failure in a pass closes the connection too, so a lock is never left behind on
a connection in an unknown state; the next pass opens a new one.

The loop (``run``) wakes on PostgreSQL's ``NOTIFY orderflow_outbox`` (sent by the unit of work
at commit) and polls every ``outbox_poll_seconds`` in case a notification was missed.  It
survives Redis and PostgreSQL outages with logged retries and backoff (delivery resumes by itself
when they return), and stops when told.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import Database
from db.redis import REDIS_FAILURES
from db.repositories.events import RelayLock
from db.settings import Settings
from db.uow import OUTBOX_CHANNEL, UnitOfWork
from workers.enqueue import JobQueue
from workers.events import EventMessage, publish_many

log = structlog.get_logger(__name__)

#: Jobs enqueued for each published topic, by arq function name; each is called as
#: ``job(ctx, event)`` with ``event = EventMessage.to_dict()`` and job id ``f"{job}:{event id}"``.
#: Owners of a job add their route here (e.g. ``"order.created": ["reserve_order_job"]``).
TOPIC_JOBS: dict[str, list[str]] = {
    "order.created": ["reservation_loop"],
    "stock.changed": ["reservation_loop"],
}

#: Jobs queued once per organisation rather than once per event (their work is read from the
#: database): the job name and its series for an organisation (``enqueue_unless_waiting``).
COALESCED_JOBS: dict[str, Callable[[int], str]] = {
    "reservation_loop": lambda org_id: f"reservation-loop:{org_id}",
}

#: Published events are kept this long (for debugging and replays), then deleted by a cron job.
OUTBOX_RETENTION = timedelta(days=7)

_BACKOFF_FIRST_SECONDS = 0.1
_BACKOFF_MAX_SECONDS = 5.0
#: How often an idle LISTEN connection is checked (a dead TCP peer sends no termination).
_LISTEN_CHECK_SECONDS = 30.0
#: How long a pass in flight may finish after ``stop`` before it is cancelled.
_STOP_GRACE_SECONDS = 2.0
#: How the relay's own connection shows in ``pg_stat_activity`` (it holds the relay lock).
RELAY_APPLICATION_NAME = "orderflow-outbox-relay"


class _Backoff:
    def __init__(self) -> None:
        self.delay = _BACKOFF_FIRST_SECONDS

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, _BACKOFF_MAX_SECONDS)
        return delay

    def reset(self) -> None:
        self.delay = _BACKOFF_FIRST_SECONDS


async def _wait_any(*events: asyncio.Event, seconds: float | None) -> bool:
    """Wait until one of ``events`` is set or ``seconds`` pass; True if one was set."""
    if any(event.is_set() for event in events):
        return True
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        return bool(done)
    finally:
        for waiter in waiters:
            waiter.cancel()


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        redis: Redis,
        queue: JobQueue,
        settings: Settings,
        *,
        batch_size: int = 100,
        routes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._db = db
        self._redis = redis
        self._queue = queue
        self._prefix = settings.redis_prefix
        self._poll_seconds = settings.outbox_poll_seconds
        self._batch_size = batch_size
        # The module table itself, not a copy: routes registered after start-up still count.
        self._routes: Mapping[str, Sequence[str]] = TOPIC_JOBS if routes is None else routes
        self._wake = asyncio.Event()
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._lock: RelayLock | None = None

    async def publish_pending(self) -> int:
        """One pass: publish, route and mark up to ``batch_size`` events; returns how many.

        Returns 0 without waiting when another relay holds the lock.
        """
        conn, lock = await self._connection()
        try:
            if not await lock.try_acquire():
                return 0
            async with UnitOfWork(self._db, None, connection=conn) as uow:
                rows = await uow.events.oldest_unpublished(self._batch_size)
            # The read transaction has ended: from here to the mark, only the lock is held.
            messages = [EventMessage.from_outbox(row) for row in rows]
            if messages:
                await publish_many(self._redis, self._prefix, messages)
                await self._enqueue_jobs(messages)
                async with UnitOfWork(self._db, None, connection=conn) as uow:
                    await uow.events.mark_published([m.id for m in messages], datetime.now(UTC))
                    await uow.commit()
            await lock.release()
        except BaseException:
            # Whatever failed (Redis, PostgreSQL, cancellation), the lock and the connection's
            # state are unknown: closing the connection is the one sure way to release the lock.
            await self._drop_connection()
            raise
        if not messages:
            return 0
        for message in messages:
            log.debug(
                "outbox.event_published",
                event_id=message.id,
                topic=message.topic,
                org_id=message.org_id,
                aggregate_type=message.aggregate_type,
                aggregate_id=message.aggregate_id,
            )
        log.info(
            "outbox.published",
            count=len(messages),
            first_event_id=messages[0].id,
            last_event_id=messages[-1].id,
        )
        return len(messages)

    async def _connection(self) -> tuple[AsyncConnection, RelayLock]:
        """The relay's own connection, opened on first use and after a failed pass.

        Outside the pool: a connection that held the relay lock must be closed, never lent to
        another borrower, and the pool stays for requests and jobs.
        """
        if self._conn is None:
            if self._engine is None:
                self._engine = self._db.unpooled_engine(RELAY_APPLICATION_NAME)
            conn = await self._engine.connect()
            try:
                driver = (await conn.get_raw_connection()).driver_connection
                assert driver is not None
            except BaseException:
                await conn.close()
                raise
            self._conn, self._lock = conn, RelayLock(driver)
        assert self._lock is not None
        return self._conn, self._lock

    async def _drop_connection(self) -> None:
        conn, self._conn, self._lock = self._conn, None, None
        if conn is None:
            return
        try:
            # invalidate() closes the socket even when the connection is mid-statement or the
            # closing is itself cancelled (SQLAlchemy then terminates it).
            await conn.invalidate()
        except Exception as exc:
            log.warning("outbox.relay_connection_close_failed", error=repr(exc))
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        """Close the relay's connection (which releases its lock, if a pass was cut short)."""
        await self._drop_connection()
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()

    async def _enqueue_jobs(self, messages: Sequence[EventMessage]) -> None:
        for message in messages:
            for job in self._routes.get(message.topic, ()):
                coalesce = COALESCED_JOBS.get(job)
                if coalesce is not None:
                    job_id = await self._queue.enqueue_unless_waiting(
                        job, message.to_dict(), series=coalesce(message.org_id)
                    )
                else:
                    job_id = await self._queue.enqueue(
                        job, message.to_dict(), job_id=f"{job}:{message.id}"
                    )
                log.info(
                    "outbox.job_enqueued",
                    event_id=message.id,
                    topic=message.topic,
                    org_id=message.org_id,
                    job=job,
                    job_id=job_id,
                    duplicate=job_id is None,
                )

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set: on every NOTIFY, every poll interval, and at once
        again after a full batch."""
        log.info("outbox.relay_started", poll_seconds=self._poll_seconds)
        listener = asyncio.create_task(self._listen(stop), name="outbox-listen")
        backoff = _Backoff()
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    published = await self._pass_until_stopped(stop)
                except Exception as exc:
                    delay = backoff.next()
                    # Redis or PostgreSQL away is expected now and then: one line, no traceback.
                    # Anything else is a bug and gets its traceback.
                    expected = isinstance(exc, (*REDIS_FAILURES, DBAPIError))
                    log.warning(
                        "outbox.relay_failed",
                        error=repr(exc),
                        retry_in=delay,
                        exc_info=not expected,
                    )
                    await _wait_any(stop, seconds=delay)
                    continue
                backoff.reset()
                if published < self._batch_size:
                    await _wait_any(stop, self._wake, seconds=self._poll_seconds)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self.close()
            log.info("outbox.relay_stopped")

    async def _pass_until_stopped(self, stop: asyncio.Event) -> int:
        """One pass; if ``stop`` comes meanwhile, let it finish briefly, then cancel it (its
        connection closes, releasing the lock, and the rows are published by the next relay)."""
        task = asyncio.create_task(self.publish_pending())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not task.done():
            try:
                return await asyncio.wait_for(task, _STOP_GRACE_SECONDS)
            except TimeoutError:
                log.warning("outbox.pass_cancelled_on_stop")
                return 0
        return task.result()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Keep a LISTEN connection open, reconnecting with backoff when it drops."""
        backoff = _Backoff()
        while not stop.is_set():
            try:
                await self._listen_once(stop, backoff)
            except Exception as exc:
                delay = backoff.next()
                log.warning("outbox.listen_failed", error=repr(exc), retry_in=delay)
                await _wait_any(stop, seconds=delay)

    async def _listen_once(self, stop: asyncio.Event, backoff: _Backoff) -> None:
        """Turn each notification into a wake-up until ``stop`` or the connection is lost."""
        lost = asyncio.Event()

        def on_notify(*_: Any) -> None:
            self._wake.set()

        def on_lost(*_: Any) -> None:
            lost.set()

        async with self._db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.add_listener(OUTBOX_CHANNEL, on_notify)
            driver.add_termination_listener(on_lost)
            try:
                # Whatever was committed while nobody listened goes out now.
                self._wake.set()
                backoff.reset()
                log.debug("outbox.listening", channel=OUTBOX_CHANNEL)
                while not await _wait_any(stop, lost, seconds=_LISTEN_CHECK_SECONDS):
                    await asyncio.wait_for(driver.execute("SELECT 1"), 5.0)
            finally:
                driver.remove_termination_listener(on_lost)
                if driver.is_closed():
                    await conn.invalidate()
                else:
                    await driver.remove_listener(OUTBOX_CHANNEL, on_notify)
        if lost.is_set():
            raise ConnectionError("the LISTEN connection was closed")


async def delete_old_events(db: Database, *, older_than: timedelta = OUTBOX_RETENTION) -> int:
    """Delete events published more than ``older_than`` ago; returns how many."""
    cutoff = datetime.now(UTC) - older_than
    total = 0
    batch = 1_000
    while True:
        async with UnitOfWork(db, None) as uow:
            deleted = await uow.events.delete_published_before(cutoff, batch)
            await uow.commit()
        total += deleted
        if deleted < batch:
            break
    log.info("outbox.cleaned", deleted=total, cutoff=cutoff.isoformat())
    return total
