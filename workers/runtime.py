"""Run the arq worker inside the current event loop, standalone or beside the API server.

``run_worker`` returns when ``stop`` is set (or, in burst mode, when the queue is empty): it stops
taking jobs, lets running jobs finish for ``shutdown_grace_seconds``, cancels what is left (arq
re-queues a cancelled job), stops the outbox relay and closes every connection.  Without a
``stop`` event it stops on SIGINT/SIGTERM itself; with one, signals stay the caller's business
(the demo server runs API and worker in one process and owns the signals).  When Redis fails
(down, or hung past the socket timeout) arq's loop ends; the worker then starts again, with
backoff, until Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Any

import structlog
from arq.worker import Worker

from db.redis import REDIS_FAILURES
from db.settings import Settings
from workers.relay import TOPIC_JOBS
from workers.settings import WorkerSettings, shutdown

log = structlog.get_logger(__name__)

#: After arq's loop died of a Redis failure, the worker starts again after this wait, doubling.
_RESTART_FIRST_SECONDS = 0.5
_RESTART_MAX_SECONDS = 10.0


def create_worker(
    settings: Settings,
    database_url: str,
    redis_url: str,
    *,
    burst: bool = False,
    run_relay: bool = True,
    extra_functions: tuple[Any, ...] = (),
) -> Worker:
    """An arq Worker for this deployment (not started); ``extra_functions`` serve tests."""
    kwargs = WorkerSettings.for_app(
        settings,
        database_url,
        redis_url,
        run_relay=run_relay,
        extra_functions=extra_functions,
    )
    worker = Worker(**kwargs, burst=burst)
    routed = {job for jobs in TOPIC_JOBS.values() for job in jobs}
    missing = routed - set(worker.functions)
    if missing:
        # The relay would enqueue jobs this worker cannot run; arq fails them at run time.
        log.error("worker.routed_jobs_not_registered", jobs=sorted(missing))
    return worker


async def run_worker(
    settings: Settings,
    database_url: str,
    redis_url: str,
    stop: asyncio.Event | None = None,
    *,
    burst: bool = False,
    run_relay: bool = True,
    shutdown_grace_seconds: float = 10.0,
    extra_functions: tuple[Any, ...] = (),
) -> None:
    """Run the worker (and its outbox relay) until ``stop`` is set; see the module docstring.

    arq's loop ends at the first Redis error (Redis down, or hung past the socket timeout).  The
    worker then starts again, with backoff, until Redis answers: jobs and events resume by
    themselves once it is back, without anyone restarting the process.  In burst mode, and for
    any other failure, the error is the caller's to see.
    """
    own_signals = stop is None
    stop = stop if stop is not None else asyncio.Event()
    delay = _RESTART_FIRST_SECONDS
    with _stop_on_signals(stop) if own_signals else contextlib.nullcontext():
        while True:
            worker = create_worker(
                settings,
                database_url,
                redis_url,
                burst=burst,
                run_relay=run_relay,
                extra_functions=extra_functions,
            )
            try:
                await _run_until_stopped(worker, stop, shutdown_grace_seconds)
                return
            except REDIS_FAILURES as exc:
                if burst or stop.is_set():
                    raise
                log.warning("worker.redis_lost", error=repr(exc), restart_in=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return
            delay = min(delay * 2, _RESTART_MAX_SECONDS)


async def _run_until_stopped(worker: Worker, stop: asyncio.Event, grace_seconds: float) -> None:
    main = asyncio.create_task(worker.async_run(), name="arq-worker")
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not main.done():
            await _finish_running_jobs(worker, grace_seconds)
    finally:
        stopping.cancel()
        await _cancel_running_jobs(worker)
        try:
            await worker.close()  # runs on_shutdown, closes its Redis pool
        except Exception as exc:
            # Redis gone: still stop the relay, release the database and the Redis pool.
            log.warning(
                "worker.close_failed",
                error=repr(exc),
                exc_info=not isinstance(exc, REDIS_FAILURES),
            )
            await shutdown(worker.ctx)
            with contextlib.suppress(Exception):
                await worker.pool.aclose(close_connection_pool=True)
        if main.done() and not main.cancelled():
            main.result()  # a failed start or a lost Redis: see run_worker
        else:
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main


async def _finish_running_jobs(worker: Worker, grace_seconds: float) -> None:
    worker.allow_pick_jobs = False
    running = [task for task in worker.tasks.values() if not task.done()]
    log.info("worker.stopping", running_jobs=len(running), grace_seconds=grace_seconds)
    if running:
        _, pending = await asyncio.wait(running, timeout=grace_seconds)
        if pending:
            log.warning("worker.jobs_cancelled_at_shutdown", count=len(pending))


async def _cancel_running_jobs(worker: Worker) -> None:
    """Cancel what is still running and forget cancelled tasks.

    arq's ``close()`` gathers the tasks it knows; a cancelled one would raise CancelledError
    there and skip ``on_shutdown``.
    """
    leftovers = [task for task in worker.tasks.values() if not task.done()]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    for job_id, task in list(worker.tasks.items()):
        if task.cancelled():
            del worker.tasks[job_id]


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            continue
        installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
