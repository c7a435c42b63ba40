"""The one door to the job queue.

Everything that enqueues background work goes through ``JobQueue``, so arq is named here (and in
``workers/settings.py``, which runs it) and nowhere else.  Queue name and job ids carry
``settings.redis_prefix``: two deployments (or two test sessions) sharing one Redis never see
each other's jobs, and a deterministic ``job_id`` is unique per deployment only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from redis.asyncio import ConnectionPool

from db.settings import Settings

log = structlog.get_logger(__name__)


def queue_name(prefix: str) -> str:
    """The arq queue (a sorted set) of one deployment."""
    return f"{prefix}:queue"


def arq_redis(redis_url: str, settings: Settings) -> ArqRedis:
    """arq's Redis client for this deployment, with connect and socket timeouts.

    arq's own ``create_pool`` sets no socket timeout (a hung Redis would stall every enqueue and
    the worker's polling for ever), so the client is built here and handed to arq.  It connects
    on first use.
    """
    pool = ConnectionPool.from_url(
        redis_url,
        socket_connect_timeout=settings.redis_connect_timeout_seconds,
        socket_timeout=settings.redis_socket_timeout_seconds,
    )
    return ArqRedis(pool, default_queue_name=queue_name(settings.redis_prefix))


class JobQueue:
    """Enqueue jobs by name; a job id already queued or recently finished is not enqueued again."""

    def __init__(self, redis: ArqRedis, prefix: str, *, owns_connection: bool = False) -> None:
        self._redis = redis
        self._prefix = prefix
        self._queue = queue_name(prefix)
        self._owns_connection = owns_connection

    @classmethod
    async def connect(cls, redis_url: str, settings: Settings) -> JobQueue:
        """A queue with a connection of its own (API processes); ``close()`` it."""
        return cls(arq_redis(redis_url, settings), settings.redis_prefix, owns_connection=True)

    @classmethod
    def on(cls, redis: ArqRedis, settings: Settings) -> JobQueue:
        """A queue on a connection someone else owns (the worker's own arq pool)."""
        return cls(redis, settings.redis_prefix)

    @property
    def name(self) -> str:
        return self._queue

    def full_job_id(self, job_id: str) -> str:
        """The id arq stores for our ``job_id`` (prefixed with the deployment's prefix)."""
        return f"{self._prefix}:{job_id}"

    async def enqueue(
        self,
        function: str,
        *args: Any,
        job_id: str | None = None,
        defer_by: float | timedelta | None = None,
        defer_until: datetime | None = None,
        **kwargs: Any,
    ) -> str | None:
        """Queue ``function(ctx, *args, **kwargs)`` for a worker.

        ``job_id`` makes enqueueing idempotent: ``f"{function}:{event_id}"`` enqueued twice
        runs once while the first is queued, running, or its result is kept.  Returns the stored
        job id, or None when that job already exists.
        """
        full_id = self.full_job_id(job_id) if job_id is not None else None
        job = await self._redis.enqueue_job(
            function,
            *args,
            _job_id=full_id,
            _queue_name=self._queue,
            _defer_by=defer_by,
            _defer_until=defer_until,
            **kwargs,
        )
        if job is None:
            log.info("job.duplicate", function=function, job_id=full_id)
            return None
        log.debug("job.enqueued", function=function, job_id=job.job_id)
        return job.job_id

    async def enqueue_unless_waiting(self, function: str, *args: Any, series: str) -> str | None:
        """Queue ``function(ctx, *args)`` unless a job of ``series`` is already waiting to start.

        One fixed job id would coalesce too, but arq keeps a started job's id taken until the
        job ends, and the job of a worker that was killed never ends: arq only gives up on it
        once its in-progress mark expires (the longest job timeout plus ten seconds: half an
        hour here), and nothing of the series could be queued until then.  So the series moves
        on to a new job id (``series:0``, ``series:1``...) as soon as its current job has
        started: at most one job of a series waits in the queue, and a lost one never blocks
        the next.  (Two callers may both move it on at once; then two jobs wait, which costs a
        run, not correctness.)  Returns the stored job id, or None when one is waiting."""
        generation_key = f"{self._prefix}:series:{series}"
        generation = int(await self._redis.get(generation_key) or 0)
        job_id = f"{series}:{generation}"
        status = await Job(self.full_job_id(job_id), self._redis, _queue_name=self._queue).status()
        if status in (JobStatus.queued, JobStatus.deferred):
            log.info("job.already_waiting", function=function, job_id=self.full_job_id(job_id))
            return None
        if status in (JobStatus.in_progress, JobStatus.complete):
            job_id = f"{series}:{await self._redis.incr(generation_key)}"
        return await self.enqueue(function, *args, job_id=job_id)

    async def close(self) -> None:
        if self._owns_connection:
            await self._redis.aclose(close_connection_pool=True)
