"""arq's worker settings: the jobs, the crons, and the worker's life cycle.

Start-up builds the job context (settings, database, job queue, Redis) and starts the outbox relay
first, as a background task beside arq's job loop; shut-down stops the relay and disposes of the
database.  Redis and the queue name come from the app settings at run time, see ``for_app``;
``workers.runtime.run_worker`` is how the CLI runs it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any, ClassVar

import structlog
from arq.cron import CronJob, cron

from db.engine import Database
from db.settings import Settings
from workers.enqueue import JobQueue, arq_redis, queue_name
from workers.jobs.inventory import INVENTORY_JOBS, reconcile_stock, reservation_sweep
from workers.jobs.outbox import cleanup_outbox_job
from workers.relay import OutboxRelay

log = structlog.get_logger(__name__)

#: How long shut-down waits for the relay to finish its pass before cancelling it.
_RELAY_STOP_SECONDS = 5.0


async def startup(ctx: dict[str, Any]) -> None:
    """Build the job context; arq has already put its Redis connection in ``ctx["redis"]``."""
    settings: Settings = ctx["settings"]
    db = Database.connect(ctx["database_url"], settings)
    ctx["db"] = db
    # The reservation sweep's alert counts waiting time from here at the earliest.
    ctx["started_at"] = datetime.now(UTC)
    queue = JobQueue.on(ctx["redis"], settings)
    ctx["queue"] = queue
    if ctx.get("run_relay", True):
        relay = OutboxRelay(db, ctx["redis"], queue, settings)
        stop = asyncio.Event()
        ctx["relay_stop"] = stop
        ctx["relay_task"] = asyncio.create_task(relay.run(stop), name="outbox-relay")
    log.info("worker.started", queue=queue.name, relay=ctx.get("run_relay", True))


async def shutdown(ctx: dict[str, Any]) -> None:
    """Stop the relay, then release the database; tolerant of a start-up that failed midway."""
    stop: asyncio.Event | None = ctx.pop("relay_stop", None)
    task: asyncio.Task[None] | None = ctx.pop("relay_task", None)
    if stop is not None:
        stop.set()
    if task is not None:
        try:
            await asyncio.wait_for(task, _RELAY_STOP_SECONDS)
        except TimeoutError:
            log.warning("worker.relay_stop_timeout")
        except Exception:
            log.exception("worker.relay_crashed")
    db: Database | None = ctx.pop("db", None)
    if db is not None:
        await db.dispose()
    log.info("worker.stopped")


async def job_start(ctx: dict[str, Any]) -> None:
    # Each job logs with its own context only (arq runs jobs as tasks of one loop).
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(job_id=ctx.get("job_id"), job_try=ctx.get("job_try"))


def _for_deployment(job: CronJob, settings: Settings) -> CronJob:
    """A fresh copy (arq keeps each cron's next run on the object) named with the deployment's
    prefix; the reservation sweep runs every ``reservation_sweep_seconds``."""
    job = dataclasses.replace(job, name=f"{settings.redis_prefix}:{job.name}")
    if job.coroutine is reservation_sweep:
        every = max(1, min(settings.reservation_sweep_seconds, 60))
        job = dataclasses.replace(job, second=set(range(0, 60, every)))
    return job


class WorkerSettings:
    """The jobs and crons the worker runs.  Register a job by adding it to ``functions``."""

    functions: ClassVar[list[Any]] = [*INVENTORY_JOBS]
    cron_jobs: ClassVar[list[CronJob]] = [
        cron(cleanup_outbox_job, hour={3}, minute={17}, timeout=600),
        cron(reconcile_stock, hour={2}, minute={7}, timeout=1800),
        # The reservation loop's safety net; how often is a setting (see for_app).
        cron(reservation_sweep, second={0}, timeout=120),
    ]
    on_startup = startup
    on_shutdown = shutdown
    on_job_start = job_start
    max_jobs = 10
    job_timeout = 300
    keep_result = 3600
    max_tries = 5

    @classmethod
    def for_app(
        cls,
        settings: Settings,
        database_url: str,
        redis_url: str,
        *,
        run_relay: bool = True,
        extra_functions: tuple[Any, ...] = (),
    ) -> dict[str, Any]:
        """Keyword arguments for ``arq.worker.Worker`` in this deployment.

        The queue, health-check key and cron job ids carry ``redis_prefix``, so deployments
        sharing one Redis never take each other's jobs.  Signals are left to the caller.
        """
        prefix = settings.redis_prefix
        return {
            "functions": [*cls.functions, *extra_functions],
            # Fresh copies: arq keeps each cron's next run on the object.
            "cron_jobs": [_for_deployment(job, settings) for job in cls.cron_jobs],
            "on_startup": cls.on_startup,
            "on_shutdown": cls.on_shutdown,
            "on_job_start": cls.on_job_start,
            "max_jobs": cls.max_jobs,
            "job_timeout": cls.job_timeout,
            "keep_result": cls.keep_result,
            "max_tries": cls.max_tries,
            # arq finds new jobs by polling: this bounds how long a woken loop waits to start.
            "poll_delay": settings.worker_poll_seconds,
            # Our client rather than arq's settings: arq's would have no socket timeout.
            "redis_pool": arq_redis(redis_url, settings),
            "queue_name": queue_name(prefix),
            "handle_signals": False,
            "ctx": {
                "settings": settings,
                "database_url": database_url,
                "run_relay": run_relay,
            },
        }
