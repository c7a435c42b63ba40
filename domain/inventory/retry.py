"""Run a stock transaction again when PostgreSQL gives up on a lock, a bounded number of times.

Deadlocks (40P01), serialization failures (40001) and lock timeouts (55P03) are the normal
price of concurrency: the transaction is rolled back whole and tried again after a short random
pause (full jitter, so the losers do not collide again in step).  After the last attempt the
caller gets ``ConcurrentUpdate``, a typed error, and nothing was written.

The pause happens after the unit of work has rolled back: no lock is ever held while waiting.

``retry_lock_failures`` is the policy on its own, for callers that open their unit of work
themselves (every GraphQL mutation, through ``api.errors.run_mutation``); ``run_with_retries``
and ``run_on_driver_with_retries`` are the policy around one fresh unit of work per attempt.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self, TypeVar

import structlog

from db.engine import Database
from db.uow import DriverUnitOfWork, UnitOfWork
from domain.errors import DomainError
from domain.inventory.errors import ConcurrentUpdate

log = structlog.get_logger(__name__)

T = TypeVar("T")


class _Unit(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


U = TypeVar("U", bound=_Unit)

#: SQLSTATEs worth another attempt, by name (as logged and reported).
RETRYABLE = {
    "40P01": "deadlock_detected",
    "40001": "serialization_failure",
    "55P03": "lock_not_available",
}

MAX_ATTEMPTS = 6
BASE_DELAY_SECONDS = 0.01
MAX_DELAY_SECONDS = 0.5


def retryable_sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of ``exc`` (or of what it wraps) when it is worth retrying."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for candidate in (current, getattr(current, "orig", None)):
            code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
            if code in RETRYABLE:
                return str(code)
        current = current.__cause__ or current.__context__
    return None


@dataclass
class Attempts:
    """How a transaction went: attempts made (all runs that share this record) and the
    SQLSTATEs that caused retries."""

    count: int = 0
    retried_on: list[str] = field(default_factory=list)


async def run_with_retries(
    db: Database,
    org_id: int,
    work: Callable[[UnitOfWork], Awaitable[T]],
    *,
    what: str,
    attempts: Attempts | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> T:
    """Run ``work`` in a fresh organisation-scoped unit of work and commit; retry on lock
    failures.  Domain errors and other database errors pass through unchanged (and roll back).
    """
    return await _retrying(
        lambda: UnitOfWork(db, org_id), work, org_id, what, attempts, max_attempts
    )


async def run_on_driver_with_retries(
    db: Database,
    org_id: int,
    work: Callable[[DriverUnitOfWork], Awaitable[T]],
    *,
    what: str,
    attempts: Attempts | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> T:
    """``run_with_retries`` in a ``DriverUnitOfWork`` (the reservation hot path)."""
    return await _retrying(
        lambda: DriverUnitOfWork(db, org_id), work, org_id, what, attempts, max_attempts
    )


async def _retrying(
    unit: Callable[[], U],
    work: Callable[[U], Awaitable[T]],
    org_id: int,
    what: str,
    attempts: Attempts | None,
    max_attempts: int,
) -> T:
    async def once() -> T:
        async with unit() as uow:
            result = await work(uow)
            await uow.commit()
        return result

    return await retry_lock_failures(
        once, what=what, org_id=org_id, attempts=attempts, max_attempts=max_attempts
    )


async def retry_lock_failures(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    org_id: int | None,
    attempts: Attempts | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    may_retry: Callable[[], bool] = lambda: True,
    busy_message: str | None = None,
) -> T:
    """Await ``attempt()`` until it does not fail on a lock, at most ``max_attempts`` times.

    ``attempt`` must open (and commit) its own unit of work, so that every run starts from a
    fresh transaction.  Domain errors and other failures pass through unchanged; so does a lock
    failure when ``may_retry()`` says no (the attempt committed something before failing, and
    running it again would write that twice).  After the last attempt: ``ConcurrentUpdate``
    (with ``busy_message`` if given), and nothing was written.
    """
    record = attempts if attempts is not None else Attempts()
    for attempt_number in range(max_attempts):
        record.count += 1
        try:
            return await attempt()
        except DomainError:
            raise
        except Exception as exc:
            # SQLAlchemy's DBAPIError, or asyncpg's own error from the reservation path's
            # driver-level statements: both carry the SQLSTATE.
            code = retryable_sqlstate(exc)
            if code is None or not may_retry():
                raise
            record.retried_on.append(code)
            last = attempt_number + 1 == max_attempts
            log.warning(
                "transaction.retry",
                what=what,
                org_id=org_id,
                attempt=attempt_number + 1,
                sqlstate=code,
                reason=RETRYABLE[code],
                giving_up=last,
            )
            if last:
                error = ConcurrentUpdate(busy_message) if busy_message else ConcurrentUpdate()
                raise error from exc
        delay = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt_number)
        await asyncio.sleep(random.uniform(0, delay))
    raise AssertionError("unreachable")  # pragma: no cover
