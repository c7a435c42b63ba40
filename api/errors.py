"""How failures reach a GraphQL client, and the log.

- Expected failures of a mutation are data: its payload's ``errors`` list of ``UserError``
  (``field``, ``message``, ``code``), and nothing is written.  A mutation that keeps meeting
  locked rows (deadlock, serialization failure, lock timeout) is run again a bounded number of
  times and then fails with ``CONCURRENT_UPDATE``, an expected failure like the others.
- Failures outside a payload (not signed in, a forbidden field, a bad id in a query, a page too
  large) are GraphQL errors carrying ``extensions.code``; so are failures of the request itself
  (``RequestErrorCode``: an unreadable body, a document that does not parse or validate,
  variables that do not coerce).
- A value the database refuses (a text longer than its column, a date beyond its type) is
  INVALID_INPUT, without the database's message (it quotes SQL and the value).
- Anything else is unexpected: logged once with a plain traceback and the request id, and
  masked as "Unexpected error." with ``INTERNAL_SERVER_ERROR`` and that request id.

Every error is logged exactly once, in ``log_errors`` (the schema's ``process_errors`` hook, which
sees each error before masking).  An expected error is one line at INFO or WARNING with its code,
path, actor and request id, never a traceback: an error must cost almost nothing, or any caller
could stall the server by asking for thirty fields it may not see.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, TypeVar, cast

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext, Info

from db.errors import rejected_value
from domain.errors import DomainError, InvalidInput
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


class RequestErrorCode(StrEnum):
    """Codes of failures that no resolver raised (the names Apollo and most clients know)."""

    #: The HTTP request is not a GraphQL request: not JSON, not an object, not UTF-8, ...
    BAD_REQUEST = "BAD_REQUEST"
    #: The body is larger than ``ORDERFLOW_MAX_BODY_BYTES``.
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    #: Variables that do not fit their declared types, or no operation to run.
    BAD_USER_INPUT = "BAD_USER_INPUT"
    #: A bug: the details are in the log under the error's ``requestId``.
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


#: Codes worth a WARNING: someone may be probing what they may not do.
_WARNING_CODES = frozenset(
    {
        DomainErrorCode.UNAUTHENTICATED.value,
        DomainErrorCode.FORBIDDEN.value,
        DomainErrorCode.RATE_LIMITED.value,
        DomainErrorCode.INVALID_CREDENTIALS.value,
    }
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

    def __init__(self, code: DomainErrorCode | RequestErrorCode, message: str, **extra: Any):
        super().__init__(message, extensions={"code": code.value, **extra})


def from_domain(exc: DomainError) -> ApiError:
    extra = {"field": exc.field} if exc.field else {}
    return ApiError(exc.code, exc.message, **extra)


def _authored_here(error: GraphQLError) -> bool:
    """Raised on purpose by orderflow or strawberry (permissions), with a message we wrote.

    graphql-core's own coercion errors also arrive wrapping a GraphQLError, but theirs carry no
    extensions and quote the client's values (a password sent as a number, say)."""
    original = error.original_error
    return isinstance(original, ApiError | DomainError) or (
        isinstance(original, GraphQLError) and bool(original.extensions)
    )


def _refused_by_database(error: GraphQLError) -> str | None:
    """A value the database refused (too long, out of range): the caller's, not a bug."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError | DomainError):
        return None
    return rejected_value(original)


def is_expected(error: GraphQLError) -> bool:
    """About the request (parse, validation, coercion) or raised on purpose; else a bug."""
    original = error.original_error
    if original is None:
        # graphql-core's own errors: about the document or the variables, unless it reports a
        # resolver breaking the schema's promises (a null for a non-null field) at a path.
        return error.path is None or bool(error.extensions and error.extensions.get("code"))
    if isinstance(original, ApiError | DomainError | GraphQLError):
        return True
    return _refused_by_database(error) is not None


def should_mask(error: GraphQLError) -> bool:
    """Reword every error whose message we did not write for the client: bugs, and values the
    database refused (its message quotes SQL and the value). Logging is elsewhere."""
    original = error.original_error
    return not is_expected(error) or not (
        original is None or isinstance(original, ApiError | DomainError | GraphQLError)
    )


def _path(error: GraphQLError) -> str | None:
    return ".".join(str(part) for part in error.path) if error.path else None


def _code_for(error: GraphQLError, execution_context: ExecutionContext | None) -> str:
    """The error's code; for graphql-core's own errors, the stage at which the request failed."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code.value
    if _refused_by_database(error) is not None:
        return DomainErrorCode.INVALID_INPUT.value
    if not is_expected(error):
        return RequestErrorCode.INTERNAL_SERVER_ERROR.value
    if error.path is None and execution_context is not None:
        if execution_context.graphql_document is None:
            return RequestErrorCode.GRAPHQL_PARSE_FAILED.value
        if execution_context.result is None:
            # Validation runs before execution stores a result; coercing variables does not.
            return RequestErrorCode.GRAPHQL_VALIDATION_FAILED.value
    return RequestErrorCode.BAD_USER_INPUT.value


def _drop_traceback(error: GraphQLError) -> None:
    """Free the frames an error's traceback holds, now that it is logged (or not wanted).

    An exception, its traceback and the frames on it form reference cycles, which only the
    cyclic garbage collector frees: thirty errors per request made it run twice as often."""
    error.__traceback__ = None
    if error.original_error is not None:
        error.original_error.__traceback__ = None


def log_errors(
    errors: Sequence[GraphQLError], execution_context: ExecutionContext | None = None
) -> None:
    """Give every error its ``extensions.code`` and log it once (request id, org and actor come
    from the context variables bound per request)."""
    for error in errors:
        code = _code_for(error, execution_context)
        extensions = dict(error.extensions or {})
        if "code" not in extensions:
            extensions["code"] = code
            original = error.original_error
            if isinstance(original, DomainError) and original.field:
                extensions.setdefault("field", original.field)
            # A new dict: strawberry's permission errors share theirs with the class.
            error.extensions = extensions
        if is_expected(error):
            refused = _refused_by_database(error)
            # A value only the database refused means a domain rule is missing: worth a look.
            warn = code in _WARNING_CODES or refused is not None
            details: dict[str, Any] = {"code": code, "path": _path(error)}
            if refused is not None:
                details["message"] = refused
            elif _authored_here(error):
                details["message"] = error.message
            log.log(logging.WARNING if warn else logging.INFO, "graphql.error", **details)
        else:
            original = error.original_error
            log.error(
                "graphql.unexpected_error",
                code=code,
                path=_path(error),
                error_type=type(original).__name__ if original else None,
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )
        _drop_traceback(error)


class MaskUnexpectedErrors(MaskErrors):
    """strawberry's masking, plus a code and the request id that finds the logged traceback."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        refused = _refused_by_database(error)
        if refused is not None:
            masked.message = refused
            masked.extensions = {"code": DomainErrorCode.INVALID_INPUT.value}
            return masked
        request_id = getattr(self.execution_context.context, "request_id", None)
        masked.extensions = {
            "code": RequestErrorCode.INTERNAL_SERVER_ERROR.value,
            **({"requestId": request_id} if request_id else {}),
        }
        return masked


P = TypeVar("P")


#: What a client is told when a mutation met locked rows on every attempt.
BUSY_MESSAGE = "Someone else is changing the same records; nothing was changed, try again"


async def run_mutation(
    info: Info[Context, None], action: Callable[[], Awaitable[P]], payload: Callable[..., P]
) -> P:
    """Run a mutation's use case; typed domain errors become ``payload(errors=[...])``, and so
    does a value the database refused (nothing was written: the unit of work rolled back).

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
    except Exception as exc:
        refused = rejected_value(exc)
        if refused is None:
            raise
        # A domain rule should have caught it, naming the field: worth a look.
        log.warning("graphql.value_refused_by_database", message=refused)
        return payload(errors=[UserError.from_domain(InvalidInput(refused))])
