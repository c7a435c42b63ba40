"""Which database errors are the caller's value being refused."""

from __future__ import annotations

from db.errors import rejected_value


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class Wrapper(Exception):
    """Like SQLAlchemy's DBAPIError: the driver's error as ``orig``."""

    def __init__(self, orig: BaseException) -> None:
        super().__init__(str(orig))
        self.orig = orig


def test_too_long_text_names_the_limit_not_the_value() -> None:
    error = Wrapper(DriverError("value too long for type character varying(64)", "22001"))
    assert rejected_value(error) == "A text is longer than the 64 characters its field holds"


def test_found_anywhere_in_the_chain() -> None:
    try:
        try:
            raise DriverError("invalid input for query argument $3: '13912345678' (x)", "22000")
        except DriverError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        message = rejected_value(outer)
    assert message == "A value is outside what its field can hold"
    assert "139" not in message


def test_other_errors_are_not_the_callers() -> None:
    assert rejected_value(RuntimeError("boom")) is None
    assert rejected_value(Wrapper(DriverError("duplicate key", "23505"))) is None
    assert rejected_value(Wrapper(DriverError("division by zero", "22012"))) is None
