"""Inputs of the account mutations."""

from __future__ import annotations

import strawberry

from domain.accounts.model import Role, Scope


@strawberry.input
class LoginInput:
    organization: str = strawberry.field(description="The organisation code (公司代码).")
    username: str
    password: str
    use_cookie: bool = strawberry.field(
        default=False,
        description="For a browser SPA: keep the session in an httpOnly cookie (then send "
        "X-CSRF-Token on mutations).",
    )


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class CreateApiTokenInput:
    name: str
    scopes: list[Scope]
    expires_in_days: int | None = None


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.input
class CreateUserInput:
    username: str
    password: str
    role: Role
    display_name: str = ""
    supplier: str | None = strawberry.field(
        default=None, description="For a SUPPLIER user: the supplier's name (created if new)."
    )


@strawberry.input(description="Change a user; fields left out stay as they are.")
class UpdateUserInput:
    id: strawberry.ID
    role: Role | None = strawberry.field(
        default=None, description="A new role ends every session the user has."
    )
    display_name: str | None = None
    supplier: str | None = strawberry.field(
        default=None,
        description="For a SUPPLIER user: the supplier's name (created if new); a new supplier "
        "ends the user's sessions, as a new role does.",
    )


@strawberry.input
class DeactivateUserInput:
    id: strawberry.ID


@strawberry.input
class ReactivateUserInput:
    id: strawberry.ID


@strawberry.input
class SignUpInput:
    organization_code: str
    organization_name: str
    username: str
    password: str
