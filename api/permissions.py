"""Field permissions: declared on fields, checked before a resolver runs.

A denied field fails with ``extensions.code`` UNAUTHENTICATED or FORBIDDEN.  Guarded fields are
nullable so one refused field does not null its parents.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from api.context import Context
from domain.accounts.model import Role, Scope
from domain.orders.model import SENSITIVE_READ_ROLES


class IsAuthenticated(BasePermission):
    message = "Sign in first"
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        return info.context.actor is not None


class _ScopePermission(BasePermission):
    scope: Scope
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        actor = info.context.actor
        if actor is None:
            self.message = "Sign in first"
            self.error_extensions = {"code": "UNAUTHENTICATED"}
            return False
        return actor.has_scope(self.scope)


def require_scope(scope: Scope) -> type[BasePermission]:
    """A permission class that passes when the actor (user role or API token) has ``scope``."""
    return type(
        f"Requires_{scope.name}",
        (_ScopePermission,),
        {"scope": scope, "message": f"This needs the '{scope.value}' permission"},
    )


class CanSeeSensitive(BasePermission):
    """Money amounts and buyers' phone numbers: staff only, never a drop-ship supplier."""

    message = "Suppliers cannot see this field"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        actor = info.context.actor
        return actor is not None and actor.role in SENSITIVE_READ_ROLES


class IsOwnerOrManager(BasePermission):
    message = "Only an owner or manager can see this"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        actor = info.context.actor
        return actor is not None and actor.role in {Role.OWNER, Role.MANAGER}


OrdersRead = require_scope(Scope.ORDERS_READ)
CatalogRead = require_scope(Scope.CATALOG_READ)
StockRead = require_scope(Scope.STOCK_READ)
UsersRead = require_scope(Scope.USERS_READ)
