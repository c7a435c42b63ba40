"""Keyset pages: what a list is asked for and what it answers.  Pure: no SQL, no I/O.

A page is bounded by *keys*, never by an offset: the sort key values of a row followed by its
id, e.g. ``(created_at, id)``.  ``after`` asks for the rows that come strictly after a key in the
list's order, ``before`` for the rows strictly before one, so a page stays where it is when rows
are inserted, deleted or re-sorted elsewhere in the list.  The API turns Relay's
``first/after/last/before`` into a ``Page`` (api/pagination.py); repositories apply it to their
query through one function (``db.repositories._base.keyset_page``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from domain.errors import DomainError, ErrorCode

T = TypeVar("T")

#: One sort value: what the sort columns hold (``None`` where a sort column may be empty).
KeyValue = int | str | bool | datetime | None
#: A row's position in a sorted list: its sort values, then its id.
Key = tuple[KeyValue, ...]


class InvalidCursor(DomainError):
    """A cursor that does not belong to the list it was given to (another list, sort or
    filter, an older format) or that was not issued by this server."""

    code = ErrorCode.INVALID_CURSOR


@dataclass(frozen=True)
class Page:
    """``size`` rows after ``after`` and before ``before`` (both exclusive): the first ``size``
    of them, or the last ``size`` when ``from_end`` (Relay's ``last``)."""

    size: int
    after: Key | None = None
    before: Key | None = None
    from_end: bool = False


@dataclass(frozen=True)
class PageResult(Generic[T]):
    """The rows of a page in the list's order, each row's key (for its cursor), and whether
    the list goes on past either end of the page (Relay's ``pageInfo``)."""

    rows: Sequence[T]
    keys: Sequence[Key]
    has_next: bool
    has_previous: bool
