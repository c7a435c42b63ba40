"""The base of every expected (typed) domain error.

Services raise subclasses; the GraphQL layer turns them into ``UserError`` entries of a mutation
payload (``field``, ``message``, ``code``).  Anything else is unexpected and gets masked.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    INVALID_ID = "INVALID_ID"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    DUPLICATE = "DUPLICATE"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
    NEGATIVE_QUANTITY = "NEGATIVE_QUANTITY"
    NEGATIVE_AMOUNT = "NEGATIVE_AMOUNT"
    PAGE_SIZE_EXCEEDED = "PAGE_SIZE_EXCEEDED"
    INVALID_CURSOR = "INVALID_CURSOR"
    RATE_LIMITED = "RATE_LIMITED"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    UNKNOWN_BIN = "UNKNOWN_BIN"
    UNKNOWN_WAREHOUSE = "UNKNOWN_WAREHOUSE"
    UNKNOWN_ZONE = "UNKNOWN_ZONE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    CONCURRENT_UPDATE = "CONCURRENT_UPDATE"
    SAME_BIN = "SAME_BIN"
    BIN_WAREHOUSE_MISMATCH = "BIN_WAREHOUSE_MISMATCH"
    SIGNUP_DISABLED = "SIGNUP_DISABLED"


class DomainError(Exception):
    """An expected failure a user can act on. ``field`` names the input field at fault."""

    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(self, message: str, *, field: str | None = None, code: ErrorCode | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class InvalidInput(DomainError):
    code = ErrorCode.INVALID_INPUT


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Duplicate(DomainError):
    code = ErrorCode.DUPLICATE


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED
