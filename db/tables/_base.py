"""Column helpers shared by every table module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, func
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def id_field() -> Any:
    return Field(default=None, primary_key=True, sa_type=BigInteger)


def org_field(*, index: bool = True) -> Any:
    """The tenant column every business row carries (and that RLS policies check).

    ``index=False`` where a composite index starting with ``org_id`` already serves the
    look-ups, or where the table is only read by another key: every index is one more write
    per inserted row, and per updated row when the update cannot be HOT."""
    return Field(
        sa_type=BigInteger,
        sa_column_args=[ForeignKey("organizations.id", ondelete="CASCADE")],
        nullable=False,
        index=index,
    )


def fk_field(
    target: str, *, nullable: bool = False, ondelete: str | None = None, index: bool = True
) -> Any:
    """A foreign key column, by default with its own index (``index=False``: see org_field)."""
    return Field(
        default=None,
        sa_type=BigInteger,
        sa_column_args=[ForeignKey(target, ondelete=ondelete)],
        nullable=nullable,
        index=index,
    )


def created_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
        nullable=False,
    )


def time_field(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable)


def check_in(column: str, values: Any) -> str:
    """A CHECK clause limiting a text column to an enum's values."""
    quoted = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({quoted})"
