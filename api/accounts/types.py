"""GraphQL types for organisations, users, the viewer and API tokens."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from api.errors import UserError
from db import tables
from domain.accounts.model import Role, Scope


@strawberry.type(description="A seller (organisation); everything it owns is invisible to others.")
class Organization(relay.Node):
    id: relay.NodeID[int]
    slug: str = strawberry.field(description="The code used to sign in (公司代码).")
    name: str

    @classmethod
    def from_row(cls, row: tables.Organization) -> Organization:
        assert row.id is not None
        return cls(id=row.id, slug=row.slug, name=row.name)


@strawberry.type
class User(relay.Node):
    id: relay.NodeID[int]
    username: str
    display_name: str
    role: Role
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.User) -> User:
        assert row.id is not None
        return cls(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            role=Role(row.role),
            is_active=row.is_active,
            last_login_at=row.last_login_at,
            created_at=row.created_at,
        )


@strawberry.type(description="Who is calling: a signed-in user or an API token.")
class Viewer:
    organization: Organization
    user: User | None
    role: Role
    scopes: list[Scope] = strawberry.field(
        description="What this caller may do, exactly as the server checks it: the role's "
        "permissions, or for an API token its scopes within its creator's role."
    )
    api_token_name: str | None = None


@strawberry.type(description="A token for a third-party app; the secret is shown only once.")
class ApiToken(relay.Node):
    id: relay.NodeID[int]
    name: str
    prefix: str = strawberry.field(description="Identifies the token without revealing it.")
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.ApiToken) -> ApiToken:
        assert row.id is not None
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=[Scope(s) for s in row.scopes],
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(
        default=None,
        description="Send as `Authorization: Bearer <token>`. Null with useCookie: the "
        "httpOnly cookie carries the session, out of reach of the page's scripts.",
    )
    expires_at: datetime | None = None
    csrf_token: str | None = strawberry.field(
        default=None,
        description="With useCookie: send this as the X-CSRF-Token header on every mutation.",
    )
    viewer: Viewer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ChangePasswordPayload:
    token: str | None = strawberry.field(
        default=None,
        description="A new session token; every other session has ended. Null for a cookie "
        "session: the renewed cookie carries it.",
    )
    expires_at: datetime | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateApiTokenPayload:
    api_token: ApiToken | None = None
    secret: str | None = strawberry.field(
        default=None, description="The token itself. Shown this once; store it now."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiTokenPayload:
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UserPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SignUpPayload:
    organization: Organization | None = None
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
