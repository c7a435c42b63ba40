"""Database errors that are a refusal of a value the caller sent, not a fault of ours.

A text longer than its column, a date or number beyond what its type holds: PostgreSQL (or
asyncpg, encoding the parameter) refuses it, and the caller should hear INVALID_INPUT, not
"Unexpected error.". Domain rules should catch such values first, naming the field; this is
the net under them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: SQLSTATEs (class 22, data exception) that only a parameter's value can cause.
_REJECTED = {
    "22000": "A value is outside what its field can hold",  # asyncpg could not encode it
    "22001": "A text is longer than its field holds",  # string_data_right_truncation
    "22003": "A number is out of the range its field holds",  # numeric_value_out_of_range
    "22008": "A date or time is out of the range its field holds",  # datetime_field_overflow
    "22021": "A text holds characters that cannot be stored",  # character_not_in_repertoire
    "22P05": "A text holds characters that cannot be stored",  # untranslatable_character
}
_VARCHAR = re.compile(r"character varying\((\d+)\)")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy's wrapper of the driver's error
        if isinstance(orig, BaseException):
            yield orig
        current = current.__cause__ or current.__context__


def rejected_value(exc: BaseException) -> str | None:
    """What to tell the caller when the database refused a value; None for other errors.

    The message never repeats the value (asyncpg's own does, and it may be anything)."""
    for error in _chain(exc):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if not isinstance(code, str) or code not in _REJECTED:
            continue
        limit = _VARCHAR.search(str(error)) if code == "22001" else None
        if limit is not None:
            return f"A text is longer than the {limit[1]} characters its field holds"
        return _REJECTED[code]
    return None
