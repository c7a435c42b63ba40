"""Roles, scopes, tokens and passwords, without a database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.accounts.errors import WeakPassword
from domain.accounts.model import ROLE_PERMISSIONS, Role, Scope, token_scopes
from domain.accounts.passwords import check_policy, hash_password, verify_password
from domain.accounts.tokens import (
    api_token_matches,
    decode_session_token,
    issue_session_token,
    new_api_token,
    parse_api_token,
)


def test_a_token_never_exceeds_its_role() -> None:
    wanted = frozenset({Scope.ORDERS_READ, Scope.USERS_WRITE})
    assert token_scopes(Role.SERVICE, wanted) == {Scope.ORDERS_READ}
    assert Scope.USERS_WRITE not in ROLE_PERMISSIONS[Role.OPERATOR]
    assert ROLE_PERMISSIONS[Role.SUPPLIER] <= {Scope.ORDERS_READ, Scope.CATALOG_READ}


def test_session_tokens() -> None:
    token, _ = issue_session_token(
        "k" * 32, org_id=3, user_id=7, token_version=2, ttl=timedelta(minutes=5)
    )
    claims = decode_session_token("k" * 32, token)
    assert claims is not None and (claims.org_id, claims.user_id, claims.token_version) == (3, 7, 2)
    assert decode_session_token("other-key" * 4, token) is None
    expired, _ = issue_session_token(
        "k" * 32, org_id=3, user_id=7, token_version=2, ttl=timedelta(seconds=-1)
    )
    assert decode_session_token("k" * 32, expired) is None
    assert decode_session_token("k" * 32, "not-a-jwt") is None


def test_api_tokens_are_stored_as_digests() -> None:
    secret = new_api_token()
    assert parse_api_token(secret.plaintext) == secret.prefix
    assert api_token_matches(secret.plaintext, secret.digest)
    assert secret.plaintext not in secret.digest
    assert not api_token_matches(secret.plaintext + "x", secret.digest)
    assert parse_api_token("oft__") is None and parse_api_token("Bearer x") is None


def test_password_policy_and_hashing() -> None:
    for weak in ("short1", "allletters", "1234567890"):
        with pytest.raises(WeakPassword):
            check_policy(weak)
    hashed = hash_password("good-pass-1")
    assert verify_password(hashed, "good-pass-1")
    assert not verify_password(hashed, "good-pass-2")
    assert not verify_password(None, "good-pass-1")
