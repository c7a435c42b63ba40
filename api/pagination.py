"""Relay connections (``first/after/last/before``, ``edges``, ``pageInfo``, ``totalCount``) over
keyset pages, for every list of the API.

A cursor names a place in one list, not an offset: the sort key values of its row and the row's
id.  A page is the rows strictly after (or before) that place in the list's order, read afresh
at each request, so rows inserted, deleted or updated elsewhere in the list never shift it: a
page repeats no row of the page before and skips none, relative to the rows' sort values at the
time of each request.  (A row whose own sort value changes between two requests, e.g. an order
paid meanwhile under a paid-time sort, moves to its new place: it may then be met again or not
at all, as on a paper list re-sorted between two looks.)

Cursors are opaque to clients: base64url of an HMAC-SHA256 tag (16 bytes, keyed from the
server's secret key) followed by a small JSON document ``{"v": version, "c": connection, "s":
sort, "f": fingerprint of the filter and seller, "k": key}``.  A cursor is accepted only by the
connection, sort and filter (and seller) it was issued for, and only if this server (or one
sharing its secret key) signed it: anything else is ``INVALID_CURSOR`` on the argument, never a
wrong page.  The tag is what stops a forged key from reaching SQL; the key is not secret (it
holds values of a row the client was shown).

``totalCount`` counts the whole filtered list; page size is capped by
``settings.max_page_size``; ``first`` together with ``last`` is refused.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, from_domain
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.errors import DomainError, ErrorCode
from domain.paging import Key, KeyValue, Page, PageResult

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")

#: Bump when the cursor document or a sort's meaning changes: older cursors are then refused.
CURSOR_VERSION = 1
#: Rows of a page when neither ``first`` nor ``last`` is given.
DEFAULT_PAGE_SIZE = 20
_TAG_BYTES = 16


@strawberry.type(
    description="Where a page lies in its list.  A cursor is opaque and valid only for the list "
    "(connection, sort and filter) it came from; any other is refused with INVALID_CURSOR."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Rows follow this page (with `last`: rows exist at or after `before`)."
    )
    has_previous_page: bool = strawberry.field(
        description="Rows precede this page (with `first`: rows exist at or before `after`)."
    )
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(
        description="This row's place in the list (its sort values and id): pass it as `after` "
        "or `before`; the next page starts right after it even if rows were added meanwhile."
    )
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Rows in the whole filtered list.")

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
class Listing:
    """What a cursor belongs to: one connection, under one sort, one filter, one seller."""

    connection: str
    sort: str | None
    fingerprint: str

    @classmethod
    def of(cls, connection: str, sort: str | None, filter: object, org_id: int) -> Listing:
        # A digest rather than the filter itself keeps cursors short whatever the search.
        canonical = json.dumps([org_id, _plain(filter)], sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        return cls(connection=connection, sort=sort, fingerprint=digest)


def _plain(value: object) -> Any:
    """A filter as JSON in one spelling (sets sorted), so equal filters fingerprint alike."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, frozenset | set):
        return sorted((_plain(v) for v in value), key=json.dumps)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(f"Cannot fingerprint a filter holding {type(value).__name__}")


def _dump_value(value: KeyValue) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _load_value(value: Any) -> KeyValue:
    if isinstance(value, dict) and value.keys() == {"t"} and isinstance(value["t"], str):
        return datetime.fromisoformat(value["t"])
    if value is None or isinstance(value, bool | int | str):
        return value
    raise ValueError(f"not a key value: {value!r}")


class CursorCodec:
    """Signs and checks cursors with a key derived from the server's secret key (never the
    session-signing key itself, so neither kind of token can pass for the other)."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"orderflow/cursor", hashlib.sha256).digest()

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, listing: Listing, key: Key) -> str:
        payload = json.dumps(
            {
                "v": CURSOR_VERSION,
                "c": listing.connection,
                "s": listing.sort,
                "f": listing.fingerprint,
                "k": [_dump_value(v) for v in key],
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        return base64.urlsafe_b64encode(self._tag(payload) + payload).rstrip(b"=").decode()

    def decode(self, listing: Listing, cursor: str, argument: str) -> Key:
        """The key a cursor holds; INVALID_CURSOR (naming ``argument``) unless this server
        signed it for exactly this listing."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise _invalid(argument, "is not a cursor") from None
        tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise _invalid(argument, "is not a cursor issued by this server")
        # Signed by this server, so well-formed unless an older build wrote it differently.
        try:
            document = json.loads(payload)
        except ValueError:
            raise _invalid(argument, "is not a cursor") from None
        if not isinstance(document, dict):
            raise _invalid(argument, "is not a cursor")
        if document.get("v") != CURSOR_VERSION:
            raise _invalid(argument, "comes from another version of the API")
        if (document.get("c"), document.get("s"), document.get("f")) != (
            listing.connection,
            listing.sort,
            listing.fingerprint,
        ):
            raise _invalid(argument, "belongs to another list, sort or filter")
        values = document.get("k")
        try:
            if not isinstance(values, list):
                raise ValueError(values)
            return tuple(_load_value(v) for v in values)
        except ValueError:
            raise _invalid(argument, "is not a cursor") from None


def _invalid(argument: str, why: str) -> ApiError:
    return ApiError(
        ErrorCode.INVALID_CURSOR,
        f"'{argument}' {why}; start again from the first page",
        field=argument,
    )


@lru_cache(maxsize=4)
def cursor_codec(secret_key: str) -> CursorCodec:
    return CursorCodec(secret_key)


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


def page_of(request: PageRequest, listing: Listing, codec: CursorCodec, max_size: int) -> Page:
    """Relay's arguments as a keyset page (an empty cursor string counts as none)."""
    if request.first is not None and request.last is not None:
        # The Relay spec strongly discourages both at once: the window they give is rarely what
        # the client meant.
        raise ApiError(
            ErrorCode.INVALID_INPUT, "Pass either 'first' or 'last', not both", field="last"
        )
    _check_size(request.first, "first", max_size)
    _check_size(request.last, "last", max_size)
    after = codec.decode(listing, request.after, "after") if request.after else None
    before = codec.decode(listing, request.before, "before") if request.before else None
    if request.first is not None:
        size = request.first
    elif request.last is not None:
        size = request.last
    else:
        size = min(DEFAULT_PAGE_SIZE, max_size)
    return Page(size=size, after=after, before=before, from_end=request.last is not None)


def connection_of(
    result: PageResult[RowT],
    total: int,
    listing: Listing,
    codec: CursorCodec,
    convert: Callable[[RowT], NodeT],
) -> Connection[NodeT]:
    edges = [
        Edge(cursor=codec.encode(listing, key), node=convert(row))
        for row, key in zip(result.rows, result.keys, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=result.has_next,
            has_previous_page=result.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )


async def list_connection(
    info: Info[Context, None],
    page: PageRequest,
    count: Callable[[UnitOfWork, Actor], Awaitable[int]],
    fetch: Callable[[UnitOfWork, Actor, Page], Awaitable[PageResult[RowT]]],
    convert: Callable[[RowT], NodeT],
    *,
    sort: str | None = None,
    filter: object = None,
) -> Connection[NodeT]:
    """A connection over a service's ``count``/``fetch`` pair, read in one unit of work.

    ``sort`` (the sort argument's value, if the list has one) and ``filter`` (every other
    argument that narrows the list, as the service receives it) bind the cursors: a cursor is
    refused by any other connection, sort or filter.
    """
    ctx = info.context
    actor = ctx.require_actor()
    listing = Listing.of(f"{info.path.typename}.{info.field_name}", sort, filter, actor.org_id)
    codec = cursor_codec(ctx.services.secret_key)
    wanted = page_of(page, listing, codec, ctx.services.settings.max_page_size)
    try:
        async with ctx.uow() as uow:
            total = await count(uow, actor)
            result = await fetch(uow, actor, wanted)
    except DomainError as exc:
        raise from_domain(exc) from exc
    return connection_of(result, total, listing, codec, convert)
