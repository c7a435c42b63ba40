"""The role matrix: its promises, the checks that read it, and the README's copy of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.accounts.model import (
    MATRIX_NOTES,
    PERMISSIONS,
    READ_PERMISSIONS,
    ROLE_PERMISSIONS,
    TOKEN_GRANTS,
    Actor,
    Role,
    Scope,
    token_scopes,
)
from domain.accounts.permissions import (
    check_grant,
    matrix_markdown,
    may_revoke,
    require,
    require_session,
)
from domain.errors import ErrorCode, Forbidden, InvalidInput

README = Path(__file__).resolve().parents[2] / "README.md"
OPERATIONAL_ROLES = (Role.OPERATOR, Role.WAREHOUSE, Role.SERVICE, Role.SUPPLIER)


def user(role: Role) -> Actor:
    return Actor.for_user(org_id=1, user_id=7, role=role, username="u", supplier_id=None)


def test_every_permission_is_described_and_every_role_has_a_column() -> None:
    assert set(PERMISSIONS) == set(Scope)
    assert set(ROLE_PERMISSIONS) == set(TOKEN_GRANTS) == set(Role)
    assert frozenset(Scope) > READ_PERMISSIONS
    assert all(s.value.endswith(":read") for s in READ_PERMISSIONS)


def test_a_manager_does_everything_operational_the_roles_below_it_do() -> None:
    below = frozenset().union(*(ROLE_PERMISSIONS[r] for r in OPERATIONAL_ROLES))
    assert below <= ROLE_PERMISSIONS[Role.MANAGER]
    assert {Scope.STOCK_WRITE, Scope.LAYOUT_WRITE} <= ROLE_PERMISSIONS[Role.MANAGER]


def test_only_the_owner_manages_users_and_grants_write_scopes() -> None:
    assert [r for r in Role if Scope.USERS_WRITE in ROLE_PERMISSIONS[r]] == [Role.OWNER]
    assert [r for r in Role if TOKEN_GRANTS[r] - READ_PERMISSIONS] == [Role.OWNER]
    assert TOKEN_GRANTS[Role.MANAGER] == READ_PERMISSIONS
    for role in Role:
        assert TOKEN_GRANTS[role] <= ROLE_PERMISSIONS[role]
        assert Scope.TOKENS_WRITE not in TOKEN_GRANTS[role]
        # Whoever cannot manage tokens grants none.
        assert TOKEN_GRANTS[role] == frozenset() or Scope.TOKENS_WRITE in ROLE_PERMISSIONS[role]


def test_a_supplier_holds_nothing_but_its_own_orders_and_their_catalog() -> None:
    assert ROLE_PERMISSIONS[Role.SUPPLIER] == {Scope.ORDERS_READ, Scope.CATALOG_READ}
    # Both are narrowed to its own orders, and the README says so.
    assert {s for (r, s) in MATRIX_NOTES if r is Role.SUPPLIER} == ROLE_PERMISSIONS[Role.SUPPLIER]


def test_roles_keep_their_jobs() -> None:
    service, warehouse = ROLE_PERMISSIONS[Role.SERVICE], ROLE_PERMISSIONS[Role.WAREHOUSE]
    assert Scope.ORDERS_REMARK in service and Scope.ORDERS_WRITE not in service
    assert Scope.STOCK_WRITE not in service
    assert {Scope.STOCK_WRITE, Scope.LAYOUT_WRITE} <= warehouse
    assert Scope.ORDERS_WRITE not in warehouse


def test_a_token_holds_its_scopes_within_its_creators_role_and_never_token_rights() -> None:
    everything = frozenset(Scope)
    assert token_scopes(Role.OWNER, everything) == everything - {Scope.TOKENS_WRITE}
    assert token_scopes(Role.SERVICE, frozenset({Scope.ORDERS_READ, Scope.USERS_WRITE})) == {
        Scope.ORDERS_READ
    }
    assert token_scopes(Role.MANAGER, frozenset({Scope.USERS_WRITE})) == frozenset()


def test_require_reads_the_actors_effective_permissions() -> None:
    require(user(Role.WAREHOUSE), Scope.STOCK_WRITE, "receive stock")
    with pytest.raises(Forbidden) as refused:
        require(user(Role.SERVICE), Scope.STOCK_WRITE, "receive stock")
    assert "stock:write" in refused.value.message
    token = Actor(org_id=1, role=Role.OWNER, token_id=3, scopes=frozenset({Scope.ORDERS_READ}))
    with pytest.raises(Forbidden):
        require(token, Scope.USERS_WRITE, "create users")


def test_grants_and_revocations_follow_the_grant_row() -> None:
    check_grant(user(Role.OWNER), [Scope.STOCK_WRITE, Scope.USERS_WRITE])
    check_grant(user(Role.MANAGER), [Scope.ORDERS_READ, Scope.MONEY_READ])
    with pytest.raises(Forbidden) as refused:
        check_grant(user(Role.MANAGER), [Scope.ORDERS_READ, Scope.STOCK_WRITE])
    assert refused.value.field == "scopes" and "stock:write" in refused.value.message
    with pytest.raises(Forbidden):
        check_grant(user(Role.OWNER), [Scope.TOKENS_WRITE])
    assert may_revoke(user(Role.MANAGER), [Scope.STOCK_READ])
    assert not may_revoke(user(Role.MANAGER), [Scope.STOCK_READ, Scope.STOCK_WRITE])
    assert may_revoke(user(Role.OWNER), [Scope.STOCK_WRITE])


def test_an_api_token_has_no_session_to_end() -> None:
    require_session(user(Role.SERVICE))
    with pytest.raises(InvalidInput) as refused:
        require_session(Actor(org_id=1, role=Role.OWNER, token_id=5))
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert "revokeApiToken" in refused.value.message


def test_the_rendered_matrix_has_a_row_per_permission_and_a_column_per_role() -> None:
    rows = matrix_markdown().splitlines()
    assert rows[0].count("|") == len(Role) + 3
    assert len(rows) == 2 + len(Scope) + 1
    for scope, row in zip(Scope, rows[2:], strict=False):
        assert row.startswith(f"| `{scope.value}` |")
        assert row.count("✓") == sum(scope in ROLE_PERMISSIONS[r] for r in Role)


def test_the_readme_shows_the_matrix_as_rendered() -> None:
    found = re.search(
        r"<!-- role-matrix:start -->\n(.*?)<!-- role-matrix:end -->",
        README.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert found, "README.md lost its <!-- role-matrix:start/end --> markers"
    assert found.group(1) == matrix_markdown(), (
        "README's role matrix is stale: paste domain.accounts.permissions.matrix_markdown()"
    )
