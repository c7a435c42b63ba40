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


def org_field() -> Any:
    """The tenant column every business row carries (and that RLS policies check)."""
    return Field(
        sa_type=BigInteger,
        sa_column_args=[ForeignKey("organizations.id", ondelete="CASCADE")],
        nullable=False,
        index=True,
    )


def fk_field(target: str, *, nullable: bool = False, ondelete: str | None = None) -> Any:
    return Field(
        default=None,
        sa_type=BigInteger,
        sa_column_args=[ForeignKey(target, ondelete=ondelete)],
        nullable=nullable,
        index=True,
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
