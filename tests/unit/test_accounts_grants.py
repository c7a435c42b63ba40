"""When the credential of an open websocket stops holding, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.tables import ApiToken, User
from domain.accounts.grants import Grant, grant_holds
from domain.accounts.model import Actor, Role, Scope
from domain.accounts.tokens import SessionClaims

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def user(**changes: object) -> User:
    values: dict[str, object] = {
        "id": 7,
        "org_id": 1,
        "username": "clerk",
        "password_hash": "x",
        "role": Role.OPERATOR.value,
        "token_version": 2,
        "is_active": True,
    }
    return User(**{**values, **changes})


def session_grant() -> Grant:
    actor = Actor.for_user(
        org_id=1, user_id=7, role=Role.OPERATOR, username="clerk", supplier_id=None
    )
    claims = SessionClaims(
        org_id=1, user_id=7, token_version=2, expires_at=NOW + timedelta(hours=1)
    )
    return Grant.for_session(actor, claims, "session-hash")


def token_row(**changes: object) -> ApiToken:
    values: dict[str, object] = {
        "id": 30,
        "org_id": 1,
        "name": "erp",
        "prefix": "abc",
        "token_hash": "h",
        "scopes": ["orders:read"],
        "created_by_user_id": 7,
    }
    return ApiToken(**{**values, **changes})


def token_grant() -> Grant:
    actor = Actor(org_id=1, role=Role.OPERATOR, token_id=30, scopes=frozenset({Scope.ORDERS_READ}))
    return Grant.for_api_token(actor)


def test_a_session_holds_until_anything_it_rests_on_changes() -> None:
    grant = session_grant()
    assert grant_holds(grant, user=user(), token=None, session_revoked=False, now=NOW)
    assert "session-hash" not in repr(grant)  # logs may show grants; never the deny-list key
    for lapsed_user in (
        user(token_version=3),  # password change, role change, deactivation all bump it
        user(is_active=False),
        user(role=Role.WAREHOUSE.value),
        user(org_id=2),
        None,
    ):
        assert not grant_holds(grant, user=lapsed_user, token=None, session_revoked=False, now=NOW)
    assert not grant_holds(grant, user=user(), token=None, session_revoked=True, now=NOW)
    later = NOW + timedelta(hours=2)
    assert not grant_holds(grant, user=user(), token=None, session_revoked=False, now=later)


def test_an_api_token_follows_its_row_and_its_creator() -> None:
    grant = token_grant()
    creator = user()
    assert grant_holds(grant, user=creator, token=token_row(), session_revoked=False, now=NOW)
    # A password change of the creator leaves the token alone ...
    assert grant_holds(
        grant, user=user(token_version=9), token=token_row(), session_revoked=False, now=NOW
    )
    # ... a new role or deactivation of the creator, or the token's own end, does not.
    for lapsed_creator in (user(role=Role.SERVICE.value), user(is_active=False), None):
        assert not grant_holds(
            grant, user=lapsed_creator, token=token_row(), session_revoked=False, now=NOW
        )
    for lapsed_token in (
        token_row(revoked_at=NOW),
        token_row(expires_at=NOW),
        token_row(created_by_user_id=8),
        None,
    ):
        assert not grant_holds(
            grant, user=creator, token=lapsed_token, session_revoked=False, now=NOW
        )


def test_an_api_token_grant_needs_a_token() -> None:
    actor = Actor.for_user(org_id=1, user_id=7, role=Role.OWNER, username="boss", supplier_id=None)
    with pytest.raises(ValueError):
        Grant.for_api_token(actor)
