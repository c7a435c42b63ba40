"""Relay connections (``first/after/last/before``, ``edges``, ``pageInfo``, ``totalCount``).

Cursors are opaque (base64 of an offset in the sorted, filtered list).  Every list has a
``totalCount`` for the board's pager; page size is capped by ``settings.max_page_size``.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from api.context import Context
from api.errors import ApiError, from_domain
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.errors import DomainError, ErrorCode

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")

_PREFIX = "cursor:"


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str, argument: str) -> int:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError(raw)
        offset = int(raw.removeprefix(_PREFIX))
        if offset < 0:
            raise ValueError(raw)
        return offset
    except ValueError as exc:
        raise ApiError(
            ErrorCode.INVALID_INPUT, f"'{argument}' is not a valid cursor", field=argument
        ) from exc


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The nodes of this page, without cursors.")  # type: ignore[untyped-decorator]
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


@dataclass(frozen=True)
class PageRequest:
    first: int | None
    after: str | None
    last: int | None
    before: str | None


@dataclass(frozen=True)
class Window:
    offset: int
    limit: int


def _check_size(value: int | None, argument: str, max_size: int) -> None:
    if value is None:
        return
    if value < 0:
        raise ApiError(ErrorCode.INVALID_INPUT, f"'{argument}' cannot be negative", field=argument)
    if value > max_size:
        raise ApiError(
            ErrorCode.PAGE_SIZE_EXCEEDED,
            f"'{argument}' is at most {max_size}",
            field=argument,
            maxPageSize=max_size,
        )


def window(page: PageRequest, total: int, max_size: int, default_size: int = 20) -> Window:
    """The Relay cursor algorithm over offsets."""
    if page.first is not None and page.last is not None:
        # The Relay spec strongly discourages both at once: the window they give is rarely what
        # the client meant.
        raise ApiError(
            ErrorCode.INVALID_INPUT, "Pass either 'first' or 'last', not both", field="last"
        )
    _check_size(page.first, "first", max_size)
    _check_size(page.last, "last", max_size)
    start = decode_cursor(page.after, "after") + 1 if page.after else 0
    end = decode_cursor(page.before, "before") if page.before else total
    end = max(start, min(end, total))
    if page.first is not None:
        end = min(end, start + page.first)
    if page.last is not None:
        start = max(start, end - page.last)
    if page.first is None and page.last is None:
        end = min(end, start + default_size)
    return Window(offset=start, limit=end - start)


async def paginate(
    page: PageRequest,
    max_size: int,
    count: Callable[[], Awaitable[int]],
    fetch: Callable[[int, int], Awaitable[Sequence[RowT]]],
    convert: Callable[[RowT], NodeT],
) -> Connection[NodeT]:
    total = await count()
    win = window(page, total, max_size)
    rows = await fetch(win.offset, win.limit) if win.limit > 0 else []
    edges = [
        Edge(cursor=encode_cursor(win.offset + i), node=convert(row)) for i, row in enumerate(rows)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=win.offset + len(edges) < total,
            has_previous_page=win.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )


async def list_connection(
    ctx: Context,
    page: PageRequest,
    count: Callable[[UnitOfWork, Actor], Awaitable[int]],
    fetch: Callable[[UnitOfWork, Actor, int, int], Awaitable[Sequence[RowT]]],
    convert: Callable[[RowT], NodeT],
) -> Connection[NodeT]:
    """A connection over a service's ``count``/``fetch`` pair, read in one unit of work."""
    actor = ctx.require_actor()
    try:
        async with ctx.uow() as uow:
            return await paginate(
                page,
                ctx.services.settings.max_page_size,
                lambda: count(uow, actor),
                lambda offset, limit: fetch(uow, actor, offset, limit),
                convert,
            )
    except DomainError as exc:
        raise from_domain(exc) from exc
