"""What every repository shares: a session, the organisation it serves, counting, and the one
way every list is paged (``keyset_page``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    TypeDecorator,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.paging import InvalidCursor, Key, Page, PageResult

T = TypeVar("T")


@dataclass(frozen=True)
class Bound:
    """One end of a range of a list: a key, and whether its own row is within."""

    key: Key
    inclusive: bool


class Keyset:
    """The order of a list, and how to find the rows on either side of a key in it.

    ``columns`` are attributes of the listed entity, the last of them its ``id`` so that the
    order is total and a key names exactly one place in it; all go one way (``descending`` or
    not).  One direction lets PostgreSQL compare a whole key at once, ``(a, id) > (:a, :id)``,
    which an index on ``(org_id, a, id)`` answers as one range: a page costs the same however
    deep it is.

    Only the first column may hold NULL (``paid_at``): such rows come last, ascending or
    descending.  The list is then two parts, rows with a value and rows without, each a range
    of the same index in either direction, and a page that spans both reads each part's
    ``size + 1`` rows and merges them; no second index with the other NULL placement (one more
    write on every status change of an order) is needed.

    Changing a sort's columns changes what its cursors mean: bump ``CURSOR_VERSION``
    (api/pagination.py) so that cursors issued before are refused, not misread (``check``
    notices only a change in the number or types of the columns).
    """

    def __init__(self, *columns: Any, descending: bool = False) -> None:
        if not columns or columns[-1].key != "id":
            raise ValueError("A keyset ends with the row's id, which makes the order total")
        for column in columns:
            _python_type(column)  # refuses a column type a cursor cannot carry
        if any(column.expression.nullable for column in columns[1:]):
            raise ValueError("Only the first column of a keyset may hold NULL")
        self.columns: tuple[Any, ...] = columns
        self.descending = descending
        self.nullable_first = len(columns) > 1 and bool(columns[0].expression.nullable)

    def order_by(self) -> list[ColumnElement[Any]]:
        """The list's order, for queries outside paging (e.g. the first row of a list)."""
        return _ordered(self.columns, self.descending, nulls_last=self.nullable_first)

    def key_of(self, row: Any) -> Key:
        return tuple(getattr(row, column.key) for column in self.columns)

    def check(self, key: Key, argument: str) -> None:
        """Refuse a key that cannot be a key of this list (a cursor from another list or an
        older build): the SQL would fail or, worse, compare the wrong things."""
        if len(key) != len(self.columns) or not all(
            _fits(column, value) for column, value in zip(self.columns, key, strict=True)
        ):
            raise InvalidCursor(f"'{argument}' is not a cursor of this list", field=argument)

    # -- the parts of the list within bounds -----------------------------------------------------
    def parts(self, after: Bound | None, before: Bound | None) -> list[list[ColumnElement[bool]]]:
        """The WHERE clauses of each part of the list that lies within the bounds, in list
        order (an empty list when nothing can)."""
        if not self.nullable_first:
            parts: list[tuple[list[ColumnElement[bool]], tuple[Any, ...], slice]] = [
                ([], self.columns, slice(None))
            ]
        else:
            first = self.columns[0]
            parts = [
                ([first.is_not(None)], self.columns, slice(None)),
                # Without a first value the rows are ordered by the rest of the key alone.
                ([first.is_(None)], self.columns[1:], slice(1, None)),
            ]
        found = []
        for index, (where, columns, values) in enumerate(parts):
            clauses = list(where)
            if after is not None:
                start = self._part_of(after.key)
                if index < start:
                    continue
                if index == start:
                    clauses.append(self._beyond(columns, after.key[values], True, after.inclusive))
            if before is not None:
                stop = self._part_of(before.key)
                if index > stop:
                    continue
                if index == stop:
                    clauses.append(
                        self._beyond(columns, before.key[values], False, before.inclusive)
                    )
            found.append(clauses)
        return found

    def _part_of(self, key: Key) -> int:
        return 1 if self.nullable_first and key[0] is None else 0

    def _beyond(
        self, columns: Sequence[Any], values: Key, later: bool, inclusive: bool
    ) -> ColumnElement[bool]:
        """Rows after (``later``) or before ``values`` in the list's order."""
        left: Any = columns[0] if len(columns) == 1 else tuple_(*columns)
        binds = [literal(v, c.expression.type) for c, v in zip(columns, values, strict=True)]
        right: Any = binds[0] if len(binds) == 1 else tuple_(*binds)
        if later != self.descending:
            return left >= right if inclusive else left > right  # type: ignore[no-any-return]
        return left <= right if inclusive else left < right  # type: ignore[no-any-return]


def _ordered(columns: Sequence[Any], descending: bool, *, nulls_last: bool) -> list[Any]:
    ordered = [column.desc() if descending else column.asc() for column in columns]
    if nulls_last:
        ordered[0] = ordered[0].nulls_last()
    return ordered


def _sql_type(column: Any) -> Any:
    kind = column.expression.type
    # e.g. SQLModel's AutoString: a String underneath.
    return kind.impl_instance if isinstance(kind, TypeDecorator) else kind


def _python_type(column: Any) -> type:
    kind = _sql_type(column)
    # Boolean before Integer: a bool is an int to Python, never to a cursor.
    types: tuple[tuple[type[Any], type], ...] = (
        (Boolean, bool),
        (Integer, int),
        (String, str),
        (DateTime, datetime),
    )
    for sql_type, python_type in types:
        if isinstance(kind, sql_type):
            return python_type
    raise TypeError(f"A keyset cannot sort by {column.key} ({kind})")


def _fits(column: Any, value: object) -> bool:
    if value is None:
        return bool(column.expression.nullable)
    python_type = _python_type(column)
    if python_type is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if python_type is datetime:
        # An aware time for a timestamptz column, a naive one for a plain timestamp.
        return isinstance(value, datetime) and (value.tzinfo is not None) == bool(
            _sql_type(column).timezone
        )
    return isinstance(value, python_type)


def keyset_select(stmt: Select[T], keyset: Keyset, page: Page) -> Select[T]:
    """The statement of a page: ``stmt`` (a filtered ``select(Entity)``) within the page's
    bounds, in the list's order (reversed for ``from_end``), ``size + 1`` rows: the extra row
    tells whether the list goes on."""
    parts = keyset.parts(
        Bound(page.after, False) if page.after is not None else None,
        Bound(page.before, False) if page.before is not None else None,
    )
    limit = page.size + 1
    # Reading towards the start of the list for `last`: the rows nearest `before` come first.
    descending = keyset.descending != page.from_end
    if page.from_end:
        parts.reverse()
    base = stmt.order_by(None)
    scans = [
        base.where(*where)
        .order_by(*_ordered(keyset.columns, descending, nulls_last=False))
        .limit(limit)
        for where in parts
    ]
    if not scans:
        # Bounds nothing lies between (e.g. after an unpaid row, before a paid one): still one
        # statement, so what a page costs never depends on where its cursors point.
        return base.where(false()).limit(0)
    if len(scans) == 1:
        return scans[0]
    # Rows with a first value, then rows without: each part is read as its own index range
    # (in the index's own NULL placement, which cannot matter within one part), then merged.
    entity = stmt.column_descriptions[0]["entity"]
    merged = aliased(entity, union_all(*scans).subquery("page"))
    columns = [getattr(merged, column.key) for column in keyset.columns]
    ordered = _ordered(columns, descending, nulls_last=False)
    ordered[0] = ordered[0].nulls_first() if page.from_end else ordered[0].nulls_last()
    return select(merged).order_by(*ordered).limit(limit)


def keyset_behind(stmt: Select[Any], keyset: Keyset, page: Page) -> Select[tuple[bool]] | None:
    """Whether rows lie behind the page, where reading started: at or before ``after`` (read
    forwards) or at or after ``before`` (read from the end).  None without such a cursor: the
    page then starts at an end of the list.  The cursor's own row counts, as it was on the
    page the client came from."""
    base = stmt.order_by(None)
    if page.from_end:
        if page.before is None:
            return None
        parts = keyset.parts(Bound(page.before, True), None)
    else:
        if page.after is None:
            return None
        parts = keyset.parts(None, Bound(page.after, True))
    if not parts:
        return select(false())
    return select(or_(*(base.where(*where).exists() for where in parts)))


async def keyset_page(
    session: AsyncSession, stmt: Select[T], keyset: Keyset, page: Page
) -> PageResult[T]:
    """One page of a list: at most two statements (the rows, and whether any lie behind the
    cursor the page was read from), whatever the page size or depth."""
    if page.after is not None:
        keyset.check(page.after, "after")
    if page.before is not None:
        keyset.check(page.before, "before")
    rows = list((await session.scalars(keyset_select(stmt, keyset, page))).all())
    more = len(rows) > page.size
    del rows[page.size :]
    if page.from_end:
        rows.reverse()
    behind_stmt = keyset_behind(stmt, keyset, page)
    behind = bool(await session.scalar(behind_stmt)) if behind_stmt is not None else False
    return PageResult(
        rows=rows,
        keys=[keyset.key_of(row) for row in rows],
        has_next=behind if page.from_end else more,
        has_previous=more if page.from_end else behind,
    )


class Repository:
    def __init__(self, session: AsyncSession, org_id: int) -> None:
        self.session = session
        self.org_id = org_id

    async def _count(self, stmt: Select[Any]) -> int:
        total = await self.session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        return int(total or 0)

    async def _page(self, stmt: Select[T], keyset: Keyset, page: Page) -> PageResult[T]:
        return await keyset_page(self.session, stmt, keyset, page)

    async def _by_ids(self, model: type[T], ids: Sequence[int]) -> dict[int, T]:
        if not ids:
            return {}
        column: Any = model.id  # type: ignore[attr-defined]
        org: Any = model.org_id  # type: ignore[attr-defined]
        rows = await self.session.scalars(
            select(model).where(column.in_(set(ids)), org == self.org_id)
        )
        return {row.id: row for row in rows}  # type: ignore[attr-defined]
