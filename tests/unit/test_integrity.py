"""Unique violations become the services' own DUPLICATE answer (db/integrity.py)."""

from __future__ import annotations

import re
from pathlib import Path

from db.integrity import UNIQUE_VIOLATION, as_duplicate, duplicate, duplicate_keys

ROOT = Path(__file__).resolve().parents[2]


class DriverError(Exception):
    """Shaped like asyncpg's error: SQLSTATE and constraint name."""

    def __init__(self, sqlstate: str, constraint_name: str | None) -> None:
        super().__init__("duplicate key value violates unique constraint")
        self.sqlstate = sqlstate
        self.constraint_name = constraint_name


class AdaptedError(Exception):
    """Shaped like SQLAlchemy's adapter of it: the SQLSTATE, the driver's error as cause."""

    sqlstate = UNIQUE_VIOLATION


def adapted(cause: DriverError) -> AdaptedError:
    try:
        raise AdaptedError() from cause
    except AdaptedError as error:
        return error


def test_a_declared_key_becomes_the_checks_duplicate() -> None:
    error = as_duplicate(adapted(DriverError(UNIQUE_VIOLATION, "users_org_id_username_key")))
    assert error is not None
    expected = duplicate("users_org_id_username_key")
    assert (error.code, error.field, error.message) == (
        expected.code,
        "username",
        expected.message,
    )


def test_other_errors_stay_what_they_are() -> None:
    # Keys written with ON CONFLICT: a violation there is a bug, and must stay loud.
    stock = DriverError(UNIQUE_VIOLATION, "stock_org_id_sku_id_bin_id_key")
    assert as_duplicate(adapted(stock)) is None
    assert as_duplicate(adapted(DriverError("23503", "orders_shop_id_fkey"))) is None
    assert as_duplicate(ValueError("not a database error")) is None


def test_every_key_a_service_names_is_declared() -> None:
    """``duplicate("name")`` in a service must name a declared key (a typo would be an
    unexpected error exactly when a user should have seen DUPLICATE)."""
    declared = duplicate_keys()
    named = {
        name
        for folder in ("domain", "api", "db", "workers")
        for path in (ROOT / folder).rglob("*.py")
        for name in re.findall(r'\bduplicate\("([^"]+)"\)', path.read_text(encoding="utf-8"))
    }
    assert named, "no service names a key: is the pattern out of date?"
    assert named <= declared.keys(), sorted(named - declared.keys())


def test_declared_keys_name_a_field_unless_nobody_typed_the_value() -> None:
    keys = duplicate_keys()
    assert {name for name, key in keys.items() if key.field is None} == {"api_tokens_org_prefix"}
    assert all(key.message for key in keys.values())
