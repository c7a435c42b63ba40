"""Checks against the role matrix (``domain.accounts.model.ROLE_PERMISSIONS``), and the matrix
rendered for people (the README's table is this function's output, compared by a test)."""

from __future__ import annotations

from collections.abc import Iterable

from domain.accounts.model import (
    MATRIX_NOTES,
    PERMISSIONS,
    READ_PERMISSIONS,
    ROLE_PERMISSIONS,
    TOKEN_GRANTS,
    Actor,
    Role,
    Scope,
)
from domain.errors import Forbidden, InvalidInput


def require(actor: Actor, permission: Scope, what: str) -> None:
    """Raise FORBIDDEN unless the actor (user or API token) holds ``permission``."""
    if not actor.has_scope(permission):
        raise Forbidden(f"Not allowed to {what}: this needs the '{permission.value}' permission")


def check_grant(actor: Actor, scopes: Iterable[Scope]) -> None:
    """An API token may carry only what its creator's role may grant (``TOKEN_GRANTS``)."""
    beyond = set(scopes) - TOKEN_GRANTS[actor.role]
    if beyond:
        names = ", ".join(s.value for s in Scope if s in beyond)
        raise Forbidden(f"Your role ({actor.role.value}) cannot grant: {names}", field="scopes")


def may_revoke(actor: Actor, scopes: Iterable[Scope]) -> bool:
    """Revoking is for tokens the actor could have created: a MANAGER revokes read-only ones."""
    return set(scopes) <= TOKEN_GRANTS[actor.role]


def require_session(actor: Actor) -> None:
    """Logging out ends a session; an API token has none and stays valid until revoked."""
    if actor.is_api_token:
        raise InvalidInput(
            "An API token has no session to log out of; revoke it with revokeApiToken"
        )


def matrix_markdown() -> str:
    """The role matrix as a markdown table: a row per permission, a column per role."""
    roles = list(Role)
    lines = [
        "| Permission | What it allows | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for scope in Scope:
        cells = []
        for role in roles:
            held = scope in ROLE_PERMISSIONS[role]
            note = MATRIX_NOTES.get((role, scope))
            cells.append((f"✓ ({note})" if note else "✓") if held else "—")
        lines.append(f"| `{scope.value}` | {PERMISSIONS[scope]} | " + " | ".join(cells) + " |")
    grants = [_grant_cell(role) for role in roles]
    lines.append(
        "| *API tokens* | What a token created by this role may carry | "
        + " | ".join(grants)
        + " |"
    )
    return "\n".join(lines) + "\n"


def _grant_cell(role: Role) -> str:
    granted = TOKEN_GRANTS[role]
    if not granted:
        return "—"
    if granted == ROLE_PERMISSIONS[role] - {Scope.TOKENS_WRITE}:
        return "all its permissions but `tokens:write`"
    if granted == ROLE_PERMISSIONS[role] & READ_PERMISSIONS:
        return "its read permissions"
    return ", ".join(f"`{s.value}`" for s in Scope if s in granted)
