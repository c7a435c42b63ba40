"""How failures reach a GraphQL client.

- Expected failures of a mutation are data: its payload's ``errors`` list of ``UserError``
  (``field``, ``message``, ``code``), and nothing is written.  A mutation that keeps meeting
  locked rows (deadlock, serialization failure, lock timeout) is run again a bounded number of
  times and then fails with ``CONCURRENT_UPDATE``, an expected failure like the others.
- Failures outside a payload (not signed in, a forbidden field, a bad id in a query, a page too
  large) are GraphQL errors carrying ``extensions.code``.
- Anything else is unexpected: logged with the request id and masked as "Unexpected error".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar, cast

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.types import Info

from domain.errors import DomainError
from domain.errors import ErrorCode as DomainErrorCode
from domain.inventory.retry import retry_lock_failures

if TYPE_CHECKING:
    from api.context import Context
    from db.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Built from the domain's codes so the two never drift; typeshed types the functional Enum API
# as returning an instance, hence the cast (mypy cannot see its members either way).
ErrorCode = strawberry.enum(
    cast(type[Enum], Enum("ErrorCode", {code.name: code.value for code in DomainErrorCode})),
    description="Why a request failed; stable, for programs to branch on.",
)


@strawberry.type(description="An expected failure of a mutation; nothing was written.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, as a dotted path.")
    message: str
    code: ErrorCode  # type: ignore[valid-type]

    @classmethod
    def from_domain(cls, exc: DomainError) -> UserError:
        return cls(field=exc.field, message=exc.message, code=ErrorCode(exc.code.value))


class ApiError(GraphQLError):
    """A GraphQL error with a machine-readable ``extensions.code`` (never masked)."""

    def __init__(self, code: DomainErrorCode, message: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **extra})


def from_domain(exc: DomainError) -> ApiError:
    extra = {"field": exc.field} if exc.field else {}
    return ApiError(exc.code, exc.message, **extra)


def should_mask(error: GraphQLError) -> bool:
    """Mask everything that is not deliberately a client-facing error."""
    original = error.original_error
    if original is None:
        return False  # validation and parse errors: about the query itself
    if isinstance(original, ApiError | DomainError):
        return False
    if isinstance(original, GraphQLError) and original.extensions:
        return False
    log.error(
        "graphql.unexpected_error",
        path=error.path,
        error=repr(original),
        exc_info=(type(original), original, original.__traceback__),
    )
    return True


P = TypeVar("P")


#: What a client is told when a mutation met locked rows on every attempt.
BUSY_MESSAGE = "Someone else is changing the same records; nothing was changed, try again"


async def run_mutation(
    info: Info[Context, None], action: Callable[[], Awaitable[P]], payload: Callable[..., P]
) -> P:
    """Run a mutation's use case; typed domain errors become ``payload(errors=[...])``.

    This is where every mutation's unit of work is opened (``action`` calls ``ctx.uow()``) and
    committed, so this is where lock failures are retried: ``action`` runs again from the start,
    in fresh units of work, with a pause (jitter) after the failed one has rolled back, and the
    last failure becomes ``CONCURRENT_UPDATE``.  An attempt that had already committed a unit
    of work is not run again (that would write twice); its failure stays unexpected.
    """
    ctx = info.context
    opened: list[UnitOfWork] = []

    async def attempt() -> P:
        opened.clear()
        with ctx.mutation_attempt(opened):
            return await action()

    try:
        return await retry_lock_failures(
            attempt,
            what=info.field_name,
            org_id=ctx.actor.org_id if ctx.actor is not None else None,
            may_retry=lambda: not any(unit.committed for unit in opened),
            busy_message=BUSY_MESSAGE,
        )
    except DomainError as exc:
        return payload(errors=[UserError.from_domain(exc)])
