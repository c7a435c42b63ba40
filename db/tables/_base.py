"""Column and key helpers shared by every table module.

Tenant tables are keyed by ``(org_id, id)`` and refer to each other by ``(org_id, <id>)``
(``tenant_key`` and ``org_fk``): a row can only ever point at a row of its own organisation,
and every table can be distributed by ``org_id`` (Citus) with co-located joins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    PrimaryKeyConstraint,
    UniqueConstraint,
    func,
)
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def id_field() -> Any:
    """A tenant row's own number (from the table's sequence); the key is ``tenant_key()``."""
    return Field(
        default=None, sa_type=BigInteger, nullable=False, sa_column_kwargs={"autoincrement": True}
    )


def tenant_key() -> PrimaryKeyConstraint:
    """The primary key of every tenant table: ``(org_id, id)``."""
    return PrimaryKeyConstraint("org_id", "id")


def org_fk(
    columns: Sequence[str],
    target: str,
    target_columns: Sequence[str] = ("id",),
    *,
    name: str,
    ondelete: str | None = None,
) -> ForeignKeyConstraint:
    """A foreign key between tenant tables, always through ``org_id``."""
    return ForeignKeyConstraint(
        ["org_id", *columns],
        [f"{target}.org_id", *(f"{target}.{c}" for c in target_columns)],
        name=name,
        ondelete=ondelete,
    )


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


def fk_field(*, nullable: bool = False, index: bool = True) -> Any:
    """A reference column, by default with its own index (``index=False``: see org_field).

    The constraint itself is the table's ``org_fk`` over ``(org_id, column)``."""
    return Field(default=None, sa_type=BigInteger, nullable=nullable, index=index)


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


#: Where ``unique_key`` keeps what a caller is told (``UniqueConstraint.info``).
DUPLICATE_INFO = "duplicate"


@dataclass(frozen=True)
class DuplicateKey:
    """What breaking a unique constraint means to the caller of a mutation.

    ``field`` is the input field at fault (as the service's own "is it taken?" check names it)."""

    field: str | None
    message: str


def unique_key(*columns: str, name: str, field: str | None, message: str) -> UniqueConstraint:
    """A unique constraint a mutation can run into.

    A service checks that a code is free before inserting it, but two requests can both pass the
    check and race to the insert: the loser breaks the constraint.  That is the same expected
    outcome as the check's, so db/integrity.py reports it as DUPLICATE on ``field`` (found by
    the constraint's ``name``, which is therefore always explicit).
    """
    return UniqueConstraint(
        *columns, name=name, info={DUPLICATE_INFO: DuplicateKey(field=field, message=message)}
    )
