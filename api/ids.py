"""Global ids (Relay): ``base64("Order:123")``, decoded with typed errors."""

from __future__ import annotations

from strawberry.relay import GlobalID

from api.errors import ApiError
from domain.errors import DomainError, ErrorCode


class InvalidId(DomainError):
    code = ErrorCode.INVALID_ID


def to_global_id(type_name: str, pk: int) -> str:
    return str(GlobalID(type_name, str(pk)))


def parse_global_id(value: str) -> tuple[str, int]:
    try:
        gid = GlobalID.from_id(value)
        return gid.type_name, int(gid.node_id)
    except Exception as exc:
        raise InvalidId(f"'{value}' is not a valid id") from exc


def decode_id(value: str | GlobalID, expected: str, *, field: str = "id") -> int:
    """The database id behind a global id of type ``expected``; INVALID_ID otherwise."""
    if isinstance(value, GlobalID):
        type_name, raw = value.type_name, value.node_id
        try:
            pk = int(raw)
        except ValueError as exc:
            raise InvalidId(f"'{value}' is not a valid id", field=field) from exc
    else:
        try:
            type_name, pk = parse_global_id(value)
        except InvalidId as exc:
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
