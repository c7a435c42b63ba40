"""What a long-lived connection (a websocket) authenticated with, and whether that still holds.

An HTTP request is authenticated afresh every time; a websocket only once, at
``connection_init``.  So the connection keeps its ``Grant`` and re-checks it whenever its
credential may have changed: when an ``access.revoked`` event arrives (logout, password change,
role change, deactivation, API-token revocation publish one), before every event it would
deliver, and periodically in case such an event was lost.  The rules here are the same ones
sign-in applies (``service.actor_from_session`` / ``actor_from_api_token``), checked against rows
loaded in bulk for every open connection of an organisation at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from db.tables import ApiToken, User
from domain.accounts.model import Actor, Role
from domain.accounts.tokens import SessionClaims

#: The outbox topic written in the same transaction as any change that ends credentials.
ACCESS_REVOKED = "access.revoked"


@dataclass(frozen=True, slots=True)
class Grant:
    """A session (user + ``token_version`` + its logout deny-list id) or an API token, with the
    role and supplier the connection's ``Actor`` was built from."""

    org_id: int
    role: Role
    supplier_id: int | None
    #: The signed-in user (sessions only).
    user_id: int | None = None
    token_version: int | None = None
    #: Logout's deny-list key: a hash of the session token, never the token itself.
    session_id: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    #: The API token (API tokens only); its owner is looked up when checked.
    token_id: int | None = None

    @classmethod
    def for_session(cls, actor: Actor, claims: SessionClaims, session_id: str) -> Grant:
        return cls(
            org_id=actor.org_id,
            role=actor.role,
            supplier_id=actor.supplier_id,
            user_id=claims.user_id,
            token_version=claims.token_version,
            session_id=session_id,
            expires_at=claims.expires_at,
        )

    @classmethod
    def for_api_token(cls, actor: Actor) -> Grant:
        if actor.token_id is None:
            raise ValueError("an API-token grant needs the actor's token id")
        return cls(
            org_id=actor.org_id,
            role=actor.role,
            supplier_id=actor.supplier_id,
            token_id=actor.token_id,
        )

    @property
    def is_session(self) -> bool:
        return self.token_id is None


def grant_holds(
    grant: Grant,
    *,
    user: User | None,
    token: ApiToken | None,
    session_revoked: bool,
    now: datetime,
) -> bool:
    """Whether ``grant`` would still authenticate as the same actor.

    ``user`` is the session's user, or for an API token the user who created it (the token acts
    with that user's role, so a role change or deactivation of that user ends it too).  A role or
    supplier that differs from the grant's means the connection's actor is stale: it ends, and a
    new connection gets the new role.
    """
    if grant.expires_at is not None and grant.expires_at <= now:
        return False
    if user is None or not user.is_active or user.org_id != grant.org_id:
        return False
    if Role(user.role) is not grant.role or user.supplier_id != grant.supplier_id:
        return False
    if grant.is_session:
        return (
            user.id == grant.user_id
            and user.token_version == grant.token_version
            and not session_revoked
        )
    return (
        token is not None
        and token.id == grant.token_id
        and token.created_by_user_id == user.id
        and token.revoked_at is None
        and (token.expires_at is None or token.expires_at > now)
    )
