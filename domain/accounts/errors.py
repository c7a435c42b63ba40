"""Typed errors of the accounts area."""

from __future__ import annotations

from domain.errors import DomainError, ErrorCode


class InvalidCredentials(DomainError):
    """Deliberately the same for an unknown organisation, user or a wrong password."""

    code = ErrorCode.INVALID_CREDENTIALS

    def __init__(self) -> None:
        super().__init__("Organisation, username or password is incorrect")


class WeakPassword(DomainError):
    code = ErrorCode.WEAK_PASSWORD


class SignUpDisabled(DomainError):
    code = ErrorCode.SIGNUP_DISABLED

    def __init__(self) -> None:
        super().__init__("Self-service sign-up is disabled on this deployment")


class LastOwner(DomainError):
    """Every organisation keeps an active OWNER, or nobody could manage its users again."""

    code = ErrorCode.CONFLICT


class CannotDeactivateSelf(DomainError):
    code = ErrorCode.INVALID_INPUT

    def __init__(self) -> None:
        super().__init__("You cannot deactivate yourself", field="id")
