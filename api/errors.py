"""How failures reach a GraphQL client.

- Expected failures of a mutation are data: its payload's ``errors`` list of ``UserError``
  (``field``, ``message``, ``code``), and nothing is written.
- Failures outside a payload (not signed in, a forbidden field, a bad id in a query, a page too
  large) are GraphQL errors carrying ``extensions.code``.
- Anything else is unexpected: logged with the request id and masked as "Unexpected error".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar, cast

import strawberry
import structlog
from graphql import GraphQLError

from domain.errors import DomainError
from domain.errors import ErrorCode as DomainErrorCode

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


async def run_mutation(action: Callable[[], Awaitable[P]], payload: Callable[..., P]) -> P:
    """Run a mutation's use case; typed domain errors become ``payload(errors=[...])``."""
    try:
        return await action()
    except DomainError as exc:
        return payload(errors=[UserError.from_domain(exc)])
