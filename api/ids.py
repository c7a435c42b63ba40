"""Global ids (Relay): ``base64("Order:123")``, decoded with typed errors.

A malformed id (not base64, no type, a key that is not a plain decimal number) is INVALID_ID;
a well-formed id whose number no row can have (zero, or beyond PostgreSQL's 64-bit ``bigint``)
is NOT_FOUND, at once: before, such a number reached the database and failed there.
"""

from __future__ import annotations

import re

from strawberry.relay import GlobalID

from api.errors import ApiError
from domain.errors import DomainError, ErrorCode, NotFound

#: The largest primary key a ``bigint`` column holds.
MAX_PK = 2**63 - 1
# ASCII digits only: int() also accepts "1_000", " 7" and other scripts' digits.
_DECIMAL = re.compile(r"[0-9]+")


class InvalidId(DomainError):
    code = ErrorCode.INVALID_ID


def to_global_id(type_name: str, pk: int) -> str:
    return str(GlobalID(type_name, str(pk)))


def _pk(raw: str, value: object, *, field: str | None) -> int:
    if not _DECIMAL.fullmatch(raw):
        raise InvalidId(f"'{value}' is not a valid id", field=field)
    # No int() of a thousand digits (Python refuses past 4,300 anyway): 19 digits hold any bigint.
    pk = int(raw) if len(raw.lstrip("0")) <= 19 else 0
    if not 0 < pk <= MAX_PK:
        raise NotFound("No object has this id", field=field)
    return pk


def parse_global_id(value: str) -> tuple[str, int]:
    try:
        gid = GlobalID.from_id(value)
    except Exception as exc:
        raise InvalidId(f"'{value}' is not a valid id") from exc
    return gid.type_name, _pk(gid.node_id, value, field=None)


def decode_id(value: str | GlobalID, expected: str, *, field: str = "id") -> int:
    """The database id behind a global id of type ``expected``; INVALID_ID or NOT_FOUND else."""
    if isinstance(value, GlobalID):
        type_name, pk = value.type_name, _pk(value.node_id, value, field=field)
    else:
        try:
            type_name, pk = parse_global_id(value)
        except DomainError as exc:
            exc.field = field
            raise
    if type_name != expected:
        raise InvalidId(f"Expected an id of a {expected}, got one of a {type_name}", field=field)
    return pk


def decode_id_or_raise(value: str | GlobalID, expected: str, *, field: str = "id") -> int:
    """For queries: the same decoding, failing as a GraphQL error with ``extensions.code``."""
    try:
        return decode_id(value, expected, field=field)
    except DomainError as exc:
        raise ApiError(exc.code, exc.message, field=field) from exc
