"""A write that breaks a unique constraint is a DUPLICATE, not an unexpected error.

Services check "is this external id / username / code taken?" before they write, which gives the
caller a precise answer in the common case.  Two concurrent requests can both pass that check,
though, and the loser's INSERT (or UPDATE) then breaks the unique constraint: the database is the
only place where the race is decided.  This module turns that error into the very answer the
check gives, ``Duplicate`` on the same input field, for every statement of every unit of work,
in one place: an engine ``handle_error`` hook (``install``), so it holds for a flush inside a
repository, an autoflush, a commit or a hand-written statement alike.

Which field a constraint guards, and the message, are declared where the constraint is defined
(``db.tables._base.unique_key``); the services' checks raise the same error (``duplicate``), so a
caller cannot tell which of the two caught it.  The message names no value: PostgreSQL leaves the
key out of the error when row-level security applies, and the field says where it was typed.

A constraint without such a declaration is left alone: its writes use ``INSERT ... ON CONFLICT``
(get-or-create, counters), and a violation there would be a real bug, which must stay loud.

``db/`` importing ``domain.errors`` is deliberate: the typed error is the contract between the
layers, and translating in the repositories instead would scatter the same try/except over every
write (and miss autoflushes and commits).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import MetaData, UniqueConstraint, event
from sqlalchemy.engine import Engine, ExceptionContext

from db.tables import metadata
from db.tables._base import DUPLICATE_INFO, DuplicateKey
from domain.errors import Duplicate

UNIQUE_VIOLATION = "23505"


def duplicate_keys(schema: MetaData = metadata) -> dict[str, DuplicateKey]:
    """Every declared unique constraint by name (as PostgreSQL reports it)."""
    found: dict[str, DuplicateKey] = {}
    for table in schema.sorted_tables:
        for constraint in table.constraints:
            key = constraint.info.get(DUPLICATE_INFO)
            if isinstance(constraint, UniqueConstraint) and isinstance(key, DuplicateKey):
                assert isinstance(constraint.name, str), f"{table.name}: unnamed unique_key"
                found[constraint.name] = key
    return found


_KEYS = duplicate_keys()


def as_duplicate(
    error: BaseException, keys: Mapping[str, DuplicateKey] = _KEYS
) -> Duplicate | None:
    """``Duplicate`` for a unique violation of a declared constraint, else ``None``.

    ``error`` is what the driver raised: SQLAlchemy's adapter of asyncpg's error, which carries
    the SQLSTATE and is caused by asyncpg's own error, which names the constraint."""
    for candidate in (error, error.__cause__):
        if candidate is None or getattr(candidate, "sqlstate", None) != UNIQUE_VIOLATION:
            continue
        name = getattr(candidate, "constraint_name", None)
        key = keys.get(name) if isinstance(name, str) else None
        if key is not None:
            return Duplicate(key.message, field=key.field)
    return None


def duplicate(constraint: str) -> Duplicate:
    """The error a service's own check raises when it finds the key of ``constraint`` taken."""
    key = _KEYS[constraint]
    return Duplicate(key.message, field=key.field)


def _translate(context: ExceptionContext) -> None:
    found = as_duplicate(context.original_exception)
    if found is not None:
        # SQLAlchemy raises what its handle_error hook raises instead of its own error; the
        # driver's error stays attached as the cause for the log of whoever wants it.
        raise found from context.original_exception


def install(engine: Engine) -> None:
    """Translate unique violations on every connection of ``engine`` (idempotent)."""
    if not event.contains(engine, "handle_error", _translate):
        event.listen(engine, "handle_error", _translate)
